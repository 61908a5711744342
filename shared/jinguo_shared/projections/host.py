"""Runs a service's projections: live consumers, rebuilds, dead letters, and consistent reads."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nats.errors
import orjson
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry.metrics import CallbackOptions, Observation
from sqlalchemy import MetaData, inspect, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateTable

from jinguo_contracts.base import CATALOGUE, ContractCatalogue
from jinguo_shared.db import (
    DirectSql,
    dead_letters,
    insert_for,
    kernel_metadata,
    mark_retried,
    projection_checkpoints,
    projection_generations,
    writing,
)
from jinguo_shared.envelope import RecordedEvent, decode
from jinguo_shared.eventstore import read_event
from jinguo_shared.natsauth import projections_consumer, rebuild_consumers
from jinguo_shared.projections.base import Projection, disjoint_filters
from jinguo_shared.projections.batch import ProjectionBatch
from jinguo_shared.projections.lease import ProjectorLease
from jinguo_shared.projections.planning import (
    ChunkPlan,
    Item,
    PlannerSpec,
    Router,
    planning_for,
)
from jinguo_shared.telemetry import links_from, meter, tracer

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    OSError,
    nats.errors.Error,
)
REBUILD_CHUNK = 10_000
"""Events read, applied and written together while rebuilding."""
REBUILD_COMMIT_SECONDS = 2.0
"""How long a rebuild's write transaction stays open over successive chunks: about the longest
a live writer to the same SQLite file waits while a rebuild runs."""
REBUILD_READ_BATCH = 2_500
"""Messages per pull request while rebuilding; two are out at a time."""
CONSUMER_ALREADY_EXISTS = 10148


class ConsistencyTimeoutError(Exception):
    def __init__(self, position: str) -> None:
        super().__init__(f"projections have not reached {position} yet")
        self.position = position


@dataclass(frozen=True, slots=True)
class Position:
    stream: str
    seq: int

    @classmethod
    def parse(cls, token: str) -> Position:
        stream, _, seq = token.partition(":")
        if not stream or not seq.isdigit():
            raise ValueError("a consistency token looks like REGISTRY:1234")
        return cls(stream, int(seq))


Progress = Callable[[str, int, int], None]
"""Called during a rebuild with (stream, events done, events to do)."""


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
        self._engine = engine
        self._nc = nc
        self._js = nc.jetstream()
        self._classes = {p.name: p for p in projections}
        self._active: dict[str, Projection] = {}
        self._batch_size = batch_size
        self._linger = linger
        self._max_attempts = max_attempts
        self._catalogue = catalogue
        self._tasks: list[asyncio.Task[None]] = []
        self.lag: dict[tuple[str, str], int] = {}
        meter.create_observable_gauge(
            "jinguo.projection.lag",
            callbacks=[self._observe_lag],
            unit="{event}",
            description="events matching a projection's filter not yet applied",
        )
        self.backoff_base = 0.1
        self._advance_statement: Any = None
        self._sql = DirectSql(engine)
        self._stopping = False
        self._lease = ProjectorLease(engine, service)
        self._outdated: set[str] = set()
        self._lease_task: asyncio.Task[None] | None = None

    def _observe_lag(self, _options: CallbackOptions) -> Iterable[Observation]:
        for (projection, stream), lag in list(self.lag.items()):
            yield Observation(
                lag, {"service": self.service, "projection": projection, "stream": stream}
            )

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def active(self, name: str) -> Projection:
        return self._active[name]

    def names(self) -> list[str]:
        return list(self._classes)

    async def prepare(self) -> None:
        """Kernel tables, a first generation for new projections, and the active tables."""
        fresh: set[str] = set()
        async with writing(self._engine) as connection:
            await connection.run_sync(kernel_metadata.create_all)
            for name in self._classes:
                found = await connection.scalar(
                    select(projection_generations.c.generation).where(
                        projection_generations.c.projection == name
                    )
                )
                if found is None:
                    await connection.execute(
                        projection_generations.insert().values(
                            projection=name,
                            generation=1,
                            status="active",
                            created_at=datetime.now(UTC),
                        )
                    )
                    fresh.add(name)
        await self.refresh(fresh)

    def outdated(self) -> list[str]:
        """Projections whose live tables lacked a table or column this version defines: their
        rows were written by an older version and must be rebuilt (`jinguo replay`)."""
        return sorted(name for name in self._outdated if name in self._active)

    async def refresh(self, fresh: Collection[str] = ()) -> set[str]:
        """Pick up generations switched by a rebuild (maybe in another process); names changed.
        Tables of a generation that is not `fresh` should all be there already."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(
                    projection_generations.c.projection, projection_generations.c.generation
                ).where(projection_generations.c.status == "active")
            )
            generations = {name: generation for name, generation in rows if name in self._classes}
        changed = set()
        for name, generation in generations.items():
            current = self._active.get(name)
            if current is None or current.generation != generation:
                instance = self._classes[name](generation)
                self._outdated.discard(name)
                async with writing(self._engine) as connection:
                    if name not in fresh:
                        missing = await connection.run_sync(_missing_columns, instance.metadata)
                        if missing:
                            log.error("projection %s lacks %s", name, ", ".join(missing))
                            self._outdated.add(name)
                    await connection.run_sync(instance.metadata.create_all)
                self._active[name] = instance
                changed.add(name)
        return changed

    # live mode ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Follow the streams once this process holds the service's projector lease; until
        then (another projector runs), wait as a standby."""
        self._stopping = False
        if await self._lease.try_acquire():
            self._follow_streams()
        self._lease_task = asyncio.create_task(self._keep_lease(), name="lease")

    @property
    def leading(self) -> bool:
        """Whether this process holds the projector lease (and so follows the streams)."""
        return self._lease.held

    def _follow_streams(self) -> None:
        for stream in self._streams():
            self._start_stream(stream)
        self._tasks.append(asyncio.create_task(self._watch_generations(), name="generations"))

    async def _keep_lease(self) -> None:
        waiting_logged = False
        while True:
            if self._lease.held:
                await asyncio.sleep(self.lease_check_seconds)
                if not await self._lease.still_held():
                    log.error(
                        "%s: lost the projector lease; stopping until it is ours again",
                        self.service,
                    )
                    self._stopping = True  # see `stop`
                    await self._cancel_tasks()
                    self._stopping = False
                continue
            try:
                taken = await self._lease.try_acquire()
            except TRANSIENT_ERRORS:
                log.warning("%s: cannot take the projector lease", self.service, exc_info=True)
                taken = False
            if taken:
                log.info("%s: took the projector lease; following the streams", self.service)
                self._follow_streams()
                waiting_logged = False
                continue
            if not waiting_logged:
                log.warning(
                    "%s: another process holds the projector lease; standing by", self.service
                )
                waiting_logged = True
            await asyncio.sleep(self.lease_check_seconds)

    def _streams(self) -> list[str]:
        return sorted({stream for p in self._active.values() for stream in p.streams()})

    def _following(self, stream: str) -> list[Projection]:
        return [p for p in self._active.values() if stream in p.streams()]

    def _start_stream(self, stream: str) -> None:
        task = asyncio.create_task(self._follow(stream), name=f"stream:{stream}")
        self._tasks.append(task)

    async def stop(self) -> None:
        """Cancel the consumers; a batch cut short was not acknowledged and comes again.
        nats-py may swallow a cancellation inside a fetch, hence the flag and the bound."""
        self._stopping = True
        if self._lease_task is not None:
            self._lease_task.cancel()
            await asyncio.gather(self._lease_task, return_exceptions=True)
            self._lease_task = None
        await self._cancel_tasks()
        await self._lease.release()

    async def _cancel_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=5)
            if stuck:
                log.warning("%d projection tasks did not stop within 5 s", len(stuck))
        self._tasks.clear()

    async def watch_only(self) -> None:
        """For processes that read projections but do not write them (the API role)."""
        self._tasks.append(asyncio.create_task(self._watch_generations(follow=False)))

    async def _watch_generations(self, follow: bool = True) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                changed = await self.refresh()
                if not follow:
                    await self._observe_projector()
            except TRANSIENT_ERRORS:
                log.warning("cannot read projection generations", exc_info=True)
                continue
            if not follow or not changed:
                continue
            streams = {s for name in changed for s in self._active[name].streams()}
            for stream in streams:
                for task in [t for t in self._tasks if t.get_name() == f"stream:{stream}"]:
                    task.cancel()
                    self._tasks.remove(task)
                self._start_stream(stream)

    async def _observe_projector(self) -> None:
        """Lag as seen from a process that only reads (the API role): what the projector's
        consumers have not yet acknowledged."""
        for stream in self._streams():
            try:
                info = await self._js.consumer_info(stream, self.durable_name(stream))
            except NotFoundError:
                continue
            for projection in self._following(stream):
                self.lag[(projection.name, stream)] = info.num_pending + info.num_ack_pending

    def durable_name(self, stream: str) -> str:
        return projections_consumer(self.service, stream)

    async def checkpoint(
        self, projection: Projection, stream: str, connection: AsyncConnection | None = None
    ) -> int:
        query = select(projection_checkpoints.c.last_seq).where(
            projection_checkpoints.c.projection == projection.name,
            projection_checkpoints.c.generation == projection.generation,
            projection_checkpoints.c.stream == stream,
        )
        if connection is not None:
            return int(await connection.scalar(query) or 0)
        async with self._engine.connect() as fresh:
            return int(await fresh.scalar(query) or 0)

    async def _follow(self, stream: str) -> None:
        delay = self.backoff_base
        while not self._stopping:
            try:
                await self._consume(stream)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("projections on %s stopped; restarting", stream, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _consume(self, stream: str) -> None:
        """One durable consumer per stream feeds every projection of the service: one fetch
        and one transaction per batch however many projections there are. It starts after the
        least advanced checkpoint; each projection skips what it has already applied."""
        projections = self._following(stream)
        subjects = disjoint_filters(s for p in projections for s in p.streams()[stream])
        start = min([await self.checkpoint(p, stream) for p in projections]) + 1
        durable = self.durable_name(stream)
        with contextlib.suppress(NotFoundError):
            await self._js.delete_consumer(stream, durable)
        await self._js.add_consumer(
            stream,
            ConsumerConfig(
                name=durable,
                durable_name=durable,
                filter_subjects=subjects,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=start,
                ack_policy=AckPolicy.ALL,
                ack_wait=60,
                max_ack_pending=self._batch_size * 4,
                inactive_threshold=24 * 3600,
            ),
        )
        subscription = await self._js.pull_subscribe_bind(durable, stream=stream)
        try:
            while not self._stopping:
                try:
                    messages = await subscription.fetch(self._batch_size, timeout=1.0)
                except (nats.errors.TimeoutError, TimeoutError):
                    messages = []
                pending = messages[-1].metadata.num_pending if messages else 0
                if messages:
                    await self.apply_messages(stream, messages)
                    await messages[-1].ack()
                for projection in projections:
                    self.lag[(projection.name, stream)] = pending
                if messages and len(messages) < self._batch_size:
                    # events are arriving: let a few gather rather than pay a fetch and a
                    # transaction for each one
                    await asyncio.sleep(self._linger)
        finally:
            await subscription.unsubscribe()

    async def apply_messages(self, stream: str, messages: Sequence[Msg]) -> None:
        """One transaction for the batch and every projection; on failure, isolate the
        projection, then the event, that fails."""
        items = [(m.metadata.sequence.stream, m.subject, m.data) for m in messages]
        links = links_from((m.headers or {}).get("traceparent") for m in messages)
        projections = self._following(stream)
        with tracer.start_as_current_span(
            f"project {self.service} {stream}",
            links=links,
            attributes={"messaging.batch.message_count": len(items), "jinguo.stream": stream},
        ):
            try:
                async with writing(self._engine) as connection:
                    await self._apply_items(connection, projections, stream, items)
                return
            except TRANSIENT_ERRORS:
                raise
            except Exception:
                log.warning("batch on %s failed; isolating the failure", stream)
            for projection in projections:
                try:
                    async with writing(self._engine) as connection:
                        await self._apply_items(connection, [projection], stream, items)
                except TRANSIENT_ERRORS:
                    raise
                except Exception:
                    for item in items:
                        await self._apply_alone(projection, stream, item)

    async def _apply_items(
        self,
        connection: AsyncConnection,
        projections: Sequence[Projection],
        stream: str,
        items: Sequence[Item],
    ) -> None:
        """Apply what each projection has not seen yet: one checkpoint read, the writes, and
        one checkpoint write for all of them (the transaction a command may be waiting for)."""
        done = await self._checkpoints(connection, projections, stream)
        router = Router(projections, stream)
        decoded: dict[int, RecordedEvent] = {}
        advanced: list[tuple[Projection, int]] = []
        for projection in projections:
            start = done.get(projection.name, 0)
            fresh = [item for item in items if item[0] > start]
            if not fresh:
                continue
            batch = ProjectionBatch()
            for seq, subject, data in fresh:
                if projection in router.projections_for(subject):
                    event = decoded.get(seq)
                    if event is None:
                        event = decoded[seq] = decode(stream, seq, subject, data, self._catalogue)
                    projection.apply(event, batch)
            await batch.flush(connection)
            advanced.append((projection, fresh[-1][0]))
        await self._advance(connection, stream, advanced)

    async def _checkpoints(
        self, connection: AsyncConnection, projections: Sequence[Projection], stream: str
    ) -> dict[str, int]:
        marks = ", ".join("?" * len(projections))
        rows = await self._sql.fetch_within(
            connection,
            "SELECT projection, generation, last_seq FROM projection_checkpoints"
            f" WHERE stream = ? AND projection IN ({marks})",
            stream,
            *[p.name for p in projections],
        )
        generations = {p.name: p.generation for p in projections}
        return {name: seq for name, generation, seq in rows if generations[name] == generation}

    async def _apply_alone(
        self, projection: Projection, stream: str, item: tuple[int, str, bytes]
    ) -> None:
        delay = self.backoff_base
        attempt = 0
        while True:
            attempt += 1
            try:
                async with writing(self._engine) as connection:
                    await self._apply_items(connection, [projection], stream, [item])
                return
            except TRANSIENT_ERRORS:
                raise
            except Exception as error:
                if attempt >= self._max_attempts:
                    await self._park(projection, stream, item, error, attempt)
                    return
                await asyncio.sleep(delay)
                delay *= 2

    async def _park(
        self,
        projection: Projection,
        stream: str,
        item: tuple[int, str, bytes],
        error: Exception,
        attempts: int,
    ) -> None:
        seq, subject, _ = item
        log.error(
            "parked %s:%d in %s after %d attempts: %s",
            stream,
            seq,
            projection.name,
            attempts,
            error,
        )
        async with writing(self._engine) as connection:
            await connection.execute(
                dead_letters.insert(),
                [_dead_letter(projection, stream, seq, subject, error, attempts)],
            )
            await self._advance(connection, stream, [(projection, seq)])

    async def _advance(
        self, connection: AsyncConnection, stream: str, positions: Sequence[tuple[Projection, int]]
    ) -> None:
        """Move checkpoints forward (never back: a late, redelivered batch changes nothing)."""
        if not positions:
            return
        if self._advance_statement is None:
            insert = insert_for(self.dialect, projection_checkpoints)
            self._advance_statement = insert.on_conflict_do_update(
                index_elements=["projection", "generation", "stream"],
                set_={"last_seq": insert.excluded.last_seq},
                where=projection_checkpoints.c.last_seq < insert.excluded.last_seq,
            )
        await connection.execute(
            self._advance_statement,
            [
                {
                    "projection": p.name,
                    "generation": p.generation,
                    "stream": stream,
                    "last_seq": seq,
                }
                for p, seq in positions
            ],
        )

    # as-of copies ------------------------------------------------------------------------------

    async def as_of_copies(self) -> list[dict[str, Any]]:
        """Copies kept aside by `rebuild(until=...)`: projection, generation, until, built."""
        query = (
            select(
                projection_generations.c.projection,
                projection_generations.c.generation,
                projection_generations.c.until,
                projection_generations.c.created_at,
            )
            .where(projection_generations.c.status == "as_of")
            .order_by(projection_generations.c.projection, projection_generations.c.generation)
        )
        async with self._engine.connect() as connection:
            rows = [dict(row._mapping) for row in await connection.execute(query)]
        for row in rows:
            for column in ("until", "created_at"):
                if row[column] is not None and row[column].tzinfo is None:
                    row[column] = row[column].replace(tzinfo=UTC)  # SQLite drops the offset
        return rows

    async def drop_as_of(self, name: str, generation: int) -> None:
        """Drop an as-of copy's tables; the live and previous generations cannot be dropped."""
        if name not in self._classes:
            raise LookupError(f"{self.service} has no projection {name!r}")
        async with writing(self._engine) as connection:
            status = await connection.scalar(
                select(projection_generations.c.status).where(
                    projection_generations.c.projection == name,
                    projection_generations.c.generation == generation,
                )
            )
            if status != "as_of":
                raise LookupError(
                    f"{name} generation {generation} is not an as-of copy"
                    + (f" (it is {status})" if status else "")
                )
            await self._drop(connection, name, generation)

    async def _drop(self, connection: AsyncConnection, name: str, generation: int) -> None:
        await connection.run_sync(self._classes[name](generation).metadata.drop_all)
        await connection.execute(
            update(projection_generations)
            .where(
                projection_generations.c.projection == name,
                projection_generations.c.generation == generation,
            )
            .values(status="dropped")
        )

    # dead letters ------------------------------------------------------------------------------

    async def parked(self, name: str | None = None) -> list[dict[str, Any]]:
        query = select(dead_letters).order_by(dead_letters.c.id)
        if name is not None:
            query = query.where(dead_letters.c.projection == name)
        async with self._engine.connect() as connection:
            return [dict(row._mapping) for row in await connection.execute(query)]

    async def retry_parked(self, letter: Row[Any]) -> None:
        """Apply a parked event (from `parked_to_retry`) again, after a fix; it leaves the dead
        letters when it succeeds."""
        projection = self._active.get(letter.projection)
        if projection is None:
            raise LookupError(
                f"parked event {letter.id} is not a projection's: {letter.projection}"
            )
        event = await read_event(self._js, letter.stream, letter.seq, self._catalogue)
        async with writing(self._engine) as connection:
            batch = ProjectionBatch()
            projection.apply(event, batch)
            await batch.flush(connection)
            await mark_retried(connection, letter.id)

    # consistent reads --------------------------------------------------------------------------

    async def wait_for(self, token: str, names: Sequence[str], timeout: float) -> None:
        """Return once every named projection has seen the event at `token` (or has nothing
        pending from that stream); raise ConsistencyTimeoutError after `timeout` seconds."""
        position = Position.parse(token)
        deadline = time.monotonic() + timeout
        pending = list(names)
        while pending:
            projection = self._active[pending[0]]
            if position.stream not in projection.streams() or await self._reached(
                projection, position
            ):
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise ConsistencyTimeoutError(token)
            await asyncio.sleep(0.02)

    async def wait_for_head(self, stream: str, names: Sequence[str], timeout: float) -> None:
        """Wait until these projections have applied all the stream held when asked: for a
        command that looks up, in a projection, what an earlier command just appended."""
        info = await self._js.stream_info(stream)
        await self.wait_for(f"{stream}:{info.state.last_seq}", names, timeout)

    async def _reached(self, projection: Projection, position: Position) -> bool:
        """Whether the projection has applied every event of its own up to the position: its
        checkpoint is there, or no event its filters match lies between the two. (A consumer's
        pending count is no proof: the server may report 0 for an event just appended.)"""
        done = await self.checkpoint(projection, position.stream)
        if done >= position.seq:
            return True
        for subject in projection.streams()[position.stream]:
            try:
                found = await self._js.get_msg(
                    position.stream, seq=done + 1, subject=subject, next=True, direct=True
                )
            except NotFoundError:
                continue
            if found.seq is not None and found.seq <= position.seq:
                return False
        return True

    # rebuild -----------------------------------------------------------------------------------

    async def rebuild(
        self, *names: str, until: datetime | None = None, progress: Progress | None = None
    ) -> list[Projection]:
        """Fill new generations from sequence 1 and switch to them (or keep them aside as of
        `until`).

        One pass over each stream feeds every named projection, so an event is read and
        decoded once however many projections want it. A pull consumer of its own and large
        transactions keep it fast; the live generation serves meanwhile, and the live runner
        moves to the new one as soon as it becomes active.
        """
        if until is not None:
            if until.tzinfo is None:
                raise ValueError("`until` needs an offset: a time without one is ambiguous")
            until = until.astimezone(UTC)
        projections = [await self._new_generation(name, until) for name in names]
        streams: dict[str, list[str]] = {}
        for projection in projections:
            for stream, subjects in projection.streams().items():
                streams.setdefault(stream, []).extend(subjects)
        for stream, subjects in streams.items():
            wanting = [p for p in projections if stream in p.streams()]
            await self._rebuild_stream(wanting, stream, sorted(set(subjects)), until, progress)
        for projection in projections:
            async with writing(self._engine) as connection:
                await connection.run_sync(_create_lookup_indexes, projection.metadata)
            await self._switch(projection, as_of=until is not None)
        return projections

    async def _new_generation(self, name: str, until: datetime | None) -> Projection:
        async with writing(self._engine) as connection:
            latest = await connection.scalar(
                select(projection_generations.c.generation)
                .where(projection_generations.c.projection == name)
                .order_by(projection_generations.c.generation.desc())
                .limit(1)
            )
            generation = int(latest or 0) + 1
            await connection.execute(
                projection_generations.insert().values(
                    projection=name,
                    generation=generation,
                    status="building",
                    until=until,
                    created_at=datetime.now(UTC),
                )
            )
        projection = self._classes[name](generation)
        async with writing(self._engine) as connection:
            await connection.run_sync(_create_tables, projection.metadata)
        return projection

    async def _rebuild_stream(
        self,
        projections: list[Projection],
        stream: str,
        subjects: list[str],
        until: datetime | None,
        progress: Progress | None,
    ) -> None:
        info = await self._js.stream_info(stream)
        target = info.state.last_seq
        if target == 0:
            return
        filters = disjoint_filters(subjects)
        if len(filters) > 1:
            # several filters with wildcards inside make the server search its subject index for
            # every message (under 1,000 events/s in a stream of a million aggregates' subjects):
            # reading the whole stream and routing here is faster
            filters = [f"{filters[0].split('.', 1)[0]}.>"]
        reader = _StreamReader(
            self._nc,
            stream,
            filters,
            REBUILD_READ_BATCH,
            last=target,
            slots=rebuild_consumers(self.service, stream),
        )
        spec = PlannerSpec(
            [(type(p), p.generation) for p in projections],
            stream,
            until,
            self._catalogue,
            self._engine.url.drivername,
        )
        # A chunk's staged rows outlive many automatic collections, and each full one walked them
        # and the whole heap again: a fifth of a rebuild's time. A rebuild makes next to no
        # reference cycles (635 objects left for the collector after a million events): reference
        # counting frees the rest, and the collector resumes afterwards.
        collecting = gc.isenabled()
        gc.disable()
        try:
            async with reader:
                await self._plan_and_write(projections, spec, reader, progress)
        finally:
            if collecting:
                gc.enable()

    async def _plan_and_write(
        self,
        projections: list[Projection],
        spec: PlannerSpec,
        reader: _StreamReader,
        progress: Progress | None,
    ) -> None:
        """Chunk n is planned while chunk n + 1 is read and chunk n - 1 written; with a helper
        process, chunk n + 1 waits there to be planned next."""
        stream = spec.stream
        router = Router(projections, stream)
        done = 0
        async with (
            planning_for(spec, reader.matching) as planning,
            _RebuildWrites(self._engine) as writes,
        ):
            chunk, end = await reader.chunk(REBUILD_CHUNK)
            await planning.submit(chunk)
            while chunk:
                following, end = ([], end) if end else await reader.chunk(REBUILD_CHUNK)
                if following:
                    await planning.submit(following)
                plan = await planning.result()
                applied = chunk[: plan.applied]
                await writes.write(
                    functools.partial(
                        self._write_plan,
                        plan=plan,
                        projections=[p for p in projections if p.name not in plan.failed],
                        stream=stream,
                        last=applied[-1][0] if applied else 0,
                    )
                )
                if plan.failed:
                    await writes.commit()
                    for projection in projections:
                        if projection.name in plan.failed:
                            await self._isolate(projection, router, stream, applied)
                done += len(applied)
                if progress is not None:
                    progress(stream, done, reader.matching)
                if len(applied) < len(chunk):  # `until` reached
                    break
                chunk = following
            await writes.commit()

    async def _write_plan(
        self,
        connection: AsyncConnection,
        plan: ChunkPlan,
        projections: list[Projection],
        stream: str,
        last: int,
    ) -> None:
        for projection in projections:
            for sql, parameters in plan.statements[projection.name]:
                await connection.exec_driver_sql(sql, parameters)
        if last:
            await self._advance(connection, stream, [(p, last) for p in projections])

    async def _isolate(
        self,
        projection: Projection,
        router: Router,
        stream: str,
        items: Sequence[Item],
    ) -> None:
        """A rebuild chunk failed for this projection: drop what it staged and apply the chunk
        event by event, as live mode does, so the failing events are parked and no half of
        one stays behind."""
        log.warning("rebuilding %s: a chunk failed; applying it event by event", projection.name)
        for item in items:
            if projection in router.projections_for(item[1]):
                await self._apply_alone(projection, stream, item)
        if items:
            async with writing(self._engine) as connection:
                await self._advance(connection, stream, [(projection, items[-1][0])])

    async def _switch(self, projection: Projection, *, as_of: bool) -> None:
        """Activate the new generation, keep the one before it, drop anything older."""
        name = projection.name
        async with writing(self._engine) as connection:
            if as_of:
                await connection.execute(
                    update(projection_generations)
                    .where(
                        projection_generations.c.projection == name,
                        projection_generations.c.generation == projection.generation,
                    )
                    .values(status="as_of")
                )
                return
            rows = (
                await connection.execute(
                    select(
                        projection_generations.c.generation, projection_generations.c.status
                    ).where(projection_generations.c.projection == name)
                )
            ).all()
            stale = [g for g, status in rows if status == "previous"]
            await connection.execute(
                update(projection_generations)
                .where(
                    projection_generations.c.projection == name,
                    projection_generations.c.status == "active",
                )
                .values(status="previous")
            )
            await connection.execute(
                update(projection_generations)
                .where(
                    projection_generations.c.projection == name,
                    projection_generations.c.generation == projection.generation,
                )
                .values(status="active")
            )
            for generation in stale:
                await self._drop(connection, name, generation)
        self._active[name] = projection


class _RebuildWrites:
    """A rebuild's writes: each chunk's run while the next chunk is read and applied, and they
    commit every `REBUILD_COMMIT_SECONDS` rather than every chunk.

    A commit writes every page the transaction changed to SQLite's log, and a random key (a
    worker's UUID) changes pages all over its index: committing each chunk wrote the whole
    index again and again (1.9 GB of log for 600,000 workers at 5,000 rows per commit, 0.5 GB
    at 50,000, and half the time). Between a commit and the next chunk's writes the write lock
    is free for live writers.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._transaction = contextlib.AsyncExitStack()
        self._connection: AsyncConnection | None = None
        self._opened_at = 0.0
        self._running: asyncio.Task[None] | None = None

    async def __aenter__(self) -> _RebuildWrites:
        return self

    async def __aexit__(self, *_: object) -> None:
        """Whatever was not committed is undone."""
        if self._running is not None and not self._running.done():
            self._running.cancel()
            await asyncio.gather(self._running, return_exceptions=True)
        try:
            if self._connection is not None:
                await self._connection.rollback()
        finally:
            await self._end()

    async def write(self, work: Callable[[AsyncConnection], Awaitable[None]]) -> None:
        """Start `work` once the previous chunk's writes are done (and fail if they failed)."""
        await self._settle()
        self._running = asyncio.create_task(self._run(work))

    async def commit(self) -> None:
        await self._settle()
        await self._end()

    async def _settle(self) -> None:
        if self._running is not None:
            running, self._running = self._running, None
            await running

    async def _run(self, work: Callable[[AsyncConnection], Awaitable[None]]) -> None:
        if self._connection is None:
            self._connection = await self._transaction.enter_async_context(writing(self._engine))
            self._opened_at = time.monotonic()
        await work(self._connection)
        if time.monotonic() - self._opened_at >= REBUILD_COMMIT_SECONDS:
            await self._end()

    async def _end(self) -> None:
        """Leave the open transaction: it commits, unless rolled back just before."""
        self._connection = None
        await self._transaction.aclose()


def _missing_columns(connection: Connection, metadata: MetaData) -> list[str]:
    inspector = inspect(connection)
    missing = []
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            missing.append(table.name)
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in present]
    return missing


def _create_tables(connection: Connection, metadata: MetaData) -> None:
    """A new generation's tables with their keys and unique indexes, which upserts need; the
    other indexes come once the rows are in (`_create_lookup_indexes`): one sort each rather
    than an index update per row."""
    for table in metadata.sorted_tables:
        connection.execute(CreateTable(table))
        for index in table.indexes:
            if index.unique:
                index.create(connection)


def _create_lookup_indexes(connection: Connection, metadata: MetaData) -> None:
    for table in metadata.sorted_tables:
        for index in table.indexes:
            if not index.unique:
                index.create(connection)


def _dead_letter(
    projection: Projection, stream: str, seq: int, subject: str, error: Exception, attempts: int
) -> dict[str, Any]:
    return {
        "projection": projection.name,
        "stream": stream,
        "seq": seq,
        "subject": subject,
        "event_type": subject.rsplit(".", 1)[-1],
        "error": f"{type(error).__name__}: {error}",
        "attempts": attempts,
        "parked_at": datetime.now(UTC),
        "replayed_at": None,
    }


class RebuildSlotsTakenError(RuntimeError):
    pass


class _StreamReader:
    """Reads a stream in order through a pull consumer of its own, `batch` messages per
    request with two requests out: memory stays bounded however long the stream.

    The consumer is one of the service's rebuild slots (`natsauth.rebuild_consumers`: its NATS
    user may create no other name), taken with the `create` action, which the server refuses
    for a slot another reader holds; it is deleted at the end, and one a crashed reader left
    goes by itself once idle for `INACTIVE_SECONDS`.

    The messages are taken straight from the connection's protocol parser as
    (stream sequence, pending, subject, data): a rebuild reads millions, and nats-py's
    per-message work for a subscription (parsing headers, building a `Msg`, queueing it for a
    task) cost more than the rebuild's own reading. Other subscriptions on the connection are
    untouched.

    The caller stops at the message whose reply says nothing more is pending. Requests wait
    for messages (`expires`) rather than answer "no messages" at once: such an answer can
    overtake the end of an earlier request's messages and would look like the end.
    """

    REQUEST_EXPIRES_NS = 5_000_000_000
    INACTIVE_SECONDS = 300

    def __init__(
        self,
        nc: NatsClient,
        stream: str,
        filters: list[str],
        batch: int,
        last: int,
        slots: Sequence[str],
    ) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self._stream = stream
        self._filters = filters
        self._batch = batch
        self._slots = slots
        self._items: list[tuple[int, int, str, bytes]] = []
        self._ready = asyncio.Event()
        self._inbox = nc.new_inbox()
        self._consumer = ""
        self._subscription: Any = None
        self._outstanding = 0
        self._received = 0
        self._last = last
        self.matching = 0
        """How many of the stream's messages the filters match (the stream may grow on)."""

    async def __aenter__(self) -> _StreamReader:
        self._subscription = await self._nc.subscribe(self._inbox)
        _RawDelivery.on(self._nc).route(self._subscription._id, self._receive)
        created = await self._take_slot()
        self._consumer = created["name"]
        self.matching = created.get("num_pending") or 0
        return self

    async def _take_slot(self) -> dict[str, Any]:
        config = ConsumerConfig(
            filter_subjects=self._filters,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=self.INACTIVE_SECONDS,
            mem_storage=True,
            # `create` answers with an existing consumer of the same configuration: this
            # one is like no other
            description=f"jinguo replay {uuid.uuid4()}",
        )
        for name in self._slots:
            config.name = name
            request = {"stream_name": self._stream, "config": config.as_dict(), "action": "create"}
            reply = await self._nc.request(
                f"$JS.API.CONSUMER.CREATE.{self._stream}.{name}", orjson.dumps(request), timeout=5
            )
            answer: dict[str, Any] = orjson.loads(reply.data)
            error = answer.get("error")
            if error is None:
                return answer
            if error.get("err_code") != CONSUMER_ALREADY_EXISTS:
                raise nats.errors.Error(f"reading {self._stream}: {error.get('description')}")
        raise RebuildSlotsTakenError(
            f"every rebuild slot on {self._stream} is taken ({', '.join(self._slots)}):"
            f" {len(self._slots)} rebuilds are reading it, or one that stopped without"
            f" releasing its slot holds it until idle for {self.INACTIVE_SECONDS} s; wait, or"
            f" remove a stale one as the admin NATS user: nats consumer rm {self._stream} <slot>"
        )

    async def __aexit__(self, *_: object) -> None:
        _RawDelivery.on(self._nc).unroute(self._subscription._id)
        await self._subscription.unsubscribe()
        with contextlib.suppress(NotFoundError, nats.errors.Error):
            await self._js.delete_consumer(self._stream, self._consumer)

    async def _request(self) -> None:
        self._outstanding += 1
        await self._nc.publish(
            f"$JS.API.CONSUMER.MSG.NEXT.{self._stream}.{self._consumer}",
            orjson.dumps({"batch": self._batch, "expires": self.REQUEST_EXPIRES_NS}),
            reply=self._inbox,
        )

    def _receive(self, subject: bytes, reply: bytes, data: bytes, headers: bytes | None) -> None:
        status = _status(headers)
        if status is None:
            seq, pending = _sequence_and_pending(reply.decode())
            self._items.append((seq, pending, subject.decode(), data))
            self._received += 1
            if self._received == self._batch:
                self._received = 0
                self._outstanding -= 1
        elif status in (b"404", b"408"):  # the request ended before its batch was full
            self._received = 0
            self._outstanding -= 1
        else:
            assert headers is not None
            raise nats.errors.Error(f"reading {self._stream}: {headers[9:].strip().decode()}")
        self._ready.set()

    async def chunk(self, size: int) -> tuple[list[Item], bool]:
        """About `size` more messages as (sequence, subject, data), and whether they are the
        last up to sequence `last`."""
        items: list[Item] = []
        if not self.matching:
            return items, True
        while len(items) < size:
            for seq, pending, subject, data in await self._take():
                items.append((seq, subject, data))
                if seq >= self._last or pending == 0:
                    return items, True
        return items, False

    async def _take(self, timeout: float = 30.0) -> list[tuple[int, int, str, bytes]]:
        while not self._items:
            if self._outstanding < 1:
                await self._request()
            self._ready.clear()
            await asyncio.wait_for(self._ready.wait(), timeout)
        items, self._items = self._items, []
        if self._outstanding < 2:
            await self._request()
        return items


RawHandler = Callable[[bytes, bytes, bytes, bytes | None], None]


class _RawDelivery:
    """Hands a connection's messages for chosen subscriptions to a plain function, as the
    protocol parser delivers them; everything else goes through nats-py as usual."""

    def __init__(self, nc: NatsClient) -> None:
        self._handlers: dict[int, RawHandler] = {}
        through_nats_py = nc._process_msg

        async def process(
            sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes
        ) -> None:
            handler = self._handlers.get(sid)
            if handler is None:
                await through_nats_py(sid, subject, reply, data, headers)
            else:
                handler(subject, reply, data, headers)

        process.__dict__["raw_delivery"] = self
        nc._process_msg = process  # type: ignore[method-assign]

    @classmethod
    def on(cls, nc: NatsClient) -> _RawDelivery:
        installed = getattr(nc._process_msg, "raw_delivery", None)
        return installed if isinstance(installed, cls) else cls(nc)

    def route(self, sid: int, handler: RawHandler) -> None:
        self._handlers[sid] = handler

    def unroute(self, sid: int) -> None:
        self._handlers.pop(sid, None)


def _status(headers: bytes | None) -> bytes | None:
    """The status code of a JetStream status message ("NATS/1.0 404 No Messages")."""
    if headers and headers[8:9] == b" ":
        return headers[9:12]
    return None


def _sequence_and_pending(reply: str) -> tuple[int, int]:
    """The stream sequence and the number pending, from a JetStream message's reply subject
    (cheaper than building `Msg.metadata` a million times)."""
    tokens = reply.split(".")
    if len(tokens) == 9:  # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
        return int(tokens[5]), int(tokens[8])
    return int(tokens[Msg.Ack.StreamSeq]), int(tokens[Msg.Ack.NumPending])
