"""The cost of recording one feed page's disclosures of personal data.

    .venv/bin/python bench/disclosures.py [--pages 50] [--events 1000]

A page of `--events` events, each disclosing a name and a phone, spread over 1,000, 200 or 20
data subjects, is recorded with `jinguo_shared.disclosures.record` on a nats-server of its own
that fsyncs every write (`sync_interval: always`, as `jinguo up` and production run): one
`PersonalDataDisclosed` per subject, in one atomic batch. For comparison, one page's events are
also recorded as one append each, as a disclosure per event would be. Prints p50/p99/max per
page; figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nats

from bench._common import (
    admin_url,
    cancel_on_sigterm,
    load_average,
    nats_server,
    summarise,
    table,
    temp_dir,
    write_json,
)
from jinguo_shared.disclosures import PageDisclosures, record
from jinguo_shared.eventstore import EventStore
from jinguo_shared.http.security import Caller, PersonalDataGrant

SUBJECTS = (1000, 200, 20)
PARTNER = Caller(
    "bench-partner",
    "bench-agency",
    frozenset({"registry:read"}),
    grants=(PersonalDataGrant("registry", frozenset({"name", "phone"}), "就业援助回访"),),
)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=50, help="pages recorded per spread")
    parser.add_argument("--events", type=int, default=1000, help="events per page")
    parser.add_argument("--json", help="write the figures to this file")
    return parser.parse_args(argv)


def page(events: int, subjects: int, number: int) -> PageDisclosures:
    disclosed = PageDisclosures()
    for n in range(events):
        subject = f"{number:04d}-{n % subjects:05d}"
        disclosed.disclosed(subject, "110101001001", f"{number}-{n}", ["name", "phone"])
    return disclosed


async def run(options: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    results = []
    async with nats_server(workdir / "nats", "always") as server:
        nc = await nats.connect(admin_url(server))
        store = EventStore(nc, "registry", vault=None)
        try:
            for subjects in SUBJECTS:
                pages = [page(options.events, subjects, n) for n in range(options.pages)]
                latencies = []
                for disclosed in pages:
                    started = time.perf_counter()
                    await record(store, PARTNER, disclosed)
                    latencies.append(time.perf_counter() - started)
                results.append(
                    {"subjects": subjects, "appends": -(-subjects // 1000), **summarise(latencies)}
                )
            one_by_one = []
            for n in range(3):
                started = time.perf_counter()
                for event in range(options.events):
                    await record(store, PARTNER, page(1, 1, 10_000 + n * options.events + event))
                one_by_one.append(time.perf_counter() - started)
            results.append(
                {"subjects": options.events, "appends": options.events, **summarise(one_by_one)}
            )
        finally:
            await nc.close()
    return results


async def main(options: argparse.Namespace) -> dict[str, Any]:
    cancel_on_sigterm()
    print(f"load average at start: {load_average()}")
    with temp_dir("disclosures") as workdir:
        results = await run(options, workdir)
    print()
    print(f"recording one page of {options.events:,} events' disclosures (ms per page)")
    print(
        table(
            ["subjects", "appends", "pages", "p50 ms", "p99 ms", "max ms"],
            [
                [r["subjects"], r["appends"], int(r["count"])]
                + [r[figure] for figure in ("p50_ms", "p99_ms", "max_ms")]
                for r in results
            ],
        )
    )
    print("(the last row: one record per event, as if each disclosure were appended alone)")
    print(f"load average at end: {load_average()}")
    return {"results": results, "date": str(date.today())}


if __name__ == "__main__":
    parsed = parse()
    report = asyncio.run(main(parsed))
    write_json(parsed.json, report)
