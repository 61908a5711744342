"""Dispatch benchmark: assign 1,000 open orders automatically among 10,000 service workers.

    .venv/bin/python bench/dispatch.py [--workers 10000] [--orders 1000] [--database both]

For each database, in a temp dir with a nats-server of its own:

1. creates the services-orders projection tables and fills the dispatch pool with `--workers`
   registered workers in one city (16 districts of 北京, five streets each, eight communities
   per street) and a satisfaction record for ~60% of them (rows, as the projections would hold
   them from the registry's and the orders' events);
2. qualifies every worker for one or two of the catalogue's certificates through the real
   command (`OrdersHandlers.qualify_worker`, appended to JetStream), offers the nine services
   of the catalogue, registers the residents, and places `--orders` orders in two-hour windows
   over one week, all through the real handlers, while the projection host runs;
3. times `OrdersHandlers.dispatch(order_id)` for every open order — the candidate query
   (certificate, district, free in the window), ranking, and the atomic append of the order's
   assignment with the worker's booking, guarded by both versions — exactly what
   `POST /orders/orders/{id}/dispatch` runs, and prints p50/p95/p99/max.

Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nats
from sqlalchemy import insert

from bench._common import (
    admin_url,
    chosen_databases,
    database,
    load_average,
    nats_server,
    summarise,
    table,
    temp_dir,
    write_json,
)
from jinguo_orders.bootstrap import OrdersService
from jinguo_orders.handlers.commands import OfferService, OrdersHandlers, PlaceOrder
from jinguo_orders.projections.queries import OrdersQueries
from jinguo_orders.projections.views import Community, DispatchPool, Quality
from jinguo_shared.clock import ProgrammeClock
from jinguo_shared.commands import CommandExecutor
from jinguo_shared.crypto import PiiVault
from jinguo_shared.db import make_engine
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore
from jinguo_shared.projections.api_clients import ApiClients
from jinguo_shared.projections.host import ProjectionHost

DISTRICTS = [f"1101{n:02d}" for n in (1, 2, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19)]
CATALOGUE: list[tuple[str, str, str, int, int, list[str]]] = [
    ("housekeeping", "housekeeping", "家政服务", 80, 30, ["4-10-01-06"]),
    ("cleaning", "cleaning", "保洁", 60, 20, []),
    ("elderly_care", "elderly_care", "居家养老照料", 100, 40, ["4-10-01-05"]),
    ("child_pickup", "child_pickup", "接送", 30, 10, []),
    ("infant_care", "infant_care", "婴幼儿托管", 120, 50, ["4-10-01-02"]),
    ("meal_delivery", "meal_delivery", "送餐", 15, 5, []),
    ("repairs", "repairs", "维修", 90, 40, ["6-29-03-01"]),
    ("patient_escort", "patient_escort", "陪护", 150, 60, ["4-14-01-02"]),
    ("maternity_nurse", "maternity_nurse", "月嫂", 300, 150, ["4-10-01-03"]),
]
CERTIFICATES = sorted({code for *_, codes in CATALOGUE for code in codes})
MONDAY = datetime(2026, 11, 2, 8, tzinfo=UTC)
CHUNK = 5_000


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql", "both"],
        default=None,
        help="default: sqlite, plus postgresql when JINGUO_BENCH_POSTGRES_URL is set",
    )
    parser.add_argument("--json", help="write the figures to this file")
    return parser.parse_args(argv)


def communities() -> list[str]:
    return [
        f"{district}{street:03d}{community:03d}"
        for district in DISTRICTS
        for street in range(1, 6)
        for community in range(1, 9)
    ]


def context(command_id: str) -> CommandContext:
    return CommandContext(command_id=command_id, correlation_id=command_id, actor="bench")


async def in_flight(calls: list[Any], width: int = 32) -> None:
    for start in range(0, len(calls), width):
        await asyncio.gather(*calls[start : start + width])


async def run_one(kind: str, options: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rng = random.Random(options.seed)
    places = communities()
    async with database(kind, workdir) as url, nats_server(workdir / "nats", "default") as server:
        engine = make_engine(url)
        nc = await nats.connect(admin_url(server))
        host = ProjectionHost("orders", engine, nc, [ApiClients, *OrdersService.projections])
        try:
            await host.prepare()
            pool = host.active(DispatchPool.name)
            quality = host.active(Quality.name)
            community = host.active(Community.name)
            assert isinstance(pool, DispatchPool)
            assert isinstance(quality, Quality)
            assert isinstance(community, Community)
            started = time.perf_counter()
            workers: list[dict[str, Any]] = [
                {
                    "worker_id": f"w{n:06d}",
                    "area_code": (area := rng.choice(places)),
                    "district": area[:6],
                }
                for n in range(options.workers)
            ]
            records = []
            for worker in workers:
                if rng.random() < 0.6:
                    ratings = rng.randint(1, 40)
                    records.append(
                        {
                            "kind": "worker",
                            "performer_id": worker["worker_id"],
                            "completed": ratings + rng.randint(0, 10),
                            "rating_sum": sum(rng.randint(3, 5) for _ in range(ratings)),
                            "ratings": ratings,
                        }
                    )
            residents = [
                {
                    "resident_id": f"r{n:05d}",
                    "area_code": rng.choice(places),
                    "price_tier": rng.choice(("free", "low_cost", "market", "market")),
                    "reason": "none",
                    "valid_until": None,
                }
                for n in range(options.orders)
            ]
            async with engine.begin() as connection:
                for table_, rows in (
                    (pool.workers, workers),
                    (quality.performers, records),
                    (community.residents, residents),
                ):
                    for start in range(0, len(rows), CHUNK):
                        await connection.execute(insert(table_), rows[start : start + CHUNK])
            await host.start()
            store = EventStore(nc, "orders", None)
            executor = CommandExecutor(engine, store)
            queries = OrdersQueries(engine, host, PiiVault(engine, bytes(32)))
            handlers = OrdersHandlers(executor, queries, ProgrammeClock(), now=lambda: MONDAY)
            for code, category, name, market, low, required in CATALOGUE:
                await handlers.offer_service(
                    code,
                    OfferService(
                        category=category,
                        name=name,
                        market_price=market,
                        low_cost_price=low,
                        required_certificates=required,
                    ),
                    context(f"offer-{code}"),
                )
            await in_flight(
                [
                    handlers.qualify_worker(
                        w["worker_id"],
                        code,
                        f"C-{w['worker_id']}-{code}",
                        context(f"q-{w['worker_id']}-{code}"),
                    )
                    for w in workers
                    for code in rng.sample(CERTIFICATES, rng.randint(1, 2))
                ]
            )
            placed: list[str] = []
            for n, resident in enumerate(residents):
                window = MONDAY + timedelta(days=rng.randrange(7), hours=2 * rng.randrange(6))
                result = await handlers.place_order(
                    PlaceOrder(
                        resident_id=resident["resident_id"],
                        service_code=rng.choice(CATALOGUE)[0],
                        address="北京市东城区",
                        window_start=window,
                        window_end=window + timedelta(hours=2),
                    ),
                    context(f"place-{n}"),
                )
                placed.append(result.aggregate_id)
            await host.wait_for(result.position, host.names(), 300)
            fill_seconds = time.perf_counter() - started
            latencies: list[float] = []
            unassigned = 0
            for n, order_id in enumerate(placed):
                begun = time.perf_counter()
                try:
                    await handlers.dispatch(order_id, context(f"dispatch-{n}"))
                except Exception:
                    unassigned += 1
                latencies.append(time.perf_counter() - begun)
        finally:
            await host.stop()
            await nc.close()
            await engine.dispose()
    return {
        "database": kind,
        "workers": options.workers,
        "orders": options.orders,
        "unassigned": unassigned,
        "fill_seconds": round(fill_seconds, 1),
        **summarise(latencies),
    }


async def main(options: argparse.Namespace) -> dict[str, Any]:
    print(f"load average at start: {load_average()}")
    results = []
    for kind in chosen_databases(options.database):
        with temp_dir(f"dispatch-{kind}") as workdir:
            print(f"{kind}: {options.workers:,} workers, {options.orders:,} orders …", flush=True)
            results.append(await run_one(kind, options, workdir))
    print()
    print(
        table(
            [
                "database",
                "workers",
                "open orders",
                "unassigned",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
            ],
            [
                [
                    r["database"],
                    r["workers"],
                    r["orders"],
                    r["unassigned"],
                    r["p50_ms"],
                    r["p95_ms"],
                    r["p99_ms"],
                    r["max_ms"],
                ]
                for r in results
            ],
        )
    )
    print(f"load average at end: {load_average()}")
    return {"results": results, "date": str(date.today())}


if __name__ == "__main__":
    parsed = parse()
    report = asyncio.run(main(parsed))
    write_json(parsed.json, report)
