"""Running a command: cached decision state, optimistic append, retry on conflict, idempotency."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from jinguo_contracts.base import EventContract
from jinguo_shared.db import aggregate_states, idempotency_records, insert_for, writing
from jinguo_shared.domain import Aggregate, DomainError
from jinguo_shared.envelope import CommandContext, RecordedEvent, event_id
from jinguo_shared.eventstore import ConcurrencyConflictError, EventStore
from jinguo_shared.telemetry import tracer

log = logging.getLogger(__name__)

AggregateT = TypeVar("AggregateT", bound=Aggregate[Any])


class ContentionError(DomainError):
    code = "contention"
    status = 409


class IdempotencyKeyReusedError(DomainError):
    code = "idempotency-key-reused"
    status = 422


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    client_id: str
    key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class CommandResult:
    aggregate_id: str
    stream: str
    seq: int
    events: list[EventContract] = field(default_factory=list)
    replayed: bool = False
    """True when an earlier request with the same idempotency key already did the work."""

    @property
    def position(self) -> str:
        """The consistency token: reads given it wait until projections have seen this far."""
        return f"{self.stream}:{self.seq}"


class CommandExecutor:
    def __init__(self, engine: AsyncEngine, store: EventStore, max_attempts: int = 8) -> None:
        self._engine = engine
        self._store = store
        self._max_attempts = max_attempts
        self._save_statement: Any = None

    async def execute(
        self,
        aggregate_class: type[AggregateT],
        aggregate_id: str,
        decide: Callable[[AggregateT], None],
        context: CommandContext,
        idempotency: IdempotencyKey | None = None,
    ) -> CommandResult:
        with tracer.start_as_current_span(
            f"command {aggregate_class.aggregate_type}",
            attributes={
                "jinguo.aggregate_id": aggregate_id,
                "jinguo.command_id": context.command_id,
            },
        ):
            return await self._execute(aggregate_class, aggregate_id, decide, context, idempotency)

    async def _execute(
        self,
        aggregate_class: type[AggregateT],
        aggregate_id: str,
        decide: Callable[[AggregateT], None],
        context: CommandContext,
        idempotency: IdempotencyKey | None,
    ) -> CommandResult:
        if idempotency is not None:
            earlier = await self._earlier_result(idempotency)
            if earlier is not None:
                return earlier
        aggregate = await self.load_cached(aggregate_class, aggregate_id)
        from_log = False
        for attempt in range(self._max_attempts):
            try:
                decide(aggregate)
            except DomainError:
                if from_log:
                    raise
                # the cached state may lag (another process, a lost write): ask the log once
                aggregate, already = await self._reload(aggregate_class, aggregate_id, context)
                from_log = True
                if already is not None:
                    await self._save(aggregate, idempotency, already)
                    return already
                decide(aggregate)
            if not aggregate.pending:
                return CommandResult(aggregate.id, self._store.stream, aggregate.version)
            try:
                seq = await self._store.append(
                    aggregate_class.aggregate_type,
                    aggregate.id,
                    aggregate.version,
                    aggregate.pending,
                    context,
                )
            except ConcurrencyConflictError:
                aggregate, already = await self._reload(aggregate_class, aggregate_id, context)
                from_log = True
                if already is not None:
                    await self._save(aggregate, idempotency, already)
                    return already
                await asyncio.sleep(random.uniform(0, 0.005) * (attempt + 1))
                continue
            result = CommandResult(aggregate.id, self._store.stream, seq, list(aggregate.pending))
            aggregate.version = seq
            aggregate.pending.clear()
            await self._save(aggregate, idempotency, result)
            return result
        raise ContentionError(
            f"{aggregate_class.aggregate_type} {aggregate_id} is changing too fast; try again"
        )

    async def load_cached(self, aggregate_class: type[AggregateT], aggregate_id: str) -> AggregateT:
        """The decision state from the service database; the append's check catches staleness."""
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(aggregate_states.c.version, aggregate_states.c.state).where(
                        aggregate_states.c.aggregate_type == aggregate_class.aggregate_type,
                        aggregate_states.c.aggregate_id == aggregate_id,
                    )
                )
            ).first()
        if row is None:
            return aggregate_class(aggregate_id)
        state = aggregate_class.state_type.model_validate(row.state)
        return aggregate_class(aggregate_id, state, row.version)

    async def _reload(
        self, aggregate_class: type[AggregateT], aggregate_id: str, context: CommandContext
    ) -> tuple[AggregateT, CommandResult | None]:
        history = await self._store.load(aggregate_class.aggregate_type, aggregate_id)
        version = history[-1].seq if history else 0
        aggregate = aggregate_class.from_history(
            aggregate_id, [event.payload for event in history], version
        )
        by_id = {event.envelope.id: event for event in history}
        mine: list[RecordedEvent] = []
        while (found := by_id.get(event_id(context.command_id, len(mine)))) is not None:
            mine.append(found)
        if not mine:
            return aggregate, None
        log.info("command %s was already appended; answering from the log", context.command_id)
        last_seq = max(event.seq for event in mine)
        return aggregate, CommandResult(
            aggregate_id, self._store.stream, last_seq, [e.payload for e in mine], replayed=True
        )

    async def _save(
        self,
        aggregate: Aggregate[Any],
        idempotency: IdempotencyKey | None,
        result: CommandResult,
    ) -> None:
        """Decision state and idempotency record in one transaction; the state never goes back."""
        assert aggregate.state is not None
        if self._save_statement is None:
            insert = insert_for(self._engine, aggregate_states)
            self._save_statement = insert.on_conflict_do_update(
                index_elements=["aggregate_type", "aggregate_id"],
                set_={"version": insert.excluded.version, "state": insert.excluded.state},
                where=aggregate_states.c.version < insert.excluded.version,
            )
        row = {
            "aggregate_type": aggregate.aggregate_type,
            "aggregate_id": aggregate.id,
            "version": aggregate.version,
            "state": aggregate.state.model_dump(mode="json"),
        }
        async with writing(self._engine) as connection:
            await connection.execute(self._save_statement, [row])
            if idempotency is not None:
                await self._remember(connection, idempotency, result)

    async def _remember(
        self, connection: AsyncConnection, idempotency: IdempotencyKey, result: CommandResult
    ) -> None:
        statement = insert_for(self._engine, idempotency_records).values(
            client_id=idempotency.client_id,
            key=idempotency.key,
            request_hash=idempotency.request_hash,
            status=201,
            body={"aggregate_id": result.aggregate_id, "stream": result.stream, "seq": result.seq},
            created_at=datetime.now(UTC),
        )
        await connection.execute(statement.on_conflict_do_nothing())

    async def _earlier_result(self, idempotency: IdempotencyKey) -> CommandResult | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(idempotency_records.c.request_hash, idempotency_records.c.body).where(
                        idempotency_records.c.client_id == idempotency.client_id,
                        idempotency_records.c.key == idempotency.key,
                    )
                )
            ).first()
        if row is None:
            return None
        if row.request_hash != idempotency.request_hash:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was already used for a different request",
                idempotency_key=idempotency.key,
            )
        body = row.body
        return CommandResult(body["aggregate_id"], body["stream"], body["seq"], replayed=True)
