"""The employer (用人单位): registered, suspended after a violation, reinstated once put right."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    EmployerRegisteredV1,
    EmployerReinstatedV1,
    EmployerSuspendedV1,
)
from jinguo_shared.domain import Aggregate, AggregateState, AlreadyExistsError, check_past_date

MANUAL = "manual"
"""The suspension cause when a person suspended the employer, not an inspection."""


class EmployerState(AggregateState):
    name: str
    area_code: str
    suspended_by: list[str] = Field(
        default_factory=list, description="open causes: inspection ids, or `manual`"
    )

    @property
    def suspended(self) -> bool:
        return bool(self.suspended_by)


class Employer(Aggregate[EmployerState]):
    aggregate_type = "employer"
    state_type = EmployerState

    @classmethod
    def evolve(cls, state: EmployerState | None, event: EventContract) -> EmployerState:
        if isinstance(event, EmployerRegisteredV1):
            return EmployerState(name=event.name, area_code=event.area_code)
        assert state is not None, f"{event.event_type} before EmployerRegistered"
        match event:
            case EmployerSuspendedV1():
                cause = event.inspection_id or MANUAL
                return state.model_copy(update={"suspended_by": [*state.suspended_by, cause]})
            case EmployerReinstatedV1():
                return state.model_copy(update={"suspended_by": list(event.still_suspended_by)})
        return state

    def register(
        self, *, name: str, credit_code: str, area_code: str, on: date, today: date
    ) -> None:
        check_past_date(on, "occurred_on", today)
        if self.exists:
            raise AlreadyExistsError(
                f"an employer with this credit code is already registered: {self.id}",
                existing_id=self.id,
            )
        self.record(
            EmployerRegisteredV1(
                employer_id=self.id,
                name=name,
                credit_code=credit_code,
                area_code=area_code,
                occurred_on=on,
            )
        )

    def suspend(
        self, *, reason: str, on: date, today: date, inspection_id: str | None = None
    ) -> None:
        """Once per cause: the same violation reported twice suspends once."""
        check_past_date(on, "occurred_on", today)
        state = self.require_state()
        if (inspection_id or MANUAL) in state.suspended_by:
            return
        self.record(
            EmployerSuspendedV1(
                employer_id=self.id, reason=reason, inspection_id=inspection_id, occurred_on=on
            )
        )

    def reinstate(
        self, *, reason: str, on: date, today: date, inspection_id: str | None = None
    ) -> None:
        """A rectified inspection lifts its own cause; a person reinstating lifts them all."""
        check_past_date(on, "occurred_on", today)
        state = self.require_state()
        if inspection_id is None:
            if not state.suspended:
                return
            remaining: list[str] = []
        else:
            if inspection_id not in state.suspended_by:
                return
            remaining = [c for c in state.suspended_by if c != inspection_id]
        self.record(
            EmployerReinstatedV1(
                employer_id=self.id,
                reason=reason,
                inspection_id=inspection_id,
                still_suspended_by=remaining,
                occurred_on=on,
            )
        )
