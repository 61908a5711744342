"""Matching benchmark: rank a post against a pool of 100,000 job seekers.

    .venv/bin/python bench/matching.py [--seekers 100000] [--rankings 200] [--database both]

For each database, in a temp dir with a nats-server of its own (the projection host needs one;
nothing is published):

1. creates the employment service's projection tables (`ProjectionHost.prepare()`) and fills
   the seeker pool (`seeker_pool`: seekers, their occupations, categories, certificates and
   placements) with `--seekers` realistic seekers in one city (16 districts of 北京, five streets
   each, eight communities per street), 24 occupation codes (each seeker wants one to three),
   ~40% with a hard-to-employ category, ~25% with a vocational certificate, ~10% in a full-time
   placement; and the post board with `--posts` posts of every hours type and kind;
2. times `EmploymentHandlers.matches(post_id, 20)` — the SQL prefilter (occupation, the whole
   city: the post's district, and beyond it only those whose priority status and certificate
   could lift them to the district's 20th score), then scoring and ranking in Python, exactly
   what `GET /employment/posts/{id}/matches` runs — for `--rankings` random posts after a
   warm-up, and prints p50/p95/p99/max, the city's candidates and those read per post, and
   over the first 20 posts whether the ranking equals the whole city's scored one by one.
   Target: p95 under 200 ms;
3. in the same run, interleaved with (2), times the behaviour it replaced ("district first":
   candidates from the post's district, the city only when the district gave fewer than 100)
   and counts, over the first 20 posts, how many of the city-wide top 20 live outside the
   post's district, every one of them a seeker "district first" could not rank.

Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import date, timedelta
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
from jinguo_contracts.areas import area_prefix
from jinguo_employment.bootstrap import EmploymentService
from jinguo_employment.domain.matching import Match, rank
from jinguo_employment.handlers.commands import EmploymentHandlers, profile_of
from jinguo_employment.projections.board import PostBoard
from jinguo_employment.projections.pool import SeekerPool
from jinguo_employment.projections.queries import EmploymentQueries
from jinguo_shared.commands import CommandExecutor
from jinguo_shared.db import make_engine
from jinguo_shared.eventstore import EventStore
from jinguo_shared.projections.api_clients import ApiClients
from jinguo_shared.projections.host import ProjectionHost

TODAY = date(2026, 11, 1)
DISTRICTS = [f"1101{n:02d}" for n in (1, 2, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19)]
OCCUPATIONS = [
    *("4-10-01-01", "4-10-01-02", "4-10-01-03", "4-10-01-04", "4-10-01-05", "4-10-01-06"),
    *("4-03-02-01", "4-03-02-02", "4-03-02-03", "4-03-01-01", "4-09-07-01", "4-09-08-01"),
    *("4-07-03-01", "4-07-05-01", "4-02-01-01", "4-01-02-01", "4-12-01-01", "4-13-01-01"),
    *("6-05-01-01", "6-05-02-01", "4-14-02-01", "4-08-08-01", "4-10-03-01", "4-10-04-01"),
]
HOURS = ["full_time", "part_time", "hourly", "seasonal", "temporary"]
CATEGORIES = [
    "age_40_50",
    "disabled",
    "zero_employment_household",
    "minimum_living_allowance",
    "long_term_unemployed",
]
SKILLS = ["养老护理", "家政服务", "育婴", "中式烹调", "保洁", "收银", "缝纫", "月嫂", "病患陪护"]
CHUNK = 5_000
DISTRICT_ENOUGH = 100
"""Below this many candidates in the district, "district first" read the whole city."""


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seekers", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--rankings", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
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


def pool_rows(rng: random.Random, count: int) -> dict[str, list[dict[str, Any]]]:
    places = communities()
    rows: dict[str, list[dict[str, Any]]] = {
        "seekers": [],
        "occupations": [],
        "categories": [],
        "certificates": [],
        "placements": [],
    }
    for n in range(count):
        worker_id = f"w{n:07d}"
        codes = rng.sample(OCCUPATIONS, rng.randint(1, 3))
        rows["seekers"].append(
            {
                "worker_id": worker_id,
                "area_code": rng.choice(places),
                "gender": "female" if rng.random() < 0.9 else "male",
                "birth_date": date(1966, 1, 1) + timedelta(days=rng.randrange(9000)),
                "occupation_codes": codes,
                "hours_types": rng.sample(HOURS, rng.randint(0, 2)),
                "skills": rng.sample(SKILLS, rng.randint(0, 3)),
                "registered_on": TODAY - timedelta(days=rng.randrange(1100)),
                "status": "registered",
                "seq": n + 1,
            }
        )
        for code in codes:
            rows["occupations"].append({"occupation_code": code, "worker_id": worker_id})
        if rng.random() < 0.4:
            rows["categories"].append(
                {
                    "worker_id": worker_id,
                    "category": rng.choice(CATEGORIES),
                    "valid_until": TODAY + timedelta(days=rng.randint(-200, 900)),
                }
            )
        if rng.random() < 0.25:
            rows["certificates"].append(
                {
                    "worker_id": worker_id,
                    "number": f"ZS-{n:07d}",
                    "kind": "vocational",
                    "occupation_code": codes[0],
                    "level": rng.choice((5, 5, 4, 4, 3)),
                    "active": True,
                }
            )
        if rng.random() < 0.1:
            rows["placements"].append(
                {
                    "placement_id": f"pl-{n:07d}",
                    "worker_id": worker_id,
                    "hours_type": "full_time",
                    "start_date": TODAY - timedelta(days=rng.randrange(400)),
                    "ended_on": None,
                }
            )
    return rows


def post_rows(rng: random.Random, count: int) -> list[dict[str, Any]]:
    places = communities()
    return [
        {
            "post_id": f"post-{n:04d}",
            "employer_id": "employer",
            "employer_name": "东城区巾帼家政服务中心",
            "title": "岗位",
            "occupation_code": rng.choice(OCCUPATIONS[:12]),
            "area_code": rng.choice(places),
            "wage_amount": 4000,
            "wage_unit": "month",
            "hours_type": rng.choice(HOURS[:3]),
            "openings": 3,
            "openings_left": 3,
            "requirements": {
                "skills": rng.sample(SKILLS, 1),
                "vocational_certificate": rng.random() < 0.2,
                "min_level": None,
                "notes": None,
            },
            "kind": rng.choice(("market", "public_welfare")),
            "status": "open",
            "published_on": TODAY,
            "seq": n + 1,
        }
        for n in range(count)
    ]


async def run_one(kind: str, options: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rng = random.Random(options.seed)
    async with database(kind, workdir) as url, nats_server(workdir / "nats", "default") as server:
        engine = make_engine(url)
        nc = await nats.connect(admin_url(server))
        try:
            host = ProjectionHost(
                "employment", engine, nc, [ApiClients, *EmploymentService.projections]
            )
            await host.prepare()
            pool = host.active(SeekerPool.name)
            board = host.active(PostBoard.name)
            assert isinstance(pool, SeekerPool)
            assert isinstance(board, PostBoard)
            started = time.perf_counter()
            rows = pool_rows(rng, options.seekers)
            tables = {
                "seekers": pool.seekers,
                "occupations": pool.occupations,
                "categories": pool.categories,
                "certificates": pool.certificates,
                "placements": pool.placements,
            }
            async with engine.begin() as connection:
                for name, table_ in tables.items():
                    for start in range(0, len(rows[name]), CHUNK):
                        await connection.execute(insert(table_), rows[name][start : start + CHUNK])
                await connection.execute(insert(board.posts), post_rows(rng, options.posts))
                if kind == "postgresql":
                    await connection.exec_driver_sql("ANALYZE")
            if kind == "sqlite":
                async with engine.begin() as connection:
                    await connection.exec_driver_sql("ANALYZE")
            fill_seconds = time.perf_counter() - started
            queries = EmploymentQueries(engine, host)
            executor = CommandExecutor(engine, EventStore(nc, "employment", None))
            handlers = EmploymentHandlers(executor, queries, today=lambda: TODAY)
            post_ids = [f"post-{n:04d}" for n in range(options.posts)]
            for _ in range(options.warmup):
                post_id = rng.choice(post_ids)
                await handlers.matches(post_id, 20)
                await district_first(queries, post_id)
            latencies: list[float] = []
            before: list[float] = []
            candidates: list[int] = []
            for _ in range(options.rankings):
                post_id = rng.choice(post_ids)
                begun = time.perf_counter()
                ranked = await handlers.matches(post_id, 20)
                latencies.append(time.perf_counter() - begun)
                assert ranked, f"no candidate for {post_id}"
                begun = time.perf_counter()
                await district_first(queries, post_id)
                before.append(time.perf_counter() - begun)
            across = same = 0
            read: list[int] = []
            for post_id in post_ids[:20]:
                post = await queries.post(post_id)
                assert post is not None
                profile = profile_of(post)
                city = await queries.candidates(profile, TODAY)
                candidates.append(len(city))
                read.append(len(await queries.candidates(profile, TODAY, best=20)))
                district = area_prefix(str(post["area_code"])[:6])
                ranked = await handlers.matches(post_id, 20)
                same += ranked == rank(profile, city, TODAY, 20)
                areas = await queries.seeker_areas([m.worker_id for m in ranked])
                across += sum(1 for m in ranked if not areas[m.worker_id].startswith(district))
        finally:
            await nc.close()
            await engine.dispose()
    figures = summarise(latencies)
    return {
        "database": kind,
        "seekers": options.seekers,
        "fill_seconds": fill_seconds,
        "candidates_mean": sum(candidates) / len(candidates),
        "candidates_max": max(candidates),
        "top20_outside_district_mean": across / len(candidates),
        "read_mean": sum(read) / len(read),
        "same_ranking_as_whole_city": f"{same}/{len(candidates)}",
        "district_first": summarise(before),
        **figures,
    }


async def district_first(queries: EmploymentQueries, post_id: str) -> list[Match]:
    """The ranking before it went city-wide: the district's candidates, the city's only when
    the district gave fewer than `DISTRICT_ENOUGH`."""
    post = await queries.post(post_id)
    assert post is not None
    profile = profile_of(post)
    district = area_prefix(profile.area_code[:6])
    found = await queries.candidates_in(profile, TODAY, district)
    if len(found) < DISTRICT_ENOUGH:
        found = await queries.candidates_in(
            profile, TODAY, area_prefix(profile.area_code[:4] + "00")
        )
    placed = {c["worker_id"] for c in post["candidates"] if c["how"] == "placed"}
    return rank(profile, [s for s in found if s.worker_id not in placed], TODAY, 20)


async def main(options: argparse.Namespace) -> dict[str, Any]:
    print(f"load average at start: {load_average()}")
    results = []
    for kind in chosen_databases(options.database):
        with temp_dir(f"matching-{kind}") as workdir:
            print(f"{kind}: filling {options.seekers:,} seekers …", flush=True)
            results.append(await run_one(kind, options, workdir))
    print()
    print(
        table(
            [
                "database",
                "ranking",
                "seekers",
                "city candidates/post",
                "read/post",
                "same as whole city",
                "top 20 outside district",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "p95 < 200 ms",
            ],
            [
                row
                for r in results
                for row in (
                    [
                        r["database"],
                        "district first (before)",
                        r["seekers"],
                        "",
                        "",
                        "",
                        "",
                        r["district_first"]["p50_ms"],
                        r["district_first"]["p95_ms"],
                        r["district_first"]["p99_ms"],
                        r["district_first"]["max_ms"],
                        "met" if r["district_first"]["p95_ms"] < 200 else "NOT met",
                    ],
                    [
                        r["database"],
                        "city-wide (now)",
                        r["seekers"],
                        r["candidates_mean"],
                        r["read_mean"],
                        r["same_ranking_as_whole_city"],
                        r["top20_outside_district_mean"],
                        r["p50_ms"],
                        r["p95_ms"],
                        r["p99_ms"],
                        r["max_ms"],
                        "met" if r["p95_ms"] < 200 else "NOT met",
                    ],
                )
            ],
        )
    )
    print(f"load average at end: {load_average()}")
    return {"rankings": options.rankings, "results": results}


if __name__ == "__main__":
    parsed = parse()
    report = asyncio.run(main(parsed))
    write_json(parsed.json, report)
