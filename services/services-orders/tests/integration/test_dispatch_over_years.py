"""Dispatch that holds up over years, against a real NATS and both databases: a worker whose
full-time job ends is dispatched again, a reinstated provider too, a provider is matched by the
kind of service ordered, and a releasing move racing a reassignment releases the real holder."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from jinguo_contracts.employment import PlacementEndedV1, PostFilledV1
from jinguo_contracts.registry import (
    ProviderRegisteredV1,
    ProviderReinstatedV1,
    ProviderSuspendedV1,
)
from jinguo_orders.bootstrap import handlers_for, queries_for
from jinguo_orders.handlers.commands import (
    AssignOrder,
    CancelOrder,
    OfferService,
    PlaceOrder,
    Reason,
)
from jinguo_shared.access import Jurisdiction
from jinguo_shared.db import aggregate_states
from jinguo_shared.domain import NotFoundError, RuleViolationError
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import caught_up, publish, publisher

from .conftest import COMMUNITY, context, register_resident, register_worker
from .test_orders import HOUSEKEEPING, NINE, catalogue, place

POST = PostFilledV1(
    post_id="post-1",
    worker_id="w-job",
    placement_id="pl-1",
    start_date=date(2026, 6, 1),
    employer_id="e-1",
    employer_name="东四养老驿站",
    area_code=COMMUNITY,
    occupation_code=HOUSEKEEPING,
    hours_type="full_time",
    kind="market",
    openings_left=0,
)
ENDED = PlacementEndedV1(
    worker_id="w-job",
    placement_id="pl-1",
    reason="contract_ended",
    ended_on=date(2026, 7, 31),
    hours_type="full_time",
    area_code=COMMUNITY,
)


async def schedule_events(orders: ServiceRuntime, worker_id: str) -> list[str]:
    return [e.type for e in await orders.store.load("worker", worker_id)]


async def reacted(orders: ServiceRuntime, position: str) -> None:
    """Wait until the policies reacted to another service's event and the projections hold
    what they appended."""
    await orders.visible(position, *orders.projections.names())


async def test_a_full_time_job_ending_brings_her_back_to_dispatch_once(
    outside: Any, orders: ServiceRuntime
) -> None:
    handlers = handlers_for(orders)
    registry = await publisher(outside, "registry")
    employment = await publisher(outside, "employment")
    await register_worker(registry, "w-job")
    await handlers.qualify_worker("w-job", HOUSEKEEPING, "C-job", context("q-job"))
    position = await register_resident(registry, "r-job", "market")
    await catalogue(handlers)
    await caught_up(orders, position)
    await reacted(orders, await publish(employment, "post", "post-1", POST, "fill-w-job"))
    assert await schedule_events(orders, "w-job") == ["WorkerQualified", "WorkerLeftDispatch"]
    first = await place(handlers, "r-job", "job-1")
    with pytest.raises(RuleViolationError, match="no qualified worker"):
        await handlers.dispatch(first, context("d-job-1"))

    # her contract ends: orders again
    await reacted(orders, await publish(employment, "worker", "w-job", ENDED, "end-w-job"))
    await handlers.dispatch(first, context("d-job-2"))
    assert (await orders.store.load("order", first))[-1].payload.worker_id == "w-job"

    # the same end and the same post arriving again (another delivery) change nothing
    await publish(employment, "worker", "w-job", ENDED, "end-w-job-again")
    await reacted(orders, await publish(employment, "post", "post-1", POST, "fill-w-job-again"))
    second = await place(handlers, "r-job", "job-2", NINE + timedelta(days=1))
    await handlers.dispatch(second, context("d-job-3"))
    events = await schedule_events(orders, "w-job")
    assert events.count("WorkerLeftDispatch") == 1
    assert events.count("WorkerRejoinedDispatch") == 1


async def test_a_part_time_job_ending_changes_nothing(outside: Any, orders: ServiceRuntime) -> None:
    handlers = handlers_for(orders)
    registry = await publisher(outside, "registry")
    employment = await publisher(outside, "employment")
    await register_worker(registry, "w-job")
    await handlers.qualify_worker("w-job", HOUSEKEEPING, "C-job", context("q-job"))
    await reacted(orders, await publish(employment, "post", "post-1", POST, "fill-w-job"))
    part_time = ENDED.model_copy(update={"placement_id": "pl-part", "hours_type": "part_time"})
    other = ENDED.model_copy(update={"placement_id": "pl-other"})
    await publish(employment, "worker", "w-job", part_time, "end-part")
    await reacted(orders, await publish(employment, "worker", "w-job", other, "end-other"))
    assert await schedule_events(orders, "w-job") == ["WorkerQualified", "WorkerLeftDispatch"]


async def register_provider(registry: EventStore, provider_id: str, services: list[str]) -> str:
    registered = ProviderRegisteredV1(
        provider_id=provider_id,
        name="巾帼家政服务中心",
        credit_code="91110101MA01234567",
        area_code=COMMUNITY,
        services=services,
        women_led=True,
    )
    return await publish(registry, "provider", provider_id, registered, f"reg-{provider_id}")


async def test_a_reinstated_provider_is_dispatched_again_for_the_kind_it_offers(
    outside: Any, orders: ServiceRuntime
) -> None:
    """No worker is free: dispatch falls back to a provider offering the kind of service the
    catalogue entry is (a deep clean is housekeeping), suspended or not."""
    handlers = handlers_for(orders)
    registry = await publisher(outside, "registry")
    await handlers.offer_service(
        "deep_clean",
        OfferService(category="housekeeping", name="深度保洁", market_price=120, low_cost_price=50),
        context("offer-deep"),
    )
    await register_resident(registry, "r-p", "market")
    position = await register_provider(registry, "p-1", ["housekeeping"])
    await caught_up(orders, position)

    async def order(n: int) -> str:
        placed = await handlers.place_order(
            PlaceOrder(
                resident_id="r-p",
                service_code="deep_clean",
                address="东四北大街 1 号",
                window_start=NINE + timedelta(days=n),
                window_end=NINE + timedelta(days=n, hours=2),
            ),
            context(f"place-deep-{n}"),
        )
        return placed.aggregate_id

    first = await order(0)
    await handlers.dispatch(first, context("d-p-1"))
    assert (await orders.store.load("order", first))[-1].payload.provider_id == "p-1"
    suspended = ProviderSuspendedV1(provider_id="p-1", reason="投诉整改")
    await caught_up(orders, await publish(registry, "provider", "p-1", suspended, "sus-p-1"))
    second = await order(1)
    with pytest.raises(RuleViolationError, match="no qualified worker or provider"):
        await handlers.dispatch(second, context("d-p-2"))
    reinstated = ProviderReinstatedV1(provider_id="p-1", reason="整改验收合格")
    await caught_up(orders, await publish(registry, "provider", "p-1", reinstated, "rei-p-1"))
    await handlers.dispatch(second, context("d-p-3"))
    assert (await orders.store.load("order", second))[-1].payload.provider_id == "p-1"
    found = await queries_for(orders).provider("p-1")
    assert found is not None
    assert found["suspended"] is False


async def stale_cache_of(orders: ServiceRuntime, *keys: tuple[str, str]) -> list[Any]:
    async with orders.engine.connect() as connection:
        rows = await connection.execute(
            select(aggregate_states).where(
                aggregate_states.c.aggregate_id.in_([k[1] for k in keys])
            )
        )
        return [r._mapping for r in rows]


async def restore(orders: ServiceRuntime, rows: list[Any]) -> None:
    """Put cached decision states back as they were: as another process, whose cache lags
    behind the log, would read them."""
    async with orders.engine.begin() as connection:
        for row in rows:
            await connection.execute(
                update(aggregate_states)
                .where(
                    aggregate_states.c.aggregate_type == row["aggregate_type"],
                    aggregate_states.c.aggregate_id == row["aggregate_id"],
                )
                .values(version=row["version"], state=row["state"])
            )


async def booked_for(orders: ServiceRuntime, worker_id: str) -> set[str]:
    booked: set[str] = set()
    for event in await orders.store.load("worker", worker_id):
        if event.type == "WorkerBooked":
            booked.add(event.payload.order_id)
        elif event.type == "WorkerReleased":
            booked.discard(event.payload.order_id)
    return booked


@pytest.mark.parametrize("move", ["cancel", "reject"])
async def test_a_move_deciding_on_a_stale_assignment_releases_the_real_holder(
    outside: Any, orders: ServiceRuntime, move: str
) -> None:
    """Process A still has the order assigned to w-1 in its cache while process B rejected it
    and gave it to w-2. A's cancel (or reject) must release w-2, not w-1: w-2 would otherwise
    stay booked for an order that no longer needs her."""
    handlers = handlers_for(orders)
    registry = await publisher(outside, "registry")
    for worker_id in ("w-1", "w-2"):
        await register_worker(registry, worker_id)
        await handlers.qualify_worker(worker_id, HOUSEKEEPING, f"C-{worker_id}", context(worker_id))
    position = await register_resident(registry, "r-s", "free")
    await catalogue(handlers)
    await caught_up(orders, position)
    order_id = await place(handlers, "r-s", "stale")
    await handlers.assign(order_id, AssignOrder(worker_id="w-1"), context("to-w1"))
    stale = await stale_cache_of(orders, ("order", order_id), ("worker", "w-1"))
    assert len(stale) == 2
    await handlers.reject(order_id, Reason(reason="时间冲突"), context("b-reject"))
    await handlers.assign(order_id, AssignOrder(worker_id="w-2"), context("to-w2"))
    await restore(orders, stale)

    if move == "cancel":
        await handlers.cancel(order_id, CancelOrder(by="staff", reason="重复"), context("a-move"))
    else:
        await handlers.reject(order_id, Reason(reason="去不了"), context("a-move"))
    assert await booked_for(orders, "w-1") == set()
    assert await booked_for(orders, "w-2") == set()
    last = (await orders.store.load("order", order_id))[-1]
    assert last.type == ("OrderCancelled" if move == "cancel" else "OrderRejected")
    if move == "reject":
        assert last.payload.worker_id == "w-2"


async def test_concurrent_cancels_and_reassignments_never_leave_a_worker_booked(
    outside: Any, orders: ServiceRuntime
) -> None:
    """Each order is rejected and given to another worker while a cancellation races it:
    whatever wins, no worker keeps a booking for a cancelled order."""
    handlers = handlers_for(orders)
    registry = await publisher(outside, "registry")
    workers = [f"w-c{n}" for n in range(4)]
    for worker_id in workers:
        await register_worker(registry, worker_id)
        await handlers.qualify_worker(worker_id, HOUSEKEEPING, f"C-{worker_id}", context(worker_id))
    position = await register_resident(registry, "r-c", "free")
    await catalogue(handlers)
    await caught_up(orders, position)
    ids = [await place(handlers, "r-c", f"race{n}", NINE + timedelta(days=n)) for n in range(4)]
    for n, order_id in enumerate(ids):
        await handlers.assign(order_id, AssignOrder(worker_id=workers[n]), context(f"a{n}"))

    async def reassign(n: int, order_id: str) -> None:
        await handlers.reject(order_id, Reason(reason="换人"), context(f"rej{n}"))
        await handlers.assign(
            order_id, AssignOrder(worker_id=workers[(n + 1) % 4]), context(f"re{n}")
        )

    async def cancel(n: int, order_id: str) -> None:
        await handlers.cancel(
            order_id, CancelOrder(by="resident", reason="不需要"), context(f"c{n}")
        )

    outcomes = await asyncio.gather(
        *(reassign(n, i) for n, i in enumerate(ids)),
        *(cancel(n, i) for n, i in enumerate(ids)),
        return_exceptions=True,
    )
    for outcome in outcomes:
        assert outcome is None or isinstance(outcome, RuleViolationError), outcome
    holders = {w: await booked_for(orders, w) for w in workers}
    for order_id in ids:
        status = (await orders.store.load("order", order_id))[-1].type
        holding = [w for w, booked in holders.items() if order_id in booked]
        if status == "OrderCancelled":
            assert holding == [], (order_id, holders)
        else:
            assert len(holding) == 1, (order_id, status, holders)


async def test_another_area_s_dispatcher_neither_dispatches_nor_cancels(
    outside: Any, orders: ServiceRuntime
) -> None:
    handlers = handlers_for(orders)
    registry = await publisher(outside, "registry")
    await register_worker(registry, "w-a")
    await handlers.qualify_worker("w-a", HOUSEKEEPING, "C-a", context("q-a"))
    position = await register_resident(registry, "r-a", "free")
    await catalogue(handlers)
    await caught_up(orders, position)
    order_id = await place(handlers, "r-a", "area")
    west = CommandContext(
        command_id="west", correlation_id="west", jurisdiction=Jurisdiction.of_area("110102")
    )
    with pytest.raises(NotFoundError):
        await handlers.dispatch(order_id, west)
    await handlers.dispatch(order_id, context("east"))
    with pytest.raises(NotFoundError):
        await handlers.cancel(order_id, CancelOrder(by="staff", reason="x"), west)
    assert await booked_for(orders, "w-a") == {order_id}
