"""Backups that restore: the streams as JetStream snapshots, and the rows of a service database
that no replay can rebuild (the per-person keys above all); the erasure list that keeps the
people erased since a backup erased once it is restored.

A snapshot is the stream's own store, so every event keeps its sequence: feed positions,
checkpoints and consumers' places stay true, which republishing the events could not promise.
Projections are not backed up: a service starting on an empty database replays them.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from sqlalchemy import JSON, DateTime, LargeBinary, Table, delete, func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from jinguo_contracts.base import CATALOGUE, ContractCatalogue
from jinguo_shared.db import (
    DirectSql,
    aggregate_states,
    create_kernel_tables,
    dead_letters,
    idempotency_records,
    pii_keys,
    projection_checkpoints,
    webhook_attempts,
    webhook_outbox,
    webhook_subscriptions,
)
from jinguo_shared.eventstore import SERVICE_STREAMS
from jinguo_shared.reactions import CHECKPOINT_GENERATION

CHUNK_BYTES = 128 * 1024
"""Well under nats-server's default max_payload (1 MiB)."""

STALL_SECONDS = 30.0
"""How long a snapshot or restore may go without progress before it is given up."""

DECISIONS = (
    aggregate_states,
    idempotency_records,
    webhook_subscriptions,
    webhook_outbox,
    webhook_attempts,
    projection_checkpoints,
    dead_letters,
)
"""Taken before the streams, so that none of them is ahead of the restored log: a cached
decision state newer than the log would be trusted over it, and an idempotency record whose
events are not in the log would answer a retried command that was never recorded."""

KEYS = (pii_keys,)
"""Taken after the streams, so that every person whose events the snapshot holds has her key."""


def _kept_rows(table: Table) -> Any:
    """Of the tables projections share, only the policies' rows: a replay rebuilds the rest."""
    query = select(table)
    if table is projection_checkpoints:
        query = query.where(table.c.generation == CHECKPOINT_GENERATION)
    elif table is dead_letters:
        query = query.where(table.c.projection.like("policy:%"))
    return query


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the operator reads it on one line."""


@dataclass(frozen=True)
class StreamCopy:
    stream: str
    messages: int
    first_seq: int
    last_seq: int
    bytes: int

    def __str__(self) -> str:
        return (
            f"{self.stream}: {self.messages} events, sequences {self.first_seq}..{self.last_seq},"
            f" {self.bytes} bytes"
        )


def jinguo_streams() -> list[str]:
    return [spec.name for spec in SERVICE_STREAMS.values()]


async def _api(nc: NatsClient, subject: str, request: Mapping[str, Any]) -> dict[str, Any]:
    reply = await nc.request(subject, orjson.dumps(request), timeout=10)
    answer: dict[str, Any] = orjson.loads(reply.data)
    error = answer.get("error")
    if error:
        raise BackupError(f"{subject}: {error.get('description')} ({error.get('err_code')})")
    return answer


async def snapshot_stream(nc: NatsClient, stream: str, directory: Path) -> StreamCopy:
    """`<stream>.json` (its configuration and state) and `<stream>.tar.s2` (its store, with
    its durable consumers), as `nats stream backup` writes them."""
    data_path = directory / f"{stream}.tar.s2"
    inbox = nc.new_inbox()
    finished = asyncio.Event()
    failures: list[str] = []
    received = 0

    with data_path.open("wb") as data:

        async def receive(message: Msg) -> None:
            nonlocal received
            status = (message.headers or {}).get("Status")
            if status and status != "204" and not message.data:  # 204: the end, said by some
                failures.append(f"{status} {(message.headers or {}).get('Description', '')}")
                finished.set()
            elif not message.data:
                finished.set()
            else:
                data.write(message.data)
                received += len(message.data)
                if message.reply:  # flow control: the server sends on as chunks are acked
                    await nc.publish(message.reply, b"")

        subscription = await nc.subscribe(inbox, cb=receive, pending_bytes_limit=-1)
        try:
            answer = await _api(
                nc,
                f"$JS.API.STREAM.SNAPSHOT.{stream}",
                {"deliver_subject": inbox, "no_consumers": False, "chunk_size": CHUNK_BYTES},
            )
            await _until(finished, lambda: received, f"the snapshot of {stream}")
        finally:
            await subscription.unsubscribe()
    if failures:
        raise BackupError(f"snapshot of {stream}: {failures[0]}")
    meta = {"config": answer["config"], "state": answer["state"]}
    (directory / f"{stream}.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    state = answer["state"]
    return StreamCopy(stream, state["messages"], state["first_seq"], state["last_seq"], received)


async def _until(finished: asyncio.Event, progress: Any, what: str) -> None:
    """Wait while it progresses; a transfer that stalls is given up rather than awaited."""
    last = -1
    while not finished.is_set():
        if progress() == last:
            raise BackupError(f"{what} stalled: nothing for {STALL_SECONDS:.0f} s")
        last = progress()
        try:
            await asyncio.wait_for(finished.wait(), STALL_SECONDS)
        except TimeoutError:
            continue


async def restore_stream(nc: NatsClient, stream: str, directory: Path) -> StreamCopy:
    """The stream as it was snapshotted, into a server that does not have it yet: JetStream
    refuses to restore over a stream, and so does this."""
    meta = orjson.loads((directory / f"{stream}.json").read_bytes())
    answer = await _api(nc, f"$JS.API.STREAM.RESTORE.{stream}", meta)
    deliver = answer["deliver_subject"]
    sent = 0
    with (directory / f"{stream}.tar.s2").open("rb") as data:
        while chunk := data.read(CHUNK_BYTES):
            reply = await nc.request(deliver, chunk, timeout=STALL_SECONDS)
            if reply.data:
                failure = orjson.loads(reply.data).get("error") or {}
                raise BackupError(f"restore of {stream}: {failure.get('description')}")
            sent += len(chunk)
    # the server rebuilds the stream from what it received before it answers this
    done = await nc.request(deliver, b"", timeout=3600)
    created: dict[str, Any] = orjson.loads(done.data)
    if created.get("error"):
        raise BackupError(f"restore of {stream}: {created['error'].get('description')}")
    await _drop_rebuild_slots(nc, stream)
    state = created["state"]
    # an empty stream's first sequence is its next one, which the server states as it likes
    if (state["messages"], state["last_seq"]) != (
        meta["state"]["messages"],
        meta["state"]["last_seq"],
    ):
        raise BackupError(f"restore of {stream}: restored {state}, snapshot held {meta['state']}")
    return StreamCopy(stream, state["messages"], state["first_seq"], state["last_seq"], sent)


async def _drop_rebuild_slots(nc: NatsClient, stream: str) -> None:
    """A snapshot also holds the projections' rebuild slots that were reading at the time; in
    the restored stream they would hold slots nobody reads. The policies' durable consumers
    stay: they remember what each policy has reacted to."""
    listing = await _api(nc, f"$JS.API.CONSUMER.LIST.{stream}", {"offset": 0})
    for consumer in listing.get("consumers") or []:
        if not consumer["config"].get("durable_name"):
            await _api(nc, f"$JS.API.CONSUMER.DELETE.{stream}.{consumer['name']}", {})


async def stream_exists(nc: NatsClient, stream: str) -> bool:
    reply = await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=10)
    return not orjson.loads(reply.data).get("error")


async def erased_in_log(nc: NatsClient, catalogue: ContractCatalogue = CATALOGUE) -> set[str]:
    """Everyone an event in the log erased, from the subjects the streams hold (no event is read
    or decrypted): `<service>.<aggregate>.<id>.<event type>`."""
    erased: set[str] = set()
    for contract in catalogue.erasures():
        stream = SERVICE_STREAMS[contract.service].name
        wanted = f"{contract.service}.{contract.aggregate}.*.{contract.event_type}"
        offset = 0
        while True:
            answer = await _api(
                nc,
                f"$JS.API.STREAM.INFO.{stream}",
                {"subjects_filter": wanted, "offset": offset},
            )
            subjects = answer["state"].get("subjects") or {}
            erased |= {subject.split(".")[2] for subject in subjects}
            offset += len(subjects)
            if not subjects or offset >= answer.get("total", 0):
                break
    return erased


def read_erasure_list(path: Path) -> set[str]:
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def write_erasure_list(path: Path, erased: Iterable[str]) -> int:
    """Add `erased` to the list at `path`, which never loses anyone: written whole beside it,
    then moved over it."""
    everyone = sorted(set(erased) | (read_erasure_list(path) if path.exists() else set()))
    fresh = path.with_name(f".{path.name}.new")
    fresh.write_text("".join(f"{subject_id}\n" for subject_id in everyone))
    os.replace(fresh, path)
    return len(everyone)


def _portable(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _restored(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    values = {}
    for column in table.columns:
        value = row.get(column.name)
        if value is not None and isinstance(column.type, LargeBinary):
            value = base64.b64decode(value)
        elif value is not None and isinstance(column.type, DateTime):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(column.type, JSON) and isinstance(value, str):
            value = orjson.loads(value)
        values[column.name] = value
    return values


async def dump_tables(engine: AsyncEngine, tables: Iterable[Table]) -> dict[str, list[Any]]:
    """The rows these tables hold, read in one transaction (a consistent copy also while the
    service runs); a table the service never created is left out."""
    dumped: dict[str, list[Any]] = {}
    async with engine.connect() as connection:
        present = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        for table in tables:
            if table.name in present:
                rows = (await connection.execute(_kept_rows(table))).mappings()
                dumped[str(table.name)] = [
                    {str(key): _portable(value) for key, value in row.items()} for row in rows
                ]
    return dumped


async def load_tables(engine: AsyncEngine, dumped: Mapping[str, list[Any]]) -> int:
    """The rows back, into a database that holds none of them (an empty one, or one whose
    service started only to create its tables): restoring over live rows is refused."""
    tables = {table.name: table for table in (*DECISIONS, *KEYS)}
    loaded = 0
    async with engine.begin() as connection:
        await connection.run_sync(create_kernel_tables)
        await _refuse_rows(connection, [tables[name] for name in dumped])
        for name, rows in dumped.items():
            table = tables[name]
            if rows:
                await connection.execute(insert(table), [_restored(table, row) for row in rows])
                loaded += len(rows)
    return loaded


async def _refuse_rows(connection: AsyncConnection, tables: Iterable[Table]) -> None:
    for table in tables:
        count = await connection.scalar(
            select(func.count()).select_from(_kept_rows(table).subquery())
        )
        if count:
            raise BackupError(
                f"{table.name} already holds {count} rows: restore into an empty database"
            )


async def erase_keys(engine: AsyncEngine, subject_ids: Iterable[str]) -> int:
    """Delete the keys of these people, leaving no copy in the database's files (as
    `PiiVault.erase` does); how many keys there were."""
    wanted = sorted(set(subject_ids))
    erased = 0
    async with engine.begin() as connection:
        await connection.run_sync(create_kernel_tables)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            result = await connection.execute(
                delete(pii_keys).where(pii_keys.c.subject_id.in_(chunk))
            )
            erased += result.rowcount
    await DirectSql(engine).scrub("pii_keys")
    return erased
