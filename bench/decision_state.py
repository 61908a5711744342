"""Decision-state benchmark: how long loading an aggregate's state takes before deciding.

    .venv/bin/python bench/decision_state.py [--sizes 10000,1000000] [--database both]

For each stream size and database, in a temp dir with a nats-server of its own:

1. registers `--commands` workers (2,000) through `RegistryHandlers.register_worker`, one after
   another, with the production fsync policy (`sync_interval: always`): the command latency;
2. restarts nats-server with its default sync policy and fills the rest of the REGISTRY stream
   with realistic events (same mix as the replay benchmark, on new and on those workers), then
   writes every aggregate's decision state into `aggregate_states` in bulk, with the version
   the log gave its last event (the table the executor keeps, at the size the stream implies);
3. restarts nats-server with `sync_interval: always` and measures, for random existing workers:
   `CommandExecutor.load_cached(Worker, id)` (the decision-state load, p50/p95/p99), real
   `record_home_visit` commands at that size, and, for comparison, the slow path
   `EventStore.load` (the aggregate's history read from the log by direct get).

Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nats
from nats.aio.client import Client as NatsClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench._common import (
    Stopwatch,
    admin_url,
    cancel_on_sigterm,
    chosen_databases,
    database,
    free_port,
    load_average,
    summarise,
    sync_label,
    table,
    temp_dir,
    write_json,
)
from bench._events import (
    COMMUNITIES,
    EventSource,
    Publisher,
    national_id_parts,
    person_name,
    phone,
)
from jinguo_registry.domain.validation import make_national_id
from jinguo_registry.domain.worker import Worker
from jinguo_registry.handlers.commands import (
    DesiredWorkInput,
    RecordHomeVisit,
    RegisterWorker,
    RegistryHandlers,
)
from jinguo_shared.clock import ProgrammeClock
from jinguo_shared.commands import CommandExecutor
from jinguo_shared.crypto import KeyedHasher, PiiVault
from jinguo_shared.db import aggregate_states, insert_for, kernel_metadata, make_engine
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore

MASTER_KEY = b"\x02" * 32
LOOKUP_KEY = b"\x03" * 32
COMMAND_PERSON_BASE = 4_400_000
"""National IDs of the command-registered workers come from a range the bulk fill never uses."""
STATE_CHUNK = 5_000


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="10000,1000000",
        help="comma-separated stream sizes in events (default 10000,1000000)",
    )
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql", "both"],
        default=None,
        help="default: sqlite, plus postgresql when JINGUO_BENCH_POSTGRES_URL is set",
    )
    parser.add_argument("--commands", type=int, default=2_000, help="real register_worker first")
    parser.add_argument("--samples", type=int, default=5_000, help="load_cached calls measured")
    parser.add_argument("--later-commands", type=int, default=500, help="home visits at size")
    parser.add_argument("--slow-samples", type=int, default=300, help="EventStore.load calls")
    parser.add_argument("--slow-budget", type=float, default=60.0, help="seconds at most")
    parser.add_argument(
        "--generators",
        type=int,
        default=max(2, (os.cpu_count() or 2) - 1),
        help="processes building and sealing the bulk fill (default: CPUs - 1, >= 2)",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


class Service:
    """The registry's command side wired by hand, as `open_runtime` does, on one NATS."""

    def __init__(self, engine: AsyncEngine, nc: NatsClient) -> None:
        self.engine = engine
        self.nc = nc
        self.vault = PiiVault(engine, MASTER_KEY)
        self.store = EventStore(nc, "registry", self.vault)
        self.executor = CommandExecutor(engine, self.store)
        self.handlers = RegistryHandlers(
            self.executor, KeyedHasher(LOOKUP_KEY), self.vault, ProgrammeClock().today
        )


def context() -> CommandContext:
    command_id = str(uuid.uuid4())
    return CommandContext(command_id=command_id, correlation_id=command_id, actor="bench")


def register_command(number: int, rng: random.Random) -> RegisterWorker:
    district, born, sequence = national_id_parts(number)
    community = rng.choice([c for c in COMMUNITIES if c.startswith(district)])
    return RegisterWorker(
        name=person_name(rng),
        national_id=make_national_id(district, born, sequence, rng.random() < 0.92),
        phone=phone(rng),
        area_code=community,
        hukou="local",
        skills=["家政", "保洁"],
        desired_work=DesiredWorkInput(occupation_codes=["4-10-01-05"], hours_types=["hourly"]),
    )


async def restart(server: EmbeddedNats, sync: str) -> tuple[EmbeddedNats, NatsClient]:
    """Stop nats-server and start it again on the same store with another sync policy."""
    server.stop()
    again = EmbeddedNats(server.store_dir, server.port, sync=sync)
    await again.start()
    return again, await nats.connect(admin_url(again), name="bench-decision-state")


async def bulk_fill(
    nc: NatsClient,
    url: str,
    events: int,
    workers: list[tuple[str, str, int]],
    generators: int,
) -> tuple[dict[str, Any], int]:
    """Publish `events` more events and write every aggregate's decision state in bulk."""
    source = EventSource(
        events,
        url,
        master_key=MASTER_KEY,
        processes=generators,
        track_states=True,
        workers=[(worker_id, area) for worker_id, area, _ in workers],
        seed=7,
    )
    publisher = Publisher(nc)
    owners: list[str] = []
    clock = Stopwatch()
    async for chunk in source.chunks():
        await publisher.publish(chunk)
        owners.extend(item[4] for item in chunk)
        if len(owners) % 100_000 < len(chunk):
            print(f"    fill {len(owners):>10,}/{events:,}", flush=True)
    await publisher.drain()
    fill_seconds = clock.seconds
    versions = {worker_id: seq for worker_id, _, seq in workers}
    for index, owner in enumerate(owners):
        versions[owner] = publisher.seqs[index]
    del owners
    clock = Stopwatch()
    engine = make_engine(url)
    written = 0
    try:
        statement = insert_for(engine, aggregate_states)
        statement = statement.on_conflict_do_update(
            index_elements=["aggregate_type", "aggregate_id"],
            set_={"version": statement.excluded.version, "state": statement.excluded.state},
            where=aggregate_states.c.version < statement.excluded.version,
        )
        async for part in source.states():
            rows = [
                {
                    "aggregate_type": aggregate,
                    "aggregate_id": aggregate_id,
                    "version": versions[aggregate_id],
                    "state": state,
                }
                for aggregate, aggregate_id, state in part
            ]
            for start in range(0, len(rows), STATE_CHUNK):
                async with engine.begin() as connection:
                    await connection.execute(statement, rows[start : start + STATE_CHUNK])
            written += len(rows)
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    await source.close()
    return {
        "events": events,
        "fill_seconds": fill_seconds,
        "fill_events_per_s": events / fill_seconds if fill_seconds else 0.0,
        "states_written": written,
        "states_seconds": clock.seconds,
        **source.counts,
    }, written


async def run_one(size: int, kind: str, options: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(size)
    result: dict[str, Any] = {"size": size, "database": kind}
    with temp_dir("decision") as workdir:
        async with database(kind, workdir) as url:
            engine = make_engine(url)
            async with engine.begin() as connection:
                await connection.run_sync(kernel_metadata.create_all)
            server = EmbeddedNats(workdir / "nats", free_port(), sync="always")
            await server.start()
            await server.provision()
            nc = await nats.connect(admin_url(server), name="bench-decision-state")
            try:
                service = Service(engine, nc)

                # 1. real commands, production fsync
                commands = min(options.commands, size)
                print(f"  [{kind} {size:,}] {commands:,} register_worker commands", flush=True)
                latencies: list[float] = []
                workers: list[tuple[str, str, int]] = []
                for number in range(commands):
                    command = register_command(COMMAND_PERSON_BASE + number, rng)
                    started = time.perf_counter()
                    done = await service.handlers.register_worker(command, context())
                    latencies.append(time.perf_counter() - started)
                    workers.append((done.aggregate_id, command.area_code, done.seq))
                result["register_worker"] = summarise(latencies)

                # 2. the rest of the stream in bulk, server default fsync
                await nc.close()
                server, nc = await restart(server, "default")
                rest = size - commands
                print(f"  [{kind} {size:,}] bulk fill of {rest:,} events", flush=True)
                result["fill"], _ = await bulk_fill(nc, url, rest, workers, options.generators)
                info = await nc.jetstream().stream_info("REGISTRY")
                result["stream_events"] = int(info.state.messages)

                # 3. measurements, production fsync again
                await nc.close()
                server, nc = await restart(server, "always")
                service = Service(engine, nc)
                async with engine.connect() as connection:
                    result["aggregate_states_rows"] = int(
                        await connection.scalar(select(func.count()).select_from(aggregate_states))
                        or 0
                    )
                    worker_ids = list(
                        (
                            await connection.execute(
                                select(aggregate_states.c.aggregate_id).where(
                                    aggregate_states.c.aggregate_type == "worker"
                                )
                            )
                        ).scalars()
                    )
                result["workers"] = len(worker_ids)
                print(
                    f"  [{kind} {size:,}] stream {result['stream_events']:,} events, "
                    f"aggregate_states {result['aggregate_states_rows']:,} rows "
                    f"({len(worker_ids):,} workers); measuring",
                    flush=True,
                )
                result["load_cached"] = await measure_load_cached(
                    service, worker_ids, options.samples, rng
                )
                result["record_home_visit"] = await measure_commands(
                    service, worker_ids, options.later_commands, rng
                )
                result["event_store_load"] = await measure_slow_path(
                    service, worker_ids, options.slow_samples, options.slow_budget, rng
                )
            finally:
                await nc.close()
                server.stop()
                await engine.dispose()
    return result


async def measure_load_cached(
    service: Service, worker_ids: list[str], samples: int, rng: random.Random
) -> dict[str, float]:
    for worker_id in rng.sample(worker_ids, min(200, len(worker_ids))):  # warm the pool
        await service.executor.load_cached(Worker, worker_id)
    latencies: list[float] = []
    missing = 0
    for _ in range(samples):
        worker_id = rng.choice(worker_ids)
        started = time.perf_counter()
        worker = await service.executor.load_cached(Worker, worker_id)
        latencies.append(time.perf_counter() - started)
        missing += worker.state is None
    return {**summarise(latencies), "not_found": float(missing)}


async def measure_commands(
    service: Service, worker_ids: list[str], count: int, rng: random.Random
) -> dict[str, float]:
    latencies: list[float] = []
    for _ in range(count):
        command = RecordHomeVisit(
            visited_on=date.today() - timedelta(days=rng.randint(0, 30)),
            visitor="社区妇联主席",
            notes="了解就业意向，推荐家政培训",
        )
        started = time.perf_counter()
        await service.handlers.record_home_visit(rng.choice(worker_ids), command, context())
        latencies.append(time.perf_counter() - started)
    return summarise(latencies)


async def measure_slow_path(
    service: Service, worker_ids: list[str], samples: int, budget: float, rng: random.Random
) -> dict[str, float]:
    latencies: list[float] = []
    events = 0
    clock = Stopwatch()
    for worker_id in rng.sample(worker_ids, min(samples, len(worker_ids))):
        started = time.perf_counter()
        history = await service.store.load("worker", worker_id)
        latencies.append(time.perf_counter() - started)
        events += len(history)
        if clock.seconds > budget:
            break
    return {**summarise(latencies), "mean_events": events / max(len(latencies), 1)}


def print_report(report: dict[str, Any]) -> None:
    print()
    print(
        "Decision state: CommandExecutor.load_cached(Worker, id) for random existing workers "
        f"(ms); load average {report['load_average']}"
    )
    print(
        f"commands and measurements with {sync_label('always')}; bulk fill with "
        f"{sync_label('default')}"
    )
    rows = []
    for r in report["results"]:
        load, slow = r["load_cached"], r["event_store_load"]
        first, later = r["register_worker"], r["record_home_visit"]
        rows.append(
            [
                f"{r['database']} {r['stream_events']:,} events",
                r["aggregate_states_rows"],
                load["p50_ms"],
                load["p95_ms"],
                load["p99_ms"],
                load["max_ms"],
                slow["p50_ms"],
                slow["p95_ms"],
                slow["mean_events"],
                first["p50_ms"],
                first["p99_ms"],
                later["p50_ms"],
                later["p99_ms"],
            ]
        )
    print(
        table(
            [
                "stream",
                "states rows",
                "load p50",
                "p95",
                "p99",
                "max",
                "log load p50",
                "p95",
                "events/agg",
                "register p50",
                "p99",
                "visit p50",
                "p99",
            ],
            rows,
        )
    )
    print(
        "load = load_cached (target p50 <= 1 ms); log load = EventStore.load, the slow path; "
        "register = the first register_worker commands (small stream); visit = record_home_visit"
        " commands on random workers once the stream has its full size"
    )
    for r in report["results"]:
        f = r["fill"]
        print(
            f"  {r['database']} {r['size']:,}: bulk fill {f['events']:,} events at "
            f"{f['fill_events_per_s']:,.0f}/s, {f['states_written']:,} states written in "
            f"{f['states_seconds']:.1f} s"
        )


async def main(options: argparse.Namespace) -> dict[str, Any]:
    cancel_on_sigterm()
    sizes = [int(s.replace("_", "")) for s in options.sizes.split(",") if s]
    databases = chosen_databases(options.database)
    report: dict[str, Any] = {"results": []}
    start_load = load_average()
    print(f"decision-state benchmark: sizes {sizes}; databases: {', '.join(databases)}")
    for size in sizes:
        for kind in databases:
            report["results"].append(await run_one(size, kind, options))
    report["load_average"] = f"{start_load} at start, {load_average()} at end"
    print_report(report)
    return report


if __name__ == "__main__":
    try:
        arguments = parse()
        write_json(arguments.json, asyncio.run(main(arguments)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; cleaned up", file=sys.stderr)
        sys.exit(130)
