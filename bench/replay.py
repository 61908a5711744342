"""Replay benchmark: rebuild every registry projection from a stream of N realistic events.

    .venv/bin/python bench/replay.py [--events 1000000] [--database sqlite|postgresql|both]

1. Starts its own nats-server (127.0.0.1, free port, temp dir) with the server's *default*
   sync policy (no `sync_interval: always`): the fill is a bulk load, and fsyncing each write
   would only measure the disk. Rebuild reads are not affected by the sync policy.
2. Fills the REGISTRY stream with N events (see _events.py for the mix), PII sealed with a real
   PiiVault, published with 256 acks in flight and no expected-sequence header.
3. For each database, in a fresh process (so peak RSS is the rebuild's own): `host.prepare()`,
   then `ProjectionHost.rebuild(name)` for every registry projection plus `api_clients`.
   Each rebuild reads the stream once (server-side filtered when the projection has one
   subject filter, the whole stream otherwise); a long one decodes and applies the events in
   a planning process of its own (jinguo_shared/projections/planning.py).

Prints, per projection: events read, seconds, events read/s, stream events/s (N / seconds),
rows written, RSS at 25/50/75/100% progress, the highest RSS sampled every 50 ms, and the
process's peak RSS (ru_maxrss). Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nats
from nats.js.api import DeliverPolicy
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench._common import (
    CHILD_URL_ENV,
    Stopwatch,
    admin_url,
    cancel_on_sigterm,
    child,
    children_peak_rss_mib,
    chosen_databases,
    database,
    load_average,
    nats_server,
    peak_rss_mib,
    rss_mib,
    sync_label,
    table,
    temp_dir,
    write_json,
)
from bench._events import EventSource, Publisher, create_vault_tables
from jinguo_registry.bootstrap import RegistryService
from jinguo_shared.db import make_engine
from jinguo_shared.envelope import decode
from jinguo_shared.projections.api_clients import ApiClients
from jinguo_shared.projections.host import ProjectionHost

FILL_SYNC = "default"
CHUNK = 5_000
MARKS = (0.25, 0.50, 0.75, 1.00)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql", "both"],
        default=None,
        help="default: sqlite, plus postgresql when JINGUO_BENCH_POSTGRES_URL is set",
    )
    parser.add_argument("--in-flight", type=int, default=256, help="publish acks outstanding")
    parser.add_argument(
        "--generators",
        type=int,
        default=max(2, (os.cpu_count() or 2) - 1),
        help="processes building and sealing events for the fill (default: CPUs - 1, >= 2)",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    # internal: the fill and each database's rebuilds run in child processes
    parser.add_argument(
        "--role", choices=["main", "fill", "rebuild"], default="main", help=argparse.SUPPRESS
    )
    parser.add_argument("--nats-url", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# fill ------------------------------------------------------------------------------------------


async def fill(
    nats_url: str, workdir: Path, total: int, in_flight: int, processes: int
) -> dict[str, Any]:
    cancel_on_sigterm()
    nc = await nats.connect(nats_url, name="bench-fill")
    # keys of the people in the log, in a database of the fill's own (rebuilds never unseal)
    vault_url = f"sqlite+aiosqlite:///{workdir / 'fill-vault.db'}"
    await create_vault_tables(vault_url)
    source = EventSource(total, vault_url, processes=processes)
    try:
        publisher = Publisher(nc, in_flight, keep_seqs=False)
        clock = Stopwatch()
        done = 0
        next_report = 0.1
        async for chunk in source.chunks():
            await publisher.publish(chunk)
            done += len(chunk)
            if done / total >= next_report:
                print(
                    f"  fill {done:>10,}/{total:,}  {done / clock.seconds:>8,.0f} events/s",
                    flush=True,
                )
                next_report += 0.1
        await publisher.drain()
        seconds = clock.seconds
        await source.close()
        return {
            "events": total,
            "seconds": seconds,
            "events_per_s": total / seconds,
            "generator_processes": processes,
            **source.counts,
        }
    finally:
        await nc.close()


# rebuild ---------------------------------------------------------------------------------------


class RssSampler:
    """Samples VmRSS every 50 ms from a thread (the event loop is busy during a rebuild)."""

    def __init__(self) -> None:
        self.highest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.highest = max(self.highest, rss_mib())

    def __enter__(self) -> RssSampler:
        self.highest = rss_mib()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


class Marks:
    """Progress callback: records RSS the first time each mark (25%, 50%…) is passed."""

    def __init__(self) -> None:
        self.done = 0
        self.total = 0
        self.rss: dict[str, float] = {}
        self.started = time.perf_counter()

    def __call__(self, _stream: str, done: int, total: int) -> None:
        self.done, self.total = done, total
        fraction = done / total if total else 1.0
        for mark in MARKS:
            label = f"{mark:.0%}"
            if fraction >= mark and label not in self.rss:
                self.rss[label] = rss_mib()
                elapsed = time.perf_counter() - self.started
                print(
                    f"    {label:>4} {done:>10,}/{total:,} events  "
                    f"{done / max(elapsed, 1e-9):>8,.0f} events/s  RSS {self.rss[label]:.0f} MiB",
                    flush=True,
                )


async def measure(
    host: ProjectionHost, engine: AsyncEngine, names: list[str], stream_events: int
) -> dict[str, Any]:
    """One `host.rebuild(*names)`: time, events read, rows written, memory along the way."""
    marks = Marks()
    before = rss_mib()
    with RssSampler() as sampler:
        clock = Stopwatch()
        projections = await host.rebuild(*names, progress=marks)
        seconds = clock.seconds
    rows = 0
    async with engine.connect() as connection:
        for projection in projections:
            for sql_table in projection.metadata.tables.values():
                count = await connection.scalar(select(func.count()).select_from(sql_table))
                rows += int(count or 0)
    return {
        "projection": "+".join(names) if len(names) < 3 else f"all {len(names)} in one pass",
        "events_read": marks.done,
        "seconds": seconds,
        "events_read_per_s": marks.done / seconds,
        "stream_events_per_s": stream_events / seconds,
        "rows": rows,
        "rss_before_mib": before,
        "rss_at_mib": marks.rss,
        "rss_sampled_max_mib": sampler.highest,
        "ru_maxrss_mib": peak_rss_mib(),
        "planner_ru_maxrss_mib": children_peak_rss_mib(),
    }


async def rebuild_all(nats_url: str, url: str, stream_events: int) -> dict[str, Any]:
    cancel_on_sigterm()
    engine = make_engine(url)
    nc = await nats.connect(nats_url, name="bench-rebuild")
    dialect = engine.dialect.name
    try:
        host = ProjectionHost("registry", engine, nc, [ApiClients, *RegistryService.projections])
        await host.prepare()
        baseline = rss_mib()
        print(f"  [{dialect}] RSS before rebuilding: {baseline:.0f} MiB", flush=True)
        results: list[dict[str, Any]] = []
        for name in host.names():
            print(f"  [{dialect}] rebuild {name}", flush=True)
            results.append(await measure(host, engine, [name], stream_events))
        print(f"  [{dialect}] rebuild {', '.join(host.names())} in one pass", flush=True)
        one_pass = await measure(host, engine, host.names(), stream_events)
    finally:
        await nc.close()
        await engine.dispose()
    total_seconds = sum(r["seconds"] for r in results)
    total_read = sum(r["events_read"] for r in results)
    return {
        "database": dialect,
        "rss_before_mib": baseline,
        "projections": results,
        "total_seconds": total_seconds,
        "total_events_read": total_read,
        "combined_events_read_per_s": total_read / total_seconds,
        "combined_stream_events_per_s": stream_events / total_seconds,
        "one_pass": one_pass,
        "ru_maxrss_mib": peak_rss_mib(),
    }


async def calibrate(nats_url: str, limit: int) -> dict[str, float]:
    """What this machine does without SQL: an ordered push consumer reading the stream's first
    `limit` events, then reading and decoding them (compare with ARCHITECTURE.md's figures)."""
    nc = await nats.connect(nats_url, name="bench-calibrate")
    js = nc.jetstream()
    rates: dict[str, float] = {}
    try:
        for label, decoding in (("read_only_per_s", False), ("read_decode_per_s", True)):
            queue: asyncio.Queue[Any] = asyncio.Queue()

            async def collect(message: Any, queue: asyncio.Queue[Any] = queue) -> None:
                queue.put_nowait(message)

            clock = Stopwatch()
            subscription = await js.subscribe(
                "registry.>",
                stream="REGISTRY",
                ordered_consumer=True,
                cb=collect,
                deliver_policy=DeliverPolicy.ALL,
                pending_msgs_limit=40_000,
            )
            count = 0
            while count < limit:
                message = await queue.get()
                count += 1
                if decoding:
                    decode(
                        "REGISTRY", message.metadata.sequence.stream, message.subject, message.data
                    )
                if message.metadata.num_pending == 0:
                    break
            rates[label] = count / clock.seconds
            await subscription.unsubscribe()
    finally:
        await nc.close()
    return rates


# orchestration ---------------------------------------------------------------------------------


async def main(options: argparse.Namespace) -> dict[str, Any]:
    cancel_on_sigterm()
    databases = chosen_databases(options.database)
    report: dict[str, Any] = {"events": options.events, "fill_sync": FILL_SYNC}
    start_load = load_average()
    print(f"replay benchmark: {options.events:,} events; databases: {', '.join(databases)}")
    with temp_dir("replay") as workdir:
        async with nats_server(workdir / "nats", FILL_SYNC) as server:
            print(f"nats-server {server.url} with {sync_label(FILL_SYNC)} for the fill")
            out = workdir / "fill.json"
            await child(
                __file__,
                [
                    "--role",
                    "fill",
                    "--nats-url",
                    admin_url(server),
                    "--workdir",
                    str(workdir),
                    "--events",
                    str(options.events),
                    "--in-flight",
                    str(options.in_flight),
                    "--generators",
                    str(options.generators),
                    "--out",
                    str(out),
                ],
            )
            report["fill"] = json.loads(out.read_text())
            nc = await nats.connect(admin_url(server))
            info = await nc.jetstream().stream_info("REGISTRY")
            await nc.close()
            stream_events = int(info.state.messages)
            report["stream"] = {"messages": stream_events, "bytes": int(info.state.bytes)}
            f = report["fill"]
            print(
                f"filled REGISTRY: {stream_events:,} events, {info.state.bytes / 2**20:,.0f} MiB "
                f"in {f['seconds']:.1f} s ({f['events_per_s']:,.0f} events/s, "
                f"{f['workers']:,} workers, {f['residents']:,} residents)"
            )
            # rebuilds are timed on a log at rest: a gigabyte of dirty pages still to be written
            # back (as a fill can leave) slowed a rebuild by a fifth
            clock = Stopwatch()
            await asyncio.to_thread(os.sync)
            report["fill"]["sync_seconds"] = clock.seconds
            print(f"wrote the fill's dirty pages to disk in {clock.seconds:.1f} s")
            limit = min(stream_events, 200_000)
            report["calibration"] = {"events": limit, **await calibrate(admin_url(server), limit)}
            c = report["calibration"]
            print(
                f"this machine, first {limit:,} events, ordered push consumer: "
                f"{c['read_only_per_s']:,.0f} events/s read only, "
                f"{c['read_decode_per_s']:,.0f} read + decoded (ARCHITECTURE.md: ~45,000 read only)"
            )
            report["databases"] = {}
            for kind in databases:
                async with database(kind, workdir) as url:
                    out = workdir / f"rebuild-{kind}.json"
                    await child(
                        __file__,
                        [
                            "--role",
                            "rebuild",
                            "--nats-url",
                            admin_url(server),
                            "--events",
                            str(stream_events),
                            "--out",
                            str(out),
                        ],
                        url,
                    )
                    report["databases"][kind] = json.loads(out.read_text())
                    (workdir / "bench.db").unlink(missing_ok=True)
    report["load_average"] = f"{start_load} at start, {load_average()} at end"
    print_report(report)
    return report


def _row(p: dict[str, Any]) -> list[Any]:
    marks = p["rss_at_mib"]
    return [
        p["projection"],
        p["events_read"],
        p["seconds"],
        p["events_read_per_s"],
        p["stream_events_per_s"],
        p["rows"],
        p["rss_before_mib"],
        *(marks.get(f"{m:.0%}", float("nan")) for m in MARKS),
        p["rss_sampled_max_mib"],
        p["ru_maxrss_mib"],
        p["planner_ru_maxrss_mib"],
    ]


HEADERS = [
    "rebuild",
    "events read",
    "s",
    "read ev/s",
    "stream ev/s",
    "rows",
    "RSS@0",
    "@25%",
    "@50%",
    "@75%",
    "@100%",
    "RSS max",
    "ru_maxrss",
    "planner",
]


def print_report(report: dict[str, Any]) -> None:
    n = report["stream"]["messages"]
    fill = report["fill"]
    print()
    size = report["stream"]["bytes"] / 2**20
    print(f"Replay of a REGISTRY stream of {n:,} events ({size:,.0f} MiB)")
    print(
        f"fill: {fill['events_per_s']:,.0f} events/s with {fill['generator_processes']} generator "
        f"process(es), PII sealed, 256 in flight, no expected-sequence header; "
        f"{sync_label(report['fill_sync'])}"
    )
    print(
        "read ev/s = events the rebuild read (server-side filtered for one-subject projections)"
        " per second; stream ev/s = stream length / seconds; RSS in MiB (VmRSS at progress"
        " marks, highest VmRSS sampled every 50 ms, the process's ru_maxrss, and the largest"
        " ru_maxrss of the planning processes so far)"
    )
    c = report["calibration"]
    print(
        f"machine calibration (ordered push consumer, no SQL): {c['read_only_per_s']:,.0f} "
        f"events/s read only, {c['read_decode_per_s']:,.0f} read + decoded; load average "
        f"{report['load_average']}"
    )
    for kind, result in report["databases"].items():
        print()
        print(f"{kind}: RSS before rebuilding {result['rss_before_mib']:.0f} MiB")
        rows = [_row(p) for p in result["projections"]]
        rows.append(
            [
                "sum of the separate rebuilds",
                result["total_events_read"],
                result["total_seconds"],
                result["combined_events_read_per_s"],
                result["combined_stream_events_per_s"],
                *[""] * 9,
            ]
        )
        rows.append(_row(result["one_pass"]))
        print(table(HEADERS, rows))
        slowest = min(p["stream_events_per_s"] for p in result["projections"])
        target = 30_000 if kind == "sqlite" else 20_000
        print(
            f"  target >= {target:,} events/s: slowest single projection "
            f"{slowest:,.0f} stream ev/s; every projection one after another "
            f"{result['combined_stream_events_per_s']:,.0f}; all in one pass "
            f"{result['one_pass']['stream_events_per_s']:,.0f}"
        )


def entry(argv: list[str] | None = None) -> None:
    options = parse(argv)
    if options.role == "fill":
        result = asyncio.run(
            fill(
                options.nats_url,
                Path(options.workdir),
                options.events,
                options.in_flight,
                options.generators,
            )
        )
        Path(options.out).write_text(json.dumps(result))
    elif options.role == "rebuild":
        result = asyncio.run(
            rebuild_all(options.nats_url, os.environ[CHILD_URL_ENV], options.events)
        )
        Path(options.out).write_text(json.dumps(result))
    else:
        report = asyncio.run(main(options))
        write_json(options.json, report)


if __name__ == "__main__":
    try:
        entry()
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; cleaned up", file=sys.stderr)
        sys.exit(130)
