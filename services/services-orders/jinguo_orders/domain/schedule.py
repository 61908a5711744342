"""A worker's dispatch schedule: what she is qualified for and when she is booked, so that
nobody is booked twice; and the moves that assign an order and book her window together."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from jinguo_contracts.base import EventContract
from jinguo_contracts.orders import (
    AssignedHow,
    WorkerBookedV1,
    WorkerLeftDispatchV1,
    WorkerQualifiedV1,
    WorkerReleasedV1,
    WorkerTrainedV1,
)
from jinguo_orders.domain.order import Order
from jinguo_shared.domain import Aggregate, AggregateState, RuleViolationError


class WorkerUnavailableError(RuleViolationError):
    """Not qualified, out of dispatch, or booked in an overlapping window."""

    code = "worker-unavailable"


class Booking(AggregateState):
    start: datetime
    end: datetime


class ScheduleState(AggregateState):
    qualifications: list[str] = Field(default_factory=list)
    trades: list[str] = Field(default_factory=list)
    left_dispatch: bool = False
    bookings: dict[str, Booking] = Field(default_factory=dict)


class WorkerSchedule(Aggregate[ScheduleState]):
    """A worker as dispatch sees her: what she is certified for and when she is booked.
    Booking her and assigning the order are appended together, each with its own
    optimistic check, so two concurrent dispatches can never both book one window.

    Her area is not kept in the state: she may move district (the registry says so, not this
    log), and a stale area would hide her from her new district. Each booking records where
    she lives when booked, so a booking outside the caller's jurisdiction is refused, and
    giving a window back follows the order's move, whoever's jurisdiction she lives in."""

    aggregate_type = "worker"
    state_type = ScheduleState

    @classmethod
    def evolve(cls, state: ScheduleState | None, event: EventContract) -> ScheduleState:
        state = state or ScheduleState()
        match event:
            case WorkerQualifiedV1():
                codes = sorted({*state.qualifications, event.occupation_code})
                return state.model_copy(update={"qualifications": codes})
            case WorkerTrainedV1():
                return state.model_copy(update={"trades": sorted({*state.trades, event.trade})})
            case WorkerLeftDispatchV1():
                return state.model_copy(update={"left_dispatch": True})
            case WorkerBookedV1():
                booking = Booking(start=event.window_start, end=event.window_end)
                return state.model_copy(
                    update={"bookings": {**state.bookings, event.order_id: booking}}
                )
            case WorkerReleasedV1():
                rest = {k: v for k, v in state.bookings.items() if k != event.order_id}
                return state.model_copy(update={"bookings": rest})
        return state

    def qualify(self, *, occupation_code: str, certificate_no: str) -> None:
        if self.state is not None and occupation_code in self.state.qualifications:
            return
        self.record(
            WorkerQualifiedV1(
                worker_id=self.id, occupation_code=occupation_code, certificate_no=certificate_no
            )
        )

    def record_training(self, *, trade: str, completed_on: date) -> None:
        if self.state is not None and trade in self.state.trades:
            return
        self.record(WorkerTrainedV1(worker_id=self.id, trade=trade, completed_on=completed_on))

    def leave_dispatch(self, *, reason: str, placement_id: str | None) -> None:
        if self.state is not None and self.state.left_dispatch:
            return
        self.record(
            WorkerLeftDispatchV1(worker_id=self.id, reason=reason, placement_id=placement_id)
        )

    def check_available(self, start: datetime, end: datetime, required: list[str]) -> None:
        state = self.state or ScheduleState()
        if state.left_dispatch:
            raise WorkerUnavailableError(f"worker {self.id} has left dispatch (full-time post)")
        missing = sorted(set(required) - set(state.qualifications))
        if missing:
            raise WorkerUnavailableError(
                f"worker {self.id} lacks the certificates {', '.join(missing)}", missing=missing
            )
        for order_id, booking in state.bookings.items():
            if booking.start < end and start < booking.end:
                raise WorkerUnavailableError(
                    f"worker {self.id} is booked from {booking.start.isoformat()} to"
                    f" {booking.end.isoformat()} (order {order_id})",
                    order_id=order_id,
                )

    def book(
        self,
        *,
        order_id: str,
        start: datetime,
        end: datetime,
        required: list[str],
        area_code: str,
    ) -> None:
        """`area_code` is where she lives now (the registry's word): booking her is acting
        in that area, so only an agency whose jurisdiction covers it may."""
        self.check_available(start, end, required)
        self.record(
            WorkerBookedV1(
                worker_id=self.id,
                order_id=order_id,
                window_start=start,
                window_end=end,
                area_code=area_code,
            )
        )

    def release(self, order_id: str) -> None:
        if self.state is not None and order_id in self.state.bookings:
            self.record(WorkerReleasedV1(worker_id=self.id, order_id=order_id))


def assign_worker(
    order: Order,
    schedule: WorkerSchedule,
    how: AssignedHow,
    worker_area: str,
    on: date,
    today: date,
) -> None:
    """Assign the order and book the worker's window: both or neither."""
    state = order.require_state()
    order.assign(worker_id=schedule.id, how=how, on=on, today=today)
    schedule.book(
        order_id=order.id,
        start=state.window_start,
        end=state.window_end,
        required=state.required_certificates,
        area_code=worker_area,
    )


def release_with(order: Order, schedule: WorkerSchedule) -> None:
    """After a move that ends the worker's part in the order, give her window back."""
    schedule.release(order.id)
