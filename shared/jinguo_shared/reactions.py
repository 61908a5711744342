"""Reactions between services: a policy follows other services' events and issues one of its
own service's commands for each.

A policy is idempotent because the command id is derived from the event id (and the policy's
name): the CommandExecutor recognises a command it already appended, so a redelivered event
changes nothing. Each policy has a durable pull consumer of its own; an event is acknowledged
only after its command succeeded. A command the domain refuses (`DomainError`) is logged and
acknowledged: retrying would be refused again. Transient failures are retried with back-off;
an event that keeps failing is parked in `dead_letters` (as `policy:<name>`) and the policy goes
on. Policies run in the projector role only, never in `jinguo replay`: a replay rebuilds read
models and never issues commands again.

Once an event is handled (its command appended or refused, or the event parked; an event a
policy has no reaction to, at once) and before it is acknowledged, the policy's checkpoint in
the service's database moves to it, never back: `ReactionProgress` reads it from any process,
so a read given another service's position waits until the policies have reacted to it. The
checkpoints share `projection_checkpoints` with the projections', as `policy:<name>` the way
dead letters name a policy, in generation 0 (projections count theirs from 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, ClassVar

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry import trace
from opentelemetry.metrics import Observation
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from jinguo_contracts.base import CATALOGUE, ContractCatalogue, EventContract
from jinguo_shared.backoff import last_error, log_restart, restarting
from jinguo_shared.consumer_names import policy_consumer
from jinguo_shared.db import (
    dead_letters,
    insert_for,
    mark_retried,
    projection_checkpoints,
    writing,
)
from jinguo_shared.domain import DomainError
from jinguo_shared.envelope import CommandContext, RecordedEvent, decode
from jinguo_shared.eventstore import SERVICE_STREAMS, read_event
from jinguo_shared.metrics import LiveGauge, events_parked
from jinguo_shared.projections.base import disjoint_filters
from jinguo_shared.projections.dead_letters import dead_letter
from jinguo_shared.telemetry import current_traceparent, processing_one

log = logging.getLogger(__name__)

REACTION_NAMESPACE = uuid.UUID("9a3e7c51-2f64-4b0e-8d1a-7c5b3e9f0a42")
RETRY_PAUSE_MAX = 10.0
"""The longest pause before a failed reaction is tried again."""
CHECKPOINT_GENERATION = 0
"""A policy's row in `projection_checkpoints`: apart from every projection generation."""

Reaction = Callable[[Any, Any, RecordedEvent, CommandContext], Awaitable[None]]


def reacts_to(*contracts: type[EventContract]) -> Callable[[Reaction], Reaction]:
    """Mark a policy method as its reaction to these event types."""

    def mark(function: Reaction) -> Reaction:
        function.__dict__["_reacts_to"] = tuple(c.event_type for c in contracts)
        return function

    return mark


def reaction_command_id(policy: str, event_id: str) -> str:
    """The same event always leads to the same command, however often it is delivered."""
    return str(uuid.uuid5(REACTION_NAMESPACE, f"{policy}/{event_id}"))


class Policy:
    """Subclasses set `name` and `subjects` (all on one other service's stream) and mark
    their reactions with `@reacts_to`; each reaction issues one command of its own service."""

    name: ClassVar[str]
    subjects: ClassVar[tuple[str, ...]]
    _reactions: ClassVar[dict[str, Reaction]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._reactions = {}
        for klass in reversed(cls.__mro__):
            for attribute in vars(klass).values():
                for event_type in getattr(attribute, "_reacts_to", ()):
                    cls._reactions[event_type] = attribute

    @classmethod
    def stream(cls) -> str:
        streams = {SERVICE_STREAMS[s.split(".", 1)[0]].name for s in cls.subjects}
        if len(streams) != 1:
            raise ValueError(f"policy {cls.name} must follow exactly one stream, not {streams}")
        return streams.pop()

    def reaction(self, event_type: str) -> Reaction | None:
        return self._reactions.get(event_type)


class ReactionError(Exception):
    """Raised by a reaction for a failure worth retrying that is not an I/O error."""


POLICY_LAG: LiveGauge[ReactionRunner] = LiveGauge(
    "jinguo.policy.lag",
    "{event}",
    "events a policy follows that it has yet to react to",
    lambda runner: runner._observe_lag(),
)


class ReactionRunner:
    """Runs a service's policies: one durable consumer and one task per policy."""

    def __init__(
        self,
        service: str,
        engine: AsyncEngine,
        nc: NatsClient,
        policies: Sequence[Policy],
        *,
        max_attempts: int = 5,
        backoff_base: float = 0.2,
        catalogue: ContractCatalogue = CATALOGUE,
    ) -> None:
        self.service = service
        self._engine = engine
        self._js = nc.jetstream()
        self.policies = list(policies)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self._catalogue = catalogue
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.lag: dict[str, int] = {}
        """Events each policy has yet to react to, as its consumer last said."""
        POLICY_LAG.add(self)

    def _observe_lag(self) -> Iterable[Observation]:
        for policy, lag in list(self.lag.items()):
            yield Observation(lag, {"service": self.service, "policy": policy})

    def durable_name(self, policy: Policy) -> str:
        return policy_consumer(self.service, policy.name)

    async def start(self) -> None:
        for policy in self.policies:
            self._tasks.append(
                asyncio.create_task(self._follow(policy), name=f"policy:{policy.name}")
            )

    async def stop(self) -> None:
        """Cancel the policies; a reaction cut short was not acknowledged and comes again.
        nats-py may swallow a cancellation inside a request, hence the flag and the bound."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        self._tasks.clear()
        self.lag.clear()  # whoever runs them next reports them

    async def _follow(self, policy: Policy) -> None:
        restarted = log_restart(log, f"policy {policy.name}")

        def log_failure(attempts: RetryCallState) -> None:
            error = last_error(attempts)
            if not isinstance(error, NotFoundError):
                restarted(attempts)
            elif attempts.attempt_number == 1:
                # the stream is gone (not provisioned again yet): wait for it, quietly
                log.info("policy %s waits: %s", policy.name, error.description)

        following = restarting(
            first_pause=self.backoff_base,
            stopping=lambda: self._stopping,
            after_failure=log_failure,
        )
        await following(self._consume, policy)

    async def _consume(self, policy: Policy) -> None:
        """The durable consumer remembers what was acknowledged across restarts; a new one
        starts at the beginning of the stream, so nothing published before it is missed."""
        stream = policy.stream()
        durable = self.durable_name(policy)
        config = ConsumerConfig(
            name=durable,
            durable_name=durable,
            filter_subjects=disjoint_filters(policy.subjects),
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=60,
            max_ack_pending=64,
            max_deliver=-1,
        )
        try:
            await self._js.consumer_info(stream, durable)
        except NotFoundError:
            await self._js.add_consumer(stream, config)
        subscription = await self._js.pull_subscribe_bind(durable, stream=stream)
        try:
            while not self._stopping:
                try:
                    messages = await subscription.fetch(16, timeout=1.0)
                except (nats.errors.TimeoutError, TimeoutError):
                    self.lag[policy.name] = 0  # nothing came for a second: none waits
                    continue
                for message in messages:
                    if self._stopping:  # whoever runs next takes it at once, not in ack_wait
                        await message.nak()
                        continue
                    self.lag[policy.name] = message.metadata.num_pending + 1
                    await self.handle(policy, stream, message)
                    self.lag[policy.name] = message.metadata.num_pending
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def handle(self, policy: Policy, stream: str, message: Msg) -> None:
        """React to one message, then acknowledge it (unless the process is stopping): in a
        span of its own, a child of the event's, so the command it issues continues the trace
        of what caused the event."""
        seq = message.metadata.sequence.stream
        subject = message.subject
        event_type = subject.rsplit(".", 1)[-1]
        reaction = policy.reaction(event_type)
        if reaction is None:
            await self._processed(policy, stream, seq)
            await message.ack()
            return
        headers = message.headers or {}
        with processing_one(
            subject,
            headers.get("Nats-Msg-Id"),
            self.durable_name(policy),
            headers.get("traceparent"),
            **{"jinguo.policy": policy.name},
        ):
            await self._handle(policy, reaction, stream, message)

    async def _handle(self, policy: Policy, reaction: Reaction, stream: str, message: Msg) -> None:
        seq = message.metadata.sequence.stream
        subject = message.subject
        event_type = subject.rsplit(".", 1)[-1]

        async def react() -> None:
            event = decode(stream, seq, subject, message.data, self._catalogue)
            await self._react(policy, reaction, event)

        def retrying(attempts: RetryCallState) -> None:
            log.warning(
                "policy %s: %s %s:%d failed (attempt %d), retrying: %s",
                policy.name,
                event_type,
                stream,
                seq,
                attempts.attempt_number,
                last_error(attempts),
            )

        async def park(attempts: RetryCallState) -> None:
            error = last_error(attempts)
            await self._park(policy, stream, seq, subject, error, attempts.attempt_number)

        reacting = AsyncRetrying(
            retry=retry_if_exception_type(Exception) & retry_if_not_exception_type(DomainError),
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential(multiplier=self.backoff_base, max=RETRY_PAUSE_MAX),
            before_sleep=retrying,
            retry_error_callback=park,
        )
        try:
            try:
                await reacting(react)
            except DomainError as refused:
                log.info(
                    "policy %s: %s %s:%d refused: %s",
                    policy.name,
                    event_type,
                    stream,
                    seq,
                    refused.detail,
                )
            await self._processed(policy, stream, seq)
            await message.ack()
        except asyncio.CancelledError:
            # stopped before the acknowledgement: hand it back now (the command is idempotent,
            # the checkpoint never goes back), or the next process would see it only after
            # ack_wait
            with contextlib.suppress(Exception):
                await message.nak()
            raise

    async def retry_parked(self, letter: Row[Any]) -> None:
        """React again to an event a policy parked (from `parked_to_retry`), after a fix; it
        leaves the dead letters when the command succeeds. A refusal (`DomainError`) is raised
        and the event stays parked."""
        name = letter.projection.removeprefix("policy:")
        policy = next((p for p in self.policies if p.name == name), None)
        if policy is None:
            raise LookupError(f"parked event {letter.id} is not a policy's: {letter.projection}")
        reaction = policy.reaction(letter.event_type)
        if reaction is None:
            raise LookupError(f"policy {name} no longer reacts to {letter.event_type}")
        event = await read_event(self._js, letter.stream, letter.seq, self._catalogue)
        with processing_one(
            event.nats_subject,
            event.envelope.id,
            self.durable_name(policy),
            event.envelope.traceparent,
            **{"jinguo.policy": policy.name, "jinguo.parked_id": str(letter.id)},
        ):
            await self._react(policy, reaction, event)
        async with writing(self._engine) as connection:
            await mark_retried(connection, letter.id)

    async def _react(self, policy: Policy, reaction: Reaction, event: RecordedEvent) -> None:
        envelope = event.envelope
        command_id = reaction_command_id(policy.name, envelope.id)
        trace.get_current_span().set_attribute("jinguo.command_id", command_id)
        context = CommandContext(
            command_id=command_id,
            correlation_id=envelope.correlationid,
            causation_id=envelope.id,
            agency_id=envelope.agencyid,
            actor=f"policy:{policy.name}",
            traceparent=current_traceparent() or envelope.traceparent,
        )
        await reaction(policy, event.payload, event, context)

    async def _processed(
        self,
        policy: Policy,
        stream: str,
        seq: int,
        connection: AsyncConnection | None = None,
    ) -> None:
        """Move the policy's checkpoint to `seq` (never back: a redelivery changes nothing)."""
        if connection is None:
            async with writing(self._engine) as fresh:
                await self._processed(policy, stream, seq, fresh)
            return
        insert = insert_for(self._engine, projection_checkpoints)
        await connection.execute(
            insert.values(
                projection=f"policy:{policy.name}",
                generation=CHECKPOINT_GENERATION,
                stream=stream,
                last_seq=seq,
            ).on_conflict_do_update(
                index_elements=["projection", "generation", "stream"],
                set_={"last_seq": insert.excluded.last_seq},
                where=projection_checkpoints.c.last_seq < insert.excluded.last_seq,
            )
        )

    async def _park(
        self, policy: Policy, stream: str, seq: int, subject: str, error: Exception, attempts: int
    ) -> None:
        events_parked.add(1, {"service": self.service, "consumer": f"policy:{policy.name}"})
        log.error(
            "parked %s:%d in policy %s after %d attempts: %s",
            stream,
            seq,
            policy.name,
            attempts,
            error,
        )
        async with writing(self._engine) as connection:
            await connection.execute(
                dead_letters.insert(),
                [dead_letter(f"policy:{policy.name}", stream, seq, subject, error, attempts)],
            )
            await self._processed(policy, stream, seq, connection)
