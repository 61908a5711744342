"""Courses: seats, completion, certificates and a subsidy granted once per trainee."""

from __future__ import annotations

from datetime import date

import pytest

from jinguo_contracts.base import CATALOGUE, EventContract
from jinguo_contracts.employment import (
    BusinessPlan,
    CertificateAwardedV1,
    CourseKind,
    CourseScheduledV1,
    CourseScheduledV2,
    TraineeEnrolledV1,
    TraineeWithdrewV1,
    TrainingCompletedV1,
    TrainingSubsidyGrantedV1,
)
from jinguo_employment.domain.course import (
    Course,
    CourseFullError,
    SybAwardsNoCertificateError,
)
from jinguo_shared.domain import InvalidCommandError, NotFoundError, RuleViolationError

TODAY = date(2026, 9, 1)
LATER = date(2026, 12, 15)
"""The day facts of the course are recorded on, after they happened."""


def course(
    *events: EventContract, seats: int = 2, subsidy: int = 1200, kind: CourseKind = "vocational"
) -> Course:
    scheduled = CourseScheduledV2(
        course_id="c1",
        title="养老护理员（五级）培训班" if kind == "vocational" else "SYB 创业培训班",
        trade="养老护理" if kind == "vocational" else "创业",
        occupation_code="4-10-01-05" if kind == "vocational" else None,
        code_system="GB/T 6565-2015" if kind == "vocational" else None,
        provider="东城区职业技能培训学校",
        area_code="110101",
        seats=seats,
        starts_on=date(2026, 9, 1),
        ends_on=date(2026, 10, 31),
        subsidy_per_trainee=subsidy,
        kind=kind,
    )
    return Course.from_history("c1", [scheduled, *events], version=1 + len(events))


def enrolled(worker: str, taken: int = 1, on: date | None = None) -> TraineeEnrolledV1:
    return TraineeEnrolledV1(
        course_id="c1",
        worker_id=worker,
        seats_taken=taken,
        gender="female",
        area_code="110101001001",
        occurred_on=on,
    )


def completed(worker: str, passed: bool = True) -> TrainingCompletedV1:
    return TrainingCompletedV1(
        course_id="c1",
        worker_id=worker,
        passed=passed,
        score=88 if passed else 41,
        trade="养老护理",
        area_code="110101001001",
        gender="female",
        completed_on=date(2026, 10, 31),
    )


def test_enrolment_stops_at_the_seat_limit() -> None:
    c = course(enrolled("w1"), enrolled("w2", 2))
    with pytest.raises(CourseFullError):
        c.enrol(worker_id="w3", gender="female", area_code="110101001001", on=TODAY, today=TODAY)


def test_a_withdrawal_frees_a_seat_and_enrolling_twice_records_once() -> None:
    c = course(enrolled("w1"), enrolled("w2", 2))
    c.withdraw(worker_id="w2", reason="照顾老人", on=TODAY, today=TODAY)
    c.enrol(worker_id="w3", gender="female", area_code="110101001002", on=TODAY, today=TODAY)
    c.enrol(worker_id="w3", gender="female", area_code="110101001002", on=TODAY, today=TODAY)
    assert [type(e) for e in c.pending] == [TraineeWithdrewV1, TraineeEnrolledV1]
    enrolment = c.pending[1]
    assert isinstance(enrolment, TraineeEnrolledV1)
    assert enrolment.seats_taken == 2


def test_an_enrolment_is_dated_within_the_course_however_late_it_is_recorded() -> None:
    c = course()
    # recorded after the course ended (on 2026-10-31), dated the day she enrolled
    c.enrol(worker_id="w1", gender="female", area_code="110101", on=date(2026, 8, 25), today=LATER)
    c.enrol(worker_id="w2", gender="female", area_code="110101", on=date(2026, 10, 31), today=LATER)
    assert [e.occurred_on for e in c.pending if isinstance(e, TraineeEnrolledV1)] == [
        date(2026, 8, 25),
        date(2026, 10, 31),
    ]
    with pytest.raises(InvalidCommandError, match="after course c1 ended on 2026-10-31") as late:
        course().enrol(
            worker_id="w1", gender="female", area_code="110101", on=date(2026, 11, 1), today=LATER
        )
    assert late.value.extensions == {"field": "occurred_on"}
    # today's default: enrolling today in a course that ended is refused the same way
    with pytest.raises(InvalidCommandError):
        course().enrol(worker_id="w1", gender="female", area_code="110101", on=LATER, today=LATER)


def test_no_enrolment_or_withdrawal_dated_in_the_future() -> None:
    with pytest.raises(InvalidCommandError) as refused:
        course().enrol(
            worker_id="w1", gender="female", area_code="110101", on=date(2026, 9, 2), today=TODAY
        )
    assert refused.value.extensions == {"field": "occurred_on"}
    with pytest.raises(InvalidCommandError) as refused:
        course(enrolled("w1")).withdraw(
            worker_id="w1", reason="r", on=date(2026, 9, 2), today=TODAY
        )
    assert refused.value.extensions == {"field": "occurred_on"}


def test_no_result_certificate_or_subsidy_before_what_it_depends_on() -> None:
    c = course(enrolled("w1", on=date(2026, 9, 10)))
    with pytest.raises(InvalidCommandError, match="before 2026-09-10") as refused:
        c.complete(worker_id="w1", passed=True, score=90, on=date(2026, 9, 9), today=LATER)
    assert refused.value.extensions == {"field": "completed_on"}
    with pytest.raises(InvalidCommandError) as refused:
        c.withdraw(worker_id="w1", reason="r", on=date(2026, 9, 9), today=LATER)
    assert refused.value.extensions == {"field": "occurred_on"}
    c.complete(worker_id="w1", passed=True, score=90, on=date(2026, 10, 20), today=LATER)
    for award in (
        lambda on: c.award_certificate(
            worker_id="w1", certificate_no="C-1", level=5, on=on, today=LATER
        ),
        lambda on: c.grant_subsidy(worker_id="w1", on=on, today=LATER),
    ):
        with pytest.raises(InvalidCommandError, match="before 2026-10-20"):
            award(date(2026, 10, 19))
        award(date(2026, 10, 20))
    assert [type(e) for e in c.pending] == [
        TrainingCompletedV1,
        CertificateAwardedV1,
        TrainingSubsidyGrantedV1,
    ]


def test_only_those_who_passed_are_certified_and_only_once() -> None:
    c = course(enrolled("w1"), enrolled("w2", 2), completed("w1"), completed("w2", passed=False))
    c.award_certificate(
        worker_id="w1", certificate_no="C-1", level=5, on=date(2026, 11, 2), today=LATER
    )
    c.award_certificate(
        worker_id="w1", certificate_no="C-1", level=5, on=date(2026, 11, 2), today=LATER
    )
    with pytest.raises(RuleViolationError):
        c.award_certificate(
            worker_id="w2", certificate_no="C-2", level=5, on=date(2026, 11, 2), today=LATER
        )
    assert [type(e) for e in c.pending] == [CertificateAwardedV1]


def test_the_subsidy_is_granted_once_per_trainee_and_course() -> None:
    c = course(enrolled("w1"), completed("w1"))
    c.grant_subsidy(worker_id="w1", on=date(2026, 11, 5), today=LATER)
    c.grant_subsidy(worker_id="w1", on=date(2026, 11, 6), today=LATER)
    [granted] = c.pending
    assert isinstance(granted, TrainingSubsidyGrantedV1)
    assert granted.amount == 1200
    again = course(
        enrolled("w1"),
        completed("w1"),
        TrainingSubsidyGrantedV1(
            course_id="c1", worker_id="w1", amount=1200, area_code="1", granted_on=TODAY
        ),
    )
    again.grant_subsidy(worker_id="w1", on=date(2026, 12, 1), today=LATER)
    assert again.pending == []


def test_no_subsidy_for_a_failed_or_unknown_trainee() -> None:
    c = course(enrolled("w1"), completed("w1", passed=False))
    with pytest.raises(RuleViolationError):
        c.grant_subsidy(worker_id="w1", on=TODAY, today=LATER)
    with pytest.raises(NotFoundError):
        c.grant_subsidy(worker_id="nobody", on=TODAY, today=LATER)


def test_completion_is_recorded_once_and_cannot_flip() -> None:
    c = course(enrolled("w1"), completed("w1"))
    c.complete(worker_id="w1", passed=True, score=90, on=date(2026, 10, 31), today=LATER)
    assert c.pending == []
    with pytest.raises(RuleViolationError):
        c.complete(worker_id="w1", passed=False, score=20, on=date(2026, 10, 31), today=LATER)


def test_a_course_ends_after_it_starts() -> None:
    with pytest.raises(InvalidCommandError):
        Course("c2").schedule(
            title="t",
            trade="育婴",
            occupation_code="4-10-01-02",
            provider="p",
            area_code="110101",
            seats=10,
            starts_on=date(2026, 9, 1),
            ends_on=date(2026, 8, 1),
            subsidy_per_trainee=0,
            kind="vocational",
            on=TODAY,
            today=TODAY,
        )


def schedule(
    starts_on: date,
    ends_on: date,
    kind: CourseKind = "vocational",
    occupation_code: str | None = "4-10-01-06",
) -> Course:
    scheduled = Course("c3")
    scheduled.schedule(
        title="家政服务员培训班",
        trade="家政服务",
        occupation_code=occupation_code,
        provider="东城区职业技能培训学校",
        area_code="110101",
        seats=20,
        starts_on=starts_on,
        ends_on=ends_on,
        subsidy_per_trainee=1200,
        kind=kind,
        on=TODAY,
        today=TODAY,
    )
    return scheduled


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "field"),
    [
        (date(1989, 12, 31), date(2026, 10, 1), "starts_on"),
        (date(2026, 9, 1), date(2037, 1, 1), "ends_on"),
    ],
)
def test_a_course_is_planned_within_the_programme_years(
    starts_on: date, ends_on: date, field: str
) -> None:
    with pytest.raises(InvalidCommandError) as refused:
        schedule(starts_on, ends_on)
    assert refused.value.extensions == {"field": field}


def test_a_past_years_course_is_scheduled_after_the_fact() -> None:
    [scheduled] = schedule(date(2025, 3, 1), date(2025, 3, 28)).pending
    assert isinstance(scheduled, CourseScheduledV2)
    assert (scheduled.ends_on, scheduled.occurred_on) == (date(2025, 3, 28), TODAY)


def test_a_course_may_be_planned_up_to_the_end_of_the_tenth_year_ahead() -> None:
    [scheduled] = schedule(date(2036, 12, 1), date(2036, 12, 31)).pending
    assert isinstance(scheduled, CourseScheduledV2)


def test_completion_certificate_and_subsidy_happened_no_later_than_today() -> None:
    c = course(enrolled("w1"))
    # found: a course completion dated 2027-06-30 was accepted
    with pytest.raises(InvalidCommandError) as refused:
        c.complete(worker_id="w1", passed=True, score=90, on=date(2027, 6, 30), today=LATER)
    assert refused.value.extensions == {"field": "completed_on"}
    with pytest.raises(InvalidCommandError):
        c.complete(worker_id="w1", passed=True, score=90, on=date(1989, 1, 1), today=LATER)
    c.complete(worker_id="w1", passed=True, score=90, on=LATER, today=LATER)
    tomorrow = date(2026, 12, 16)
    with pytest.raises(InvalidCommandError) as refused:
        c.award_certificate(worker_id="w1", certificate_no="C-1", level=5, on=tomorrow, today=LATER)
    assert refused.value.extensions == {"field": "awarded_on"}
    with pytest.raises(InvalidCommandError) as refused:
        c.grant_subsidy(worker_id="w1", on=tomorrow, today=LATER)
    assert refused.value.extensions == {"field": "granted_on"}
    assert [type(e) for e in c.pending] == [TrainingCompletedV1]


def test_a_course_belongs_to_its_area_so_the_executor_guards_it() -> None:
    assert course().area_code == "110101"


# SYB: no occupation, no certificate, a business plan --------------------------------------------

PLAN = BusinessPlan(
    business="社区家政服务店", trade="居民服务业", jobs_planned=3, capital_yuan=50_000
)


def test_syb_is_scheduled_without_an_occupation_and_refused_with_one() -> None:
    [scheduled] = schedule(date(2026, 9, 1), date(2026, 9, 20), "syb", None).pending
    assert isinstance(scheduled, CourseScheduledV2)
    assert (scheduled.kind, scheduled.occupation_code, scheduled.code_system) == ("syb", None, None)
    with pytest.raises(InvalidCommandError, match="no occupation") as refused:
        schedule(date(2026, 9, 1), date(2026, 9, 20), "syb", "4-10-01-02")
    assert refused.value.extensions == {"field": "occupation_code"}


def test_a_vocational_course_needs_its_occupation() -> None:
    with pytest.raises(InvalidCommandError) as refused:
        schedule(date(2026, 9, 1), date(2026, 9, 20), "vocational", None)
    assert refused.value.extensions == {"field": "occupation_code"}


def test_syb_completes_with_a_business_plan_and_awards_no_certificate() -> None:
    c = course(enrolled("w1"), kind="syb")
    c.complete(
        worker_id="w1",
        passed=True,
        score=90,
        on=date(2026, 10, 31),
        today=LATER,
        business_plan=PLAN,
    )
    [done] = c.pending
    assert isinstance(done, TrainingCompletedV1)
    assert (done.course_kind, done.business_plan) == ("syb", PLAN)
    with pytest.raises(SybAwardsNoCertificateError):
        c.award_certificate(
            worker_id="w1", certificate_no="C-1", level=5, on=date(2026, 11, 2), today=LATER
        )
    c.grant_subsidy(worker_id="w1", on=date(2026, 11, 5), today=LATER)
    assert [type(e) for e in c.pending] == [TrainingCompletedV1, TrainingSubsidyGrantedV1]


def test_a_business_plan_does_not_complete_a_vocational_course() -> None:
    c = course(enrolled("w1"))
    with pytest.raises(InvalidCommandError) as refused:
        c.complete(
            worker_id="w1",
            passed=True,
            score=90,
            on=date(2026, 10, 31),
            today=LATER,
            business_plan=PLAN,
        )
    assert refused.value.extensions == {"field": "business_plan"}
    c.complete(worker_id="w1", passed=True, score=90, on=date(2026, 10, 31), today=LATER)
    [done] = c.pending
    assert isinstance(done, TrainingCompletedV1)
    assert (done.course_kind, done.business_plan) == ("vocational", None)


def test_an_old_syb_course_with_a_code_stays_readable_and_still_certifies_nobody() -> None:
    old = CourseScheduledV1(
        course_id="c1",
        title="SYB 创业培训班",
        trade="创业",
        occupation_code="4-10-01-02",
        code_system="GB/T 6565-2015",
        provider="东城区职业技能培训学校",
        area_code="110101",
        seats=30,
        starts_on=date(2026, 9, 1),
        ends_on=date(2026, 10, 31),
        subsidy_per_trainee=1000,
        kind="syb",
    )
    data = CATALOGUE.upcast("CourseScheduled", 1, old.model_dump(mode="json"))
    read = CATALOGUE.latest("CourseScheduled").model_validate(data)
    assert isinstance(read, CourseScheduledV2)
    assert (read.kind, read.occupation_code) == ("syb", "4-10-01-02")
    c = Course.from_history("c1", [read, enrolled("w1"), completed("w1")], version=3)
    with pytest.raises(SybAwardsNoCertificateError):
        c.award_certificate(
            worker_id="w1", certificate_no="C-1", level=5, on=date(2026, 11, 2), today=LATER
        )
