"""An order's life from request to completion (the worker's schedule is in `schedule`).

    placed ──assign──▶ assigned ──accept──▶ accepted ──start──▶ in_service ──complete──▶ completed
      ▲                  │  │                  │  │
      └────reject────────┘  └──no-show─────────┘  └──▶ no_show
    placed / assigned / accepted ──cancel──▶ cancelled

A completed, cancelled or no-show order never moves again; a completed one can still be rated
once and followed up (回访) once.

Times come in the programme's time zone, and `today` is the programme's: a service window is
planned (`check_planned_date`); every move happened on a business date (`on`, a start's or a
completion's time, a follow-up's `called_on`), never after today, never before the order was
requested, and a rating or a follow-up call never before the service was completed. Offices
enter last year's orders this year with the dates they happened, and reports count them then.
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


def delivered_on(completion: ServiceCompletedV1) -> date:
    """The business date of a delivery: `completed_at` is recorded with the programme's offset
    (`OrdersHandlers` sees to it), so its date is the programme's day, whenever it was typed in.
    Settlements and reports count a delivery on this day."""
    return completion.completed_at.date()


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
    requested_on: date | None = None
    """None for orders placed before the business date was recorded."""
    completed_on: date | None = None
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
                requested_on=event.occurred_on,
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
                return state.model_copy(
                    update={"status": "completed", "completed_on": delivered_on(event)}
                )
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

    def _happened(self, state: OrderState, on: date, field: str, today: date) -> date:
        check_past_date(on, field, today)
        if state.requested_on is not None and on < state.requested_on:
            raise InvalidCommandError(
                f"{field} {on.isoformat()} is before order {self.id} was requested"
                f" ({state.requested_on.isoformat()})",
                field=field,
            )
        return on

    def _after_service(self, state: OrderState, on: date, field: str, today: date) -> date:
        self._happened(state, on, field, today)
        if state.completed_on is not None and on < state.completed_on:
            raise InvalidCommandError(
                f"{field} {on.isoformat()} is before the service was completed"
                f" ({state.completed_on.isoformat()})",
                field=field,
            )
        return on

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
        requested_on: date,
        today: date,
    ) -> None:
        if self.exists:
            raise AlreadyExistsError(f"order {self.id} was already placed", existing_id=self.id)
        check_past_date(requested_on, "occurred_on", today)
        check_planned_date(window_start.date(), "window_start", today)
        check_planned_date(window_end.date(), "window_end", today)
        if window_end <= window_start:
            raise InvalidCommandError("the window ends before it starts", field="window_end")
        if window_start.date() < requested_on:
            raise InvalidCommandError(
                f"the window starts before the order was requested ({requested_on.isoformat()})",
                field="window_start",
            )
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
                occurred_on=requested_on,
            )
        )

    def assign(
        self,
        *,
        worker_id: str | None = None,
        provider_id: str | None = None,
        how: AssignedHow,
        on: date,
        today: date,
    ) -> None:
        state = self._in("assigned", "placed")
        if (worker_id is None) == (provider_id is None):
            raise InvalidCommandError("assign to exactly one worker or one provider")
        self.record(
            OrderAssignedV1(
                order_id=self.id,
                worker_id=worker_id,
                provider_id=provider_id,
                how=how,
                occurred_on=self._happened(state, on, "occurred_on", today),
            )
        )

    def accept(self, *, on: date, today: date) -> None:
        state = self._in("accepted", "assigned")
        self.record(
            OrderAcceptedV1(
                order_id=self.id,
                worker_id=state.worker_id,
                provider_id=state.provider_id,
                occurred_on=self._happened(state, on, "occurred_on", today),
            )
        )

    def reject(self, reason: str, *, on: date, today: date) -> None:
        state = self._in("rejected", "assigned")
        self.record(
            OrderRejectedV1(
                order_id=self.id,
                worker_id=state.worker_id,
                provider_id=state.provider_id,
                reason=reason,
                occurred_on=self._happened(state, on, "occurred_on", today),
            )
        )

    def start(self, at: datetime, today: date) -> None:
        state = self._in("started", "accepted")
        self._happened(state, at.date(), "at", today)
        self.record(ServiceStartedV1(order_id=self.id, started_at=at))

    def complete(self, at: datetime, today: date) -> None:
        state = self._in("completed", "in_service")
        assert state.started_at is not None
        self._happened(state, at.date(), "at", today)
        if at < state.started_at:
            raise InvalidCommandError("completed before it started", field="at")
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

    def cancel(self, *, by: CancelledBy, reason: str, on: date, today: date) -> None:
        state = self._in("cancelled", "placed", "assigned", "accepted")
        self.record(
            OrderCancelledV1(
                order_id=self.id,
                resident_id=state.resident_id,
                by=by,
                reason=reason,
                occurred_on=self._happened(state, on, "occurred_on", today),
            )
        )

    def no_show(self, *, party: NoShowParty, notes: str | None, on: date, today: date) -> None:
        state = self._in("marked no-show", "assigned", "accepted")
        self.record(
            OrderNoShowV1(
                order_id=self.id,
                resident_id=state.resident_id,
                party=party,
                notes=notes,
                occurred_on=self._happened(state, on, "occurred_on", today),
            )
        )

    def rate(self, *, score: int, comment: str | None, on: date, today: date) -> None:
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
                occurred_on=self._after_service(state, on, "occurred_on", today),
                area_code=state.area_code,
            )
        )

    def record_follow_up(
        self, *, called_on: date, satisfied: bool, notes: str | None, today: date
    ) -> None:
        state = self._in("followed up", "completed")
        if state.followed_up:
            raise OrderMoveError(f"order {self.id} was already followed up")
        self.record(
            FollowUpCallRecordedV1(
                order_id=self.id,
                resident_id=state.resident_id,
                called_on=self._after_service(state, called_on, "called_on", today),
                satisfied=satisfied,
                notes=notes,
                area_code=state.area_code,
            )
        )
