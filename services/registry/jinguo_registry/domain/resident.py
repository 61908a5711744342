"""The resident: orders community services; her eligibility sets the price tier."""

from __future__ import annotations

from datetime import date

from jinguo_contracts.base import EventContract
from jinguo_contracts.registry import (
    EligibilityReason,
    PriceTier,
    ResidentEligibilityChangedV1,
    ResidentErasedV1,
    ResidentRegisteredV1,
)
from jinguo_registry.domain.validation import birth_date_from_national_id
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    InvalidCommandError,
    NotFoundError,
    check_past_date,
    check_planned_date,
)

REASONS_FOR_TIER: dict[str, frozenset[str]] = {
    "free": frozenset({"minimum_living_allowance", "extreme_poverty", "entitled_group"}),
    "low_cost": frozenset({"elderly_living_alone", "minimum_living_allowance"}),
    "market": frozenset({"none"}),
}


class ResidentState(AggregateState):
    area_code: str
    price_tier: str = "market"
    reason: str = "none"
    valid_until: date | None = None
    erased: bool = False


class Resident(Aggregate[ResidentState]):
    aggregate_type = "resident"
    state_type = ResidentState

    @classmethod
    def evolve(cls, state: ResidentState | None, event: EventContract) -> ResidentState:
        if isinstance(event, ResidentRegisteredV1):
            return ResidentState(area_code=event.area_code)
        assert state is not None, f"{event.event_type} before ResidentRegistered"
        if isinstance(event, ResidentEligibilityChangedV1):
            return state.model_copy(
                update={
                    "price_tier": event.price_tier,
                    "reason": event.reason,
                    "valid_until": event.valid_until,
                }
            )
        if isinstance(event, ResidentErasedV1):  # her area stays, as for a worker
            return ResidentState(area_code=state.area_code, erased=True)
        return state

    def register(
        self,
        *,
        name: str,
        national_id: str,
        phone: str,
        address: str,
        area_code: str,
        on: date | None = None,
        today: date | None = None,
        person_id: str | None = None,
    ) -> None:
        """`on`: the day she registered, checked against `today` (both given by handlers)."""
        if on is not None and today is not None:
            check_past_date(on, "occurred_on", today)
        if self.exists:
            raise AlreadyExistsError(
                f"a resident with this national ID is already registered: {self.id}",
                existing_id=self.id,
            )
        self.record(
            ResidentRegisteredV1(
                resident_id=self.id,
                name=name,
                national_id=national_id,
                birth_date=birth_date_from_national_id(national_id),
                phone=phone,
                address=address,
                area_code=area_code,
                occurred_on=on,
                person_id=person_id,
            )
        )

    def change_eligibility(
        self,
        *,
        price_tier: PriceTier,
        reason: EligibilityReason,
        valid_until: date | None,
        on: date,
        today: date,
    ) -> None:
        state = self.require_state()
        check_past_date(on, "occurred_on", today)
        if state.erased:
            raise NotFoundError(f"resident {self.id} was erased")
        if reason not in REASONS_FOR_TIER[price_tier]:
            allowed = ", ".join(sorted(REASONS_FOR_TIER[price_tier]))
            raise InvalidCommandError(
                f"the {price_tier} tier is granted for: {allowed}", field="reason"
            )
        if valid_until is not None:
            check_planned_date(valid_until, "valid_until", today)
            if valid_until <= today:
                raise InvalidCommandError("valid_until must be in the future", field="valid_until")
        if (state.price_tier, state.reason, state.valid_until) == (price_tier, reason, valid_until):
            return
        self.record(
            ResidentEligibilityChangedV1(
                resident_id=self.id,
                price_tier=price_tier,
                reason=reason,
                valid_until=valid_until,
                area_code=state.area_code,
                occurred_on=on,
            )
        )

    def erase(self, *, reason: str) -> None:
        state = self.require_state()
        if not state.erased:
            self.record(ResidentErasedV1(resident_id=self.id, reason=reason))
