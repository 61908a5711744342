"""Running a command: cached decision state, optimistic append, retry on conflict, idempotency."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from jinguo_contracts.base import EventContract
from jinguo_shared.access import both_within, within
from jinguo_shared.db import DirectSql, DirectTransaction, sqlite_timestamp
from jinguo_shared.domain import Aggregate, DomainError
from jinguo_shared.envelope import CommandContext, RecordedEvent, event_id
from jinguo_shared.eventstore import AggregateWrite, ConcurrencyConflictError, EventStore
from jinguo_shared.metrics import Timed, command_conflicts
from jinguo_shared.telemetry import tracer

log = logging.getLogger(__name__)

AggregateT = TypeVar("AggregateT", bound=Aggregate[Any])
OtherT = TypeVar("OtherT", bound=Aggregate[Any])

CONFLICT_PAUSE = 0.005
"""Seconds: the most a command waits after a conflict, times the conflicts it has had."""


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


class EventGuard(Protocol):
    """A rule every service's events obey, checked after deciding and before appending (an
    area the register holds, a period still open): it raises a DomainError to refuse."""

    async def check(self, events: Sequence[EventContract], context: CommandContext) -> None: ...


class CommandExecutor:
    def __init__(
        self,
        engine: AsyncEngine,
        store: EventStore,
        max_attempts: int = 8,
        guards: Sequence[EventGuard] = (),
    ) -> None:
        self._store = store
        self._max_attempts = max_attempts
        self._sql = DirectSql(engine)
        self._guards = guards

    async def execute(
        self,
        aggregate_class: type[AggregateT],
        aggregate_id: str,
        decide: Callable[[AggregateT], None],
        context: CommandContext,
        idempotency: IdempotencyKey | None = None,
    ) -> CommandResult:
        with (
            tracer.start_as_current_span(
                f"command {aggregate_class.aggregate_type}",
                attributes={
                    "jinguo.aggregate_id": aggregate_id,
                    "jinguo.command_id": context.command_id,
                },
            ),
            Timed(self._store.service, aggregate_class.aggregate_type),
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
        if context.jurisdiction is not None:
            decide = within(context.jurisdiction, decide)
        aggregate = await self.load_cached(aggregate_class, aggregate_id)
        from_log = False
        async for attempt in self._on_conflict():
            with attempt:
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
                await self._guard(aggregate.pending, context)
                try:
                    seq = await self._store.append(
                        aggregate_class.aggregate_type,
                        aggregate.id,
                        aggregate.version,
                        aggregate.pending,
                        context,
                    )
                except ConcurrencyConflictError:
                    self._conflicted(aggregate_class.aggregate_type)
                    aggregate, already = await self._reload(aggregate_class, aggregate_id, context)
                    from_log = True
                    if already is not None:
                        await self._save(aggregate, idempotency, already)
                        return already
                    raise
                result = CommandResult(
                    aggregate.id, self._store.stream, seq, list(aggregate.pending)
                )
                aggregate.version = seq
                aggregate.pending.clear()
                await self._save(aggregate, idempotency, result)
                return result
        raise ContentionError(
            f"{aggregate_class.aggregate_type} {aggregate_id} is changing too fast; try again"
        )

    async def execute_together(
        self,
        first: tuple[type[AggregateT], str],
        second: tuple[type[OtherT], str],
        decide: Callable[[AggregateT, OtherT], None],
        context: CommandContext,
        idempotency: IdempotencyKey | None = None,
    ) -> CommandResult:
        """One command deciding on two aggregates at once (e.g. a post and the worker it is
        filled with): their events are appended as one atomic batch guarded by both versions,
        so a rule spanning the two holds under concurrency. The result names the first."""
        (first_class, first_id), (second_class, second_id) = first, second
        with (
            tracer.start_as_current_span(
                f"command {first_class.aggregate_type}+{second_class.aggregate_type}",
                attributes={
                    "jinguo.aggregate_id": first_id,
                    "jinguo.command_id": context.command_id,
                },
            ),
            Timed(
                self._store.service, f"{first_class.aggregate_type}+{second_class.aggregate_type}"
            ),
        ):
            if idempotency is not None:
                earlier = await self._earlier_result(idempotency)
                if earlier is not None:
                    return earlier
            if context.jurisdiction is not None:
                decide = both_within(context.jurisdiction, decide)
            one = await self.load_cached(first_class, first_id)
            two = await self.load_cached(second_class, second_id)
            from_log = False
            async for attempt in self._on_conflict():
                with attempt:
                    try:
                        decide(one, two)
                    except DomainError:
                        if from_log:
                            raise
                        one, two, already = await self._reload_pair(one, two, context)
                        from_log = True
                        if already is not None:
                            await self._save_all([one, two], idempotency, already)
                            return already
                        decide(one, two)
                    if not one.pending and not two.pending:
                        return CommandResult(one.id, self._store.stream, one.version)
                    await self._guard([*one.pending, *two.pending], context)
                    try:
                        versions = await self._store.append_together(
                            [
                                AggregateWrite(a.aggregate_type, a.id, a.version, list(a.pending))
                                for a in (one, two)
                            ],
                            context,
                        )
                    except ConcurrencyConflictError:
                        self._conflicted(first_class.aggregate_type)
                        one, two, already = await self._reload_pair(one, two, context)
                        from_log = True
                        if already is not None:
                            await self._save_all([one, two], idempotency, already)
                            return already
                        raise
                    written = [a for a in (one, two) if a.pending]
                    result = CommandResult(
                        one.id,
                        self._store.stream,
                        max(versions),
                        [e for a in (one, two) for e in a.pending],
                    )
                    for aggregate, version in zip(written, versions, strict=True):
                        aggregate.version = version
                        aggregate.pending.clear()
                    await self._save_all(written, idempotency, result)
                    return result
            raise ContentionError(
                f"{first_class.aggregate_type} {first_id} is changing too fast; try again"
            )

    def _conflicted(self, aggregate_type: str) -> None:
        command_conflicts.add(1, {"service": self._store.service, "aggregate": aggregate_type})

    async def _guard(self, events: Sequence[EventContract], context: CommandContext) -> None:
        for guard in self._guards:
            await guard.check(events, context)

    def _on_conflict(self) -> AsyncRetrying:
        """Another writer appended first: decide again on the aggregates as the log has them,
        `max_attempts` times in all; the caller raises ContentionError after the last."""
        return AsyncRetrying(
            retry=retry_if_exception_type(ConcurrencyConflictError),
            stop=stop_after_attempt(self._max_attempts),
            wait=_pause_after_conflicts,
            retry_error_callback=lambda _: None,
        )

    async def _reload_pair(
        self, one: AggregateT, two: OtherT, context: CommandContext
    ) -> tuple[AggregateT, OtherT, CommandResult | None]:
        fresh_one, first = await self._from_log(type(one), one.id)
        fresh_two, second = await self._from_log(type(two), two.id)
        return fresh_one, fresh_two, self._already_appended(one.id, [first, second], context)

    async def _save_all(
        self,
        aggregates: Sequence[Aggregate[Any]],
        idempotency: IdempotencyKey | None,
        result: CommandResult,
    ) -> None:
        remembered = idempotency is None
        for aggregate in aggregates:
            if aggregate.state is not None:
                await self._save(aggregate, None if remembered else idempotency, result)
                remembered = True
        if not remembered and idempotency is not None:
            async with self._sql.transaction() as transaction:
                await self._remember(transaction, idempotency, result)

    async def load_cached(self, aggregate_class: type[AggregateT], aggregate_id: str) -> AggregateT:
        """The decision state from the service database; the append's check catches staleness."""
        rows = await self._sql.fetch(
            "SELECT version, state FROM aggregate_states"
            " WHERE aggregate_type = ? AND aggregate_id = ?",
            aggregate_class.aggregate_type,
            aggregate_id,
        )
        if not rows:
            return aggregate_class(aggregate_id)
        version, state = rows[0]
        state_type = aggregate_class.state_type
        try:
            return aggregate_class(
                aggregate_id,
                # SQLite gives the text; SQLAlchemy's asyncpg set-up decodes json already
                state_type.model_validate_json(state)
                if isinstance(state, str)
                else state_type.model_validate(state),
                version,
            )
        except ValidationError:
            # cached by an older version of the service: the log has the truth
            aggregate, _ = await self._from_log(aggregate_class, aggregate_id)
            return aggregate

    async def _reload(
        self, aggregate_class: type[AggregateT], aggregate_id: str, context: CommandContext
    ) -> tuple[AggregateT, CommandResult | None]:
        aggregate, history = await self._from_log(aggregate_class, aggregate_id)
        return aggregate, self._already_appended(aggregate_id, [history], context)

    async def _from_log(
        self, aggregate_class: type[AggregateT], aggregate_id: str
    ) -> tuple[AggregateT, list[RecordedEvent]]:
        """The aggregate as its events in the log make it, and those events."""
        history = await self._store.load(aggregate_class.aggregate_type, aggregate_id)
        version = history[-1].seq if history else 0
        events = [event.payload for event in history]
        return aggregate_class.from_history(aggregate_id, events, version), history

    def _already_appended(
        self, aggregate_id: str, histories: list[list[RecordedEvent]], context: CommandContext
    ) -> CommandResult | None:
        """The command's result if its events are in the log already (its answer was lost)."""
        by_id = {event.envelope.id: event for history in histories for event in history}
        mine: list[RecordedEvent] = []
        while (found := by_id.get(event_id(context.command_id, len(mine)))) is not None:
            mine.append(found)
        if not mine:
            return None
        log.info("command %s was already appended; answering from the log", context.command_id)
        last_seq = max(event.seq for event in mine)
        return CommandResult(
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
        async with self._sql.transaction() as transaction:
            await transaction.execute(
                "INSERT INTO aggregate_states (aggregate_type, aggregate_id, version, state)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE"
                " SET version = excluded.version, state = excluded.state"
                " WHERE aggregate_states.version < excluded.version",
                aggregate.aggregate_type,
                aggregate.id,
                aggregate.version,
                aggregate.state.model_dump_json(),
            )
            if idempotency is not None:
                await self._remember(transaction, idempotency, result)

    async def _remember(
        self, transaction: DirectTransaction, idempotency: IdempotencyKey, result: CommandResult
    ) -> None:
        now = datetime.now(UTC)
        await transaction.execute(
            "INSERT INTO idempotency_records"
            " (client_id, key, request_hash, status, body, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            idempotency.client_id,
            idempotency.key,
            idempotency.request_hash,
            201,
            orjson.dumps(
                {"aggregate_id": result.aggregate_id, "stream": result.stream, "seq": result.seq}
            ).decode(),
            sqlite_timestamp(now) if self._sql.sqlite else now,
        )

    async def _earlier_result(self, idempotency: IdempotencyKey) -> CommandResult | None:
        rows = await self._sql.fetch(
            "SELECT request_hash, body FROM idempotency_records WHERE client_id = ? AND key = ?",
            idempotency.client_id,
            idempotency.key,
        )
        if not rows:
            return None
        request_hash, body_text = rows[0]
        if request_hash != idempotency.request_hash:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was already used for another request (another method,"
                " path or body); send this one with a new key",
                idempotency_key=idempotency.key,
            )
        body = orjson.loads(body_text) if isinstance(body_text, str) else body_text
        return CommandResult(body["aggregate_id"], body["stream"], body["seq"], replayed=True)


def _pause_after_conflicts(attempts: RetryCallState) -> float:
    """Random, up to CONFLICT_PAUSE for each conflict so far: writers that collided spread out."""
    return random.uniform(0, CONFLICT_PAUSE * attempts.attempt_number)
