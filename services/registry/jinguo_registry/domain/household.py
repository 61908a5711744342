"""The household (家庭户): who lives together, and whether it is a zero-employment household
(零就业家庭), recognised when no member of working age works and cleared (清零) the day a member
starts a re-employment spell."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from jinguo_contracts.base import EventContract
from jinguo_contracts.registry import (
    HouseholdMemberJoinedV1,
    HouseholdMemberLeftV1,
    HouseholdRegisteredV1,
    Relation,
    ZeroEmploymentHouseholdClearedV1,
    ZeroEmploymentHouseholdRecognisedV1,
)
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    InvalidCommandError,
    NotFoundError,
    RuleViolationError,
    check_past_date,
)


class HouseholdState(AggregateState):
    area_code: str
    registered_on: date
    members: dict[str, Relation] = Field(default_factory=dict, description="person id -> relation")
    recognised_on: date | None = None
    """Set while it is a zero-employment household; cleared households have it None again."""
    cleared_on: date | None = None


class Household(Aggregate[HouseholdState]):
    aggregate_type = "household"
    state_type = HouseholdState

    @classmethod
    def evolve(cls, state: HouseholdState | None, event: EventContract) -> HouseholdState:
        if isinstance(event, HouseholdRegisteredV1):
            return HouseholdState(area_code=event.area_code, registered_on=event.occurred_on)
        assert state is not None, f"{event.event_type} before HouseholdRegistered"
        match event:
            case HouseholdMemberJoinedV1():
                members = {**state.members, event.person_id: event.relation}
                return state.model_copy(update={"members": members})
            case HouseholdMemberLeftV1():
                members = {k: v for k, v in state.members.items() if k != event.person_id}
                return state.model_copy(update={"members": members})
            case ZeroEmploymentHouseholdRecognisedV1():
                return state.model_copy(
                    update={"recognised_on": event.recognised_on, "cleared_on": None}
                )
            case ZeroEmploymentHouseholdClearedV1():
                return state.model_copy(
                    update={"recognised_on": None, "cleared_on": event.cleared_on}
                )
        return state

    def register(self, *, area_code: str, address: str, on: date, today: date) -> None:
        if self.exists:
            return  # the same command again: its id gave the same household
        self.record(
            HouseholdRegisteredV1(
                household_id=self.id,
                area_code=area_code,
                address=address,
                occurred_on=check_past_date(on, "occurred_on", today),
            )
        )

    def join(self, *, person_id: str, relation: Relation, on: date, today: date) -> None:
        state = self.require_state()
        if person_id in state.members:
            raise AlreadyExistsError(
                f"person {person_id} is already a member of household {self.id}",
                existing_id=person_id,
            )
        if relation == "head" and "head" in state.members.values():
            raise RuleViolationError(f"household {self.id} has a head (户主) already")
        self._check_day(on, "occurred_on", state, today)
        self.record(
            HouseholdMemberJoinedV1(
                household_id=self.id,
                area_code=state.area_code,
                person_id=person_id,
                relation=relation,
                occurred_on=on,
            )
        )

    def leave(self, *, person_id: str, on: date, today: date) -> None:
        state = self.require_state()
        relation = state.members.get(person_id)
        if relation is None:
            raise NotFoundError(f"person {person_id} is no member of household {self.id}")
        self._check_day(on, "occurred_on", state, today)
        self.record(
            HouseholdMemberLeftV1(
                household_id=self.id,
                area_code=state.area_code,
                person_id=person_id,
                relation=relation,
                occurred_on=on,
            )
        )

    def recognise_zero_employment(
        self, *, on: date, working_age: set[str], working: set[str], today: date
    ) -> None:
        """`working_age`: its members of working age on `on`; `working`: those of its members
        with an open re-employment spell (both as the registry knows them)."""
        state = self.require_state()
        if state.recognised_on is not None:
            return  # recognised already and not cleared since: nothing new
        self._check_day(on, "recognised_on", state, today)
        if state.cleared_on is not None and on < state.cleared_on:
            raise InvalidCommandError(
                f"recognised_on is before the household was cleared ({state.cleared_on})",
                field="recognised_on",
            )
        of_age = working_age & set(state.members)
        if not of_age:
            raise RuleViolationError(
                f"household {self.id} has no member of working age: it is no zero-employment"
                " household"
            )
        in_work = sorted(working & of_age)
        if in_work:
            raise RuleViolationError(
                f"a member of household {self.id} works (an open re-employment spell)",
                working_members=in_work,
            )
        self.record(
            ZeroEmploymentHouseholdRecognisedV1(
                household_id=self.id,
                area_code=state.area_code,
                recognised_on=on,
                working_age_members=len(of_age),
            )
        )

    def clear(self, *, by_person_id: str, spell_id: str, started_on: date) -> None:
        """A member's spell started: the household is cleared from that day (from the day it
        was recognised, if the spell was entered late and began before). Anything else (not
        recognised, cleared already, not a member) leaves it as it is: spells arrive more than
        once and for women of no household."""
        state = self.require_state()
        if state.recognised_on is None or by_person_id not in state.members:
            return
        self.record(
            ZeroEmploymentHouseholdClearedV1(
                household_id=self.id,
                area_code=state.area_code,
                cleared_on=max(started_on, state.recognised_on),
                by_person_id=by_person_id,
                spell_id=spell_id,
            )
        )

    def _check_day(self, on: date, field: str, state: HouseholdState, today: date) -> None:
        check_past_date(on, field, today)
        if on < state.registered_on:
            raise InvalidCommandError(
                f"{field} {on.isoformat()} is before the household was registered", field=field
            )
