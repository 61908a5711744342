"""Runs a service's projections: the facade over following, rebuilds, dead letters and
consistent reads, and the projector lease that decides whether this process follows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError
from opentelemetry.metrics import Observation
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from jinguo_contracts.base import CATALOGUE, ContractCatalogue
from jinguo_shared.backoff import TRANSIENT_ERRORS
from jinguo_shared.metrics import LiveGauge
from jinguo_shared.projections.applying import EventApplier
from jinguo_shared.projections.base import Projection
from jinguo_shared.projections.checkpoints import Checkpoints
from jinguo_shared.projections.consistency import Consistency
from jinguo_shared.projections.dead_letters import DeadLetters
from jinguo_shared.projections.following import Following
from jinguo_shared.projections.generations import Generations
from jinguo_shared.projections.lease import ProjectorLease
from jinguo_shared.projections.rebuild import Progress, Rebuilder

log = logging.getLogger(__name__)


class LeaderWork(Protocol):
    """Work only one process of a service may do at a time (webhook deliveries): it runs
    while this process holds the projector lease."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


class _HostGauges:
    """Every host in the process, for the gauges that read them."""

    def __init__(self) -> None:
        self.lag: LiveGauge[ProjectionHost] = LiveGauge(
            "jinguo.projection.lag",
            "{event}",
            "events of a stream a projection has yet to apply or pass over",
            lambda host: host._observe_lag(),
        )
        self.leading: LiveGauge[ProjectionHost] = LiveGauge(
            "jinguo.projector.leading",
            "1",
            "1 while this process holds the service's projector lease",
            lambda host: host._observe_leading(),
        )

    def add(self, host: ProjectionHost) -> None:
        self.lag.add(host)
        self.leading.add(host)


class ProjectionHost:
    lease_check_seconds = 2.0
    """How often a standby projector tries the lease, and the holder checks it still has it."""

    def __init__(
        self,
        service: str,
        engine: AsyncEngine,
        nc: NatsClient,
        projections: Sequence[type[Projection]],
        *,
        batch_size: int = 500,
        linger: float = 0.005,
        max_attempts: int = 5,
        catalogue: ContractCatalogue = CATALOGUE,
    ) -> None:
        self.service = service
        js = self._js = nc.jetstream()
        self.lag: dict[tuple[str, str], int] = {}
        """By (projection, stream): events of the stream it has yet to apply or pass over."""
        PROJECTION_GAUGES.add(self)
        self._generations = Generations(service, engine, projections)
        self._checkpoints = Checkpoints(engine)
        applier = EventApplier(self._checkpoints, catalogue)
        self._dead_letters = DeadLetters(
            engine, js, self._generations, applier, self._checkpoints, catalogue, max_attempts
        )
        self._following = Following(
            service,
            engine,
            js,
            self._generations,
            applier,
            self._checkpoints,
            self._dead_letters,
            self.lag,
            batch_size=batch_size,
            linger=linger,
        )
        self._consistency = Consistency(js, self._generations, self._checkpoints)
        self._rebuilder = Rebuilder(
            service, engine, nc, self._generations, self._checkpoints, self._dead_letters, catalogue
        )
        self._lease = ProjectorLease(engine, service)
        self._lease_task: asyncio.Task[None] | None = None
        self._leaving = False
        self._watcher: asyncio.Task[None] | None = None
        self._leader_work: list[LeaderWork] = []

    def _observe_lag(self) -> Iterable[Observation]:
        for (projection, stream), lag in list(self.lag.items()):
            yield Observation(
                lag, {"service": self.service, "projection": projection, "stream": stream}
            )

    def _observe_leading(self) -> Iterable[Observation]:
        yield Observation(int(self.leading), {"service": self.service})

    @property
    def backoff_base(self) -> float:
        """The first pause before an event is tried again or a stream's consumer restarts."""
        return self._following.backoff_base

    @backoff_base.setter
    def backoff_base(self, seconds: float) -> None:
        self._following.backoff_base = seconds
        self._dead_letters.backoff_base = seconds

    def active(self, name: str) -> Projection:
        return self._generations.active[name]

    def names(self) -> list[str]:
        return self._generations.names()

    async def prepare(self) -> None:
        """Kernel tables, a first generation for new projections, and the active tables."""
        await self._generations.prepare()

    def outdated(self) -> list[str]:
        """Projections whose live tables lacked a table or column this version defines: their
        rows were written by an older version and must be rebuilt (`jinguo replay`)."""
        return self._generations.outdated()

    async def refresh(self) -> set[str]:
        """Pick up generations switched by a rebuild (maybe in another process); names changed."""
        return await self._generations.refresh()

    # live mode ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Follow the streams once this process holds the service's projector lease; until
        then (another projector runs), wait as a standby."""
        if await self._lease.try_acquire():
            self._lead()
        self._leaving = False
        self._lease_task = asyncio.create_task(self._keep_lease(), name="lease")

    @property
    def leading(self) -> bool:
        """Whether this process holds the projector lease (and so follows the streams)."""
        return self._lease.held

    def while_leading(self, work: LeaderWork) -> None:
        """Run `work` whenever this process holds the lease, from now on."""
        self._leader_work.append(work)
        if self.leading:
            work.start()

    def _lead(self) -> None:
        self._following.start()
        self._watcher = asyncio.create_task(self._watch_generations(), name="generations")
        for work in self._leader_work:
            work.start()

    async def _keep_lease(self) -> None:
        waiting_logged = False
        while not self._leaving:
            if self._lease.held:
                await asyncio.sleep(self.lease_check_seconds)
                if not await self._lease.still_held():
                    log.error(
                        "%s: lost the projector lease; stopping until it is ours again",
                        self.service,
                    )
                    await self._stop_following()
                continue
            try:
                taken = await self._lease.try_acquire()
            except TRANSIENT_ERRORS as error:  # tried again in a moment: one line says enough
                log.warning("%s: cannot take the projector lease now: %r", self.service, error)
                taken = False
            if taken:
                log.info("%s: took the projector lease; following the streams", self.service)
                self._lead()
                waiting_logged = False
                continue
            if not waiting_logged:
                log.warning(
                    "%s: another process holds the projector lease; standing by", self.service
                )
                waiting_logged = True
            await asyncio.sleep(self.lease_check_seconds)

    async def stop(self) -> None:
        """Stop following (see `Following.stop`) and give up the lease. A database driver may
        swallow a cancellation inside a query, hence the flag and the bound."""
        if self._lease_task is not None:
            self._leaving = True
            self._lease_task.cancel()
            _, stuck = await asyncio.wait([self._lease_task], timeout=5)
            if stuck:
                log.warning("%s: the lease task did not stop within 5 s", self.service)
            self._lease_task = None
        await self._stop_following()
        await self._lease.release()

    async def _stop_following(self) -> None:
        for work in self._leader_work:
            await work.stop()
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.wait([self._watcher], timeout=5)
            self._watcher = None
        await self._following.stop()

    async def watch_only(self) -> None:
        """For processes that read projections but do not write them (the API role)."""
        self._watcher = asyncio.create_task(self._watch_generations(follow=False))

    async def _watch_generations(self, follow: bool = True) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                changed = await self.refresh()
                if not follow:
                    await self._observe_projector()
            except TRANSIENT_ERRORS as error:
                # a database or NATS busy for a moment (a stream's leader being elected): the
                # next second tries again, and a traceback would say no more
                log.warning("cannot read projection generations, trying again: %r", error)
                continue
            if follow and changed:
                active = self._generations.active
                self._following.restart({s for name in changed for s in active[name].streams()})

    async def _observe_projector(self) -> None:
        """Lag as seen from a process that only reads (the API role): what the projector's
        consumers have not yet acknowledged."""
        for stream in self._generations.streams():
            try:
                info = await self._js.consumer_info(stream, self._following.durable_name(stream))
            except NotFoundError:
                continue
            for projection in self._generations.following(stream):
                self.lag[(projection.name, stream)] = info.num_pending + info.num_ack_pending

    async def apply_messages(self, stream: str, messages: Sequence[Msg]) -> None:
        await self._following.apply_messages(stream, messages)

    async def checkpoint(
        self, projection: Projection, stream: str, connection: AsyncConnection | None = None
    ) -> int:
        return await self._checkpoints.of(projection, stream, connection)

    # consistent reads --------------------------------------------------------------------------

    async def wait_for(self, token: str, names: Sequence[str], timeout: float) -> None:
        await self._consistency.wait_for(token, names, timeout)

    async def wait_for_head(self, stream: str, names: Sequence[str], timeout: float) -> None:
        await self._consistency.wait_for_head(stream, names, timeout)

    # rebuilds and their copies -----------------------------------------------------------------

    async def rebuild(
        self, *names: str, until: datetime | None = None, progress: Progress | None = None
    ) -> list[Projection]:
        return await self._rebuilder.rebuild(*names, until=until, progress=progress)

    async def as_of_copies(self) -> list[dict[str, Any]]:
        return await self._generations.as_of_copies()

    async def drop_as_of(self, name: str, generation: int) -> None:
        await self._generations.drop_as_of(name, generation)

    # dead letters ------------------------------------------------------------------------------

    async def parked(self, name: str | None = None) -> list[dict[str, Any]]:
        return await self._dead_letters.parked(name)

    async def retry_parked(self, letter: Row[Any]) -> None:
        await self._dead_letters.retry_parked(letter)


PROJECTION_GAUGES = _HostGauges()
