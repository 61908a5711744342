"""Year-end sheet benchmark: a province with 1,000 communities and 1,000,000 events.

    .venv/bin/python bench/sheet.py [--events 1000000] [--database sqlite|postgresql|both]

1. Starts its own nats-server (127.0.0.1, free port, temp dir) and fills REGISTRY, EMPLOYMENT and
   ORDERS: the register of a province (4 cities, 20 districts, 100 streets, 1,000 communities)
   with population and an approved 2026 plan for every area, then the facts the sheet counts
   (registrations, re-employment, certificates, home visits, volunteers, posts published and
   filled, enrolments and completions, services delivered, activities), business-dated over
   2025 and 2026. Personal fields hold placeholders: the projections measured never read them.
2. For each database: rebuilds `programme_register` and `programme_figures` from the log
   (events read/s), then asks for sheets the way `GET /registry/sheets/{area}/{period}` does
   (`ProgrammeQueries.sheet`, without HTTP): the province's year, a city's half, a district's
   quarter and a street's month, each many times; prints p50/p95/p99 per kind.

Figures only: nothing is asserted. Target: the province's year ≤ 200 ms at p95.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nats

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
from jinguo_contracts.areas import AreaPopulationRecordedV1, AreaRegisteredV1
from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    PostFilledV1,
    PostPublishedV1,
    Requirements,
    TraineeEnrolledV1,
    TrainingCompletedV1,
    Wage,
)
from jinguo_contracts.orders import ServiceCompletedV1
from jinguo_contracts.programme import ActivityHeldV1, PlanApprovedV1, PlanSubmittedV1
from jinguo_contracts.registry import (
    CertificateIssuedV1,
    HomeVisitRecordedV1,
    VolunteerRegisteredV1,
    WorkerReemployedV1,
    WorkerRegisteredV1,
)
from jinguo_registry.domain.periods import Period
from jinguo_registry.projections.figures import ProgrammeFigures
from jinguo_registry.projections.programme import ProgrammeRegister
from jinguo_registry.projections.programme_queries import ProgrammeQueries
from jinguo_shared.db import make_engine
from jinguo_shared.envelope import Envelope, nats_subject
from jinguo_shared.projections.host import ProjectionHost

PROVINCE = "430000"
TODAY = date(2026, 12, 5)
FIRST_DAY = date(2025, 1, 1)
DAYS = (date(2026, 11, 30) - FIRST_DAY).days
MIX: tuple[tuple[str, float], ...] = (
    ("WorkerRegistered", 0.34),
    ("WorkerReemployed", 0.10),
    ("CertificateIssued", 0.08),
    ("HomeVisitRecorded", 0.08),
    ("VolunteerRegistered", 0.04),
    ("PostPublished", 0.08),
    ("PostFilled", 0.06),
    ("TraineeEnrolled", 0.09),
    ("TrainingCompleted", 0.07),
    ("ServiceCompleted", 0.05),
    ("ActivityHeld", 0.01),
)
SHEETS: tuple[tuple[str, str, str], ...] = (
    ("province year", PROVINCE, "2026"),
    ("city half", "430100", "2026H1"),
    ("district quarter", "430102", "2026Q3"),
    ("street month", "430102001", "2026-06"),
)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100, help="sheets asked for, per kind")
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql", "both"],
        default=None,
        help="default: sqlite, plus postgresql when JINGUO_BENCH_POSTGRES_URL is set",
    )
    parser.add_argument("--json", help="write the figures here as JSON")
    return parser.parse_args(argv)


def geography() -> tuple[list[tuple[str, str]], list[str]]:
    """(code, name) of every area from the province down, and the 1,000 community codes."""
    areas = [(PROVINCE, "湖南省")]
    communities = []
    for city in range(1, 5):
        city_code = f"43{city:02d}00"
        areas.append((city_code, f"市{city}"))
        for district in range(2, 7):
            district_code = f"43{city:02d}{district:02d}"
            areas.append((district_code, f"区{city}-{district}"))
            for street in range(1, 6):
                street_code = f"{district_code}{street:03d}"
                areas.append((street_code, f"街道{street_code[-5:]}"))
                for community in range(1, 11):
                    code = f"{street_code}{community:03d}"
                    areas.append((code, f"社区{code[-6:]}"))
                    communities.append(code)
    return areas, communities


def register_events(areas: list[tuple[str, str]]) -> Iterator[EventContract]:
    for code, name in areas:
        level = "community" if len(code) == 12 else "street" if len(code) == 9 else "district"
        if code == PROVINCE:
            level = "province"
        elif code.endswith("00") and len(code) == 6:
            level = "city"
        parent = None if code == PROVINCE else (code[:9] if len(code) == 12 else None)
        yield AreaRegisteredV1(
            area_code=code, name=name, level=level, parent_code=parent or _parent(code), urban=True
        )
        residents = 9_000 if len(code) == 12 else 9_000 * 10 ** (4 - len(code) // 3)
        yield AreaPopulationRecordedV1(
            area_code=code,
            year=2026,
            households=residents * 10 // 26,
            residents=residents,
            women=residents // 2,
        )
        plan = f"{code}-2026"
        targets = {"women_reemployed": 30.0, "trainees": 40.0, "home_visits": 25.0}
        yield PlanSubmittedV1(
            plan_id=plan,
            area_code=code,
            year=2026,
            targets=targets,
            submitted_by="bench",
            submitted_on=date(2026, 1, 15),
        )
        yield PlanApprovedV1(
            plan_id=plan, area_code=code, year=2026, decided_by="bench", decided_on=date(2026, 2, 1)
        )


def _parent(code: str) -> str | None:
    if len(code) == 9:
        return code[:6]
    if code.endswith("00"):
        return PROVINCE
    return code[:4] + "00"


def fact(kind: str, n: int, rng: random.Random, communities: list[str]) -> EventContract:
    area = rng.choice(communities)
    day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
    worker = f"w{n}"
    if kind == "WorkerRegistered":
        return WorkerRegisteredV1(
            worker_id=worker,
            name="x",
            national_id="x",
            gender="female" if rng.random() < 0.9 else "male",
            birth_date=date(1976, 1, 1),
            phone="x",
            area_code=area,
            hukou="local",
            occurred_on=day,
        )
    if kind == "WorkerReemployed":
        return WorkerReemployedV1(
            worker_id=worker,
            post_id=f"p{n}",
            placement_id=f"pl{n}",
            employer_name="长沙家政公司",
            started_on=day,
            area_code=area,
            gender="female",
        )
    if kind == "CertificateIssued":
        return CertificateIssuedV1(
            worker_id=worker,
            kind=rng.choice(["tax_relief", "employment_unemployment", "reemployment_preference"]),
            number=f"C{n}",
            issued_on=day,
            area_code=area,
        )
    if kind == "HomeVisitRecorded":
        return HomeVisitRecordedV1(
            worker_id=worker,
            visit_id=f"v{n}",
            visited_on=day,
            visitor="社区专干",
            notes="x",
            area_code=area,
        )
    if kind == "VolunteerRegistered":
        return VolunteerRegisteredV1(
            volunteer_id=f"vol{n}", name="x", phone="x", area_code=area, occurred_on=day
        )
    if kind == "PostPublished":
        return PostPublishedV1(
            post_id=f"p{n}",
            employer_id="e1",
            employer_name="长沙家政公司",
            title="家政服务员",
            occupation_code="4-10-01-06",
            code_system="GB/T 6565-2015",
            area_code=area,
            wage=Wage(amount=3500, unit="month"),
            hours_type="full_time",
            openings=rng.randint(1, 5),
            requirements=Requirements(),
            kind=rng.choice(["market", "public_welfare"]),
            published_on=day,
        )
    if kind == "PostFilled":
        return PostFilledV1(
            post_id=f"p{n}",
            worker_id=worker,
            placement_id=f"pl{n}",
            start_date=day,
            employer_id="e1",
            employer_name="长沙家政公司",
            area_code=area,
            occupation_code="4-10-01-06",
            hours_type="full_time",
            kind=rng.choice(["market", "public_welfare"]),
            openings_left=0,
        )
    if kind == "TraineeEnrolled":
        return TraineeEnrolledV1(
            course_id=f"c{n % 500}",
            worker_id=worker,
            seats_taken=1,
            gender="female",
            area_code=area,
            occurred_on=day,
            course_kind=rng.choice(["vocational", "syb"]),
        )
    if kind == "TrainingCompleted":
        return TrainingCompletedV1(
            course_id=f"c{n % 500}",
            worker_id=worker,
            passed=rng.random() < 0.9,
            score=80,
            trade="家政服务",
            area_code=area,
            gender="female",
            completed_on=day,
        )
    if kind == "ServiceCompleted":
        started = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
        return ServiceCompletedV1(
            order_id=f"o{n}",
            worker_id=worker,
            service_code="housekeeping",
            area_code=area,
            started_at=started,
            completed_at=started + timedelta(hours=2),
            price_tier=rng.choice(["free", "low_cost", "market"]),
        )
    return ActivityHeldV1(
        activity_id=f"a{n}",
        kind="job_fair",
        title="招聘会",
        held_on=day,
        area_code=area[:9],
        organised_by="bench",
        participants=200,
        referrals=rng.randint(0, 30),
    )


def item(event: EventContract, n: int) -> tuple[str, bytes, str, str, str]:
    aggregate_id = str(getattr(event, f"{event.aggregate}_id", None) or event.area_code)  # type: ignore[attr-defined]
    event_id = str(uuid.UUID(int=n))
    envelope = Envelope(
        id=event_id,
        source=f"/jinguo/{event.service}",
        type=event.event_type,
        subject=aggregate_id,
        time=datetime.now(UTC),
        dataschema=event.schema_id(),
        schemaversion=event.version,
        correlationid=event_id,
        data=event.model_dump(mode="json"),
    )
    subject = nats_subject(event.service, event.aggregate, aggregate_id, event.event_type)
    return subject, envelope.to_json(), event_id, "", ""


async def fill(nats_url: str, total: int) -> dict[str, Any]:
    nc = await nats.connect(nats_url, name="bench-sheet-fill")
    areas, communities = geography()
    rng = random.Random(2026)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    publisher = Publisher(nc, 256, keep_seqs=False)
    clock = Stopwatch()
    try:
        register = [item(e, n) for n, e in enumerate(register_events(areas))]
        await publisher.publish(register)
        n = len(register)
        chunk: list[tuple[str, bytes, str, str, str]] = []
        while n < total:
            chunk.append(item(fact(rng.choices(kinds, weights)[0], n, rng, communities), n))
            n += 1
            if len(chunk) == 5_000:
                await publisher.publish(chunk)
                chunk = []
                if n % 100_000 < 5_000:
                    print(
                        f"  fill {n:>10,}/{total:,}  {n / clock.seconds:>8,.0f} events/s",
                        flush=True,
                    )
        await publisher.publish(chunk)
        await publisher.drain(timeout=600)
    finally:
        await publisher.close()
        await nc.close()
    return {
        "events": total,
        "areas": len(areas),
        "communities": len(communities),
        "seconds": clock.seconds,
        "events_per_s": total / clock.seconds,
    }


class Counted:
    """Progress callback: how many events a rebuild has read, over every stream it reads."""

    def __init__(self) -> None:
        self.by_stream: dict[str, int] = {}

    def __call__(self, stream: str, done: int, _total: int) -> None:
        self.by_stream[stream] = done

    @property
    def done(self) -> int:
        return sum(self.by_stream.values())


async def measure(nats_url: str, url: str, requests: int) -> dict[str, Any]:
    engine = make_engine(url)
    nc = await nats.connect(nats_url, name="bench-sheet")
    try:
        host = ProjectionHost("registry", engine, nc, [ProgrammeRegister, ProgrammeFigures])
        await host.prepare()
        rebuilds = {}
        for projection in (ProgrammeRegister, ProgrammeFigures):
            read = Counted()
            clock = Stopwatch()
            await host.rebuild(projection.name, progress=read)
            seconds = clock.seconds
            rebuilds[projection.name] = {
                "events_read": read.done,
                "seconds": seconds,
                "events_read_per_s": read.done / seconds,
            }
            print(f"  [{engine.dialect.name}] {projection.name}: {rebuilds[projection.name]}")
        queries = ProgrammeQueries(engine, host)
        latencies: dict[str, list[float]] = {}
        for label, area, period_code in SHEETS:
            period = Period.parse(period_code)
            found = await queries.sheet(area, period, TODAY)  # warm: caches, plans
            assert found is not None, area
            samples = []
            for _ in range(requests):
                clock = Stopwatch()
                await queries.sheet(area, period, TODAY)
                samples.append(clock.seconds * 1000)
            latencies[label] = sorted(samples)
        return {
            "database": engine.dialect.name,
            "rebuilds": rebuilds,
            "sheets_ms": {
                label: {
                    "p50": percentile(samples, 0.50),
                    "p95": percentile(samples, 0.95),
                    "p99": percentile(samples, 0.99),
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
    with temp_dir("jinguo-bench-sheet") as workdir:
        async with nats_server(workdir / "nats", "default") as server:
            url = admin_url(server)
            print(f"fill: {options.events:,} events", flush=True)
            results["fill"] = await fill(url, options.events)
            results["databases"] = []
            for kind in chosen_databases(options.database):
                async with database(kind, workdir) as database_url:
                    results["databases"].append(await measure(url, database_url, options.requests))
    rows = []
    for result in results["databases"]:
        for label, figures in result["sheets_ms"].items():
            rows.append(
                [
                    result["database"],
                    label,
                    f"{figures['p50']:.1f}",
                    f"{figures['p95']:.1f}",
                    f"{figures['p99']:.1f}",
                ]
            )
    print(table(["database", "sheet", "p50 ms", "p95 ms", "p99 ms"], rows))
    rebuild_rows = [
        [
            result["database"],
            name,
            f"{r['events_read']:,}",
            f"{r['seconds']:.1f}",
            f"{r['events_read_per_s']:,.0f}",
        ]
        for result in results["databases"]
        for name, r in result["rebuilds"].items()
    ]
    print(table(["database", "projection", "events read", "s", "events/s"], rebuild_rows))
    write_json(options.json, results)


if __name__ == "__main__":
    asyncio.run(main(parse()))
