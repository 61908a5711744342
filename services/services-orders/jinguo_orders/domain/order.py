"""An order's life from request to completion, and the worker's schedule that keeps her from
being booked twice.

    placed ──assign──▶ assigned ──accept──▶ accepted ──start──▶ in_service ──complete──▶ completed
      ▲                  │  │                  │  │
      └────reject────────┘  └──no-show─────────┘  └──▶ no_show
    placed / assigned / accepted ──cancel──▶ cancelled

A completed, cancelled or no-show order never moves again; a completed one can still be rated
once and followed up (回访) once.

Times come in the programme's time zone, and `today` is the programme's: a service window is
planned (`check_planned_date`), a start, a completion and a follow-up call happened
(`check_past_date`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from jinguo_contracts.base import EventContract
from jinguo_contracts.orders import (
    AssignedHow,
    CancelledBy,
    FollowUpCallRecordedV1,
    NoShowParty,
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
    WorkerTrainedV1,
)
from jinguo_contracts.registry import PriceTier
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    InvalidCommandError,
    RuleViolationError,
    check_past_date,
    check_planned_date,
)

OrderStatus = Literal[
    "placed", "assigned", "accepted", "in_service", "completed", "cancelled", "no_show"
]
FINISHED: frozenset[str] = frozenset({"completed", "cancelled", "no_show"})


class OrderMoveError(RuleViolationError):
    """The order's state does not allow this move."""

    code = "order-state"


class WorkerUnavailableError(RuleViolationError):
    """Not qualified, out of dispatch, or booked in an overlapping window."""

    code = "worker-unavailable"


def price_for(tier: PriceTier, market_price: int, low_cost_price: int) -> int:
    return {"free": 0, "low_cost": low_cost_price, "market": market_price}[tier]


class OrderState(AggregateState):
    status: OrderStatus
    resident_id: str
    service_code: str
    area_code: str
    window_start: datetime
    window_end: datetime
    price_tier: PriceTier
    required_certificates: list[str] = Field(default_factory=list)
    worker_id: str | None = None
    provider_id: str | None = None
    started_at: datetime | None = None
    rated: bool = False
    followed_up: bool = False


class Order(Aggregate[OrderState]):
    aggregate_type = "order"
    state_type = OrderState

    @classmethod
    def evolve(cls, state: OrderState | None, event: EventContract) -> OrderState:
        if isinstance(event, OrderPlacedV1):
            return OrderState(
                status="placed",
                resident_id=event.resident_id,
                service_code=event.service_code,
                area_code=event.area_code,
                window_start=event.window_start,
                window_end=event.window_end,
                price_tier=event.price_tier,
                required_certificates=list(event.required_certificates),
            )
        assert state is not None, f"{event.event_type} before OrderPlaced"
        match event:
            case OrderAssignedV1():
                return state.model_copy(
                    update={
                        "status": "assigned",
                        "worker_id": event.worker_id,
                        "provider_id": event.provider_id,
                    }
                )
            case OrderAcceptedV1():
                return state.model_copy(update={"status": "accepted"})
            case OrderRejectedV1():
                return state.model_copy(
                    update={"status": "placed", "worker_id": None, "provider_id": None}
                )
            case ServiceStartedV1():
                return state.model_copy(
                    update={"status": "in_service", "started_at": event.started_at}
                )
            case ServiceCompletedV1():
                return state.model_copy(update={"status": "completed"})
            case OrderCancelledV1():
                return state.model_copy(update={"status": "cancelled"})
            case OrderNoShowV1():
                return state.model_copy(update={"status": "no_show"})
            case OrderRatedV1():
                return state.model_copy(update={"rated": True})
            case FollowUpCallRecordedV1():
                return state.model_copy(update={"followed_up": True})
        return state

    def _in(self, move: str, *allowed: OrderStatus) -> OrderState:
        state = self.require_state()
        if state.status not in allowed:
            raise OrderMoveError(
                f"order {self.id} is {state.status}: it cannot be {move}",
                order_status=state.status,
                allowed_from=list(allowed),
            )
        return state

    def place(
        self,
        *,
        resident_id: str,
        service_code: str,
        area_code: str,
        address: str,
        window_start: datetime,
        window_end: datetime,
        notes: str | None,
        price_tier: PriceTier,
        market_price: int,
        low_cost_price: int,
        required_certificates: list[str],
        today: date,
    ) -> None:
        if self.exists:
            raise AlreadyExistsError(f"order {self.id} was already placed", existing_id=self.id)
        check_planned_date(window_start.date(), "window_start", today)
        check_planned_date(window_end.date(), "window_end", today)
        if window_end <= window_start:
            raise InvalidCommandError("the window ends before it starts", field="window_end")
        self.record(
            OrderPlacedV1(
                order_id=self.id,
                resident_id=resident_id,
                service_code=service_code,
                area_code=area_code,
                address=address,
                window_start=window_start,
                window_end=window_end,
                notes=notes,
                price_tier=price_tier,
                price=price_for(price_tier, market_price, low_cost_price),
                market_price=market_price,
                required_certificates=list(required_certificates),
            )
        )

    def assign(
        self, *, worker_id: str | None = None, provider_id: str | None = None, how: AssignedHow
    ) -> None:
        self._in("assigned", "placed")
        if (worker_id is None) == (provider_id is None):
            raise InvalidCommandError("assign to exactly one worker or one provider")
        self.record(
            OrderAssignedV1(order_id=self.id, worker_id=worker_id, provider_id=provider_id, how=how)
        )

    def accept(self) -> None:
        state = self._in("accepted", "assigned")
        self.record(
            OrderAcceptedV1(
                order_id=self.id, worker_id=state.worker_id, provider_id=state.provider_id
            )
        )

    def reject(self, reason: str) -> None:
        state = self._in("rejected", "assigned")
        self.record(
            OrderRejectedV1(
                order_id=self.id,
                worker_id=state.worker_id,
                provider_id=state.provider_id,
                reason=reason,
            )
        )

    def start(self, at: datetime, today: date) -> None:
        self._in("started", "accepted")
        check_past_date(at.date(), "at", today)
        self.record(ServiceStartedV1(order_id=self.id, started_at=at))

    def complete(self, at: datetime, today: date) -> None:
        state = self._in("completed", "in_service")
        assert state.started_at is not None
        check_past_date(at.date(), "at", today)
        if at < state.started_at:
            raise InvalidCommandError("completed before it started", field="completed_at")
        self.record(
            ServiceCompletedV1(
                order_id=self.id,
                worker_id=state.worker_id,
                provider_id=state.provider_id,
                service_code=state.service_code,
                area_code=state.area_code,
                started_at=state.started_at,
                completed_at=at,
                price_tier=state.price_tier,
            )
        )

    def cancel(self, *, by: CancelledBy, reason: str) -> None:
        state = self._in("cancelled", "placed", "assigned", "accepted")
        self.record(
            OrderCancelledV1(order_id=self.id, resident_id=state.resident_id, by=by, reason=reason)
        )

    def no_show(self, *, party: NoShowParty, notes: str | None) -> None:
        state = self._in("marked no-show", "assigned", "accepted")
        self.record(
            OrderNoShowV1(order_id=self.id, resident_id=state.resident_id, party=party, notes=notes)
        )

    def rate(self, *, score: int, comment: str | None) -> None:
        state = self._in("rated", "completed")
        if state.rated:
            raise OrderMoveError(f"order {self.id} was already rated")
        self.record(
            OrderRatedV1(
                order_id=self.id,
                resident_id=state.resident_id,
                score=score,
                comment=comment,
                worker_id=state.worker_id,
                provider_id=state.provider_id,
            )
        )

    def record_follow_up(
        self, *, called_on: date, satisfied: bool, notes: str | None, today: date
    ) -> None:
        state = self._in("followed up", "completed")
        if state.followed_up:
            raise OrderMoveError(f"order {self.id} was already followed up")
        check_past_date(called_on, "called_on", today)
        self.record(
            FollowUpCallRecordedV1(
                order_id=self.id,
                resident_id=state.resident_id,
                called_on=called_on,
                satisfied=satisfied,
                notes=notes,
            )
        )


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
    order: Order, schedule: WorkerSchedule, how: AssignedHow, worker_area: str
) -> None:
    """Assign the order and book the worker's window: both or neither."""
    state = order.require_state()
    order.assign(worker_id=schedule.id, how=how)
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
