"""`jinguo backup DIR`, `jinguo restore DIR --erasures FILE` and `jinguo erasures export FILE`:
the operator's backups (deploy/README.md, "Backups and restore"), as the admin NATS user."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import typer
from nats.aio.client import Client as NatsClient
from sqlalchemy import Table

from jinguo_shared.backup import (
    DECISIONS,
    KEYS,
    BackupError,
    dump_tables,
    erase_keys,
    erased_in_log,
    jinguo_streams,
    load_tables,
    read_erasure_list,
    restore_stream,
    snapshot_stream,
    stream_exists,
    write_erasure_list,
)
from jinguo_shared.cli.environment import (
    UsageError,
    nats_url,
    report_provisioned,
    run,
    settings,
    unusable_file,
)
from jinguo_shared.db import make_engine
from jinguo_shared.eventstore import SERVICE_STREAMS, provision_streams
from jinguo_shared.nats_client import connect_nats
from jinguo_shared.natsauth import ADMIN_USER
from jinguo_shared.services import discover_services
from jinguo_shared.settings import Settings

MANIFEST = "manifest.json"

erasures = typer.Typer(help="the list of everyone erased, kept apart from the backups")


def backup(directory: Path) -> None:
    """back up the streams and what the service databases hold that no replay rebuilds"""
    if directory.exists() and any(directory.iterdir()):
        raise UsageError(f"{directory}: not empty; back up into a new directory")
    try:
        (directory / "streams").mkdir(parents=True, exist_ok=True)
        (directory / "databases").mkdir(exist_ok=True)
    except OSError as error:
        raise unusable_file(error) from None
    run(_backup(settings(), directory))


def restore(
    directory: Path,
    erasure_list: Path | None = typer.Option(
        None,
        "--erasures",
        help="the list `jinguo erasures export` keeps: who was erased since the backup",
    ),
) -> None:
    """restore a backup into a fresh nats-server and empty databases; the erased stay erased"""
    run(_restore(settings(), directory, erasure_list))


@erasures.command()
def export(file: Path) -> None:
    """add everyone the log says was erased to FILE (made if missing; nobody is ever removed)"""
    run(_export(settings(), file))


@contextlib.asynccontextmanager
async def _admin(settings: Settings) -> AsyncIterator[NatsClient]:
    async with nats_url(settings, provision=False) as url:
        nc = await connect_nats(settings, url, "jinguo-backup", user=ADMIN_USER)
        try:
            try:
                await nc.request("$JS.API.INFO", b"", timeout=5)
            except TimeoutError:
                raise UsageError(
                    "no answer from the JetStream API: backups need the admin NATS user"
                    " (JINGUO_NATS_USER and JINGUO_NATS_PASSWORD, or JINGUO_NATS_CREDS)"
                ) from None
            yield nc
        except BackupError as error:
            raise UsageError(str(error)) from None
        finally:
            await nc.close()


async def _dump(
    settings: Settings, service: str, tables: tuple[Table, ...]
) -> dict[str, list[Any]]:
    engine = make_engine(settings.database_url(service))
    try:
        return await dump_tables(engine, tables)
    finally:
        await engine.dispose()


async def _backup(settings: Settings, directory: Path) -> None:
    streams_dir = directory / "streams"
    started = time.monotonic()
    services = [definition.name for definition in discover_services()]
    async with _admin(settings) as nc:
        # the order is the point: decisions, then the log, then the keys (backup.DECISIONS)
        databases = {name: await _dump(settings, name, DECISIONS) for name in services}
        copies = []
        for stream in jinguo_streams():
            if await stream_exists(nc, stream):
                copies.append(await snapshot_stream(nc, stream, streams_dir))
                print(copies[-1])
        for name in services:
            databases[name] |= await _dump(settings, name, KEYS)
    for name, tables in databases.items():
        (directory / "databases" / f"{name}.json").write_bytes(orjson.dumps({"tables": tables}))
        rows = ", ".join(f"{table} {len(r)}" for table, r in tables.items() if r)
        print(f"{name}: {rows or 'no rows to keep'}")
    manifest = {
        "taken_at": datetime.now(UTC).isoformat(),
        "streams": {
            copy.stream: {"first_seq": copy.first_seq, "last_seq": copy.last_seq} for copy in copies
        },
        "services": services,
    }
    (directory / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    print(f"backed up to {directory} in {time.monotonic() - started:.1f} s")


async def _restore(settings: Settings, directory: Path, erasure_list: Path | None) -> None:
    try:
        manifest = orjson.loads((directory / MANIFEST).read_bytes())
        kept = read_erasure_list(erasure_list) if erasure_list is not None else set()
    except OSError as error:
        raise unusable_file(error) from None
    started = time.monotonic()
    async with _admin(settings) as nc:
        present = [s for s in manifest["streams"] if await stream_exists(nc, s)]
        if present:
            raise UsageError(
                f"this nats-server already has {', '.join(present)}: restore into a fresh one"
            )
        for stream in manifest["streams"]:
            print(await restore_stream(nc, stream, directory / "streams"))
        report_provisioned(
            await provision_streams(nc, list(SERVICE_STREAMS.values()), settings.stream_replicas),
            quiet=True,
        )
        in_log = await erased_in_log(nc)
    for service in manifest["services"]:
        dumped = orjson.loads((directory / "databases" / f"{service}.json").read_bytes())
        engine = make_engine(settings.database_url(service))
        try:
            try:
                loaded = await load_tables(engine, dumped["tables"])
            except BackupError as error:
                raise UsageError(f"{service}: {error}") from None
            erased = await erase_keys(engine, in_log | kept)
        finally:
            await engine.dispose()
        print(f"{service}: {loaded} rows restored; keys of erased people deleted again: {erased}")
    print(
        f"restored from {directory} (taken {manifest['taken_at']}) in"
        f" {time.monotonic() - started:.1f} s; replay each service (`jinguo replay <service>`),"
        " then start them"
    )
    since = sorted(kept - in_log)
    if erasure_list is None:
        print(
            "no erasure list given (--erasures): anyone erased after this backup was taken is"
            " readable again",
            file=sys.stderr,
        )
    elif since:
        print(
            f"erased after this backup, which the log does not say: {', '.join(since)};"
            " erase them again through the API so that it does",
            file=sys.stderr,
        )


async def _export(settings: Settings, file: Path) -> None:
    async with _admin(settings) as nc:
        erased = await erased_in_log(nc)
    try:
        total = write_erasure_list(file, erased)
    except OSError as error:
        raise unusable_file(error) from None
    print(f"{file}: {total} people erased ({len(erased)} of them in this log)")
