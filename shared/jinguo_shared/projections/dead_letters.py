"""Events a projection cannot apply: tried alone with back-off, then parked in `dead_letters`
so the projection goes on; retried by hand once fixed."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from jinguo_contracts.base import ContractCatalogue
from jinguo_shared.backoff import TRANSIENT_ERRORS, last_error
from jinguo_shared.db import dead_letters, mark_retried, writing
from jinguo_shared.eventstore import read_event
from jinguo_shared.metrics import events_parked
from jinguo_shared.projections.applying import EventApplier
from jinguo_shared.projections.base import Projection
from jinguo_shared.projections.batch import ProjectionBatch
from jinguo_shared.projections.checkpoints import Checkpoints
from jinguo_shared.projections.generations import Generations
from jinguo_shared.projections.planning import Item

log = logging.getLogger(__name__)


class DeadLetters:
    def __init__(
        self,
        engine: AsyncEngine,
        js: JetStreamContext,
        generations: Generations,
        applier: EventApplier,
        checkpoints: Checkpoints,
        catalogue: ContractCatalogue,
        max_attempts: int,
    ) -> None:
        self._engine = engine
        self._js = js
        self._generations = generations
        self._applier = applier
        self._checkpoints = checkpoints
        self._catalogue = catalogue
        self.max_attempts = max_attempts
        self.backoff_base = 0.1
        """The pause before an event's second attempt; it doubles for each one after."""

    async def apply_alone(self, projection: Projection, stream: str, item: Item) -> None:
        """Apply one event in a transaction of its own until it succeeds or is parked. A
        transient failure is raised at once: the consumer restarts and the event comes again."""

        async def park(attempts: RetryCallState) -> None:
            error = last_error(attempts)
            await self._park(projection, stream, item, error, attempts.attempt_number)

        applying = AsyncRetrying(
            retry=retry_if_exception_type(Exception)
            & retry_if_not_exception_type(TRANSIENT_ERRORS),
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential(multiplier=self.backoff_base),
            retry_error_callback=park,
        )
        await applying(self._apply_in_transaction, projection, stream, item)

    async def _apply_in_transaction(self, projection: Projection, stream: str, item: Item) -> None:
        async with writing(self._engine) as connection:
            await self._applier.apply(connection, [projection], stream, [item])

    async def _park(
        self, projection: Projection, stream: str, item: Item, error: Exception, attempts: int
    ) -> None:
        seq, subject, _ = item
        events_parked.add(1, {"service": self._generations.service, "consumer": projection.name})
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
                [dead_letter(projection.name, stream, seq, subject, error, attempts)],
            )
            await self._checkpoints.advance(connection, stream, [(projection, seq)])

    async def parked(self, name: str | None = None) -> list[dict[str, Any]]:
        query = select(dead_letters).order_by(dead_letters.c.id)
        if name is not None:
            query = query.where(dead_letters.c.projection == name)
        async with self._engine.connect() as connection:
            return [dict(row._mapping) for row in await connection.execute(query)]

    async def retry_parked(self, letter: Row[Any]) -> None:
        """Apply a parked event (from `parked_to_retry`) again, after a fix; it leaves the dead
        letters when it succeeds."""
        projection = self._generations.active.get(letter.projection)
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


def dead_letter(
    owner: str, stream: str, seq: int, subject: str, error: Exception, attempts: int
) -> dict[str, Any]:
    """A `dead_letters` row; `owner` is a projection's name or `policy:<name>`."""
    return {
        "projection": owner,
        "stream": stream,
        "seq": seq,
        "subject": subject,
        "event_type": subject.rsplit(".", 1)[-1],
        "error": f"{type(error).__name__}: {error}",
        "attempts": attempts,
        "parked_at": datetime.now(UTC),
        "replayed_at": None,
    }
