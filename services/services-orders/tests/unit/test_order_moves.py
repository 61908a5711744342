"""Every allowed and every refused move of an order, and the schedule that guards workers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from jinguo_contracts.base import EventContract
from jinguo_contracts.orders import (
    OrderAcceptedV1,
    OrderAssignedV1,
    OrderCancelledV1,
    OrderNoShowV1,
    OrderPlacedV1,
    OrderRatedV1,
    OrderRejectedV1,
    ServiceCompletedV1,
    ServiceStartedV1,
    WorkerBookedV1,
    WorkerLeftDispatchV1,
    WorkerQualifiedV1,
    WorkerReleasedV1,
)
from jinguo_orders.domain.order import Order, OrderMoveError, price_for
from jinguo_orders.domain.schedule import WorkerSchedule, WorkerUnavailableError, assign_worker
from jinguo_shared.domain import AlreadyExistsError, InvalidCommandError

AREA = "110101001001"
START = datetime(2026, 9, 1, 9, tzinfo=UTC)
END = START + timedelta(hours=2)
TODAY = END.date()
ON = {"on": TODAY, "today": TODAY}
PLACED = OrderPlacedV1(
    order_id="o1",
    resident_id="r1",
    service_code="housekeeping",
    area_code="110101001001",
    address="东四北大街 1 号",
    window_start=START,
    window_end=END,
    notes=None,
    price_tier="free",
    price=0,
    market_price=80,
    required_certificates=["4-10-01-06"],
    occurred_on=TODAY - timedelta(days=3),
)
ASSIGNED = OrderAssignedV1(order_id="o1", worker_id="w1", how="auto")
ACCEPTED = OrderAcceptedV1(order_id="o1", worker_id="w1")
STARTED = ServiceStartedV1(order_id="o1", started_at=START)
COMPLETED = ServiceCompletedV1(
    order_id="o1",
    worker_id="w1",
    service_code="housekeeping",
    area_code="110101001001",
    started_at=START,
    completed_at=END,
    price_tier="free",
)
CANCELLED = OrderCancelledV1(order_id="o1", by="resident", reason="不需要了")
NO_SHOW = OrderNoShowV1(order_id="o1", party="worker")
HISTORIES: dict[str, list[EventContract]] = {
    "placed": [PLACED],
    "assigned": [PLACED, ASSIGNED],
    "accepted": [PLACED, ASSIGNED, ACCEPTED],
    "in_service": [PLACED, ASSIGNED, ACCEPTED, STARTED],
    "completed": [PLACED, ASSIGNED, ACCEPTED, STARTED, COMPLETED],
    "cancelled": [PLACED, CANCELLED],
    "no_show": [PLACED, ASSIGNED, NO_SHOW],
}
MOVES: dict[str, tuple[Callable[[Order], None], set[str], str]] = {
    "assign": (
        lambda o: o.assign(worker_id="w2", how="dispatcher", **ON),
        {"placed"},
        "assigned",
    ),
    "accept": (lambda o: o.accept(**ON), {"assigned"}, "accepted"),
    "reject": (lambda o: o.reject("太远", **ON), {"assigned"}, "placed"),
    "start": (lambda o: o.start(START, TODAY), {"accepted"}, "in_service"),
    "complete": (lambda o: o.complete(END, TODAY), {"in_service"}, "completed"),
    "cancel": (
        lambda o: o.cancel(by="staff", reason="重复下单", **ON),
        {"placed", "assigned", "accepted"},
        "cancelled",
    ),
    "no_show": (
        lambda o: o.no_show(party="resident", notes=None, **ON),
        {"assigned", "accepted"},
        "no_show",
    ),
}


def order_in(status: str) -> Order:
    history = HISTORIES[status]
    return Order.from_history("o1", history, version=len(history))


@pytest.mark.parametrize("status", sorted(HISTORIES))
@pytest.mark.parametrize("move", sorted(MOVES))
def test_each_move_is_allowed_exactly_from_its_states(status: str, move: str) -> None:
    act, allowed, lands_in = MOVES[move]
    order = order_in(status)
    assert order.state is not None
    assert order.state.status == status
    if status in allowed:
        act(order)
        assert order.state.status == lands_in
        assert len(order.pending) == 1
    else:
        with pytest.raises(OrderMoveError):
            act(order)
        assert order.pending == []


def test_completion_carries_the_tier_fixed_when_the_order_was_placed() -> None:
    order = order_in("in_service")
    order.complete(END, TODAY)
    (done,) = order.pending
    assert isinstance(done, ServiceCompletedV1)
    assert (done.price_tier, done.worker_id, done.hours) == ("free", "w1", 2.0)


def test_a_completed_order_is_rated_and_followed_up_once() -> None:
    order = order_in("completed")
    order.rate(score=5, comment="很细心", **ON)
    with pytest.raises(OrderMoveError):
        order.rate(score=4, comment=None, **ON)
    order.record_follow_up(called_on=TODAY, satisfied=True, notes=None, today=TODAY)
    with pytest.raises(OrderMoveError):
        order.record_follow_up(called_on=TODAY, satisfied=True, notes=None, today=TODAY)
    for status in ("placed", "cancelled", "in_service"):
        with pytest.raises(OrderMoveError):
            order_in(status).rate(score=5, comment=None, **ON)


def test_placing_twice_or_with_a_backwards_window_is_refused() -> None:
    with pytest.raises(AlreadyExistsError):
        order_in("placed").place(**_place_args())
    with pytest.raises(InvalidCommandError):
        Order("o2").place(**{**_place_args(), "window_end": START})


def _place_args() -> dict[str, object]:
    return {
        "resident_id": "r1",
        "service_code": "housekeeping",
        "area_code": "110101001001",
        "address": "x",
        "window_start": START,
        "window_end": END,
        "notes": None,
        "price_tier": "low_cost",
        "market_price": 80,
        "low_cost_price": 30,
        "required_certificates": [],
        "requested_on": TODAY - timedelta(days=1),
        "today": TODAY,
    }


def test_prices_by_tier() -> None:
    assert [price_for(t, 80, 30) for t in ("free", "low_cost", "market")] == [0, 30, 80]
    order = Order("o3")
    order.place(**_place_args())  # type: ignore[arg-type]
    placed = order.pending[0]
    assert isinstance(placed, OrderPlacedV1)
    assert (placed.price, placed.market_price) == (30, 80)


def schedule(*events: EventContract) -> WorkerSchedule:
    return WorkerSchedule.from_history("w1", list(events), version=len(events))


QUALIFIED = WorkerQualifiedV1(worker_id="w1", occupation_code="4-10-01-06", certificate_no="C1")


def test_assigning_books_the_worker_and_needs_her_certificate() -> None:
    order, worker = order_in("placed"), schedule(QUALIFIED)
    assign_worker(order, worker, "auto", AREA, **ON)
    assert [type(e) for e in order.pending + worker.pending] == [OrderAssignedV1, WorkerBookedV1]
    with pytest.raises(WorkerUnavailableError, match="lacks"):
        assign_worker(order_in("placed"), schedule(), "auto", AREA, **ON)


def test_a_worker_is_never_booked_in_overlapping_windows() -> None:
    booked = WorkerBookedV1(
        worker_id="w1", order_id="o0", window_start=START + timedelta(hours=1), window_end=END
    )
    with pytest.raises(WorkerUnavailableError, match="booked"):
        assign_worker(order_in("placed"), schedule(QUALIFIED, booked), "auto", AREA, **ON)
    back_to_back = WorkerBookedV1(
        worker_id="w1", order_id="o0", window_start=END, window_end=END + timedelta(hours=1)
    )
    assign_worker(order_in("placed"), schedule(QUALIFIED, back_to_back), "auto", AREA, **ON)
    released = WorkerReleasedV1(worker_id="w1", order_id="o0")
    assign_worker(order_in("placed"), schedule(QUALIFIED, booked, released), "auto", AREA, **ON)


def test_a_worker_in_a_full_time_post_is_out_of_dispatch() -> None:
    left = WorkerLeftDispatchV1(worker_id="w1", reason="全日制岗位", placement_id="p1")
    with pytest.raises(WorkerUnavailableError, match="left dispatch"):
        assign_worker(order_in("placed"), schedule(QUALIFIED, left), "dispatcher", AREA, **ON)


def test_rejection_sends_the_order_back_to_dispatch() -> None:
    order = order_in("assigned")
    order.reject("时间冲突", **ON)
    assert isinstance(order.pending[0], OrderRejectedV1)
    assert order.state is not None
    assert order.state.worker_id is None
    order.assign(worker_id="w2", how="dispatcher", **ON)


def test_a_service_window_is_planned_within_the_programme_s_dates() -> None:
    for start in (datetime(1989, 12, 31, 9, tzinfo=UTC), datetime(2037, 1, 1, 9, tzinfo=UTC)):
        with pytest.raises(InvalidCommandError) as refused:
            Order("o4").place(
                **{**_place_args(), "window_start": start, "window_end": start + timedelta(hours=1)}
            )
        assert refused.value.extensions["field"] == "window_start"
    last = datetime(2036, 12, 31, 20, tzinfo=UTC)
    Order("o5").place(
        **{**_place_args(), "window_start": last, "window_end": last + timedelta(hours=1)}
    )
    with pytest.raises(InvalidCommandError) as refused:
        Order("o6").place(
            **{**_place_args(), "window_start": last, "window_end": last + timedelta(days=2)}
        )
    assert refused.value.extensions["field"] == "window_end"


def test_a_start_a_completion_and_a_follow_up_call_are_not_in_the_future() -> None:
    tomorrow = START + timedelta(days=1)
    with pytest.raises(InvalidCommandError, match="in the future"):
        order_in("accepted").start(tomorrow, TODAY)
    with pytest.raises(InvalidCommandError, match="in the future"):
        order_in("in_service").complete(tomorrow, TODAY)
    with pytest.raises(InvalidCommandError, match="in the future"):
        order_in("completed").record_follow_up(
            called_on=TODAY + timedelta(days=1), satisfied=True, notes=None, today=TODAY
        )
    with pytest.raises(InvalidCommandError, match="before 1990"):
        order_in("completed").record_follow_up(
            called_on=date(1989, 12, 31), satisfied=True, notes=None, today=TODAY
        )
    order = order_in("accepted")
    order.start(tomorrow, tomorrow.date())
    order.complete(tomorrow + timedelta(hours=1), tomorrow.date())
    assert order.state is not None
    assert order.state.status == "completed"


def test_each_move_carries_its_business_date() -> None:
    """Entered a year later, every move keeps the day it happened."""
    last_year = date(2025, 3, 4)
    order = Order("o7")
    order.place(**{**_place_args(), "requested_on": last_year, "today": date(2026, 2, 1)})
    order.assign(worker_id="w1", how="dispatcher", on=last_year, today=TODAY)
    order.accept(on=last_year + timedelta(days=1), today=TODAY)
    order.start(START, TODAY)
    order.complete(END, TODAY)
    order.rate(score=4, comment=None, on=TODAY, today=TODAY)
    dated = [getattr(e, "occurred_on", None) for e in order.pending]
    assert dated == [last_year, last_year, last_year + timedelta(days=1), None, None, TODAY]
    rated = order.pending[-1]
    assert isinstance(rated, OrderRatedV1)
    assert rated.area_code == AREA


def test_no_move_happens_in_the_future_or_before_the_order_was_requested() -> None:
    requested = PLACED.occurred_on
    assert requested is not None
    before = requested - timedelta(days=1)
    tomorrow = TODAY + timedelta(days=1)
    refusals: list[Callable[[], None]] = [
        lambda: order_in("placed").assign(worker_id="w2", how="auto", on=before, today=TODAY),
        lambda: order_in("assigned").accept(on=before, today=TODAY),
        lambda: order_in("assigned").reject("x", on=before, today=TODAY),
        lambda: order_in("accepted").cancel(by="staff", reason="x", on=before, today=TODAY),
        lambda: order_in("accepted").no_show(party="worker", notes=None, on=before, today=TODAY),
        lambda: order_in("placed").assign(worker_id="w2", how="auto", on=tomorrow, today=TODAY),
        lambda: order_in("assigned").accept(on=tomorrow, today=TODAY),
    ]
    for refused in refusals:
        with pytest.raises(InvalidCommandError) as error:
            refused()
        assert error.value.extensions["field"] == "occurred_on"
    early = datetime(before.year, before.month, before.day, 9, tzinfo=UTC)
    with pytest.raises(InvalidCommandError, match="before order o1 was requested") as error:
        order_in("accepted").start(early, TODAY)
    assert error.value.extensions["field"] == "at"
    with pytest.raises(InvalidCommandError, match="in the future") as error:
        Order("o8").place(**{**_place_args(), "requested_on": tomorrow})
    assert error.value.extensions["field"] == "occurred_on"
    with pytest.raises(InvalidCommandError, match="before the order was requested") as error:
        Order("o9").place(**{**_place_args(), "requested_on": tomorrow, "today": tomorrow})
    assert error.value.extensions["field"] == "window_start"


def test_a_rating_or_a_call_never_precedes_the_completion() -> None:
    order = order_in("completed")
    with pytest.raises(InvalidCommandError, match="before the service was completed") as error:
        order.rate(score=5, comment=None, on=END.date() - timedelta(days=1), today=TODAY)
    assert error.value.extensions["field"] == "occurred_on"
    with pytest.raises(InvalidCommandError, match="before the service was completed") as error:
        order.record_follow_up(
            called_on=END.date() - timedelta(days=1), satisfied=True, notes=None, today=TODAY
        )
    assert error.value.extensions["field"] == "called_on"
    assert order.pending == []
