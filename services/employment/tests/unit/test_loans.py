"""Small guaranteed loans: three levels of the federation, then the bank; a refusal at any step
ends the loan; the repayment schedule and what makes a loan overdue."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    Instalment,
    LoanAppliedV1,
    LoanApprovedV1,
    LoanCertifiedV1,
    LoanDisbursedV1,
    LoanFiledV1,
    LoanOpinionGivenV1,
    LoanRefusedV1,
    LoanRepaymentRecordedV1,
)
from jinguo_employment.domain.loan import (
    Loan,
    LoanOutOfOrderError,
    Office,
    SybTrainingRequiredError,
    WrongOfficeError,
    level_of,
    next_due,
    repayment_schedule,
)
from jinguo_shared.domain import AlreadyExistsError, InvalidCommandError

TODAY = date(2026, 9, 1)
D = date.fromisoformat
CONGRESS = Office("womens_federation", "community")
TOWNSHIP = Office("womens_federation", "street")
COUNTY = Office("womens_federation", "county")
CITY = Office("womens_federation", "city")
BANK = Office("bank", "county")
IDS = {"loan_id": "l1", "worker_id": "w1", "area_code": "110101001001"}


def applied(**changes: Any) -> LoanAppliedV1:
    fields: dict[str, Any] = {
        **IDS,
        "gender": "female",
        "amount": 50_000,
        "term_months": 24,
        "purpose": "开办家政服务店",
        "business_name": "巾帼家政服务店",
        "trade": "家政服务",
        "licence_no": None,
        "jobs_created": 5,
        "guarantee": "guarantor",
        "guarantor": "李秀兰",
        "syb_course_id": "c-syb",
        "applied_on": D("2026-03-02"),
    }
    return LoanAppliedV1(**(fields | changes))


def loan(*events: EventContract) -> Loan:
    history = [applied(), *events]
    return Loan.from_history("l1", history, version=len(history))


CERTIFIED = LoanCertifiedV1(**IDS, certified_on=D("2026-03-05"))
FILED = LoanFiledV1(**IDS, filed_on=D("2026-03-10"))
ENDORSED = LoanOpinionGivenV1(**IDS, favourable=True, given_on=D("2026-03-20"))
APPROVED = LoanApprovedV1(
    **IDS, amount=48_000, annual_rate_percent=4.35, term_months=12, decided_on=D("2026-04-01")
)
DISBURSED = LoanDisbursedV1(
    **IDS,
    amount=48_000,
    gender="female",
    jobs_created=5,
    schedule=repayment_schedule(48_000, 12, D("2026-04-10")),
    disbursed_on=D("2026-04-10"),
)


def application(new: Loan, **changes: Any) -> None:
    fields: dict[str, Any] = {
        "worker_id": "w1",
        "area_code": "110101001001",
        "gender": "female",
        "amount": 50_000,
        "term_months": 24,
        "purpose": "开办家政服务店",
        "business_name": "巾帼家政服务店",
        "trade": "家政服务",
        "licence_no": None,
        "jobs_created": 5,
        "guarantee": "credit_community",
        "guarantor": None,
        "syb_course_id": "c-syb",
        "syb_required": True,
        "on": D("2026-03-02"),
        "today": TODAY,
    }
    new.apply(**(fields | changes))


def test_each_level_of_the_federation_then_the_bank_takes_its_step() -> None:
    # given her application, when each office takes its step in turn
    subject = loan()
    subject.certify(office=CONGRESS, on=D("2026-03-05"), today=TODAY)
    subject.file(office=TOWNSHIP, on=D("2026-03-10"), today=TODAY)
    subject.give_opinion(
        office=COUNTY, favourable=True, reason=None, on=D("2026-03-20"), today=TODAY
    )
    subject.approve(
        office=BANK,
        amount=48_000,
        annual_rate_percent=4.35,
        term_months=12,
        on=D("2026-04-01"),
        today=TODAY,
    )
    subject.disburse(office=BANK, on=D("2026-04-10"), today=TODAY)
    # then the loan is paid out as approved, over twelve months
    assert [type(e) for e in subject.pending] == [
        LoanCertifiedV1,
        LoanFiledV1,
        LoanOpinionGivenV1,
        LoanApprovedV1,
        LoanDisbursedV1,
    ]
    disbursed = subject.pending[-1]
    assert isinstance(disbursed, LoanDisbursedV1)
    assert disbursed.amount == 48_000
    assert len(disbursed.schedule) == 12
    assert disbursed.schedule[0] == Instalment(due_on=D("2026-05-10"), amount=4_000)
    assert disbursed.jobs_created == 5


@pytest.mark.parametrize(
    ("events", "step", "office"),
    [
        ((), "certify", TOWNSHIP),
        ((), "certify", BANK),
        ((CERTIFIED,), "file", CONGRESS),
        ((CERTIFIED,), "file", COUNTY),
        ((CERTIFIED, FILED), "opinion", CITY),
        ((CERTIFIED, FILED), "opinion", TOWNSHIP),
        ((CERTIFIED, FILED, ENDORSED), "approve", COUNTY),
        ((CERTIFIED, FILED, ENDORSED, APPROVED), "disburse", COUNTY),
    ],
)
def test_a_step_is_only_for_its_office_at_its_level(
    events: tuple[EventContract, ...], step: str, office: Office
) -> None:
    subject = loan(*events)
    with pytest.raises(WrongOfficeError):
        take(subject, step, office)
    assert subject.pending == []


def take(subject: Loan, step: str, office: Office, on: date = D("2026-05-01")) -> None:
    match step:
        case "certify":
            subject.certify(office=office, on=on, today=TODAY)
        case "file":
            subject.file(office=office, on=on, today=TODAY)
        case "opinion":
            subject.give_opinion(office=office, favourable=True, reason=None, on=on, today=TODAY)
        case "approve":
            subject.approve(
                office=office,
                amount=10_000,
                annual_rate_percent=4.0,
                term_months=12,
                on=on,
                today=TODAY,
            )
        case "disburse":
            subject.disburse(office=office, on=on, today=TODAY)


@pytest.mark.parametrize(
    ("events", "step", "office"),
    [
        ((), "file", TOWNSHIP),
        ((), "opinion", COUNTY),
        ((CERTIFIED,), "approve", BANK),
        ((CERTIFIED, FILED), "disburse", BANK),
    ],
)
def test_a_step_skipped_is_a_conflict(
    events: tuple[EventContract, ...], step: str, office: Office
) -> None:
    subject = loan(*events)
    with pytest.raises(LoanOutOfOrderError):
        take(subject, step, office)


def test_a_step_repeated_changes_nothing() -> None:
    subject = loan(CERTIFIED, FILED)
    subject.certify(office=CONGRESS, on=D("2026-03-05"), today=TODAY)
    subject.file(office=TOWNSHIP, on=D("2026-03-10"), today=TODAY)
    assert subject.pending == []


@pytest.mark.parametrize(
    ("events", "office", "step"),
    [
        ((), CONGRESS, "certification"),
        ((CERTIFIED,), TOWNSHIP, "filing"),
        ((CERTIFIED, FILED, ENDORSED), BANK, "decision"),
    ],
)
def test_a_refusal_at_any_step_ends_the_loan_with_its_reason(
    events: tuple[EventContract, ...], office: Office, step: str
) -> None:
    subject = loan(*events)
    subject.refuse(office=office, reason="经营项目不符合扶持范围", on=D("2026-05-01"), today=TODAY)
    [refused] = subject.pending
    assert isinstance(refused, LoanRefusedV1)
    assert (refused.step, refused.reason) == (step, "经营项目不符合扶持范围")
    # and nothing after it may follow
    with pytest.raises(LoanOutOfOrderError):
        take(subject, "disburse", BANK, D("2026-05-02"))


def test_the_countys_unfavourable_opinion_ends_it() -> None:
    subject = loan(CERTIFIED, FILED)
    with pytest.raises(InvalidCommandError):
        subject.give_opinion(
            office=COUNTY, favourable=False, reason=None, on=D("2026-03-20"), today=TODAY
        )
    subject.refuse(office=COUNTY, reason="带动就业不足", on=D("2026-03-20"), today=TODAY)
    [opinion] = subject.pending
    assert isinstance(opinion, LoanOpinionGivenV1)
    assert not opinion.favourable
    assert subject.require_state().stage == "refused"
    with pytest.raises(LoanOutOfOrderError):
        take(subject, "approve", BANK, D("2026-04-01"))


def test_a_refusal_is_only_by_the_office_whose_step_it_is() -> None:
    subject = loan(CERTIFIED)
    with pytest.raises(WrongOfficeError):
        subject.refuse(office=CONGRESS, reason="no", on=D("2026-04-01"), today=TODAY)


def test_dates_are_past_and_in_order() -> None:
    subject = loan(CERTIFIED)
    with pytest.raises(InvalidCommandError) as future:
        subject.file(office=TOWNSHIP, on=D("2026-09-02"), today=TODAY)
    assert future.value.extensions == {"field": "filed_on"}
    with pytest.raises(InvalidCommandError) as early:
        subject.file(office=TOWNSHIP, on=D("2026-03-04"), today=TODAY)
    assert early.value.extensions == {"field": "filed_on"}


def test_without_syb_training_no_application_unless_the_setting_is_off() -> None:
    with pytest.raises(SybTrainingRequiredError):
        application(Loan("l2"), syb_course_id=None)
    allowed = Loan("l3")
    application(allowed, syb_course_id=None, syb_required=False)
    assert isinstance(allowed.pending[0], LoanAppliedV1)


def test_a_guarantor_is_named_and_an_application_made_once() -> None:
    with pytest.raises(InvalidCommandError) as unnamed:
        application(Loan("l2"), guarantee="guarantor", guarantor=None)
    assert unnamed.value.extensions == {"field": "guarantor"}
    with pytest.raises(AlreadyExistsError):
        application(loan())


def test_the_bank_approves_no_more_than_she_asked() -> None:
    subject = loan(CERTIFIED, FILED, ENDORSED)
    with pytest.raises(InvalidCommandError):
        subject.approve(
            office=BANK,
            amount=60_000,
            annual_rate_percent=4.35,
            term_months=12,
            on=D("2026-04-01"),
            today=TODAY,
        )


def test_the_schedule_adds_up_and_repayments_move_the_next_due_day() -> None:
    schedule = repayment_schedule(10_000, 3, D("2026-01-31"))
    assert schedule == [
        Instalment(due_on=D("2026-02-28"), amount=3_333),
        Instalment(due_on=D("2026-03-31"), amount=3_333),
        Instalment(due_on=D("2026-04-30"), amount=3_334),
    ]
    assert next_due(schedule, 0) == D("2026-02-28")
    assert next_due(schedule, 3_333) == D("2026-03-31")
    assert next_due(schedule, 5_000) == D("2026-03-31")
    assert next_due(schedule, 10_000) is None


def test_repayments_until_repaid() -> None:
    subject = loan(CERTIFIED, FILED, ENDORSED, APPROVED, DISBURSED)
    subject.record_repayment(office=BANK, amount=40_000, on=D("2026-08-10"), today=TODAY)
    with pytest.raises(InvalidCommandError) as too_much:
        subject.record_repayment(office=BANK, amount=9_000, on=D("2026-08-11"), today=TODAY)
    assert too_much.value.extensions == {"field": "amount"}
    subject.record_repayment(office=BANK, amount=8_000, on=D("2026-08-12"), today=TODAY)
    first, last = subject.pending
    assert isinstance(first, LoanRepaymentRecordedV1)
    assert isinstance(last, LoanRepaymentRecordedV1)
    assert (first.outstanding, first.next_due_on) == (8_000, D("2027-03-10"))
    assert (last.outstanding, last.next_due_on) == (0, None)
    assert subject.require_state().stage == "repaid"
    with pytest.raises(LoanOutOfOrderError):
        subject.record_repayment(office=BANK, amount=1, on=D("2026-08-13"), today=TODAY)


def test_repayments_only_by_the_bank_and_not_before_the_money() -> None:
    subject = loan(CERTIFIED, FILED, ENDORSED, APPROVED, DISBURSED)
    with pytest.raises(WrongOfficeError):
        subject.record_repayment(office=COUNTY, amount=100, on=D("2026-05-10"), today=TODAY)
    with pytest.raises(InvalidCommandError):
        subject.record_repayment(office=BANK, amount=100, on=D("2026-04-09"), today=TODAY)


def test_levels_follow_the_jurisdiction() -> None:
    assert [level_of(p) for p in ("110101001001", "110101001", "110101", "1101", "11", "")] == [
        "community",
        "street",
        "county",
        "city",
        "province",
        "country",
    ]
