"""Replay benchmark of the loan book: rebuild `loans` and `employment_reports` from an
EMPLOYMENT stream of small guaranteed loans, each through its whole path.

    .venv/bin/python bench/loans_replay.py [--loans 3000] [--database sqlite|postgresql|both]

Starts its own nats-server (default sync policy: the fill is a bulk load), appends every loan's
events as the service would (applied, certified, filed, the county's opinion, approved, paid out
over 12 months, six repayments; one in ten refused by the county instead), each loan one
atomic append, then for each database rebuilds each projection once and prints events read,
seconds and events/s, and whether the rebuilt tables equal a second rebuild's. The guarantor
is appended unsealed (no vault): sealing costs the writer, not the replay. Figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from datetime import date
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
    LoanAppliedV1,
    LoanApprovedV1,
    LoanCertifiedV1,
    LoanDisbursedV1,
    LoanFiledV1,
    LoanOpinionGivenV1,
    LoanRepaymentRecordedV1,
)
from jinguo_employment.bootstrap import EmploymentService
from jinguo_employment.domain.loan import next_due, repayment_schedule
from jinguo_shared.db import make_engine
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore
from jinguo_shared.projections.api_clients import ApiClients
from jinguo_shared.projections.host import ProjectionHost

NAMES = ("loans", "employment_reports")


def loan_events(n: int, rng: random.Random) -> list[EventContract]:
    ids = {
        "loan_id": f"loan-{n:07d}",
        "worker_id": f"worker-{n:07d}",
        "area_code": f"1101010{rng.randint(1, 5):02d}{rng.randint(1, 5):03d}",
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


async def fill(nats_url: str, loans: int) -> int:
    nc = await nats.connect(nats_url, name="bench-loans-fill")
    store = EventStore(nc, "employment", vault=None)
    rng = random.Random(2026)
    appended = 0
    try:
        for n in range(loans):
            events = loan_events(n, rng)
            context = CommandContext(command_id=f"fill-{n}", correlation_id=f"fill-{n}")
            await store.append("loan", f"loan-{n:07d}", 0, events, context)
            appended += len(events)
    finally:
        await nc.close()
    return appended


async def snapshot(host: ProjectionHost, engine: Any, name: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    async with engine.connect() as connection:
        for sql_table in host.active(name).metadata.sorted_tables:
            result = await connection.execute(select(sql_table))
            rows += sorted((tuple(map(str, r)) for r in result), key=str)
    return rows


async def rebuild(nats_url: str, url: str, events: int) -> list[dict[str, Any]]:
    engine = make_engine(url)
    nc = await nats.connect(nats_url, name="bench-loans-rebuild")
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
    with temp_dir("loans-replay") as directory:
        async with nats_server(directory / "nats", "default") as server:
            url = admin_url(server)
            clock = Stopwatch()
            events = await fill(url, options.loans)
            print(f"appended {events:,} loan events in {clock.seconds:.1f} s", flush=True)
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
    return {"loans": options.loans, "events": events, "results": results}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=3000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--json", help="also write the figures to this file")
    arguments = parser.parse_args()
    write_json(arguments.json, asyncio.run(main(arguments)))
