"""Restore benchmark: from a snapshot of a REGISTRY stream of N realistic events to a registry
whose projections hold the whole log again, as after `jinguo backup` and `jinguo restore`.

    .venv/bin/python bench/restore.py [--events 1000000] [--database sqlite|postgresql|both]
        [--path start|replay|both] [--stall-seconds 120]

1. Fills the stream as bench/replay.py does (its own nats-server, default sync policy) and
   takes a JetStream snapshot of it (`jinguo_shared.backup.snapshot_stream`, what `jinguo
   backup` writes); that server and its store are then gone.
2. Starts another nats-server on an empty store, restores the snapshot into it
   (`restore_stream`) and provisions the other streams (empty here), as `jinguo restore` does.
3. For each database, empty (SQLite; PostgreSQL in a database of its own when
   JINGUO_BENCH_POSTGRES_URL is set, dropped afterwards), in a fresh process as a service is:
   - `start` (the default): what the registry's projector does when it starts on an empty
     database (`open_runtime`): `ProjectionHost.prepare()` (a first generation of every
     projection), then `start()`, which takes the projector lease and follows each stream from
     sequence 1 with the service's durable consumer, in batches of `projection_batch_size`;
     timed until every projection has applied the head of every stream it reads (the check a
     consistent read makes: `wait_for_head`).
   - `replay`: what `jinguo replay registry` does instead: `prepare()`, then
     `rebuild(*every projection)` (one pass over the stream into new generations, switched to),
     then `start()` at the head, as the services would start after it.
   The time from spawning the process to that point includes starting Python, as a restart does.
   A replay that applies nothing for `--stall-seconds` is given up as stalled.
4. Checks the restored registry: rows of `workers` and `residents` (the worker directory and the
   community directory) against the people the fill registered and against the WorkerRegistered
   and ResidentRegistered events the restored log holds. A stall or a mismatch is printed loudly
   and the script exits with status 1 after its report; otherwise figures only, nothing asserted.

Prints per step: fill, snapshot (s, MiB), stream restore (s), replay (s, stream events/s, rows
per projection), and restore-to-answering (stream restore + replay), with the calibration of
bench/replay.py (an ordered push consumer without SQL) and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import func, select

from bench._common import (
    CHILD_URL_ENV,
    Stopwatch,
    admin_url,
    cancel_on_sigterm,
    child,
    chosen_databases,
    database,
    load_average,
    nats_server,
    peak_rss_mib,
    table,
    temp_dir,
    write_json,
)
from bench.replay import calibrate, fill
from jinguo_registry.bootstrap import RegistryService
from jinguo_shared.backup import restore_stream, snapshot_stream
from jinguo_shared.db import make_engine
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.natsauth import service_projections
from jinguo_shared.ports import free_port
from jinguo_shared.projections.consistency import ConsistencyTimeoutError
from jinguo_shared.projections.host import ProjectionHost
from jinguo_shared.settings import Settings

STREAM = "REGISTRY"
PATHS = ("start", "replay")
CHECKS = {
    # projection.table: the event that adds a row to it
    "workers": ("worker_directory.workers", "registry.worker.*.WorkerRegistered"),
    "residents": ("community_directory.residents", "registry.resident.*.ResidentRegistered"),
}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql", "both"],
        default=None,
        help="default: sqlite, plus postgresql when JINGUO_BENCH_POSTGRES_URL is set",
    )
    parser.add_argument(
        "--path",
        choices=[*PATHS, "both"],
        default="start",
        help="start: the projector starting on an empty database (default); replay: `jinguo"
        " replay registry`; both: one after the other, each into an empty database",
    )
    parser.add_argument(
        "--stall-seconds",
        type=float,
        default=120.0,
        help="give a replay up when it has applied nothing for this long (default: 120)",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    # internal: each database's replay runs in a child process, as a service starts
    parser.add_argument("--role", choices=["main", *PATHS], default="main", help=argparse.SUPPRESS)
    parser.add_argument("--nats-url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# the replay, in a child process ----------------------------------------------------------------


def registry_host(engine: Any, nc: Any) -> ProjectionHost:
    """The registry's projections as `open_runtime` hosts them, with the settings' defaults."""
    fields = Settings.model_fields
    return ProjectionHost(
        "registry",
        engine,
        nc,
        service_projections(RegistryService()),
        batch_size=fields["projection_batch_size"].default,
        linger=fields["projection_linger_seconds"].default,
        max_attempts=fields["projection_max_attempts"].default,
    )


async def follow_to_head(
    host: ProjectionHost, heads: dict[str, int], stall_seconds: float
) -> int | None:
    """`start()`, then wait until every projection has applied each stream's head (the check a
    consistent read makes, on the checkpoints). Returns None then, or the sequence the registry
    had applied up to if it applied nothing more for `stall_seconds`. The consumers' lag is no
    guide: a fetch that returns nothing sets it to 0."""
    await host.start()
    if not host.leading:
        raise SystemExit("another process holds the registry's projector lease")
    tracked = host.active("worker_directory")
    total = heads[STREAM]
    clock = Stopwatch()
    done = 0
    moved = clock.seconds
    next_report = 0.1
    try:
        while True:
            try:
                for stream in heads:
                    await host.wait_for_head(stream, host.names(), 0)
                return None
            except ConsistencyTimeoutError:
                pass
            await asyncio.sleep(0.5)
            applied = await host.checkpoint(tracked, STREAM)
            if applied != done:
                done, moved = applied, clock.seconds
            elif clock.seconds - moved > stall_seconds:
                print(
                    f"    STALLED: {done:,}/{total:,} events applied, none for"
                    f" {stall_seconds:.0f} s",
                    flush=True,
                )
                return done
            while total and done / total >= next_report:
                print(
                    f"    {done:>10,}/{total:,} events  {done / clock.seconds:>8,.0f} events/s",
                    flush=True,
                )
                next_report += 0.1
    finally:
        await host.stop()


async def replay_child(path: str, nats_url: str, url: str, stall_seconds: float) -> dict[str, Any]:
    cancel_on_sigterm()
    engine = make_engine(url)
    nc = await nats.connect(nats_url, name=f"bench-restore-{path}")
    started_after: float | None = None
    try:
        js = nc.jetstream()
        host = registry_host(engine, nc)
        clock = Stopwatch()
        await host.prepare()
        prepare_seconds = clock.seconds
        heads: dict[str, int] = {}
        for stream in sorted({s for n in host.names() for s in host.active(n).streams()}):
            heads[stream] = int((await js.stream_info(stream)).state.last_seq)
        print(f"  [{engine.dialect.name}] {path}: heads {heads}", flush=True)
        clock = Stopwatch()
        if path == "start":
            stalled_at = await follow_to_head(host, heads, stall_seconds)
        else:

            def progress(stream: str, done: int, total: int) -> None:
                if done == total or done // 100_000 != (done - 10_000) // 100_000:
                    print(f"    {stream} {done:>10,}/{total:,} events", flush=True)

            await host.rebuild(*host.names(), progress=progress)
            # then the services start, as after `jinguo replay` they would: at the head
            rebuilt = clock.seconds
            stalled_at = await follow_to_head(host, heads, stall_seconds)
            started_after = clock.seconds - rebuilt
        replay_seconds = clock.seconds
        rows: dict[str, int] = {}
        async with engine.connect() as connection:
            for name in host.names():
                projection = host.active(name)
                for sql_table in projection.metadata.tables.values():
                    count = await connection.scalar(select(func.count()).select_from(sql_table))
                    # without the generation's suffix, so that both paths' rows line up
                    label = sql_table.name.removesuffix(f"_g{projection.generation}")
                    rows[f"{name}.{label}"] = int(count or 0)
    finally:
        await nc.close()
        await engine.dispose()
    return {
        "database": engine.dialect.name,
        "path": path,
        "prepare_seconds": prepare_seconds,
        "replay_seconds": replay_seconds,
        "start_after_rebuild_seconds": started_after,
        "stalled_at": stalled_at,
        "heads": heads,
        "rows": rows,
        "ru_maxrss_mib": peak_rss_mib(),
    }


# orchestration ---------------------------------------------------------------------------------


async def events_in_log(nats_url: str) -> dict[str, int]:
    """How many events of each checked kind the restored stream holds: the pending count of a
    consumer filtered on that event's subjects, which the server takes from its subject index."""
    nc = await nats.connect(nats_url, name="bench-restore-count")
    js = nc.jetstream()
    found = {}
    try:
        for check, (_, subject) in CHECKS.items():
            name = f"bench-count-{check}"
            info = await js.add_consumer(
                STREAM,
                ConsumerConfig(
                    name=name,
                    filter_subject=subject,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_policy=AckPolicy.NONE,
                    inactive_threshold=60,
                ),
            )
            found[check] = int(info.num_pending or 0)
            await js.delete_consumer(STREAM, name)
    finally:
        await nc.close()
    return found


def mismatches(report: dict[str, Any]) -> list[str]:
    """Where a replay stalled, or its rows differ from what the fill registered or the restored
    log holds."""
    wrong = []
    expected_by = {"fill": report["fill"], "log": report["log_counts"]}
    for result in report["replays"]:
        if result["stalled_at"] is not None:
            wrong.append(
                f"{result['database']} {result['path']}: stalled after applying"
                f" {result['stalled_at']:,} of {report['restored_last_seq']:,} events"
                " (its rows are not checked)"
            )
            continue
        for check, (label, _) in CHECKS.items():
            rows = result["rows"][label]
            for source, expected in expected_by.items():
                if rows != expected[check]:
                    wrong.append(
                        f"{result['database']} {result['path']}: {rows:,} rows of {check},"
                        f" the {source} says {expected[check]:,}"
                    )
    return wrong


async def main(options: argparse.Namespace) -> dict[str, Any]:
    cancel_on_sigterm()
    databases = chosen_databases(options.database)
    paths = list(PATHS) if options.path == "both" else [options.path]
    start_load = load_average()
    print(
        f"restore benchmark: {options.events:,} events; databases: {', '.join(databases)};"
        f" paths: {', '.join(paths)}; load average {start_load}",
        flush=True,
    )
    report: dict[str, Any] = {"events": options.events, "replays": []}
    with temp_dir("restore") as workdir:
        backup = workdir / "backup"
        backup.mkdir()
        async with nats_server(workdir / "nats", sync="default") as server:
            report["fill"] = await fill(admin_url(server), workdir, options.events, 256, 2)
            nc = await nats.connect(admin_url(server))
            try:
                clock = Stopwatch()
                taken = await snapshot_stream(nc, STREAM, backup)
                report["snapshot_seconds"] = clock.seconds
                report["snapshot_bytes"] = taken.bytes
            finally:
                await nc.close()
        print(
            f"filled in {report['fill']['seconds']:.1f} s; snapshot"
            f" {report['snapshot_seconds']:.1f} s ({taken.bytes / 2**20:,.0f} MiB)",
            flush=True,
        )
        fresh = EmbeddedNats(workdir / "fresh", free_port(), sync="default")
        await fresh.start()
        try:
            url = admin_url(fresh)
            nc = await nats.connect(url)
            try:
                clock = Stopwatch()
                restored = await restore_stream(nc, STREAM, backup)
                report["restore_seconds"] = clock.seconds
            finally:
                await nc.close()
            clock = Stopwatch()
            await fresh.provision()
            report["provision_seconds"] = clock.seconds
            report["restored_last_seq"] = restored.last_seq
            print(
                f"restored into a fresh nats-server in {report['restore_seconds']:.1f} s"
                f" (last sequence {restored.last_seq:,}), streams provisioned in"
                f" {report['provision_seconds']:.1f} s",
                flush=True,
            )
            report["log_counts"] = await events_in_log(url)
            limit = min(restored.last_seq, 200_000)
            report["calibration"] = {"events": limit, **await calibrate(url, limit)}
            # the services' own path on every database first, should the run be cut short
            for path in paths:
                for kind in databases:
                    directory = workdir / f"{kind}-{path}"
                    directory.mkdir()
                    async with database(kind, directory) as database_url:
                        out = workdir / f"{kind}-{path}.json"
                        print(f"replay ({path}) into an empty {kind} database", flush=True)
                        clock = Stopwatch()
                        await child(
                            __file__,
                            [
                                "--role",
                                path,
                                "--nats-url",
                                url,
                                "--stall-seconds",
                                str(options.stall_seconds),
                                "--out",
                                str(out),
                            ],
                            database_url,
                        )
                        result = json.loads(out.read_text())
                        result["process_seconds"] = clock.seconds
                        report["replays"].append(result)
                        done = (
                            f"STALLED after applying {result['stalled_at']:,} events"
                            if result["stalled_at"] is not None
                            else f"replay {result['replay_seconds']:.1f} s"
                            f" ({restored.last_seq / result['replay_seconds']:,.0f} stream"
                            " events/s)"
                        )
                        print(
                            f"  [{kind}] {path}: {done}, process {clock.seconds:.1f} s",
                            flush=True,
                        )
        finally:
            fresh.stop()
    report["load_average"] = f"{start_load} at start, {load_average()} at end"
    return report


def print_report(report: dict[str, Any]) -> None:
    n = report["restored_last_seq"]
    fill = report["fill"]
    c = report["calibration"]
    restore_seconds = report["restore_seconds"] + report["provision_seconds"]
    print()
    print(f"Restore of a REGISTRY stream of {n:,} events; load average {report['load_average']}")
    print(
        f"machine calibration (bench/replay.py, first {c['events']:,} events, ordered push"
        f" consumer, no SQL): {c['read_only_per_s']:,.0f} events/s read only,"
        f" {c['read_decode_per_s']:,.0f} read + decoded"
    )
    print(
        f"fill {fill['seconds']:.1f} s ({fill['workers']:,} workers, {fill['residents']:,}"
        f" residents); snapshot {report['snapshot_seconds']:.1f} s"
        f" ({report['snapshot_bytes'] / 2**20:,.0f} MiB); stream restore"
        f" {report['restore_seconds']:.1f} s + provisioning {report['provision_seconds']:.1f} s"
    )
    rows = []
    for result in report["replays"]:
        seconds = result["process_seconds"]
        stalled = result["stalled_at"] is not None
        after = result["start_after_rebuild_seconds"]
        rows.append(
            [
                f"{result['database']} {result['path']}",
                result["prepare_seconds"],
                f"STALLED at {result['stalled_at']:,}" if stalled else result["replay_seconds"],
                float("nan") if stalled else n / result["replay_seconds"],
                float("nan") if after is None else after,
                seconds,
                "never" if stalled else restore_seconds + seconds,
                result["ru_maxrss_mib"],
            ]
        )
    print(
        "replay: prepare = first generations' tables; replay = until every projection holds"
        " the head of every stream; process = from spawning the process (Python's start"
        " included); restore-to-answering = stream restore + provisioning + process; start"
        " after = the projector's start once `jinguo replay` has rebuilt (included in replay)."
        " Both paths feed every projection from one read of the stream (start: one"
        " transaction per batch for all of them), so there is no time per projection"
    )
    print(
        table(
            [
                "database path",
                "prepare s",
                "replay s",
                "stream ev/s",
                "start after s",
                "process s",
                "restore-to-answering s",
                "ru_maxrss MiB",
            ],
            rows,
        )
    )
    names = sorted({t for result in report["replays"] for t in result["rows"]})
    print()
    print("rows per projection.table after each replay")
    print(
        table(
            ["projection.table", *(f"{r['database']} {r['path']}" for r in report["replays"])],
            [[t, *(r["rows"].get(t, "-") for r in report["replays"])] for t in names],
        )
    )
    log_counts = report["log_counts"]
    print(
        "expected: "
        + ", ".join(
            f"{check} {fill[check]:,} registered by the fill, {log_counts[check]:,}"
            f" {subject.rsplit('.', 1)[1]} events in the restored log"
            for check, (_, subject) in CHECKS.items()
        )
    )


def entry(argv: list[str] | None = None) -> None:
    options = parse(argv)
    if options.role != "main":
        result = asyncio.run(
            replay_child(
                options.role, options.nats_url, os.environ[CHILD_URL_ENV], options.stall_seconds
            )
        )
        Path(options.out).write_text(json.dumps(result))
        return
    report = asyncio.run(main(options))
    print_report(report)
    write_json(options.json, report)
    wrong = mismatches(report)
    if wrong:
        print("\n!!! the restored registry does not answer with what the log says", flush=True)
        for line in wrong:
            print(f"!!!   {line}", flush=True)
        sys.exit(1)
    print("checked: every replay holds as many workers and residents as the log registered")


if __name__ == "__main__":
    try:
        entry()
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; cleaned up", file=sys.stderr)
        sys.exit(130)
