"""Webhook benchmark: 10 subscriptions, events appended at 500/s, time from append to 2xx.

    .venv/bin/python bench/webhooks.py [--subscriptions 10] [--rate 500] [--duration 20]
                                       [--command-rate 200] [--fanout all|area]

1. Starts `jinguo up` as http_commands.py does (temp data dir, free ports, SQLite, its own
   nats-server): its projector process runs the deliveries; plain http to 127.0.0.1 is allowed,
   as on every embedded default.
2. Starts `--subscriptions` receivers in a process of their own, as receivers are elsewhere
   (`jinguo_shared.testing.Receiver`, each a small asyncio HTTP server answering 204; arrival
   times are `perf_counter`, CLOCK_MONOTONIC, the same clock in every process), and subscribes
   each with a national `registry:read` key. `--fanout all`: every subscription takes every
   event (10 x 500 = 5,000 deliveries/s). `--fanout area`: each subscription is one district's
   (`area`), and the events are spread over the districts, as ten district partners would be.
3. Calibration: one receiver posted to from this process with a plain keep-alive loop, no
   Jinguo in between: what the machine gives a single sender and receiver before our own work.
4. Load: `AgencyRegistered` events appended straight to REGISTRY (the admin user, as a service
   appends) at `--rate` for `--duration`, and at the same time HTTP commands at `--command-rate`
   (http_commands.py's open loop and mix, whose events are delivered too, to the subscriptions
   of their area).

Prints the p50/p99/max time from an append's start to each receiver's answer, the deliveries
per second, the HTTP command p50/p99 measured meanwhile, and the load average at start and end.
Figures only: the target (p99 <= 1 s) is printed, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from multiprocessing.connection import Connection

import httpx
import nats

from bench._common import (
    admin_url,
    cancel_on_sigterm,
    load_average,
    summarise,
    table,
    temp_dir,
    write_json,
)
from bench.http_commands import KeepAliveClient, Load, System, open_loop
from jinguo_contracts.access import AgencyRegisteredV1
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore
from jinguo_shared.testing import Receiver, publish_agency

TARGET_P99_S = 1.0
DISTRICTS = [f"1101{n:02d}" for n in range(1, 100)]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument("--rate", type=float, default=500, help="events appended per second")
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--command-rate", type=float, default=200, help="0: no HTTP commands")
    parser.add_argument(
        "--fanout",
        choices=["all", "area"],
        default="all",
        help="all: each subscription takes every event; area: one district each",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


async def calibrate(port: int, seconds: float = 3.0) -> float:
    """POSTs/s from one keep-alive sender to one receiver, nothing else."""
    client = KeepAliveClient("127.0.0.1", port, {}, connections=1)
    try:
        count = 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            await client.post("/hook", {"id": str(count)}, {})
            count += 1
        return count / seconds
    finally:
        await client.close()


def serve_receivers(count: int, pipe: Connection) -> None:
    """The receivers' process: sends their ports, then answers "arrivals" and "stop" with each
    receiver's (position, arrival) so far."""

    async def serve() -> None:
        receivers = [await Receiver().start() for _ in range(count)]
        pipe.send([receiver.port for receiver in receivers])
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, pipe.recv)
            pipe.send([[(position_of(r.body), r.at) for r in rc.received] for rc in receivers])
            if command == "stop":
                for receiver in receivers:
                    await receiver.stop()
                return

    asyncio.run(serve())


class Receivers:
    """`serve_receivers` in a process of its own."""

    def __init__(self, count: int) -> None:
        self._pipe, child = multiprocessing.get_context("spawn").Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=serve_receivers, args=(count, child), daemon=True
        )
        self._process.start()
        self.ports: list[int] = self._pipe.recv()

    def ask(self, command: str) -> Any:
        self._pipe.send(command)
        return self._pipe.recv()

    def arrivals(self) -> list[list[tuple[int, float]]]:
        arrivals: list[list[tuple[int, float]]] = self.ask("arrivals")
        return arrivals

    def stop(self) -> None:
        self.ask("stop")
        self._process.join(10)


async def append_at(
    store: EventStore, rate: float, duration: float, areas: list[str]
) -> dict[int, tuple[float, int]]:
    """Appends at `rate` (open loop), round the areas; each event's sequence, when its append
    began and the index of its area."""
    started: dict[int, tuple[float, int]] = {}
    tasks: set[asyncio.Task[None]] = set()

    async def one(planned: float, area: int) -> None:
        agency_id = str(uuid.uuid4())
        event = AgencyRegisteredV1(
            agency_id=agency_id, name="基准测试街道", kind="street_office", area_code=areas[area]
        )
        context = CommandContext(command_id=agency_id, correlation_id=agency_id, actor="bench")
        seq = await store.append("agency", agency_id, 0, [event], context)
        started[seq] = (planned, area)

    begin = time.perf_counter() + 0.05
    for index in range(int(rate * duration)):
        planned = begin + index / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(planned, index % len(areas)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(set(tasks), timeout=60)
    return started


def position_of(body: bytes) -> int:
    """The REGISTRY sequence a delivery carries (-1: a calibration post)."""
    marker = b'"jinguoposition":"REGISTRY:'
    start = body.find(marker) + len(marker)
    return int(body[start : body.index(b'"', start)]) if start >= len(marker) else -1


async def main(options: argparse.Namespace) -> dict[str, Any]:
    cancel_on_sigterm()
    report: dict[str, Any] = {
        "subscriptions": options.subscriptions,
        "fanout": options.fanout,
        "rate": options.rate,
        "duration": options.duration,
        "command_rate": options.command_rate,
        "load_start": load_average(),
    }
    print(f"load average at start: {report['load_start']}", flush=True)
    receivers = Receivers(options.subscriptions)
    report["calibration_posts_per_s"] = await calibrate(receivers.ports[0])
    print(
        "calibration: one keep-alive sender to one receiver, no Jinguo:"
        f" {report['calibration_posts_per_s']:,.0f} POSTs/s",
        flush=True,
    )
    areas = DISTRICTS[: options.subscriptions] if options.fanout == "area" else DISTRICTS[:1]
    with temp_dir("webhooks") as workdir:
        system = System(workdir, None)
        await system.start()
        try:
            url = admin_url(EmbeddedNats(system.data_dir / "nats", system.nats_port))
            nc = await nats.connect(url, name="bench-webhooks")
            async with contextlib.AsyncExitStack() as stack:
                stack.push_async_callback(nc.close)
                store = EventStore(nc, "registry", vault=None)
                national = await publish_agency(
                    store,
                    name="national bench partner",
                    area="",
                    clients={"reader": (["registry:read"], None)},
                    kind="womens_federation",
                )
                key = {"Authorization": f"Bearer {national.keys['reader']}"}
                async with httpx.AsyncClient(base_url=system.base, timeout=10) as http:
                    for _ in range(300):  # until the API processes know the key
                        if (await http.get("/registry/webhooks", headers=key)).status_code == 200:
                            break
                        await asyncio.sleep(0.1)
                    for number, port in enumerate(receivers.ports):
                        subscription: dict[str, Any] = {"url": f"http://127.0.0.1:{port}/hook"}
                        if options.fanout == "area":
                            subscription["area"] = areas[number]
                        made = await http.post("/registry/webhooks", json=subscription, headers=key)
                        made.raise_for_status()
                await asyncio.sleep(2)  # the projector's senders start within a second
                client = KeepAliveClient(
                    "127.0.0.1",
                    system.http_port,
                    {"Authorization": f"Bearer {system.api_key}"},
                    connections=64,
                )
                stack.push_async_callback(client.close)
                print(
                    f"load: {options.rate:g} events/s appended and {options.command_rate:g}"
                    f" commands/s for {options.duration:g} s, {options.subscriptions}"
                    f" subscriptions, fan-out {options.fanout}",
                    flush=True,
                )
                commands = (
                    open_loop(client, Load(), options.command_rate, options.duration)
                    if options.command_rate
                    else asyncio.sleep(0, result=None)
                )
                began = time.perf_counter()
                cpu_before = system.cpu_seconds()
                appended, commanded = await asyncio.gather(
                    append_at(store, options.rate, options.duration, areas), commands
                )
                report["commands"] = commanded

                def wanted(receiver: int, seq: int) -> bool:
                    return seq in appended and (
                        options.fanout == "all" or appended[seq][1] == receiver
                    )

                expected = sum(
                    1 for n in range(options.subscriptions) for seq in appended if wanted(n, seq)
                )
                deadline = time.monotonic() + 120
                while True:
                    arrivals = receivers.arrivals()
                    first = {
                        (number, seq): at
                        for number, arrived in enumerate(arrivals)
                        for seq, at in reversed(arrived)
                        if wanted(number, seq)
                    }
                    if len(first) >= expected or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.5)
                report["server_cpu_s"] = system.cpu_seconds() - cpu_before
                if not first:
                    raise RuntimeError("nothing was delivered:\n" + system.tail(60))
                latencies = [at - appended[seq][0] for (_, seq), at in first.items()]
                last = max(at for arrived in arrivals for _, at in arrived)
                report["appended"] = len(appended)
                report["delivered"] = len(first)
                report["missing"] = expected - len(first)
                report["deliveries_per_s"] = sum(len(a) for a in arrivals) / (last - began)
                report["append_to_2xx"] = summarise(latencies)
        finally:
            await system.stop()
            receivers.stop()
    report["load_end"] = load_average()
    return report


def print_report(report: dict[str, Any]) -> None:
    latency = report["append_to_2xx"]
    rows = [
        [
            report["subscriptions"],
            report["fanout"],
            report["appended"],
            report["delivered"],
            report["missing"],
            report["deliveries_per_s"],
            latency["p50_ms"],
            latency["p99_ms"],
            latency["max_ms"],
        ]
    ]
    headers = [
        "subs",
        "fan-out",
        "appended",
        "delivered",
        "missing",
        "deliv/s",
        "p50 ms",
        "p99 ms",
        "max",
    ]
    print(table(headers, rows))
    commands = report.get("commands")
    if commands:
        for kind, figures in commands["latency"].items():
            print(
                f"HTTP {kind} at {report['command_rate']:g}/s meanwhile: p50"
                f" {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms"
                f" ({commands['statuses']})"
            )
    verdict = "met" if latency["p99_ms"] <= TARGET_P99_S * 1000 else "missed"
    print(f"target p99 <= {TARGET_P99_S * 1000:.0f} ms from append to 2xx: {verdict}")
    cpu = report["server_cpu_s"]
    print(
        f"server CPU (jinguo up's processes and nats-server) from the first append to the last"
        f" delivery: {cpu:.1f} s, {cpu * 1e6 / max(report['delivered'], 1):.0f} µs per delivery"
        " (appends and commands included)"
    )
    print(f"load average at end: {report['load_end']}")


def entry(argv: list[str] | None = None) -> None:
    options = parse(argv)
    report = asyncio.run(main(options))
    print_report(report)
    write_json(options.json, report)


if __name__ == "__main__":
    entry()
