"""Reactions to other services' events, through a real nats-server: redelivery, restart, a
refused command, and no double suspension."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from nats.js.errors import NotFoundError

from jinguo_contracts.inspections import EmployerViolationFoundV1, ViolationRectifiedV1
from jinguo_contracts.orders import ServiceCompletedV1
from jinguo_employment.bootstrap import handlers_for
from jinguo_employment.policies.reactions import InspectionPolicy
from jinguo_shared.cli.environment import UsageError
from jinguo_shared.cli.projections import retry_parked
from jinguo_shared.reactions import ReactionError, ReactionRunner
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import publish, publisher

from .conftest import employer_and_post, eventually


def violation(inspection_id: str, employer_id: str) -> EmployerViolationFoundV1:
    return EmployerViolationFoundV1(
        inspection_id=inspection_id,
        employer_id=employer_id,
        violations=["equal_pay", "protected_periods"],
        found_on=date(2026, 10, 20),
    )


async def types(runtime: ServiceRuntime, aggregate: str, aggregate_id: str) -> list[str]:
    return [e.type for e in await runtime.store.load(aggregate, aggregate_id)]


async def settled(runner: ReactionRunner, runtime: ServiceRuntime) -> bool:
    """Every policy consumer has acknowledged everything it was given."""
    js = runtime.nc.jetstream()
    for policy in runner.policies:
        try:
            await js.stream_info(policy.stream())
        except NotFoundError:
            continue  # nobody published there: nothing to settle
        try:
            info = await js.consumer_info(policy.stream(), runner.durable_name(policy))
        except NotFoundError:
            return False
        if info.num_pending or info.num_ack_pending:
            return False
    return True


async def test_a_violation_suspends_the_employer_and_its_posts_once(
    outside, open_employment, employment: ServiceRuntime
) -> None:
    handlers = handlers_for(employment)
    employer_id, post_id, position = await employer_and_post(handlers, openings=2)
    await employment.projections.wait_for(position, ["post_board"], 10)
    inspections = await publisher(outside, "inspections")
    await publish(inspections, "inspection", "i1", violation("i1", employer_id), "found-1")

    async def suspended() -> bool:
        return "PostSuspended" in await types(employment, "post", post_id)

    await eventually(suspended)
    assert await types(employment, "employer", employer_id) == [
        "EmployerRegistered",
        "EmployerSuspended",
    ]

    # the same event delivered again, and the same violation reported again: nothing new
    runner = employment.reactions
    assert runner is not None
    [event] = (await inspections.load("inspection", "i1"))[:1]
    policy = next(p for p in runner.policies if p.name == "inspections")
    reaction = policy.reaction("EmployerViolationFound")
    assert reaction is not None
    await runner._react(policy, reaction, event)
    await publish(inspections, "inspection", "i1", violation("i1", employer_id), "found-again")
    await eventually(lambda: settled(runner, employment))
    assert (await types(employment, "employer", employer_id)).count("EmployerSuspended") == 1
    assert (await types(employment, "post", post_id)).count("PostSuspended") == 1


async def test_events_published_while_the_service_was_down_are_handled_after_a_restart(
    outside, open_employment, employment: ServiceRuntime
) -> None:
    handlers = handlers_for(employment)
    employer_id, post_id, position = await employer_and_post(handlers)
    await employment.projections.wait_for(position, ["post_board"], 10)
    inspections = await publisher(outside, "inspections")
    await publish(inspections, "inspection", "i2", violation("i2", employer_id), "found-2")

    async def suspended() -> bool:
        return "PostSuspended" in await types(employment, "post", post_id)

    await eventually(suspended)
    await employment.close()
    await publish(
        inspections,
        "inspection",
        "i2",
        ViolationRectifiedV1(
            inspection_id="i2", employer_id=employer_id, rectified_on=date(2026, 10, 30)
        ),
        "rectified-2",
    )
    restarted = await open_employment()

    async def reopened() -> bool:
        return "PostReopened" in await types(restarted, "post", post_id)

    await eventually(reopened)
    assert restarted.reactions is not None
    await eventually(lambda: settled(restarted.reactions, restarted))  # type: ignore[arg-type]
    assert await types(restarted, "employer", employer_id) == [
        "EmployerRegistered",
        "EmployerSuspended",
        "EmployerReinstated",
    ]
    assert await types(restarted, "post", post_id) == [
        "PostPublished",
        "PostSuspended",
        "PostReopened",
    ]


async def test_a_refused_command_is_acknowledged_and_the_policy_goes_on(
    outside,
    employment: ServiceRuntime,
) -> None:
    handlers = handlers_for(employment)
    employer_id, _, _ = await employer_and_post(handlers)
    inspections = await publisher(outside, "inspections")
    await publish(inspections, "inspection", "i3", violation("i3", "no-such-employer"), "bad")
    await publish(inspections, "inspection", "i4", violation("i4", employer_id), "good")

    async def suspended() -> bool:
        return "EmployerSuspended" in await types(employment, "employer", employer_id)

    await eventually(suspended)
    assert employment.reactions is not None
    await eventually(lambda: settled(employment.reactions, employment))  # type: ignore[arg-type]
    assert await types(employment, "employer", "no-such-employer") == []
    assert await employment.projections.parked() == []


async def test_a_completed_service_is_recorded_once_as_flexible_employment(
    outside,
    employment: ServiceRuntime,
) -> None:
    orders = await publisher(outside, "orders")
    completed = ServiceCompletedV1(
        order_id="o1",
        worker_id="w-flex",
        service_code="housekeeping",
        area_code="110101001001",
        started_at=datetime(2026, 10, 3, 9, 0, tzinfo=UTC),
        completed_at=datetime(2026, 10, 3, 12, 30, tzinfo=UTC),
        price_tier="low_cost",
    )
    await publish(orders, "order", "o1", completed, "completed-1")
    by_provider = completed.model_copy(
        update={"order_id": "o2", "worker_id": None, "provider_id": "p1"}
    )
    await publish(orders, "order", "o2", by_provider, "completed-2")

    async def recorded() -> bool:
        return await types(employment, "worker", "w-flex") == ["FlexibleEmploymentRecorded"]

    await eventually(recorded)
    runner = employment.reactions
    assert runner is not None
    policy = next(p for p in runner.policies if p.name == "orders")
    reaction = policy.reaction("ServiceCompleted")
    assert reaction is not None
    [event] = await orders.load("order", "o1")
    await runner._react(policy, reaction, event)
    await eventually(lambda: settled(runner, employment))
    [record] = await employment.store.load("worker", "w-flex")
    assert record.payload.hours == 3.5  # type: ignore[attr-defined]


async def test_a_parked_reaction_is_retried_from_the_command_line_once(
    outside, employment: ServiceRuntime, employment_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    handlers = handlers_for(employment)
    employer_id, _, _ = await employer_and_post(handlers)
    original = InspectionPolicy._reactions["EmployerViolationFound"]

    async def unreachable(*_: Any) -> None:
        raise ReactionError("the employer register is unreachable")

    monkeypatch.setitem(InspectionPolicy._reactions, "EmployerViolationFound", unreachable)
    inspections = await publisher(outside, "inspections")
    await publish(inspections, "inspection", "i5", violation("i5", employer_id), "found-5")

    async def parked() -> bool:
        return bool(await employment.projections.parked("policy:inspections"))

    await eventually(parked)
    [letter] = await employment.projections.parked("policy:inspections")
    assert "unreachable" in letter["error"]
    assert "EmployerSuspended" not in await types(employment, "employer", employer_id)

    monkeypatch.setitem(InspectionPolicy._reactions, "EmployerViolationFound", original)
    await retry_parked("employment", letter["id"])
    assert (await types(employment, "employer", employer_id)).count("EmployerSuspended") == 1
    [letter] = await employment.projections.parked("policy:inspections")
    assert letter["replayed_at"] is not None
    with pytest.raises(UsageError, match="already applied"):
        await retry_parked("employment", letter["id"])
    with pytest.raises(UsageError, match="no parked event 999"):
        await retry_parked("employment", 999)
