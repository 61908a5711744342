"""Her path benchmark: one woman with 200 facts across the services, among many others.

    .venv/bin/python bench/dossier.py [--events 100000] [--database sqlite|postgresql|both]

1. Starts its own nats-server (127.0.0.1, free port, temp dir) and fills REGISTRY, EMPLOYMENT and
   ORDERS: registrations of one worker per ten events, then the facts her path shows (categories,
   certificates, visits, spells, awards; courses, subsidies, placements, flexible work; services
   delivered and rated), business-dated over 2024 to 2026, each for a worker drawn at random;
   among them, scattered through the log, 200 facts of one woman of every kind.
2. For each database: rebuilds `worker_directory` (the route reads her community there; its
   rate is printed for comparison, on the same machine at the same moment), then
   `worker_path` twice from the log (events read/s) and compares the two generations' rows
   (replay equality); then reads her path as `GET /registry/workers/{id}/path` does
   (`RegistryQueries.path`, without HTTP): all 200 lines in one page of 200, and the four pages
   of 50 one after another; prints p50/p95/p99.

Figures only: nothing is asserted. Target: her path ≤ 50 ms at p95.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nats
from sqlalchemy import select

from bench._common import (
    Stopwatch,
    admin_url,
    chosen_databases,
    database,
    load_average,
    nats_server,
    percentile,
    rss_mib,
    table,
    temp_dir,
    write_json,
)
from bench._events import Publisher
from bench.sheet import Counted, item
from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    CertificateAwardedV1,
    FlexibleEmploymentRecordedV1,
    PlacementEndedV1,
    PlacementFollowedUpV1,
    PlacementStartedV1,
    TraineeEnrolledV1,
    TrainingCompletedV1,
    TrainingSubsidyGrantedV1,
)
from jinguo_contracts.orders import OrderRatedV1, ServiceCompletedV1
from jinguo_contracts.programme import AwardGrantedV1
from jinguo_contracts.registry import (
    OCCUPATION_CODE_SYSTEM,
    CertificateIssuedV1,
    HomeVisitRecordedV1,
    ReemploymentSpellEndedV1,
    ReemploymentSpellStartedV1,
    WorkerCategoryAssessedV1,
    WorkerRegisteredV1,
)
from jinguo_registry.projections.path import WorkerPath
from jinguo_registry.projections.queries import RegistryQueries
from jinguo_registry.projections.workers import WorkerDirectory
from jinguo_shared.crypto import PiiVault
from jinguo_shared.db import make_engine
from jinguo_shared.projections.host import ProjectionHost

HER = "her"
HER_FACTS = 200
HER_AREA = "430102001001"
JURISDICTION = "430102"
FIRST_DAY = date(2024, 1, 1)
DAYS = (date(2026, 11, 30) - FIRST_DAY).days
COMMUNITIES = tuple(
    f"4301{district:02d}{street:03d}{community:03d}"
    for district in range(2, 7)
    for street in range(1, 6)
    for community in range(1, 11)
)
Fact = Callable[[str, int, date, str], EventContract]


def _started(worker: str, n: int, day: date, area: str) -> EventContract:
    return ReemploymentSpellStartedV1(
        worker_id=worker,
        spell_id=f"s{n}",
        kind="found_herself",
        started_on=day,
        area_code=area,
        gender="female",
        employer_name="长沙家政公司",
    )


def _served(worker: str, n: int, day: date, area: str) -> EventContract:
    started = datetime(day.year, day.month, day.day, 1, tzinfo=UTC)
    return ServiceCompletedV1(
        order_id=f"o{n}",
        worker_id=worker,
        service_code="housekeeping",
        area_code=area,
        started_at=started,
        completed_at=started + timedelta(hours=2),
        price_tier="low_cost",
    )


FACTS: tuple[Fact, ...] = (
    lambda w, n, d, a: WorkerCategoryAssessedV1(
        worker_id=w,
        category="age_40_50",
        evidence="x",
        valid_until=d + timedelta(days=730),
        area_code=a,
        occurred_on=d,
    ),
    lambda w, n, d, a: CertificateIssuedV1(
        worker_id=w, kind="reemployment_preference", number=f"R{n}", issued_on=d, area_code=a
    ),
    lambda w, n, d, a: HomeVisitRecordedV1(
        worker_id=w, visit_id=f"v{n}", visited_on=d, visitor="社区专干", notes="x", area_code=a
    ),
    _started,
    lambda w, n, d, a: ReemploymentSpellEndedV1(
        worker_id=w, spell_id=f"s{n}", kind="flexible", ended_on=d, reason="合同到期", area_code=a
    ),
    lambda w, n, d, a: AwardGrantedV1(
        award_id=f"a{n}",
        area_code=a,
        title="post_star",
        nominee_kind="worker",
        nominee_id=w,
        granted_by="bench",
        granted_on=d,
    ),
    lambda w, n, d, a: TraineeEnrolledV1(
        course_id=f"c{n}",
        worker_id=w,
        seats_taken=1,
        gender="female",
        area_code=a,
        occurred_on=d,
        course_kind="vocational",
    ),
    lambda w, n, d, a: TrainingCompletedV1(
        course_id=f"c{n}",
        worker_id=w,
        passed=True,
        score=85,
        trade="家政服务",
        area_code=a,
        gender="female",
        completed_on=d,
    ),
    lambda w, n, d, a: CertificateAwardedV1(
        course_id=f"c{n}",
        worker_id=w,
        certificate_no=f"ZJ{n:014d}",
        occupation_code="4-10-01-06",
        code_system=OCCUPATION_CODE_SYSTEM,
        level=4,
        trade="家政服务",
        area_code=a,
        awarded_on=d,
    ),
    lambda w, n, d, a: TrainingSubsidyGrantedV1(
        course_id=f"c{n}", worker_id=w, amount=800, area_code=a, granted_on=d
    ),
    lambda w, n, d, a: PlacementStartedV1(
        worker_id=w,
        placement_id=f"pl{n}",
        post_id=f"p{n}",
        employer_id="e1",
        area_code=a,
        hours_type="full_time",
        kind="market",
        start_date=d,
    ),
    lambda w, n, d, a: PlacementFollowedUpV1(
        worker_id=w,
        placement_id=f"pl{n}",
        month=3,
        still_employed=True,
        followed_up_on=d,
        area_code=a,
        start_date=d - timedelta(days=91),
    ),
    lambda w, n, d, a: PlacementEndedV1(
        worker_id=w,
        placement_id=f"pl{n}",
        reason="contract_ended",
        ended_on=d,
        hours_type="full_time",
        area_code=a,
    ),
    lambda w, n, d, a: FlexibleEmploymentRecordedV1(
        worker_id=w,
        order_id=f"o{n}",
        service_code="housekeeping",
        area_code=a,
        completed_on=d,
        hours=2.0,
    ),
    _served,
    lambda w, n, d, a: OrderRatedV1(
        order_id=f"o{n}", score=5, comment=None, worker_id=w, area_code=a, occurred_on=d
    ),
)
"""One fact of each kind her path shows, keyed by `n` so that no two are the same fact."""


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="reads of her path, per kind")
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql", "both"],
        default=None,
        help="default: sqlite, plus postgresql when JINGUO_BENCH_POSTGRES_URL is set",
    )
    parser.add_argument("--json", help="write the figures here as JSON")
    return parser.parse_args(argv)


def registration(worker: str, day: date, area: str) -> EventContract:
    return WorkerRegisteredV1(
        worker_id=worker,
        name="x",
        national_id="x",
        gender="female",
        birth_date=date(1976, 1, 1),
        phone="x",
        area_code=area,
        hukou="local",
        occurred_on=day,
    )


def the_log(total: int, rng: random.Random) -> Iterator[EventContract]:
    """Registrations first, then the facts in random order, hers scattered among them."""
    workers = max(total // 10, 1)
    yield registration(HER, FIRST_DAY, HER_AREA)
    for n in range(workers):
        yield registration(f"w{n}", FIRST_DAY + timedelta(days=n % DAYS), rng.choice(COMMUNITIES))
    facts = max(total - 1 - workers, HER_FACTS - 1)
    hers = iter(sorted(rng.sample(range(facts), HER_FACTS - 1)))
    next_of_hers = next(hers, None)
    mine = 0
    for n in range(facts):
        when = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        if n == next_of_hers:
            yield FACTS[mine % len(FACTS)](HER, n, when, HER_AREA)
            mine += 1
            next_of_hers = next(hers, None)
        else:
            worker = f"w{rng.randrange(workers)}"
            yield rng.choice(FACTS)(worker, n, when, rng.choice(COMMUNITIES))


async def fill(nats_url: str, total: int) -> dict[str, Any]:
    nc = await nats.connect(nats_url, name="bench-dossier-fill")
    rng = random.Random(2026)
    publisher = Publisher(nc, 256, keep_seqs=False)
    clock = Stopwatch()
    by_service: dict[str, int] = {}
    chunk: list[tuple[str, bytes, str, str, str]] = []
    n = 0
    try:
        for n, event in enumerate(the_log(total, rng), start=1):
            by_service[event.service] = by_service.get(event.service, 0) + 1
            chunk.append(item(event, n))
            if len(chunk) == 5_000:
                await publisher.publish(chunk)
                chunk = []
                if n % 100_000 < 5_000:
                    print(f"  fill {n:>10,}  {n / clock.seconds:>8,.0f} events/s", flush=True)
        await publisher.publish(chunk)
        await publisher.drain(timeout=600)
    finally:
        await publisher.close()
        await nc.close()
    return {
        "events": n,
        "by_service": by_service,
        "her_facts": HER_FACTS,
        "seconds": clock.seconds,
        "events_per_s": n / clock.seconds,
    }


async def rows_of(engine: Any, projection: WorkerPath) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        return sorted(tuple(r) for r in await connection.execute(select(projection.lines)))


def in_jurisdiction(area: str) -> bool:
    return area.startswith(JURISDICTION)


async def measure(nats_url: str, url: str, requests: int) -> dict[str, Any]:
    engine = make_engine(url)
    nc = await nats.connect(nats_url, name="bench-dossier")
    try:
        host = ProjectionHost("registry", engine, nc, [WorkerDirectory, WorkerPath])
        await host.prepare()
        read = Counted()
        clock = Stopwatch()
        await host.rebuild(WorkerDirectory.name, progress=read)
        reference = {"events_read": read.done, "events_read_per_s": read.done / clock.seconds}
        rebuilds = []
        generations = []
        for _ in range(2):
            read = Counted()
            clock = Stopwatch()
            [rebuilt] = await host.rebuild(WorkerPath.name, progress=read)
            seconds = clock.seconds
            assert isinstance(rebuilt, WorkerPath)
            generations.append(await rows_of(engine, rebuilt))
            rebuilds.append(
                {
                    "events_read": read.done,
                    "seconds": seconds,
                    "events_read_per_s": read.done / seconds,
                    "rows": len(generations[-1]),
                }
            )
            print(f"  [{engine.dialect.name}] rebuild worker_path: {rebuilds[-1]}", flush=True)
        queries = RegistryQueries(engine, host, PiiVault(engine, os.urandom(32)))

        async def whole(limit: int) -> list[float]:
            """Each page's time, every page of her path at this size."""
            times = []
            after = None
            while True:
                clock = Stopwatch()
                rows = await queries.path(HER, in_jurisdiction, after=after, limit=limit)
                times.append(clock.seconds * 1000)
                assert rows is not None
                if len(rows) < limit:
                    return times
                last = rows[-1]
                after = (last["happened_on"], last["recorded_at"], last["fact_id"])

        lines = await queries.path(HER, in_jurisdiction, after=None, limit=200)
        assert lines is not None
        await whole(50)  # warm: caches, plans
        latencies: dict[str, list[float]] = {"one page of 200": [], "pages of 50": []}
        for _ in range(requests):
            latencies["one page of 200"] += await whole(200)
            latencies["pages of 50"] += await whole(50)
        return {
            "database": engine.dialect.name,
            "her_lines": len(lines),
            "rebuilds": rebuilds,
            "replay_equal": generations[0] == generations[1],
            "worker_directory_rebuild": reference,
            "path_ms": {
                label: {
                    "requests": len(samples),
                    "p50": percentile(sorted(samples), 0.50),
                    "p95": percentile(sorted(samples), 0.95),
                    "p99": percentile(sorted(samples), 0.99),
                }
                for label, samples in latencies.items()
            },
            "rss_mib": rss_mib(),
        }
    finally:
        await nc.close()
        await engine.dispose()


async def main(options: argparse.Namespace) -> None:
    results: dict[str, Any] = {"load_average_before": load_average()}
    with temp_dir("dossier") as workdir:
        async with nats_server(workdir / "nats", "default") as server:
            url = admin_url(server)
            print(f"fill: {options.events:,} events", flush=True)
            results["fill"] = await fill(url, options.events)
            print(f"  {results['fill']}", flush=True)
            results["databases"] = []
            for kind in chosen_databases(options.database):
                async with database(kind, workdir) as database_url:
                    results["databases"].append(await measure(url, database_url, options.requests))
    rows = [
        [
            result["database"],
            label,
            f"{figures['p50']:.1f}",
            f"{figures['p95']:.1f}",
            f"{figures['p99']:.1f}",
        ]
        for result in results["databases"]
        for label, figures in result["path_ms"].items()
    ]
    lines = ", ".join(f"{r['database']} {r['her_lines']}" for r in results["databases"])
    print(f"her path: {lines} lines")
    print(table(["database", "her path", "p50 ms", "p95 ms", "p99 ms"], rows))
    rebuild_rows = [
        [
            result["database"],
            f"{r['events_read']:,}",
            f"{r['rows']:,}",
            f"{r['seconds']:.1f}",
            f"{r['events_read_per_s']:,.0f}",
            "identical" if result["replay_equal"] else "DIFFERENT",
        ]
        for result in results["databases"]
        for r in result["rebuilds"]
    ]
    print(
        table(
            ["database", "worker_path events read", "rows", "s", "events/s", "two rebuilds"],
            rebuild_rows,
        )
    )
    for result in results["databases"]:
        reference = result["worker_directory_rebuild"]
        print(
            f"for comparison, worker_directory rebuilt here ({result['database']}):"
            f" {reference['events_read']:,} events at {reference['events_read_per_s']:,.0f}/s"
        )
    write_json(options.json, results)


if __name__ == "__main__":
    asyncio.run(main(parse()))
