"""The registry writing through a NATS cluster while its nodes die: three nats-servers on
127.0.0.1 with every stream replicated on all three (R3, as production runs), writers that
register workers and retry each command until it is acknowledged, and, under that load, one node
killed with SIGKILL and restarted, then the REGISTRY stream's leader killed and restarted.

Shared by `test_cluster.py` (which asserts: nothing lost, nothing applied twice, projections
equal to a replay) and `bench/cluster.py` (which prints how long writes were unavailable)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import nats
import orjson
from sqlalchemy import select

from jinguo_registry.bootstrap import RegistryService, handlers_for
from jinguo_registry.domain.validation import make_national_id
from jinguo_registry.handlers.commands import RegisterWorker, RegistryHandlers
from jinguo_shared.domain import DomainError
from jinguo_shared.embedded_nats import EmbeddedCluster, EmbeddedNats
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import SERVICE_STREAMS
from jinguo_shared.natsauth import ADMIN_USER
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import runtimes

STREAM = SERVICE_STREAMS["registry"].name
REGISTERED = "registry.worker.*.WorkerRegistered"
PROJECTION = "worker_directory"


def command(n: int) -> RegisterWorker:
    born = date(1966, 1, 1) + timedelta(days=n // 500)
    return RegisterWorker(
        name=f"集群{n}",
        national_id=make_national_id("110101", born, n % 500, female=True),
        phone=f"139{n:08d}",
        area_code="110101001001",
    )


@dataclass
class Outage:
    """One node down: which, and how long the writers went without an acknowledgement."""

    node: str
    was_leader: bool
    down_seconds: float
    longest_gap_seconds: float = 0.0
    """The longest time between two acknowledged writes from the kill until writes flowed
    again after the restart: how long writes were unavailable."""


@dataclass
class Outcome:
    acknowledged: dict[int, str] = field(default_factory=dict)
    """Command number → worker id, for every command the registry acknowledged."""
    acknowledged_at: list[float] = field(default_factory=list)
    retries: int = 0
    outages: list[Outage] = field(default_factory=list)
    in_log: Counter[str] = field(default_factory=Counter)
    """WorkerRegistered events in the REGISTRY stream, by worker id."""
    in_directory: int = 0
    """Workers in the registry's directory once it has caught up."""
    projection_equal_to_replay: bool = False
    seconds: float = 0.0

    @property
    def lost(self) -> list[str]:
        return sorted(w for w in self.acknowledged.values() if self.in_log[w] == 0)

    @property
    def applied_twice(self) -> list[str]:
        return sorted(w for w, count in self.in_log.items() if count > 1)


async def writes_paused(acknowledged_at: list[float], killed: float, within: float = 90) -> float:
    """Once a write is acknowledged from now on: the longest time without one since `killed`
    (`acknowledged_at` grows as writes are acknowledged)."""
    count = len(acknowledged_at)
    deadline = time.monotonic() + within
    while len(acknowledged_at) == count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no write acknowledged within {within:g} s")
        await asyncio.sleep(0.05)
    points = [killed, *sorted(t for t in acknowledged_at if t >= killed)]
    return max(b - a for a, b in itertools.pairwise(points))


class Writers:
    """`count` writers, each registering the next worker and retrying that same command (the
    same command id) until the registry acknowledges it: a retry after a lost answer is
    answered from the log, never appended again."""

    def __init__(self, handlers: RegistryHandlers, outcome: Outcome, count: int) -> None:
        self._handlers = handlers
        self._outcome = outcome
        self._next = 0
        self._stopping = asyncio.Event()
        self._tasks = [asyncio.create_task(self._write()) for _ in range(count)]

    async def _write(self) -> None:
        while not self._stopping.is_set():
            n = self._next
            self._next += 1
            context = CommandContext(command_id=f"cluster-{n}", correlation_id=f"cluster-{n}")
            deadline = time.monotonic() + 120
            while True:
                try:
                    result = await self._handlers.register_worker(command(n), context)
                except (DomainError, ValueError):
                    raise  # a refusal is this scenario's mistake, never the cluster's
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    self._outcome.retries += 1
                    await asyncio.sleep(0.05)
                    continue
                self._outcome.acknowledged[n] = result.aggregate_id
                self._outcome.acknowledged_at.append(time.monotonic())
                break

    async def stop(self) -> None:
        """Each writer finishes the command it has begun (until it is acknowledged)."""
        self._stopping.set()
        await asyncio.gather(*self._tasks)


async def stream_leader(cluster: EmbeddedCluster) -> str:
    nc = await nats.connect(
        [n.url for n in cluster.nodes if n.process is not None],
        **cluster.connect_options(ADMIN_USER),
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(Exception):
                info = await nc.jetstream().stream_info(STREAM)
                if info.cluster is not None and info.cluster.leader:
                    return info.cluster.leader
            if time.monotonic() > deadline:
                raise RuntimeError(f"{STREAM} has no leader")
            await asyncio.sleep(0.2)
    finally:
        await nc.close()


async def registered_in_log(cluster: EmbeddedCluster) -> Counter[str]:
    """How many times each worker's registration is in the log, as the stream counts its
    subjects (a page of them at a time). Not through a consumer: an ordered consumer made just
    after a leader's election once said nothing was pending."""
    nc = await nats.connect(cluster.url.split(","), **cluster.connect_options(ADMIN_USER))
    found: Counter[str] = Counter()
    try:
        while True:
            reply = await nc.request(
                f"$JS.API.STREAM.INFO.{STREAM}",
                orjson.dumps({"subjects_filter": REGISTERED, "offset": len(found)}),
                timeout=10,
            )
            answer = orjson.loads(reply.data)
            assert "error" not in answer, answer
            page = answer["state"].get("subjects") or {}
            for subject, count in page.items():
                found[subject.split(".")[2]] += count
            if not page or len(found) >= answer.get("total", 0):
                return found
    finally:
        await nc.close()


async def rows(runtime: ServiceRuntime, name: str) -> dict[str, list[tuple[Any, ...]]]:
    projection = runtime.projections.active(name)
    found = {}
    async with runtime.engine.connect() as connection:
        for table in projection.metadata.sorted_tables:
            result = await connection.execute(select(table))
            found[table.name.rsplit("_g", 1)[0]] = sorted(tuple(r) for r in result)
    return found


async def kill_and_restart(
    cluster: EmbeddedCluster, outcome: Outcome, node: EmbeddedNats, down: float, leader: bool
) -> None:
    killed = time.monotonic()
    node.stop(kill=True)
    await asyncio.sleep(down)
    await node.start()
    await cluster.wait_for_jetstream()
    rejoined = time.monotonic() - killed
    paused = await writes_paused(outcome.acknowledged_at, killed)
    outcome.outages.append(Outage(node.server_name, leader, rejoined, paused))


@contextlib.asynccontextmanager
async def registry_on(cluster: EmbeddedCluster) -> AsyncIterator[ServiceRuntime]:
    async with runtimes(RegistryService(), cluster.url) as open_runtime:
        yield await open_runtime()


async def run(
    cluster: EmbeddedCluster, *, writers: int = 4, steady: float = 2.0, down: float = 3.0
) -> Outcome:
    """The cluster is started and provisioned R3; the environment names it and the database."""
    outcome = Outcome()
    began = time.monotonic()
    async with registry_on(cluster) as registry:
        load = Writers(handlers_for(registry), outcome, writers)
        await asyncio.sleep(steady)
        leader = await stream_leader(cluster)
        follower = next(n for n in cluster.nodes if n.server_name != leader)
        await kill_and_restart(cluster, outcome, follower, down, leader=False)
        await asyncio.sleep(steady)
        leader_node = cluster.node(await stream_leader(cluster))
        await kill_and_restart(cluster, outcome, leader_node, down, leader=True)
        await asyncio.sleep(steady)
        await load.stop()
        outcome.seconds = time.monotonic() - began
        outcome.in_log = await registered_in_log(cluster)
        await registry.projections.wait_for_head(STREAM, [PROJECTION], 60)
        live = await rows(registry, PROJECTION)
        await registry.projections.rebuild(PROJECTION)
        outcome.projection_equal_to_replay = live == await rows(registry, PROJECTION)
        outcome.in_directory = len(live["workers"])
    return outcome
