"""The lines of her path, event by event: no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    LoanRefusedV1,
    LoanRepaymentRecordedV1,
    SubsidyApprovedV1,
    TraineeEnrolledV1,
)
from jinguo_contracts.orders import OrderRatedV1, ServiceCompletedV1
from jinguo_contracts.programme import AwardGrantedV1
from jinguo_contracts.registry import (
    BusinessStarted,
    ReemploymentSpellStartedV1,
    WorkerCategoryAssessedV1,
)
from jinguo_registry.projections.path import LINES, WorkerPath, fact_day, microseconds, moment

RECORDED = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)  # already the 6th in Beijing
AREA = "430102001001"


def line(event: EventContract) -> tuple[str, str, str] | None:
    found = LINES[type(event)](event)
    return None if found is None else (found.worker_id, found.kind, found.summary)


def test_every_line_reads_its_own_subject_and_erasure_too() -> None:
    subjects = set(WorkerPath.subjects)
    assert "orders.order.*.ServiceCompleted" in subjects
    assert "employment.course.*.TrainingCompleted" in subjects
    assert "registry.award.*.AwardGranted" in subjects
    assert "registry.worker.*.WorkerErased" in subjects
    assert len(subjects) == len(LINES) + 1
    assert not any(s.startswith("rights.") for s in subjects)


def test_the_business_day_is_the_programmes() -> None:
    late_evening = datetime(2026, 5, 10, 23, 30, tzinfo=timezone(timedelta(hours=8)))
    started = late_evening - timedelta(hours=1)
    served = ServiceCompletedV1(
        order_id="o1",
        worker_id="w1",
        service_code="housekeeping",
        area_code=AREA,
        started_at=started,
        completed_at=late_evening + timedelta(hours=1),  # 00:30 on the 11th in Beijing
        price_tier="free",
    )
    assert fact_day(served, RECORDED) == date(2026, 5, 11)
    undated = TraineeEnrolledV1(
        course_id="c1", worker_id="w1", seats_taken=1, gender="female", area_code=AREA
    )
    assert fact_day(undated, RECORDED) == date(2026, 12, 6)


def test_a_business_is_shown_by_its_trade_not_its_name() -> None:
    started = ReemploymentSpellStartedV1(
        worker_id="w1",
        spell_id="s1",
        kind="self_employed",
        started_on=date(2026, 3, 1),
        area_code=AREA,
        gender="female",
        business=BusinessStarted(name="王秀英家政服务部", trade="家政", jobs_created=2),
    )
    assert line(started) == (
        "w1",
        "spell_started",
        "re-employed (再就业): self_employed in 家政, 2 jobs created",
    )


def test_what_is_not_about_a_worker_makes_no_line() -> None:
    by_provider = ServiceCompletedV1(
        order_id="o2",
        provider_id="p1",
        service_code="repairs",
        area_code=AREA,
        started_at=RECORDED,
        completed_at=RECORDED,
        price_tier="market",
    )
    assert line(by_provider) is None
    assert line(OrderRatedV1(order_id="o2", score=3, comment=None, provider_id="p1")) is None
    station = AwardGrantedV1(
        award_id="a1",
        area_code=AREA,
        title="model_womens_home",
        nominee_kind="station",
        nominee_id="st1",
        granted_by="x",
        granted_on=date(2026, 6, 1),
    )
    assert line(station) is None


def test_a_renewed_category_is_a_line_of_its_own_and_keeps_no_evidence() -> None:
    def assessed(until: date) -> EventContract:
        return WorkerCategoryAssessedV1(
            worker_id="w1",
            category="minimum_living_allowance",
            evidence="低保证编号 123",
            valid_until=until,
            area_code=AREA,
        )

    first = LINES[WorkerCategoryAssessedV1](assessed(date(2026, 12, 31)))
    renewed = LINES[WorkerCategoryAssessedV1](assessed(date(2027, 12, 31)))
    assert first is not None
    assert renewed is not None
    assert first.key != renewed.key
    assert "低保证" not in first.summary


def test_recording_times_order_exactly_to_the_microsecond() -> None:
    at = datetime(2026, 12, 5, 8, 0, 0, 123457, tzinfo=UTC)
    assert moment(microseconds(at)) == at
    assert microseconds(at + timedelta(microseconds=1)) == microseconds(at) + 1


def test_a_refused_loan_says_at_which_step_never_why() -> None:
    refused = LoanRefusedV1(
        loan_id="l1",
        worker_id="w1",
        area_code=AREA,
        step="opinion",
        reason="丈夫赌博欠债，家庭无力还款",
        refused_on=date(2026, 6, 1),
    )
    assert line(refused) == ("w1", "loan_refused", "loan refused at opinion")


def test_each_repayment_is_a_fact_of_its_own_and_the_same_one_again_is_not() -> None:
    def repaid(amount: int, total: int) -> LoanRepaymentRecordedV1:
        return LoanRepaymentRecordedV1(
            loan_id="l1",
            worker_id="w1",
            area_code=AREA,
            amount=amount,
            repaid=total,
            outstanding=30_000 - total,
            next_due_on=date(2026, 8, 1),
            paid_on=date(2026, 7, 1),
        )

    first, second = repaid(1_000, 1_000), repaid(1_000, 2_000)
    keys = {LINES[LoanRepaymentRecordedV1](e).key for e in (first, second, first)}  # type: ignore[union-attr]
    assert len(keys) == 2


def test_a_subsidy_is_hers_through_every_step() -> None:
    approved = SubsidyApprovedV1(
        subsidy_id="s1",
        worker_id="w1",
        fund_id="f1",
        kind="employment_assistance",
        amount=600,
        area_code=AREA,
        approved_on=date(2026, 6, 1),
    )
    assert line(approved) == (
        "w1",
        "subsidy_approved",
        "employment_assistance subsidy of 600 yuan approved",
    )
