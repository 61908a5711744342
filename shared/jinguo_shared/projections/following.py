"""Live mode: following each stream with a durable consumer into the service's projections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_shared.backoff import TRANSIENT_ERRORS, log_restart, restarting
from jinguo_shared.consumer_names import projections_consumer
from jinguo_shared.db import writing
from jinguo_shared.projections.applying import EventApplier
from jinguo_shared.projections.base import reading_filters
from jinguo_shared.projections.checkpoints import Checkpoints
from jinguo_shared.projections.dead_letters import DeadLetters
from jinguo_shared.projections.generations import Generations
from jinguo_shared.telemetry import processing_batch

log = logging.getLogger(__name__)


FETCH_SECONDS = 1.0
FETCH_SECONDS_LONGEST = 32.0
"""A fetch that returns nothing while events wait is followed by one twice as long, up to this:
on a long stream (a restore, a new projection) with many filter subjects, nats-server may take
more than a second to find the first event a new consumer matches, and a fetch that expires
first starts that search over: the projector then never applied a single event."""

CATCH_UP_BATCH = 2_500
"""Events fetched and applied in one transaction while this many or more wait (a restore, a new
projection, a projector back after a while), as a rebuild reads them: a transaction per 500
made catching up several times slower than `jinguo replay`."""


async def _waiting(subscription: JetStreamContext.PullSubscription) -> int | None:
    """Events the consumer has not delivered or has delivered unacknowledged; None when the
    server did not say in time."""
    try:
        info = await subscription.consumer_info()
    except (nats.errors.TimeoutError, TimeoutError):
        return None
    return (info.num_pending or 0) + (info.num_ack_pending or 0)


class Following:
    def __init__(
        self,
        service: str,
        engine: AsyncEngine,
        js: JetStreamContext,
        generations: Generations,
        applier: EventApplier,
        checkpoints: Checkpoints,
        dead_letters: DeadLetters,
        lag: dict[tuple[str, str], int],
        *,
        batch_size: int,
        linger: float,
    ) -> None:
        self.service = service
        self._engine = engine
        self._js = js
        self._generations = generations
        self._applier = applier
        self._checkpoints = checkpoints
        self._dead_letters = dead_letters
        self._lag = lag
        self._batch_size = batch_size
        self._linger = linger
        self.backoff_base = 0.1
        """The pause before a failed stream's consumer restarts; it doubles each time."""
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def durable_name(self, stream: str) -> str:
        return projections_consumer(self.service, stream)

    def start(self) -> None:
        self._stopping = False
        for stream in self._generations.streams():
            self._start(stream)

    def restart(self, streams: Iterable[str]) -> None:
        """Follow these streams anew: their projections' generations have changed."""
        for stream in streams:
            for task in [t for t in self._tasks if t.get_name() == f"stream:{stream}"]:
                task.cancel()
                self._tasks.remove(task)
            self._start(stream)

    def _start(self, stream: str) -> None:
        self._tasks.append(asyncio.create_task(self._follow(stream), name=f"stream:{stream}"))

    async def stop(self) -> None:
        """Cancel the consumers; a batch cut short was not acknowledged and comes again.
        nats-py may swallow a cancellation inside a fetch, hence the flag and the bound."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=5)
            if stuck:
                log.warning("%d projection tasks did not stop within 5 s", len(stuck))
        self._tasks.clear()

    async def _follow(self, stream: str) -> None:
        following = restarting(
            first_pause=self.backoff_base,
            stopping=lambda: self._stopping,
            after_failure=log_restart(log, f"projections on {stream}"),
        )
        await following(self._consume, stream)

    async def _consume(self, stream: str) -> None:
        """One durable consumer per stream feeds every projection of the service: one fetch
        and one transaction per batch however many projections there are. It starts after the
        least advanced checkpoint; each projection skips what it has already applied."""
        projections = self._generations.following(stream)
        subjects = reading_filters(s for p in projections for s in p.streams()[stream])
        start = min([await self._checkpoints.of(p, stream) for p in projections]) + 1
        durable = self.durable_name(stream)
        catch_up_batch = max(self._batch_size, CATCH_UP_BATCH)
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
                max_ack_pending=catch_up_batch * 2,
                inactive_threshold=24 * 3600,
            ),
        )
        subscription = await self._js.pull_subscribe_bind(durable, stream=stream)
        fetch_seconds = FETCH_SECONDS
        pending: int | None = None
        try:
            while not self._stopping:
                catching_up = pending is not None and pending >= CATCH_UP_BATCH
                batch = catch_up_batch if catching_up else self._batch_size
                try:
                    messages = await subscription.fetch(batch, timeout=fetch_seconds)
                except (nats.errors.TimeoutError, TimeoutError):
                    messages = []
                if messages:
                    pending = messages[-1].metadata.num_pending
                    fetch_seconds = FETCH_SECONDS
                    await self.apply_messages(stream, messages)
                    await messages[-1].ack()
                else:
                    pending = await _waiting(subscription)
                    fetch_seconds = (
                        FETCH_SECONDS
                        if pending == 0
                        else min(fetch_seconds * 2, FETCH_SECONDS_LONGEST)
                    )
                for projection in projections:
                    if pending is not None:
                        self._lag[(projection.name, stream)] = pending
                if messages and len(messages) < batch:
                    # events are arriving: let a few gather rather than pay a fetch and a
                    # transaction for each one
                    await asyncio.sleep(self._linger)
        finally:
            await subscription.unsubscribe()

    async def apply_messages(self, stream: str, messages: Sequence[Msg]) -> None:
        """One transaction for the batch and every projection; on failure, isolate the
        projection, then the event, that fails."""
        items = [(m.metadata.sequence.stream, m.subject, m.data) for m in messages]
        projections = self._generations.following(stream)
        with processing_batch(
            stream,
            self.durable_name(stream),
            [(m.headers or {}).get("traceparent") for m in messages],
            **{"jinguo.service": self.service},
        ):
            try:
                async with writing(self._engine) as connection:
                    await self._applier.apply(connection, projections, stream, items)
                return
            except TRANSIENT_ERRORS:
                raise
            except Exception:
                log.warning("batch on %s failed; isolating the failure", stream)
            for projection in projections:
                try:
                    async with writing(self._engine) as connection:
                        await self._applier.apply(connection, [projection], stream, items)
                except TRANSIENT_ERRORS:
                    raise
                except Exception:
                    for item in items:
                        await self._dead_letters.apply_alone(projection, stream, item)
