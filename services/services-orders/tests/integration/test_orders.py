"""Orders against a real NATS and a real database: dispatch under concurrency, tiers fixed when
placed, settlement, reactions to employment, and a replay equal to the live state."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from jinguo_contracts.employment import CertificateAwardedV1, PostFilledV1
from jinguo_contracts.registry import VolunteerRegisteredV1
from jinguo_orders.bootstrap import handlers_for, queries_for
from jinguo_orders.domain.schedule import WorkerUnavailableError
from jinguo_orders.domain.timebank import NotEnoughHoursError
from jinguo_orders.handlers.commands import (
    AssignOrder,
    AtTime,
    CancelOrder,
    EarnHours,
    IssueSettlement,
    OfferService,
    OrdersHandlers,
    PlaceOrder,
    RateOrder,
    Reason,
    RecordFollowUp,
    SpendHours,
)
from jinguo_shared.domain import RuleViolationError
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import caught_up, publish, publisher

from .conftest import COMMUNITY, change_tier, context, register_resident, register_worker

HOUSEKEEPING = "4-10-01-06"
NINE = datetime(2026, 8, 3, 9, tzinfo=UTC)


async def catalogue(handlers: OrdersHandlers) -> str:
    result = await handlers.offer_service(
        "housekeeping",
        OfferService(
            category="housekeeping",
            name="家政服务",
            market_price=80,
            low_cost_price=30,
            required_certificates=[HOUSEKEEPING],
        ),
        context("offer-housekeeping"),
    )
    return result.position


async def place(handlers: OrdersHandlers, resident: str, n: str, start: datetime = NINE) -> str:
    result = await handlers.place_order(
        PlaceOrder(
            resident_id=resident,
            service_code="housekeeping",
            address="东四北大街 1 号",
            window_start=start,
            window_end=start + timedelta(hours=2),
        ),
        context(f"place-{n}"),
    )
    return result.aggregate_id


async def deliver(handlers: OrdersHandlers, order_id: str, start: datetime = NINE) -> str:
    await handlers.accept(order_id, context(f"accept-{order_id}"))
    await handlers.start(order_id, AtTime(at=start), context(f"start-{order_id}"))
    done = await handlers.complete(
        order_id, AtTime(at=start + timedelta(hours=2)), context(f"complete-{order_id}")
    )
    return done.position


async def test_concurrent_dispatch_never_double_books_one_worker(
    outside: Any, orders: ServiceRuntime
) -> None:
    handlers = handlers_for(orders)
    registry = await publisher(outside, "registry")
    await register_worker(registry, "w-only")
    await handlers.qualify_worker("w-only", HOUSEKEEPING, "C-1", context("q-only"))
    position = await register_resident(registry, "r-1", "free")
    await catalogue(handlers)
    await caught_up(orders, position)
    ids = [await place(handlers, "r-1", f"c{n}") for n in range(4)]
    await caught_up(orders, position)
    results = await asyncio.gather(
        *(handlers.dispatch(i, context(f"dispatch-{i}")) for i in ids), return_exceptions=True
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    assert len(won) == 1, results
    assert all(isinstance(r, RuleViolationError) for r in results if isinstance(r, BaseException))
    schedule = await orders.store.load("worker", "w-only")
    assert [e.type for e in schedule].count("WorkerBooked") == 1
    loser = next(i for i, r in zip(ids, results, strict=True) if isinstance(r, BaseException))
    with pytest.raises(WorkerUnavailableError):
        await handlers.assign(loser, AssignOrder(worker_id="w-only"), context("manual"))


async def test_the_tier_is_fixed_when_placed_and_settled_at_it(
    outside: Any, orders: ServiceRuntime
) -> None:
    handlers = handlers_for(orders)
    queries = queries_for(orders)
    registry = await publisher(outside, "registry")
    await register_worker(registry, "w-a")
    await handlers.qualify_worker("w-a", HOUSEKEEPING, "C-a", context("q-a"))
    position = await register_resident(registry, "r-low", "free")
    await catalogue(handlers)
    await caught_up(orders, position)
    first = await place(handlers, "r-low", "t1")
    position = await change_tier(registry, "r-low", "low_cost", "2")
    await caught_up(orders, position)
    second = await place(handlers, "r-low", "t2", NINE + timedelta(days=1))
    position = await change_tier(registry, "r-low", "market", "3")
    await caught_up(orders, position)
    third = await place(handlers, "r-low", "t3", NINE + timedelta(days=2))
    for n, order_id in enumerate((first, second, third)):
        await handlers.dispatch(order_id, context(f"d-{order_id}"))
        done = await deliver(handlers, order_id, NINE + timedelta(days=n))
    cancelled = await place(handlers, "r-low", "t4")
    await handlers.cancel(cancelled, CancelOrder(by="staff", reason="重复"), context("cx"))
    await caught_up(orders, done)
    order = await queries.order(first)
    assert order is not None
    assert (order["price_tier"], order["price"]) == ("free", 0)
    assert order["address"] == "东四北大街 1 号"
    before = await handlers.issue_settlement(
        IssueSettlement(area_code=COMMUNITY, month="2026-08"), context("settle")
    )
    await caught_up(orders, before.position)
    issued = await queries.settlement(COMMUNITY, "2026-08")
    assert issued is not None
    # free 80 owed + low-cost 80-30=50 owed; the market order is the resident's own
    assert [(line["order_id"], line["government_owes"]) for line in issued["lines"]] == [
        (first, 80),
        (second, 50),
    ]
    assert issued["total_owed"] == 130
    history = await queries.history(first)
    assert [h["event_type"] for h in history] == [
        "OrderPlaced",
        "OrderAssigned",
        "OrderAccepted",
        "ServiceStarted",
        "ServiceCompleted",
    ]


async def test_reactions_to_employment_qualify_and_withdraw_workers(
    outside: Any, orders: ServiceRuntime
) -> None:
    handlers = handlers_for(orders)
    registry = await publisher(outside, "registry")
    employment = await publisher(outside, "employment")
    await register_worker(registry, "w-e")
    position = await register_resident(registry, "r-e", "market")
    await catalogue(handlers)
    await publish(
        employment,
        "course",
        "course-1",
        CertificateAwardedV1(
            course_id="course-1",
            worker_id="w-e",
            certificate_no="C-e",
            occupation_code=HOUSEKEEPING,
            code_system="GB/T 6565-2015",
            level=5,
            trade="家政",
            area_code=COMMUNITY,
            awarded_on=date(2026, 7, 1),
        ),
        "award-w-e",
    )
    await caught_up(orders, position)
    order_id = await place(handlers, "r-e", "e1")
    for _ in range(300):
        schedule = await orders.store.load("worker", "w-e")
        if schedule:
            break
        await asyncio.sleep(0.05)
    await caught_up(orders, f"ORDERS:{schedule[-1].seq}")
    await handlers.dispatch(order_id, context("d-e1"))
    await handlers.reject(order_id, Reason(reason="时间冲突"), context("rej-e1"))
    await publish(
        employment,
        "post",
        "post-1",
        PostFilledV1(
            post_id="post-1",
            worker_id="w-e",
            placement_id="pl-1",
            start_date=date(2026, 8, 1),
            employer_id="e-1",
            employer_name="东四养老驿站",
            area_code=COMMUNITY,
            occupation_code=HOUSEKEEPING,
            hours_type="full_time",
            kind="market",
            openings_left=0,
        ),
        "fill-w-e",
    )
    for _ in range(300):
        if "WorkerLeftDispatch" in [e.type for e in await orders.store.load("worker", "w-e")]:
            break
        await asyncio.sleep(0.05)
    with pytest.raises(RuleViolationError):
        await handlers.dispatch(order_id, context("d-e2"))


async def test_a_replay_yields_exactly_the_live_tables(
    outside: Any, orders: ServiceRuntime
) -> None:
    handlers = handlers_for(orders)
    registry = await publisher(outside, "registry")
    for n in range(3):
        await register_worker(registry, f"w-r{n}", area=f"11010100100{n + 1}")
        await handlers.qualify_worker(f"w-r{n}", HOUSEKEEPING, f"C-r{n}", context(f"q-r{n}"))
    position = await register_resident(registry, "r-r", "low_cost")
    await publish(
        registry,
        "volunteer",
        "v-1",
        VolunteerRegisteredV1(volunteer_id="v-1", name="x", phone="x", area_code=COMMUNITY),
        "vol-1",
    )
    await catalogue(handlers)
    await caught_up(orders, position)
    for n in range(3):
        order_id = await place(handlers, "r-r", f"r{n}")
        await handlers.dispatch(order_id, context(f"d-r{n}"))
        done = await deliver(handlers, order_id)
        await handlers.rate(order_id, RateOrder(score=5 - n, comment="好"), context(f"rate-{n}"))
    await handlers.earn_hours(
        "v-1",
        EarnHours(entry_id="e1", hours=2.5, activity="陪护", served_on=date(2026, 8, 1)),
        context("earn"),
    )
    with pytest.raises(NotEnoughHoursError):
        await handlers.spend_hours(
            "v-1",
            SpendHours(entry_id="s1", hours=3, purpose="保洁", spent_on=date(2026, 8, 2)),
            context("spend"),
        )
    last = await handlers.issue_settlement(
        IssueSettlement(area_code=COMMUNITY, month="2026-08"), context("settle-r")
    )
    await caught_up(orders, last.position, done)
    names = orders.projections.names()
    live = {name: await snapshot(orders, name) for name in names}
    assert len(live["quality"]["performers"]) == 3
    assert live["time_bank"]["time_bank_balances"] == [("v-1", "250")]
    rebuilt = await orders.projections.rebuild(*names)
    assert {p.generation for p in rebuilt} == {2}
    for name in names:
        assert await snapshot(orders, name) == live[name], name


async def snapshot(runtime: ServiceRuntime, name: str) -> dict[str, list[tuple[Any, ...]]]:
    projection = runtime.projections.active(name)
    rows = {}
    async with runtime.engine.connect() as connection:
        for table in projection.metadata.sorted_tables:
            result = await connection.execute(select(table))
            rows[table.name.rsplit("_g", 1)[0]] = sorted(tuple(str(v) for v in r) for r in result)
    return rows


async def test_today_is_the_programme_s_day_not_the_server_s(
    outside: Any, orders: ServiceRuntime
) -> None:
    """06:30 in Beijing is still yesterday in UTC: a service completed and followed up that
    morning is dated that day, and settled in the month of Beijing's calendar."""
    morning = datetime(2026, 9, 1, 6, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    handlers = OrdersHandlers(orders.executor, queries_for(orders), orders.clock, lambda: morning)
    registry = await publisher(outside, "registry")
    await register_worker(registry, "w-z")
    await handlers.qualify_worker("w-z", HOUSEKEEPING, "C-z", context("q-z"))
    position = await register_resident(registry, "r-z", "free")
    await catalogue(handlers)
    await caught_up(orders, position)
    order_id = await place(handlers, "r-z", "z1", morning - timedelta(hours=1))
    await handlers.dispatch(order_id, context("d-z1"))
    await handlers.accept(order_id, context("a-z1"))
    await handlers.start(order_id, AtTime(at=morning - timedelta(minutes=30)), context("s-z1"))
    done = await handlers.complete(order_id, AtTime(), context("c-z1"))
    await handlers.follow_up(
        order_id,
        RecordFollowUp(called_on=date(2026, 9, 1), satisfied=True),
        context("f-z1"),
    )
    await caught_up(orders, done.position)
    (line,) = await queries_for(orders).delivered(COMMUNITY, "2026-09")
    assert line.completed_on == date(2026, 9, 1)
    assert await queries_for(orders).delivered(COMMUNITY, "2026-08") == []
