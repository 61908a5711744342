"""Rebuilding projections: new generations filled from sequence 1, then switched to (or kept
aside as of a time), while the live generation serves."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from jinguo_contracts.base import ContractCatalogue
from jinguo_shared.consumer_names import rebuild_consumers
from jinguo_shared.db import writing
from jinguo_shared.projections.base import Projection, reading_filters
from jinguo_shared.projections.checkpoints import Checkpoints
from jinguo_shared.projections.dead_letters import DeadLetters
from jinguo_shared.projections.generations import Generations
from jinguo_shared.projections.planning import ChunkPlan, Item, PlannerSpec, Router, planning_for
from jinguo_shared.projections.schema import create_lookup_indexes
from jinguo_shared.projections.stream_reader import StreamReader

log = logging.getLogger(__name__)

REBUILD_CHUNK = 10_000
"""Events read, applied and written together while rebuilding."""
REBUILD_COMMIT_SECONDS = 2.0
"""How long a rebuild's write transaction stays open over successive chunks: about the longest
a live writer to the same SQLite file waits while a rebuild runs."""
REBUILD_READ_BATCH = 2_500
"""Messages per pull request while rebuilding; two are out at a time."""

Progress = Callable[[str, int, int], None]
"""Called during a rebuild with (stream, events done, events to do)."""


class Rebuilder:
    def __init__(
        self,
        service: str,
        engine: AsyncEngine,
        nc: NatsClient,
        generations: Generations,
        checkpoints: Checkpoints,
        dead_letters: DeadLetters,
        catalogue: ContractCatalogue,
    ) -> None:
        self._service = service
        self._engine = engine
        self._nc = nc
        self._js = nc.jetstream()
        self._generations = generations
        self._checkpoints = checkpoints
        self._dead_letters = dead_letters
        self._catalogue = catalogue

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
        projections = [await self._generations.new(name, until) for name in names]
        streams: dict[str, list[str]] = {}
        for projection in projections:
            for stream, subjects in projection.streams().items():
                streams.setdefault(stream, []).extend(subjects)
        for stream, subjects in streams.items():
            wanting = [p for p in projections if stream in p.streams()]
            await self._rebuild_stream(wanting, stream, sorted(set(subjects)), until, progress)
        for projection in projections:
            async with writing(self._engine) as connection:
                await connection.run_sync(create_lookup_indexes, projection.metadata)
            await self._generations.switch(projection, as_of=until is not None)
        return projections

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
        reader = StreamReader(
            self._nc,
            stream,
            reading_filters(subjects),
            REBUILD_READ_BATCH,
            last=target,
            slots=rebuild_consumers(self._service, stream),
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
        reader: StreamReader,
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
            await self._checkpoints.advance(connection, stream, [(p, last) for p in projections])

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
                await self._dead_letters.apply_alone(projection, stream, item)
        if items:
            async with writing(self._engine) as connection:
                await self._checkpoints.advance(connection, stream, [(projection, items[-1][0])])


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
