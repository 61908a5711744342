"""The case aggregate and the need-to-know rule: given events, when a command, then events."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from pydantic import ValidationError

from jinguo_contracts.inspections import Finding
from jinguo_contracts.rights import (
    CaseActionRecordedV1,
    CaseClosedV1,
    CaseComplainantErasedV1,
    CaseOpenedV1,
)
from jinguo_rights.domain.calendar import CHINA_2026
from jinguo_rights.domain.cases import (
    HANDLERS,
    SUPERVISORS,
    Case,
    CaseHolders,
    ForbiddenError,
    NewCase,
    RegisteredComplainant,
    Viewer,
    access_basis,
)
from jinguo_rights.domain.deadlines import DeadlinePolicy
from jinguo_rights.domain.inspections import Inspection
from jinguo_rights.handlers.commands import RecordInspection
from jinguo_shared.access import Jurisdiction
from jinguo_shared.domain import InvalidCommandError, NotFoundError, RuleViolationError

D = date.fromisoformat
POLICY = DeadlinePolicy(CHINA_2026)
TODAY = D("2026-11-23")
ANN = Viewer("fed", "ann", "officer")
SAM = Viewer("fed", "sam", "supervisor")
OTTO = Viewer("fed", "otto", "officer")
CAT = Viewer("aid", "cat", "officer")
NOBODY = Viewer("fed", "nobody", None)


def new_case(**changes: object) -> NewCase:
    fields: dict[str, object] = {
        "agency_id": "fed",
        "area_code": "110101001001",
        "channel": "letter",
        "category": "labour",
        "urgency": "normal",
        "complainant_id": "c1",
        "complainant_worker_id": None,
        "complainant_name": "王桂英",
        "complainant_phone": None,
        "respondent_kind": "employer",
        "respondent_name": "某公司",
        "respondent_employer_id": "emp-1",
        "summary": "拖欠工资",
        "opened_on": D("2026-09-30"),
    }
    return NewCase(**(fields | changes))  # type: ignore[arg-type]


def opened(**changes: object) -> Case:
    case = Case("case-1")
    case.open(new_case(**changes), policy=POLICY, today=TODAY)
    case.assign(officer_id="ann", assigned_on=D("2026-09-30"), today=TODAY)
    return Case.from_history("case-1", list(case.pending), 2)


def test_opening_fixes_the_time_limit_and_the_due_date_in_the_event() -> None:
    case = Case("case-1")
    case.open(new_case(), policy=POLICY, today=TODAY)
    [event] = case.pending
    assert isinstance(event, CaseOpenedV1)
    assert (event.time_limit_days, event.due_on) == (30, D("2026-11-17"))
    with pytest.raises(InvalidCommandError, match="future"):
        Case("x").open(new_case(opened_on=D("2026-11-24")), policy=POLICY, today=TODAY)
    with pytest.raises(InvalidCommandError, match="employers only"):
        Case("x").open(new_case(respondent_kind="person"), policy=POLICY, today=TODAY)


def test_every_date_follows_one_rule_from_1990_to_today() -> None:
    with pytest.raises(InvalidCommandError, match="today is 2026-11-23") as future:
        Case("x").open(new_case(opened_on=D("2026-11-24")), policy=POLICY, today=TODAY)
    assert future.value.extensions["field"] == "opened_on"
    with pytest.raises(InvalidCommandError, match="before 1990-01-01"):
        Case("x").open(new_case(opened_on=D("1989-12-31")), policy=POLICY, today=TODAY)
    old = Case("old")
    old.open(new_case(opened_on=D("1995-03-01")), policy=POLICY, today=TODAY)
    assert old.state is not None
    assert old.state.due_on == D("1995-04-12")
    case = opened()
    with pytest.raises(InvalidCommandError, match="future") as late:
        case.record_action(
            action_id="a", action="mediation", taken_on=D("2026-11-24"), notes="x", today=TODAY
        )
    assert late.value.extensions["field"] == "taken_on"
    inspection = Inspection("i1")
    for inspected_on in (D("1989-06-01"), D("2026-11-24")):
        with pytest.raises(InvalidCommandError) as refused:
            inspection.record_inspection(
                agency_id="fed",
                employer_id="emp-1",
                employer_name="某公司",
                area_code="110101001",
                inspected_on=inspected_on,
                findings=[Finding(topic="equal_pay", compliant=False)],
                today=TODAY,
            )
        assert refused.value.extensions["field"] == "inspected_on"


def test_need_to_know_for_every_role() -> None:
    holders = CaseHolders("fed", "110101001001", "ann", frozenset())
    assert access_basis(holders, ANN, emergency=False) == "assigned_officer"
    assert access_basis(holders, SAM, emergency=False) == "supervisor"
    assert access_basis(holders, OTTO, emergency=False) is None
    assert access_basis(holders, CAT, emergency=False) is None
    assert access_basis(holders, NOBODY, emergency=True) is None
    # an emergency: any officer of the owning agency, only a supervisor of another one
    assert access_basis(holders, OTTO, emergency=True) == "emergency"
    assert access_basis(holders, CAT, emergency=True) is None
    boss = Viewer("aid", "boss", "supervisor")
    assert access_basis(holders, boss, emergency=False) is None
    assert access_basis(holders, boss, emergency=True) == "emergency"
    referred = CaseHolders("fed", "110101001001", "ann", frozenset({"aid"}))
    assert access_basis(referred, CAT, emergency=False) == "accepted_referral"
    # a supervisor of another agency is nobody here
    assert access_basis(holders, Viewer("street", "boss", "supervisor"), emergency=False) is None


def test_outside_her_jurisdiction_a_case_does_not_exist_even_for_its_officers() -> None:
    holders = CaseHolders("fed", "110101001001", "ann", frozenset({"aid"}))
    district, street, elsewhere = (
        Jurisdiction.of_area(code) for code in ("110101", "110101001", "110102")
    )
    for jurisdiction in (district, street, Jurisdiction.of_area("110000")):
        assert access_basis(holders, replace(ANN, jurisdiction=jurisdiction), emergency=False)
    far = [replace(v, jurisdiction=elsewhere) for v in (ANN, SAM, OTTO, CAT)]
    for viewer in far:
        assert access_basis(holders, viewer, emergency=False) is None
        assert access_basis(holders, viewer, emergency=True) is None
    inside = CaseHolders("fed", "110101002001", "ann", frozenset())
    assert access_basis(inside, replace(SAM, jurisdiction=street), emergency=True) is None


def test_a_case_is_referred_only_to_an_agency_covering_its_area() -> None:
    case = opened()  # in community 110101001001
    for area in ("110102", "110101002", "120000"):
        with pytest.raises(InvalidCommandError, match="does not cover"):
            case.refer(
                referral_id="r1",
                to_agency_id="aid",
                to_agency_area=area,
                reason="转介",
                referred_on=TODAY,
                today=TODAY,
            )
    with pytest.raises(InvalidCommandError, match="no agency"):
        case.refer(
            referral_id="r1",
            to_agency_id="ghost",
            to_agency_area=None,
            reason="转介",
            referred_on=TODAY,
            today=TODAY,
        )
    for area in ("110000", "110100", "110101", "110101001"):
        fresh = opened()
        fresh.refer(
            referral_id="r1",
            to_agency_id="aid",
            to_agency_area=area,
            reason="转介",
            referred_on=TODAY,
            today=TODAY,
        )
        assert fresh.pending


def test_a_referral_opens_the_case_to_the_agency_only_once_accepted() -> None:
    case = opened()
    case.refer(
        referral_id="r1",
        to_agency_id="aid",
        to_agency_area="110101",
        reason="法律援助",
        referred_on=TODAY,
        today=TODAY,
    )
    with pytest.raises(NotFoundError):
        case.check_access(CAT, HANDLERS | {"accepted_referral"})
    with pytest.raises(NotFoundError):
        case.answer_referral(
            referral_id="r1",
            by_agency_id="street",
            accepted=True,
            reason="x",
            answered_on=TODAY,
            today=TODAY,
        )
    case.answer_referral(
        referral_id="r1",
        by_agency_id="aid",
        accepted=True,
        reason="受理",
        answered_on=TODAY,
        today=TODAY,
    )
    assert case.check_access(CAT, HANDLERS | {"accepted_referral"}) == "accepted_referral"
    with pytest.raises(ForbiddenError):
        case.check_access(CAT, HANDLERS)
    with pytest.raises(RuleViolationError, match="already accepted"):
        case.answer_referral(
            referral_id="r1",
            by_agency_id="aid",
            accepted=False,
            reason="x",
            answered_on=TODAY,
            today=TODAY,
        )
    with pytest.raises(RuleViolationError, match="already referred"):
        case.refer(
            referral_id="r2",
            to_agency_id="aid",
            to_agency_area="110101",
            reason="again",
            referred_on=TODAY,
            today=TODAY,
        )
    with pytest.raises(InvalidCommandError):
        case.refer(
            referral_id="r3",
            to_agency_id="fed",
            to_agency_area="110101",
            reason="self",
            referred_on=TODAY,
            today=TODAY,
        )


def test_closing_counts_working_days_and_reopening_starts_a_new_time_limit() -> None:
    case = opened()
    with pytest.raises(ForbiddenError):
        case.check_access(ANN, SUPERVISORS)
    case.close(
        outcome="resolved",
        complainant_satisfied=False,
        closed_on=D("2026-10-09"),
        policy=POLICY,
        today=TODAY,
    )
    closed = case.pending[-1]
    assert isinstance(closed, CaseClosedV1)
    assert (closed.working_days_taken, closed.on_time) == (2, True)
    with pytest.raises(RuleViolationError, match="closed"):
        case.record_action(
            action_id="a", action="mediation", taken_on=TODAY, notes="x", today=TODAY
        )
    case.reopen(reason="未履行", reopened_on=TODAY, policy=POLICY, today=TODAY)
    assert case.state is not None
    assert (case.state.status, case.state.due_on) == ("in_progress", D("2027-01-04"))


def test_only_domestic_violence_ends_with_violence_stopped_and_escalation_is_once() -> None:
    case = opened()
    with pytest.raises(InvalidCommandError, match="domestic-violence"):
        case.close(
            outcome="violence_stopped",
            complainant_satisfied=True,
            closed_on=TODAY,
            policy=POLICY,
            today=TODAY,
        )
    assert case.escalate_if_overdue(policy=POLICY, today=TODAY)
    assert not case.escalate_if_overdue(policy=POLICY, today=TODAY)
    case.extend_deadline(
        extra_days=2, reason="补充材料", extended_on=TODAY, policy=POLICY, today=TODAY
    )
    assert case.state is not None
    assert case.state.due_on == D("2026-11-19")
    # still overdue after the extension: a new due date missed is escalated again
    assert case.escalate_if_overdue(policy=POLICY, today=TODAY)
    with pytest.raises(InvalidCommandError):
        case.extend_deadline(
            extra_days=31, reason="太久", extended_on=TODAY, policy=POLICY, today=TODAY
        )


def test_an_inspection_note_has_a_maximum_length() -> None:
    finding = {"topic": "equal_pay", "compliant": False}
    body = {
        "employer_id": "emp-1",
        "employer_name": "某公司",
        "area_code": "110101001",
        "inspected_on": "2026-11-20",
    }
    RecordInspection.model_validate(body | {"findings": [finding | {"note": "查" * 500}]})
    with pytest.raises(ValidationError) as refused:
        RecordInspection.model_validate(body | {"findings": [finding | {"note": "查" * 501}]})
    assert refused.value.errors()[0]["loc"] == ("findings", 0, "note")


def test_an_erased_complainant_is_unlinked_and_named_by_no_new_case() -> None:
    case = opened()
    case.record_action(action_id="a1", action="mediation", taken_on=TODAY, notes="x", today=TODAY)
    case.erase_complainant(stand_in="stand-in")
    erased = case.pending[-1]
    assert isinstance(erased, CaseComplainantErasedV1)
    assert (erased.complainant_id, erased.action_ids) == ("stand-in", ["a1"])
    case.erase_complainant(stand_in="stand-in")  # once only
    assert case.pending[-1] is erased
    case.record_action(action_id="a2", action="counselling", taken_on=TODAY, notes="y", today=TODAY)
    later = case.pending[-1]
    assert isinstance(later, CaseActionRecordedV1)
    assert later.complainant_id == "stand-in"

    complainant = RegisteredComplainant("w1")
    complainant.record_case("case-1")
    complainant.erase()
    complainant.erase()
    assert [e.event_type for e in complainant.pending] == [
        "ComplainantCaseOpened",
        "ComplainantErased",
    ]
    with pytest.raises(InvalidCommandError, match="erased"):
        complainant.record_case("case-2")
