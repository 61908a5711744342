"""Households and zero-employment households (零就业家庭): given events, when a command, then
events. Who is of working age and who works come from the handler (the registry's people)."""

from __future__ import annotations

from datetime import date

import pytest

from jinguo_contracts.base import EventContract
from jinguo_contracts.registry import (
    HouseholdMemberJoinedV1,
    HouseholdMemberLeftV1,
    HouseholdRegisteredV1,
    ZeroEmploymentHouseholdClearedV1,
    ZeroEmploymentHouseholdRecognisedV1,
)
from jinguo_registry.domain.household import Household
from jinguo_registry.domain.person import of_working_age
from jinguo_shared.domain import (
    AlreadyExistsError,
    InvalidCommandError,
    NotFoundError,
    RuleViolationError,
)

TODAY = date(2026, 11, 1)
AREA = "110101001001"
REGISTERED = HouseholdRegisteredV1(
    household_id="h1", area_code=AREA, address="东四六条12号", occurred_on=date(2026, 1, 5)
)


def joined(person_id: str, relation: str = "spouse") -> HouseholdMemberJoinedV1:
    return HouseholdMemberJoinedV1.model_validate(
        {
            "household_id": "h1",
            "area_code": AREA,
            "person_id": person_id,
            "relation": relation,
            "occurred_on": date(2026, 1, 5),
        }
    )


RECOGNISED = ZeroEmploymentHouseholdRecognisedV1(
    household_id="h1", area_code=AREA, recognised_on=date(2026, 3, 1), working_age_members=2
)


def given(*events: EventContract) -> Household:
    return Household.from_history("h1", list(events), len(events))


def test_a_household_is_registered_once_per_command() -> None:
    household = Household("h1")
    household.register(area_code=AREA, address="东四六条12号", on=date(2026, 1, 5), today=TODAY)
    household.register(area_code=AREA, address="东四六条12号", on=date(2026, 1, 5), today=TODAY)
    assert household.pending == [REGISTERED]
    with pytest.raises(InvalidCommandError) as future:
        Household("h2").register(area_code=AREA, address="x号", on=date(2027, 1, 1), today=TODAY)
    assert future.value.extensions["field"] == "occurred_on"


def test_members_join_once_and_leave_with_their_relation() -> None:
    household = given(REGISTERED, joined("p1", "head"))
    with pytest.raises(AlreadyExistsError):
        household.join(person_id="p1", relation="spouse", on=date(2026, 2, 1), today=TODAY)
    with pytest.raises(RuleViolationError, match="head"):
        household.join(person_id="p2", relation="head", on=date(2026, 2, 1), today=TODAY)
    with pytest.raises(InvalidCommandError, match="before the household"):
        household.join(person_id="p2", relation="child", on=date(2025, 12, 1), today=TODAY)
    household.join(person_id="p2", relation="child", on=date(2026, 2, 1), today=TODAY)
    household.leave(person_id="p1", on=date(2026, 4, 1), today=TODAY)
    assert household.pending[-1] == HouseholdMemberLeftV1(
        household_id="h1",
        area_code=AREA,
        person_id="p1",
        relation="head",
        occurred_on=date(2026, 4, 1),
    )
    assert household.state is not None
    assert set(household.state.members) == {"p2"}
    with pytest.raises(NotFoundError):
        household.leave(person_id="p1", on=date(2026, 4, 2), today=TODAY)


def test_recognised_when_no_member_of_working_age_works() -> None:
    household = given(REGISTERED, joined("p1", "head"), joined("p2"), joined("p3", "parent"))
    with pytest.raises(RuleViolationError) as works:
        household.recognise_zero_employment(
            on=date(2026, 3, 1), working_age={"p1", "p2"}, working={"p2"}, today=TODAY
        )
    assert works.value.extensions["working_members"] == ["p2"]
    with pytest.raises(RuleViolationError, match="no member of working age"):
        household.recognise_zero_employment(
            on=date(2026, 3, 1), working_age={"someone-else"}, working=set(), today=TODAY
        )
    # the retired parent's pension job does not count: she is past working age
    household.recognise_zero_employment(
        on=date(2026, 3, 1), working_age={"p1", "p2"}, working={"p3"}, today=TODAY
    )
    household.recognise_zero_employment(
        on=date(2026, 3, 2), working_age={"p1", "p2"}, working=set(), today=TODAY
    )
    assert household.pending == [RECOGNISED]


def test_a_members_spell_clears_it_once_and_only_a_member_clears_it() -> None:
    household = given(REGISTERED, joined("p1", "head"), joined("p2"), RECOGNISED)
    household.clear(by_person_id="stranger", spell_id="s0", started_on=date(2026, 5, 1))
    assert household.pending == []
    household.clear(by_person_id="p2", spell_id="s1", started_on=date(2026, 5, 6))
    household.clear(by_person_id="p2", spell_id="s1", started_on=date(2026, 5, 6))
    household.clear(by_person_id="p1", spell_id="s2", started_on=date(2026, 6, 1))
    assert household.pending == [
        ZeroEmploymentHouseholdClearedV1(
            household_id="h1",
            area_code=AREA,
            cleared_on=date(2026, 5, 6),
            by_person_id="p2",
            spell_id="s1",
        )
    ]
    # a household never recognised is not cleared
    plain = given(REGISTERED, joined("p1", "head"))
    plain.clear(by_person_id="p1", spell_id="s3", started_on=date(2026, 5, 6))
    assert plain.pending == []


def test_a_spell_entered_late_clears_it_from_the_day_of_recognition() -> None:
    household = given(REGISTERED, joined("p1", "head"), RECOGNISED)
    household.clear(by_person_id="p1", spell_id="s1", started_on=date(2026, 2, 1))
    assert household.pending[0].cleared_on == date(2026, 3, 1)  # type: ignore[attr-defined]


def test_after_clearing_it_may_be_recognised_again_but_not_before_the_clearing() -> None:
    cleared = ZeroEmploymentHouseholdClearedV1(
        household_id="h1",
        area_code=AREA,
        cleared_on=date(2026, 5, 6),
        by_person_id="p1",
        spell_id="s1",
    )
    household = given(REGISTERED, joined("p1", "head"), RECOGNISED, cleared)
    with pytest.raises(InvalidCommandError, match="cleared"):
        household.recognise_zero_employment(
            on=date(2026, 5, 1), working_age={"p1"}, working=set(), today=TODAY
        )
    household.recognise_zero_employment(
        on=date(2026, 10, 1), working_age={"p1"}, working=set(), today=TODAY
    )
    assert household.state is not None
    assert household.state.recognised_on == date(2026, 10, 1)


def test_working_age_runs_from_16_to_retirement() -> None:
    day = date(2026, 6, 1)
    assert not of_working_age(date(2010, 6, 2), "female", day)  # 15, her birthday tomorrow
    assert of_working_age(date(2010, 6, 1), "female", day)
    assert not of_working_age(date(1971, 6, 1), "female", day)  # 55
    assert of_working_age(date(1971, 6, 1), "male", day)
    assert of_working_age(date(1971, 6, 1), None, day)  # a resident: the wider range
    assert not of_working_age(None, None, day)
