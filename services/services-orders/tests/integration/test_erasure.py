"""Erasure is final in services-orders: once the registry erases a resident and a worker,
nothing orders serves names them or repeats their words (addresses, comments, notes,
reasons), her community and eligibility are gone, and the figures (settlement, the other
workers' satisfaction) stay as they were; a replay gives the same answers."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from jinguo_contracts.orders import OrderRatedV1
from jinguo_contracts.registry import ResidentErasedV1, WorkerErasedV1
from jinguo_orders.bootstrap import handlers_for, queries_for
from jinguo_orders.handlers.commands import (
    AssignOrder,
    CancelOrder,
    IssueSettlement,
    MarkNoShow,
    OrdersHandlers,
    PlaceOrder,
    RateOrder,
    Reason,
    RecordFollowUp,
)
from jinguo_orders.projections.queries import OrdersQueries
from jinguo_shared.crypto import SEALED_PREFIX
from jinguo_shared.db import pii_keys
from jinguo_shared.domain import NotFoundError
from jinguo_shared.eventstore import EventStore
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import caught_up, publish, publisher

from .conftest import COMMUNITY, context, register_resident, register_worker
from .test_orders import HOUSEKEEPING, NINE, catalogue, deliver, place

HER_WORDS = ("王阿姨人很好", "女儿电话", "住院了", "家里没人", "老式说法")
WORKERS_WORDS = ("家里有事",)
MONTH = NINE.strftime("%Y-%m")


async def served(queries: OrdersQueries, order_ids: list[str]) -> dict[str, Any]:
    """Everything services-orders answers about these orders and the people in them."""
    return {
        "orders": await queries.orders(
            status=None, within=None, worker_id=None, after_seq=None, limit=200
        ),
        "order": [await queries.order(i) for i in order_ids],
        "history": [await queries.history(i) for i in order_ids],
        "by_worker": [
            await queries.orders(status=None, within=None, worker_id=w, after_seq=None, limit=200)
            for w in ("w-gone", "w-kept")
        ],
        "residents": await queries.residents(tier=None, within=None, after_id=None, limit=200),
        "rankings": await queries.rankings("worker", within=None, limit=20),
        "delivered": sorted(str(d) for d in await queries.delivered(COMMUNITY, MONTH)),
        "settlement": await queries.settlement(COMMUNITY, MONTH),
    }


def text(answers: dict[str, Any]) -> str:
    return json.dumps(answers, ensure_ascii=False, default=str)


async def legacy_rating(outside: Any, order_id: str) -> str:
    """A rating as versions before the sealing recorded it: words in clear, no resident_id."""
    orders_log = EventStore(outside, "orders", vault=None)
    return await publish(
        orders_log,
        "order",
        order_id,
        OrderRatedV1(order_id=order_id, score=4, comment="老式说法", worker_id="w-gone"),
        f"legacy-rating-{order_id}",
    )


async def test_an_erased_resident_and_worker_are_named_nowhere_and_figures_stay(
    outside: Any, orders: ServiceRuntime
) -> None:
    handlers: OrdersHandlers = handlers_for(orders)
    queries = queries_for(orders)
    registry = await publisher(outside, "registry")
    for worker in ("w-gone", "w-kept"):
        await register_worker(registry, worker)
        await handlers.qualify_worker(worker, HOUSEKEEPING, f"C-{worker}", context(f"q-{worker}"))
    await register_resident(registry, "r-gone", "free")
    position = await register_resident(registry, "r-kept", "low_cost")
    await catalogue(handlers)
    await caught_up(orders, position)

    def day(n: int) -> Any:
        return NINE + timedelta(days=n)

    # hers, delivered by the worker who is erased too, rated and followed up
    rated = await place(handlers, "r-gone", "g1", day(0))
    await handlers.dispatch(rated, context("d-g1"))
    await deliver(handlers, rated, day(0))
    await handlers.rate(rated, RateOrder(score=5, comment="王阿姨人很好"), context("rate-g1"))
    await handlers.follow_up(
        rated,
        RecordFollowUp(called_on=day(1).date(), satisfied=True, notes="女儿电话 13911112222"),
        context("f-g1"),
    )
    # hers, delivered by the kept worker and rated: his figures must not change
    for_kept = await place(handlers, "r-gone", "g2", day(1))
    await handlers.assign(for_kept, AssignOrder(worker_id="w-kept"), context("a-g2"))
    await deliver(handlers, for_kept, day(1))
    await handlers.rate(for_kept, RateOrder(score=3), context("rate-g2"))
    # hers, delivered and rated as an older version recorded it
    legacy = await place(handlers, "r-gone", "g3", day(2))
    await handlers.assign(legacy, AssignOrder(worker_id="w-gone"), context("a-g3"))
    done = await deliver(handlers, legacy, day(2))
    await legacy_rating(outside, legacy)
    cancelled = await place(handlers, "r-gone", "g4", day(3))
    await handlers.cancel(cancelled, CancelOrder(by="resident", reason="住院了"), context("c4"))
    no_show = await place(handlers, "r-gone", "g5", day(4))
    await handlers.assign(no_show, AssignOrder(worker_id="w-kept"), context("a-g5"))
    await handlers.no_show(no_show, MarkNoShow(party="resident", notes="家里没人"), context("n5"))
    # the kept resident's, which the erased worker declined, then delivered by her
    declined = await place(handlers, "r-kept", "k1", day(5))
    await handlers.assign(declined, AssignOrder(worker_id="w-gone"), context("a-k1"))
    await handlers.reject(declined, Reason(reason="家里有事"), context("r-k1"))
    await handlers.assign(declined, AssignOrder(worker_id="w-gone"), context("a-k1b"))
    await deliver(handlers, declined, day(5))
    await handlers.rate(declined, RateOrder(score=2, comment="一般"), context("rate-k1"))
    last = await handlers.issue_settlement(
        IssueSettlement(area_code=COMMUNITY, month=MONTH), context("settle")
    )
    ids = [rated, for_kept, legacy, cancelled, no_show, declined]
    await caught_up(orders, done, last.position)
    before = await served(queries, ids)
    # what she said is sealed with her key in the log itself, not only hidden when served
    for order_id, field in ((rated, "comment"), (rated, "notes"), (cancelled, "reason")):
        words = [
            getattr(e.payload, field, None) for e in await orders.store.load("order", order_id)
        ]
        assert any(str(w).startswith(SEALED_PREFIX) for w in words), (order_id, field)
    assert "老式说法" in text(before)
    assert all(words in text(before) for words in HER_WORDS + WORKERS_WORDS)

    erased = [
        await publish(
            registry,
            "worker",
            "w-gone",
            WorkerErasedV1(worker_id="w-gone", reason="本人申请"),
            "e1",
        ),
        await publish(
            registry,
            "resident",
            "r-gone",
            ResidentErasedV1(resident_id="r-gone", reason="本人申请"),
            "e2",
        ),
    ]
    await caught_up(orders, *erased)
    after = await served(queries, ids)
    answered = text(after)
    for named in ("r-gone", "w-gone", *HER_WORDS, *WORKERS_WORDS):
        assert named not in answered, named
    assert [o["address"] for o in after["order"]] == [None] * 5 + ["东四北大街 1 号"]
    assert "一般" in answered, "the kept resident's words stay hers"
    # her community and her eligibility are gone with her
    assert await queries.resident("r-gone") is None
    assert [r["resident_id"] for r in after["residents"]] == ["r-kept"]
    async with orders.engine.connect() as connection:
        keys = await connection.execute(select(pii_keys.c.subject_id))
        assert "r-gone" not in {row.subject_id for row in keys}
    # the figures stay: the settlement, what was delivered, the kept worker's satisfaction
    assert after["settlement"] == before["settlement"]
    assert after["delivered"] == before["delivered"]
    kept = [r for r in before["rankings"] if r["performer_id"] == "w-kept"]
    assert after["rankings"] == kept
    assert (kept[0]["completed"], kept[0]["ratings"], kept[0]["satisfaction"]) == (1, 1, 3)
    assert [o["rating"] for o in after["order"]] == [o["rating"] for o in before["order"]]
    assert after["by_worker"][0] == [], "her worker id finds nothing any more"
    # nobody can act for them any more
    with pytest.raises(NotFoundError):
        await handlers.place_order(
            PlaceOrder(
                resident_id="r-gone",
                service_code="housekeeping",
                address="x",
                window_start=day(9),
                window_end=day(9) + timedelta(hours=1),
            ),
            context("after-erasure"),
        )
    reopened = await place(handlers, "r-kept", "k2", day(9))
    with pytest.raises(NotFoundError):
        await handlers.assign(reopened, AssignOrder(worker_id="w-gone"), context("a-k2"))

    names = orders.projections.names()
    await orders.projections.rebuild(*names)
    replayed = await served(queries, ids)
    replayed["orders"] = [o for o in replayed["orders"] if o["order_id"] != reopened]
    assert text(replayed) == answered
