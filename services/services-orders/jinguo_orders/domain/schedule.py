"""A worker's dispatch schedule: what she is qualified for and when she is booked, so that
nobody is booked twice; and the moves that assign an order and book her window together."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from pydantic import Field

from jinguo_contracts.base import EventContract
from jinguo_contracts.orders import (
    AssignedHow,
    WorkerBookedV1,
    WorkerLeftDispatchV1,
    WorkerQualifiedV1,
    WorkerRejoinedDispatchV1,
    WorkerReleasedV1,
    WorkerTrainedV1,
)
from jinguo_orders.domain.order import Order
from jinguo_shared.domain import Aggregate, AggregateState, RuleViolationError

KEPT_DAYS = 400
"""How many days back from the day she is booked her schedule still remembers bookings: a
programme year and a month, so work entered late or a closed year corrected still meets her
bookings of then, while years of completed bookings never pile up in the state every dispatch
loads."""


def kept_from(today: date) -> datetime:
    return datetime.combine(today - timedelta(days=KEPT_DAYS), time.min, tzinfo=UTC)


class WorkerUnavailableError(RuleViolationError):
    """Not qualified, out of dispatch, or booked in an overlapping window."""

    code = "worker-unavailable"


class Booking(AggregateState):
    start: datetime
    end: datetime


class AssignmentChangedError(RuleViolationError):
    """The order is no longer assigned to the worker a move was about to release (another
    process moved it meanwhile); `worker_id` says who holds it now (None: nobody)."""

    code = "assignment-changed"

    def __init__(self, order_id: str, worker_id: str | None) -> None:
        super().__init__(
            f"order {order_id} is now assigned to {worker_id or 'no worker'}",
            worker_id=worker_id,
        )
        self.worker_id = worker_id


class ScheduleState(AggregateState):
    qualifications: list[str] = Field(default_factory=list)
    trades: list[str] = Field(default_factory=list)
    left_dispatch: bool = False
    left_for: str | None = None
    """The full-time placement that took her out of dispatch, when known."""
    returned_from: list[str] = Field(default_factory=list)
    """Placements whose end brought her back: a late redelivery of their PostFilled must
    not take her out again (one entry per full-time job she ever ended)."""
    bookings: dict[str, Booking] = Field(default_factory=dict)
    kept_from: datetime | None = None
    """Bookings ending before this were dropped from the state: a window starting earlier
    can no longer be checked, so it is refused."""


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
                return state.model_copy(
                    update={"left_dispatch": True, "left_for": event.placement_id}
                )
            case WorkerRejoinedDispatchV1():
                returned = state.returned_from
                if event.placement_id is not None:
                    returned = sorted({*returned, event.placement_id})
                return state.model_copy(
                    update={"left_dispatch": False, "left_for": None, "returned_from": returned}
                )
            case WorkerBookedV1():
                return cls._booked(state, event)
            case WorkerReleasedV1():
                rest = {k: v for k, v in state.bookings.items() if k != event.order_id}
                return state.model_copy(update={"bookings": rest})
        return state

    @staticmethod
    def _booked(state: ScheduleState, event: WorkerBookedV1) -> ScheduleState:
        """Add the booking and forget those that ended before the moment the event says (in
        the event, so a replay of her log yields the same state whenever it runs)."""
        bookings = {**state.bookings}
        horizon = state.kept_from
        if event.kept_from is not None and (horizon is None or event.kept_from > horizon):
            horizon = event.kept_from
            bookings = {k: b for k, b in bookings.items() if b.end >= horizon}
        bookings[event.order_id] = Booking(start=event.window_start, end=event.window_end)
        return state.model_copy(update={"bookings": bookings, "kept_from": horizon})

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
        state = self.state or ScheduleState()
        if state.left_dispatch or placement_id in state.returned_from:
            return
        self.record(
            WorkerLeftDispatchV1(worker_id=self.id, reason=reason, placement_id=placement_id)
        )

    def rejoin_dispatch(self, *, reason: str, placement_id: str | None) -> None:
        """Her full-time job ended: orders again. Only the end of the placement that took her
        out brings her back (another job ending leaves her where she is); nothing happens when
        she is in dispatch already, so a redelivered end changes nothing."""
        state = self.state or ScheduleState()
        if not state.left_dispatch:
            return
        if placement_id is not None and state.left_for not in (None, placement_id):
            return
        self.record(
            WorkerRejoinedDispatchV1(worker_id=self.id, reason=reason, placement_id=placement_id)
        )

    def check_available(
        self, start: datetime, end: datetime, required: list[str], today: date | None = None
    ) -> None:
        """`today` (when booking) also refuses a window older than the schedule will keep."""
        state = self.state or ScheduleState()
        horizon = state.kept_from
        if today is not None and (horizon is None or kept_from(today) > horizon):
            horizon = kept_from(today)
        if state.left_dispatch:
            raise WorkerUnavailableError(f"worker {self.id} has left dispatch (full-time post)")
        if horizon is not None and start < horizon:
            raise WorkerUnavailableError(
                f"worker {self.id}'s schedule before {horizon.isoformat()} is no longer kept:"
                " a window that early cannot be checked against it",
                kept_from=horizon.isoformat(),
            )
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
        today: date,
    ) -> None:
        """`area_code` is where she lives now (the registry's word): booking her is acting
        in that area, so only an agency whose jurisdiction covers it may. The booking also
        tells her schedule to forget what ended more than `KEPT_DAYS` before `today`."""
        self.check_available(start, end, required, today)
        self.record(
            WorkerBookedV1(
                worker_id=self.id,
                order_id=order_id,
                window_start=start,
                window_end=end,
                area_code=area_code,
                kept_from=kept_from(today),
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
        today=today,
    )


def check_assigned(order: Order, worker_id: str | None) -> None:
    """A move that gives a worker's window back decides on the order as the log has it: if
    it is no longer hers, releasing her would leave the real holder booked for nothing."""
    assigned = order.require_state().worker_id
    if assigned != worker_id:
        raise AssignmentChangedError(order.id, assigned)


def release_with(order: Order, schedule: WorkerSchedule) -> None:
    """After a move that ends the worker's part in the order, give her window back."""
    schedule.release(order.id)
