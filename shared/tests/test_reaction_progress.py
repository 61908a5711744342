"""How far a service's policies have reacted to another stream, as any process reads it from the
service's database: what a read given another service's position waits for; and as an operator
reads it, the policy lag the projector exports (real NATS, both databases)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_contracts.examples import registered_worker
from jinguo_contracts.registry import WorkerRegisteredV1
from jinguo_shared.db import dead_letters, kernel_metadata, make_engine
from jinguo_shared.domain import DomainError
from jinguo_shared.envelope import CommandContext, RecordedEvent
from jinguo_shared.projections.consistency import (
    ConsistencyTimeoutError,
    Position,
    PositionNotGivenOutError,
)
from jinguo_shared.reaction_progress import ReactionProgress
from jinguo_shared.reactions import Policy, ReactionError, ReactionRunner, reacts_to
from jinguo_shared.testing import measured, publish_history, publisher

BOUND = 5.0


class FailingPolicy(Policy):
    """Every reaction fails as a broken dependency would: the event ends up parked."""

    name = "failing"
    subjects = ("registry.worker.*.WorkerRegistered",)

    @reacts_to(WorkerRegisteredV1)
    async def when_registered(
        self, _e: WorkerRegisteredV1, _event: RecordedEvent, _ctx: CommandContext
    ) -> None:
        raise ReactionError("the dependency is down")


class RefusingPolicy(Policy):
    """Every reaction's command is refused by the domain."""

    name = "refusing"
    subjects = ("registry.worker.*.WorkerRegistered",)

    @reacts_to(WorkerRegisteredV1)
    async def when_registered(
        self, _e: WorkerRegisteredV1, _event: RecordedEvent, _ctx: CommandContext
    ) -> None:
        raise DomainError("refused")


class GatedPolicy(Policy):
    """Reacts once its gate opens, as a policy held up by a slow dependency would."""

    name = "gated"
    subjects = ("registry.worker.*.WorkerRegistered",)

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    @reacts_to(WorkerRegisteredV1)
    async def when_registered(
        self, _e: WorkerRegisteredV1, _event: RecordedEvent, _ctx: CommandContext
    ) -> None:
        self.waiting.set()
        await self.gate.wait()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(kernel_metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def runner(engine: AsyncEngine, outside: NatsClient) -> AsyncIterator[ReactionRunner]:
    policies = [FailingPolicy(), RefusingPolicy()]
    runner = ReactionRunner(
        "employment", engine, outside, policies, max_attempts=2, backoff_base=0.01
    )
    yield runner
    await runner.stop()


@pytest.fixture
def progress(engine: AsyncEngine, outside: NatsClient) -> ReactionProgress:
    """Read as an API process reads it: from the database, not from the runner."""
    return ReactionProgress(engine, outside.jetstream(), [FailingPolicy, RefusingPolicy])


async def register(outside: NatsClient, worker_id: str, **options: Any) -> Position:
    registry = await publisher(outside, "registry")
    events = registered_worker(worker_id, area="110101001001", **options)
    return Position.parse(await publish_history(registry, worker_id, events, worker_id))


async def test_a_parked_and_a_refused_reaction_count_as_processed(
    engine: AsyncEngine,
    outside: NatsClient,
    runner: ReactionRunner,
    progress: ReactionProgress,
) -> None:
    position = await register(outside, "w1")
    await runner.start()

    started = time.monotonic()
    await progress.wait_for(position, BOUND)

    assert time.monotonic() - started < BOUND
    async with engine.connect() as connection:
        parked = (await connection.execute(select(dead_letters.c.projection))).scalars().all()
    assert parked == ["policy:failing"]


async def test_a_reaction_not_yet_run_is_waited_for_bounded(
    outside: NatsClient, progress: ReactionProgress
) -> None:
    position = await register(outside, "w1")

    started = time.monotonic()
    with pytest.raises(ConsistencyTimeoutError) as timed_out:
        await progress.wait_for(position, 0.3)

    assert 0.3 <= time.monotonic() - started < 2
    assert timed_out.value.position == f"REGISTRY:{position.seq}"


async def test_events_the_filters_do_not_match_count_as_processed(
    outside: NatsClient, runner: ReactionRunner, progress: ReactionProgress
) -> None:
    assessed = await register(outside, "w1", priority=True)
    registered = Position(assessed.stream, assessed.seq - 1)
    await runner.start()
    await progress.wait_for(registered, BOUND)
    await runner.stop()

    # no policy reacts to the assessment after the registration: none has to run for it
    await progress.wait_for(assessed, 0)
    later = await register(outside, "w2", priority=True)
    with pytest.raises(ConsistencyTimeoutError):  # w2's registration lies before it
        await progress.wait_for(later, 0)


async def test_a_position_beyond_the_end_of_the_stream_was_never_given_out(
    outside: NatsClient, progress: ReactionProgress
) -> None:
    position = await register(outside, "w1")

    with pytest.raises(PositionNotGivenOutError):
        await progress.wait_for(Position(position.stream, position.seq + 1), BOUND)
    with pytest.raises(PositionNotGivenOutError):
        await progress.wait_for(Position(position.stream, 2**63 - 1), BOUND)


def test_only_the_streams_of_its_policies_are_followed(progress: ReactionProgress) -> None:
    assert progress.follows("REGISTRY")
    assert not progress.follows("EMPLOYMENT")
    assert not progress.follows("RIGHTS")


async def test_the_policy_lag_counts_what_waits_and_falls_to_zero(
    engine: AsyncEngine, outside: NatsClient, metric_reader: InMemoryMetricReader
) -> None:
    def lag() -> list[float]:
        return [
            value
            for labels, value in measured(metric_reader, "jinguo.policy.lag")
            if labels == {"service": "orders", "policy": "gated"}
        ]

    for n in range(5):
        await register(outside, f"w{n}")
    policy = GatedPolicy()
    runner = ReactionRunner("orders", engine, outside, [policy], backoff_base=0.01)
    await runner.start()
    try:
        await asyncio.wait_for(policy.waiting.wait(), BOUND)
        assert lag() == [5], "the event in hand and the four after it"
        policy.gate.set()
        deadline = time.monotonic() + BOUND
        while lag() != [0]:
            assert time.monotonic() < deadline, lag()
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
