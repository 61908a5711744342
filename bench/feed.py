"""Feed benchmark: pages of 1,000 events served by `GET /registry/feed` under `jinguo up`.

    .venv/bin/python bench/feed.py [--events 100000] [--readers 4]

1. Starts `jinguo up` as http_commands.py does (temp data dir, free ports, SQLite, its own
   nats-server), with the server's default sync: the fill below is a bulk load, as replay.py's.
2. Fills its REGISTRY stream with N realistic events (replay.py's fill: _events.py's mix, PII
   sealed) and publishes a national agency with a `registry:read` key.
3. Calibration: the same stream read by batched direct get in this process, no HTTP, no
   rendering: what the machine gives before the feed's own work.
4. Reads the whole feed from the beginning, 1,000 events a page, following `Jinguo-Next-Position`:
   one reader with the national key; then `--readers` at once; then one reader with the
   development key, whose jurisdiction (district 110101) holds about a fifth of the events, so
   each of its pages is filtered by area from about 5,000 events.

Prints pages/s, events/s and page latency p50/p99 per run, and the load average at start and
end (other work on the machine skews every figure). Figures only: the target (>= 20 pages/s on
2 CPUs) is printed, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import nats

from bench._common import (
    Stopwatch,
    admin_url,
    cancel_on_sigterm,
    load_average,
    summarise,
    table,
    temp_dir,
    write_json,
)
from bench.http_commands import System
from bench.replay import fill
from jinguo_shared.direct_reads import read_stream
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.eventstore import EventStore
from jinguo_shared.feed import NEXT_POSITION
from jinguo_shared.testing import publish_agency

PAGE = 1000
TARGET_PAGES_PER_S = 20


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--readers", type=int, default=4, help="partners reading at once")
    parser.add_argument(
        "--generators", type=int, default=2, help="processes building events for the fill"
    )
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


async def calibrate(nats_url: str) -> float:
    """Events/s read by batched direct get, 1,000 a batch, without HTTP or rendering."""
    nc = await nats.connect(nats_url, name="bench-feed-calibrate")
    try:
        clock = Stopwatch()
        count, after, more = 0, 0, True
        while more:
            messages, more = await read_stream(nc, "REGISTRY", after + 1, PAGE, None)
            if not messages:
                break
            count += len(messages)
            after = messages[-1].seq
        return count / clock.seconds
    finally:
        await nc.close()


async def read_all(client: httpx.AsyncClient, key: str) -> tuple[int, int, list[float]]:
    """The whole feed, page after page: (pages, events, each page's seconds)."""
    headers = {"Authorization": f"Bearer {key}"}
    pages, events, latencies = 0, 0, []
    params: dict[str, Any] = {"limit": PAGE}
    while True:
        started = time.perf_counter()
        answer = await client.get("/registry/feed", params=params, headers=headers)
        latencies.append(time.perf_counter() - started)
        answer.raise_for_status()
        body = answer.content
        if body == b"[]":
            return pages, events, latencies
        pages += 1
        events += body.count(b'"specversion"')
        params["after"] = answer.headers[NEXT_POSITION]


async def run(base: str, key: str, readers: int, label: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        clock = Stopwatch()
        results = await asyncio.gather(*(read_all(client, key) for _ in range(readers)))
        seconds = clock.seconds
    pages = sum(r[0] for r in results)
    events = sum(r[1] for r in results)
    latencies = [s for r in results for s in r[2]]
    return {
        "run": label,
        "readers": readers,
        "pages": pages,
        "events": events,
        "seconds": seconds,
        "pages_per_s": pages / seconds,
        "events_per_s": events / seconds,
        **summarise(latencies),
    }


async def wait_until_known(base: str, key: str) -> None:
    """Until the API processes' `api_clients` projections know the new key."""
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        for _ in range(300):
            answer = await client.get(
                "/registry/feed", params={"limit": 1}, headers={"Authorization": f"Bearer {key}"}
            )
            if answer.status_code == 200:
                return
            await asyncio.sleep(0.1)
    raise RuntimeError("the national key was never accepted")


async def main(options: argparse.Namespace) -> dict[str, Any]:
    cancel_on_sigterm()
    report: dict[str, Any] = {"events": options.events, "load_start": load_average()}
    print(f"load average at start: {report['load_start']}", flush=True)
    with temp_dir("feed") as workdir:
        system = System(workdir, None)
        system._env["JINGUO_NATS_SYNC"] = "default"  # a bulk load, as replay.py's fill
        await system.start()
        try:
            server = EmbeddedNats(system.data_dir / "nats", system.nats_port)
            url = admin_url(server)
            print(f"filling REGISTRY with {options.events:,} events", flush=True)
            report["fill"] = await fill(url, workdir, options.events, 256, options.generators)
            nc = await nats.connect(url, name="bench-feed-agency")
            try:
                national = await publish_agency(
                    EventStore(nc, "registry", vault=None),
                    name="national bench reader",
                    area="",
                    clients={"reader": (["registry:read"], None)},
                    kind="womens_federation",
                )
            finally:
                await nc.close()
            key = national.keys["reader"]
            await wait_until_known(system.base, key)
            report["calibration_events_per_s"] = await calibrate(url)
            print(
                "calibration: batched direct get, no HTTP:"
                f" {report['calibration_events_per_s']:,.0f} events/s",
                flush=True,
            )
            readers = options.readers
            report["runs"] = [
                await run(system.base, key, 1, "national, 1 reader"),
                await run(system.base, key, readers, f"national, {readers} at once"),
                await run(system.base, system.api_key, 1, "district 110101, 1 reader"),
            ]
        finally:
            await system.stop()
    report["load_end"] = load_average()
    return report


def print_report(report: dict[str, Any]) -> None:
    rows = [
        [
            r["run"],
            r["pages"],
            r["events"],
            r["seconds"],
            r["pages_per_s"],
            r["events_per_s"],
            r["p50_ms"],
            r["p99_ms"],
        ]
        for r in report["runs"]
    ]
    headers = ["run", "pages", "events", "s", "pages/s", "events/s", "p50 ms", "p99 ms"]
    print(table(headers, rows))
    best = report["runs"][1]["pages_per_s"]
    verdict = "met" if best >= TARGET_PAGES_PER_S else "missed"
    print(f"target >= {TARGET_PAGES_PER_S} pages/s of {PAGE:,} events: {verdict} ({best:.1f})")
    print(f"load average at end: {report['load_end']}")


def entry(argv: list[str] | None = None) -> None:
    options = parse(argv)
    report = asyncio.run(main(options))
    print_report(report)
    write_json(options.json, report)


if __name__ == "__main__":
    entry()
