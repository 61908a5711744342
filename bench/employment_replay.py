"""Replay benchmark of employment's money and training projections: rebuild `loans`,
`fund_ledger`, `training_outcomes` and `employment_reports` from the streams that feed them.

    .venv/bin/python bench/employment_replay.py [--loans 3000] [--subsidies 20000]
        [--trainees 10000] [--database sqlite|postgresql|both]

Starts its own nats-server (default sync policy: the fill is a bulk load) and appends, as the
service would:
- every loan's path (applied, certified, filed, the county's opinion, approved, paid out over 12
  months, six repayments; one in ten refused by the county instead), each loan one append;
- 20 funds, and subsidies of every kind against them: applied, then approved with the fund's
  commitment in one atomic append (one in twenty rejected instead), paid and reconciled;
- courses of 50 trainees (one in five SYB), each enrolled and completed (nine in ten passed),
  and, on the REGISTRY stream, a re-employment spell for six in ten of them within 8 months.
Then, for each database, it rebuilds each projection once and prints stream events, seconds and
stream events/s, and whether the rebuilt tables equal a second rebuild's. The guarantor is
appended unsealed (no vault): sealing costs the writer, not the replay. Figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from datetime import date, timedelta
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
    table,
    temp_dir,
    write_json,
)
from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    CourseKind,
    CourseScheduledV2,
    FundCommittedV1,
    FundOpenedV1,
    LoanAppliedV1,
    LoanApprovedV1,
    LoanCertifiedV1,
    LoanDisbursedV1,
    LoanFiledV1,
    LoanOpinionGivenV1,
    LoanRepaymentRecordedV1,
    SubsidyAppliedV1,
    SubsidyApprovedV1,
    SubsidyKind,
    SubsidyPaidV1,
    SubsidyReconciledV1,
    SubsidyRejectedV1,
    TraineeEnrolledV1,
    TrainingCompletedV1,
)
from jinguo_contracts.registry import ReemploymentSpellStartedV1
from jinguo_employment.bootstrap import EmploymentService
from jinguo_employment.domain.loan import next_due, repayment_schedule
from jinguo_shared.db import make_engine
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import AggregateWrite, EventStore
from jinguo_shared.projections.api_clients import ApiClients
from jinguo_shared.projections.host import ProjectionHost

NAMES = ("loans", "fund_ledger", "training_outcomes", "employment_reports")
FUNDS = 20
COURSE_SIZE = 50
KINDS: tuple[SubsidyKind, ...] = ("post", "social_insurance", "employment_assistance")


def community(rng: random.Random) -> str:
    return f"1101010{rng.randint(1, 5):02d}{rng.randint(1, 5):03d}"


def loan_events(n: int, rng: random.Random) -> list[EventContract]:
    ids = {
        "loan_id": f"loan-{n:07d}",
        "worker_id": f"worker-{n:07d}",
        "area_code": community(rng),
    }
    start = date(2025, rng.randint(1, 12), rng.randint(1, 28))
    amount = rng.choice((20_000, 30_000, 50_000, 80_000, 100_000))
    events: list[EventContract] = [
        LoanAppliedV1(
            **ids,
            gender="female",
            amount=amount,
            term_months=12,
            purpose="开办社区家政服务店：租赁门面、购置设备、流动资金",
            business_name="巾帼家政服务店",
            trade="家政服务",
            jobs_created=rng.randint(1, 8),
            guarantee="guarantor",
            guarantor="李秀兰（事业单位职工）",
            applied_on=start,
        ),
        LoanCertifiedV1(**ids, certified_on=start),
        LoanFiledV1(**ids, filed_on=start),
    ]
    if n % 10 == 0:
        events.append(
            LoanOpinionGivenV1(**ids, favourable=False, reason="带动就业不足", given_on=start)
        )
        return events
    schedule = repayment_schedule(amount, 12, start)
    events += [
        LoanOpinionGivenV1(**ids, favourable=True, given_on=start),
        LoanApprovedV1(
            **ids, amount=amount, annual_rate_percent=4.35, term_months=12, decided_on=start
        ),
        LoanDisbursedV1(
            **ids,
            amount=amount,
            gender="female",
            jobs_created=3,
            schedule=schedule,
            disbursed_on=start,
        ),
    ]
    repaid = 0
    for instalment in schedule[:6]:
        repaid += instalment.amount
        events.append(
            LoanRepaymentRecordedV1(
                **ids,
                amount=instalment.amount,
                repaid=repaid,
                outstanding=amount - repaid,
                next_due_on=next_due(schedule, repaid),
                paid_on=instalment.due_on,
            )
        )
    return events


def context(label: str) -> CommandContext:
    return CommandContext(command_id=f"fill-{label}", correlation_id=f"fill-{label}")


async def fill_loans(store: EventStore, loans: int, rng: random.Random) -> int:
    appended = 0
    for n in range(loans):
        events = loan_events(n, rng)
        await store.append("loan", f"loan-{n:07d}", 0, events, context(f"loan-{n}"))
        appended += len(events)
    return appended


async def fill_subsidies(store: EventStore, subsidies: int, rng: random.Random) -> int:
    """Funds large enough for every subsidy; each approval commits against its fund in the
    same atomic append, guarded by the fund's last sequence as the service's is."""
    funds: dict[str, int] = {}
    for n in range(FUNDS):
        fund_id = f"fund-{n:03d}"
        funds[fund_id] = await store.append(
            "fund",
            fund_id,
            0,
            [
                FundOpenedV1(
                    fund_id=fund_id,
                    name=f"2026年就业专项资金 {n}",
                    source="city",
                    year=2026,
                    area_code="110101",
                    budget=10**10,
                    occurred_on=date(2026, 1, 1),
                )
            ],
            context(fund_id),
        )
    committed = dict.fromkeys(funds, 0)
    appended = FUNDS
    for n in range(subsidies):
        subsidy_id = f"subsidy-{n:07d}"
        fund_id = f"fund-{n % FUNDS:03d}"
        kind = KINDS[n % len(KINDS)]
        month = date(2026, rng.randint(1, 12), 1)
        common = {
            "subsidy_id": subsidy_id,
            "worker_id": f"worker-{n:07d}",
            "area_code": community(rng),
        }
        amount = rng.choice((300, 600, 1_200))
        money: dict[str, Any] = {"fund_id": fund_id, "kind": kind, "amount": amount}
        applied = await store.append(
            "subsidy",
            subsidy_id,
            0,
            [
                SubsidyAppliedV1(
                    **common,
                    **money,
                    month=f"{month:%Y-%m}",
                    payee="employer" if kind == "post" else "person",
                    payee_id="employer-1" if kind == "post" else None,
                    applied_on=month,
                )
            ],
            context(f"{subsidy_id}-applied"),
        )
        if n % 20 == 0:
            await store.append(
                "subsidy",
                subsidy_id,
                applied,
                [SubsidyRejectedV1(**common, reason="材料不全", rejected_on=month)],
                context(f"{subsidy_id}-rejected"),
            )
            appended += 2
            continue
        committed[fund_id] += amount
        [approved, funds[fund_id]] = await store.append_together(
            [
                AggregateWrite(
                    "subsidy",
                    subsidy_id,
                    applied,
                    [SubsidyApprovedV1(**common, **money, approved_on=month)],
                ),
                AggregateWrite(
                    "fund",
                    fund_id,
                    funds[fund_id],
                    [
                        FundCommittedV1(
                            fund_id=fund_id,
                            subsidy_id=subsidy_id,
                            kind=kind,
                            amount=amount,
                            area_code=common["area_code"],
                            committed=committed[fund_id],
                            occurred_on=month,
                        )
                    ],
                ),
            ],
            context(f"{subsidy_id}-approved"),
        )
        paid = month + timedelta(days=20)
        await store.append(
            "subsidy",
            subsidy_id,
            approved,
            [
                SubsidyPaidV1(**common, **money, payment_reference=f"PAY-{n}", paid_on=paid),
                SubsidyReconciledV1(
                    **common, **money, statement_reference=f"ST-{n}", reconciled_on=paid
                ),
            ],
            context(f"{subsidy_id}-paid"),
        )
        appended += 6
    return appended


async def fill_training(
    store: EventStore, registry: EventStore, trainees: int, rng: random.Random
) -> int:
    appended = 0
    for c in range(max(1, trainees // COURSE_SIZE)):
        course_id = f"course-{c:05d}"
        kind: CourseKind = "syb" if c % 5 == 0 else "vocational"
        starts_on = date(2025, rng.randint(1, 12), 1)
        ends_on = starts_on + timedelta(days=30)
        events: list[EventContract] = [
            CourseScheduledV2(
                course_id=course_id,
                title="创业培训（SYB）" if kind == "syb" else "养老护理员培训",
                trade="创业" if kind == "syb" else "养老护理",
                occupation_code=None if kind == "syb" else "4-10-01-05",
                code_system=None if kind == "syb" else "GB/T 6565-2015",
                provider="东城区职业技能培训学校",
                area_code="110101",
                seats=COURSE_SIZE,
                starts_on=starts_on,
                ends_on=ends_on,
                subsidy_per_trainee=1_200,
                kind=kind,
            )
        ]
        for t in range(COURSE_SIZE):
            worker_id = f"trainee-{c:05d}-{t:02d}"
            area_code = community(rng)
            events += [
                TraineeEnrolledV1(
                    course_id=course_id,
                    worker_id=worker_id,
                    seats_taken=t + 1,
                    gender="female",
                    area_code=area_code,
                    occurred_on=starts_on,
                    course_kind=kind,
                ),
                TrainingCompletedV1(
                    course_id=course_id,
                    worker_id=worker_id,
                    passed=rng.random() < 0.9,
                    score=rng.randint(50, 100),
                    trade="养老护理",
                    area_code=area_code,
                    gender="female",
                    completed_on=ends_on,
                    course_kind=kind,
                ),
            ]
            if rng.random() < 0.6:
                started_on = ends_on + timedelta(days=rng.randint(1, 240))
                await registry.append(
                    "worker",
                    worker_id,
                    0,
                    [
                        ReemploymentSpellStartedV1(
                            worker_id=worker_id,
                            spell_id=f"spell-{worker_id}",
                            kind="self_employed" if kind == "syb" else "found_herself",
                            started_on=started_on,
                            area_code=area_code,
                            gender="female",
                        )
                    ],
                    context(f"spell-{worker_id}"),
                )
                appended += 1
        await store.append("course", course_id, 0, events, context(course_id))
        appended += len(events)
    return appended


async def fill(nats_url: str, options: argparse.Namespace) -> int:
    nc = await nats.connect(nats_url, name="bench-employment-fill")
    store = EventStore(nc, "employment", vault=None)
    registry = EventStore(nc, "registry", vault=None)
    rng = random.Random(2026)
    try:
        return (
            await fill_loans(store, options.loans, rng)
            + await fill_subsidies(store, options.subsidies, rng)
            + await fill_training(store, registry, options.trainees, rng)
        )
    finally:
        await nc.close()


async def snapshot(host: ProjectionHost, engine: Any, name: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    async with engine.connect() as connection:
        for sql_table in host.active(name).metadata.sorted_tables:
            result = await connection.execute(select(sql_table))
            rows += sorted((tuple(map(str, r)) for r in result), key=str)
    return rows


async def rebuild(nats_url: str, url: str, events: int) -> list[dict[str, Any]]:
    engine = make_engine(url)
    nc = await nats.connect(nats_url, name="bench-employment-rebuild")
    results = []
    try:
        host = ProjectionHost(
            "employment", engine, nc, [ApiClients, *EmploymentService.projections]
        )
        await host.prepare()
        for name in NAMES:
            clock = Stopwatch()
            await host.rebuild(name)
            seconds = clock.seconds
            first = await snapshot(host, engine, name)
            await host.rebuild(name)
            equal = first == await snapshot(host, engine, name)
            results.append(
                {
                    "database": engine.dialect.name,
                    "projection": name,
                    "seconds": seconds,
                    "stream_events_per_s": events / seconds,
                    "rows": len(first),
                    "replay_equal": equal,
                }
            )
    finally:
        await nc.close()
        await engine.dispose()
    return results


async def main(options: argparse.Namespace) -> dict[str, Any]:
    with temp_dir("employment-replay") as directory:
        async with nats_server(directory / "nats", "default") as server:
            url = admin_url(server)
            clock = Stopwatch()
            events = await fill(url, options)
            print(f"appended {events:,} events in {clock.seconds:.1f} s", flush=True)
            results = []
            for kind in chosen_databases(options.database):
                async with database(kind, directory) as database_url:
                    results += await rebuild(url, database_url, events)
    print(
        table(
            ("database", "projection", "seconds", "stream ev/s", "rows", "replay equal"),
            [
                (
                    r["database"],
                    r["projection"],
                    f"{r['seconds']:.2f}",
                    f"{r['stream_events_per_s']:,.0f}",
                    r["rows"],
                    "yes" if r["replay_equal"] else "NO",
                )
                for r in results
            ],
        )
    )
    print(f"load average: {load_average()}")
    return {**vars(options), "events": events, "results": results}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=3000)
    parser.add_argument("--subsidies", type=int, default=20_000)
    parser.add_argument("--trainees", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--json", help="also write the figures to this file")
    arguments = parser.parse_args()
    write_json(arguments.json, asyncio.run(main(arguments)))
