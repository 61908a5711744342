"""A worker's schedule over years: she leaves dispatch for a full-time job and comes back when
it ends; bookings that ended long ago are forgotten, so the state every dispatch loads stays
the same size after three years as after three months; a releasing move refuses to act on an
order that is no longer hers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from jinguo_contracts.base import EventContract
from jinguo_contracts.orders import (
    OrderAssignedV1,
    OrderPlacedV1,
    OrderRejectedV1,
    WorkerBookedV1,
    WorkerLeftDispatchV1,
    WorkerQualifiedV1,
    WorkerRejoinedDispatchV1,
)
from jinguo_orders.domain.order import Order
from jinguo_orders.domain.schedule import (
    KEPT_DAYS,
    AssignmentChangedError,
    WorkerSchedule,
    WorkerUnavailableError,
    check_assigned,
    kept_from,
)

HOUSEKEEPING = "4-10-01-06"
QUALIFIED = WorkerQualifiedV1(worker_id="w1", occupation_code=HOUSEKEEPING, certificate_no="C")
LEFT = WorkerLeftDispatchV1(worker_id="w1", reason="全日制岗位", placement_id="pl-1")
FIRST_DAY = datetime(2024, 1, 1, 9, tzinfo=UTC)


def schedule_of(*events: EventContract) -> WorkerSchedule:
    return WorkerSchedule.from_history("w1", list(events), version=len(events))


def booked(n: int, start: datetime, today: date | None = None) -> WorkerBookedV1:
    """Booked the day before her window unless `today` says otherwise."""
    return WorkerBookedV1(
        worker_id="w1",
        order_id=f"order-{n:06d}",
        window_start=start,
        window_end=start + timedelta(hours=2),
        area_code="110101001001",
        kept_from=kept_from(today or start.date() - timedelta(days=1)),
    )


def test_the_end_of_the_full_time_job_that_took_her_out_brings_her_back() -> None:
    away = schedule_of(QUALIFIED, LEFT)
    with pytest.raises(WorkerUnavailableError):
        away.check_available(FIRST_DAY, FIRST_DAY + timedelta(hours=2), [HOUSEKEEPING])
    away.rejoin_dispatch(reason="合同到期", placement_id="pl-1")
    (rejoined,) = away.pending
    assert isinstance(rejoined, WorkerRejoinedDispatchV1)
    assert rejoined.placement_id == "pl-1"
    away.check_available(FIRST_DAY, FIRST_DAY + timedelta(hours=2), [HOUSEKEEPING])


def test_another_job_ending_or_a_redelivered_end_changes_nothing() -> None:
    away = schedule_of(QUALIFIED, LEFT)
    away.rejoin_dispatch(reason="合同到期", placement_id="pl-other")
    assert away.pending == []
    back = schedule_of(QUALIFIED, LEFT, WorkerRejoinedDispatchV1(worker_id="w1", reason="x"))
    back.rejoin_dispatch(reason="合同到期", placement_id="pl-1")
    assert back.pending == []


def test_a_late_redelivered_post_filled_does_not_take_her_out_again() -> None:
    back = schedule_of(
        QUALIFIED,
        LEFT,
        WorkerRejoinedDispatchV1(worker_id="w1", reason="合同到期", placement_id="pl-1"),
    )
    back.leave_dispatch(reason="全日制岗位", placement_id="pl-1")
    assert back.pending == []
    back.leave_dispatch(reason="新的全日制岗位", placement_id="pl-2")
    (left,) = back.pending
    assert isinstance(left, WorkerLeftDispatchV1)


def test_three_years_of_bookings_leave_a_state_of_the_same_size_as_two_years() -> None:
    """A booking every working day, never released (completed orders keep theirs)."""
    events: list[EventContract] = [QUALIFIED]
    sizes: dict[int, int] = {}
    for day in range(3 * 365):
        events.append(booked(day, FIRST_DAY + timedelta(days=day)))
        if day + 1 in (2 * 365, 3 * 365):
            state = schedule_of(*events).state
            assert state is not None
            sizes[day + 1] = len(state.model_dump_json())
            assert len(state.bookings) <= KEPT_DAYS + 2
    assert sizes[2 * 365] == sizes[3 * 365], sizes


def test_recent_bookings_are_still_checked_and_forgotten_ones_are_refused() -> None:
    schedule = schedule_of(
        QUALIFIED, *(booked(d, FIRST_DAY + timedelta(days=d)) for d in range(800))
    )
    latest = FIRST_DAY + timedelta(days=799)
    today = latest.date()
    with pytest.raises(WorkerUnavailableError, match="booked from"):
        schedule.check_available(latest, latest + timedelta(hours=1), [HOUSEKEEPING], today)
    recent = latest - timedelta(days=300)
    with pytest.raises(WorkerUnavailableError, match="booked from"):
        schedule.check_available(recent, recent + timedelta(hours=1), [HOUSEKEEPING], today)
    long_ago = FIRST_DAY + timedelta(days=1, hours=3)
    with pytest.raises(WorkerUnavailableError, match="no longer kept") as refused:
        schedule.check_available(long_ago, long_ago + timedelta(hours=1), [HOUSEKEEPING])
    assert "kept_from" in refused.value.extensions
    free = latest + timedelta(hours=3)
    schedule.check_available(free, free + timedelta(hours=1), [HOUSEKEEPING], today)


def test_a_booking_far_ahead_forgets_nothing_of_last_month() -> None:
    """What is forgotten counts back from the day she is booked, not from her latest window:
    a 月嫂 booked three months ahead still has last month's work checked when it is entered."""
    today = date(2026, 9, 1)
    last_month = datetime(2026, 8, 5, 9, tzinfo=UTC)
    ahead = datetime(2026, 12, 1, 9, tzinfo=UTC)
    schedule = schedule_of(QUALIFIED, booked(1, last_month, today), booked(2, ahead, today))
    with pytest.raises(WorkerUnavailableError, match="booked from"):
        schedule.check_available(last_month, last_month + timedelta(hours=1), [HOUSEKEEPING], today)
    schedule.book(
        order_id="o3",
        start=last_month + timedelta(days=1),
        end=last_month + timedelta(days=1, hours=2),
        required=[HOUSEKEEPING],
        area_code="110101001001",
        today=today,
    )
    too_old = datetime(2025, 7, 1, 9, tzinfo=UTC)
    with pytest.raises(WorkerUnavailableError, match="no longer kept"):
        schedule.check_available(too_old, too_old + timedelta(hours=1), [HOUSEKEEPING], today)


def test_bookings_recorded_before_the_schedule_forgot_anything_are_all_kept() -> None:
    old = booked(1, FIRST_DAY).model_copy(update={"kept_from": None})
    later = booked(2, FIRST_DAY + timedelta(days=1)).model_copy(update={"kept_from": None})
    state = schedule_of(QUALIFIED, old, later).state
    assert state is not None
    assert sorted(state.bookings) == ["order-000001", "order-000002"]
    assert state.kept_from is None


def test_a_releasing_move_refuses_an_order_that_is_no_longer_hers() -> None:
    placed = OrderPlacedV1(
        order_id="o1",
        resident_id="r1",
        service_code="housekeeping",
        area_code="110101001001",
        address="东四北大街 1 号",
        window_start=FIRST_DAY,
        window_end=FIRST_DAY + timedelta(hours=2),
        notes=None,
        price_tier="free",
        price=0,
        market_price=80,
    )
    reassigned = Order.from_history(
        "o1",
        [
            placed,
            OrderAssignedV1(order_id="o1", worker_id="w1", how="auto"),
            OrderRejectedV1(order_id="o1", worker_id="w1", reason="太远"),
            OrderAssignedV1(order_id="o1", worker_id="w2", how="dispatcher"),
        ],
        version=4,
    )
    with pytest.raises(AssignmentChangedError) as changed:
        check_assigned(reassigned, "w1")
    assert changed.value.worker_id == "w2"
    check_assigned(reassigned, "w2")
    with pytest.raises(AssignmentChangedError) as nobody:
        check_assigned(Order.from_history("o1", [placed], version=1), "w1")
    assert nobody.value.worker_id is None
