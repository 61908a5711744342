"""Figures per area and month, rolled up from community to street, district, city, province,
each counted in the month of its business date (never the day it was recorded)."""

from __future__ import annotations

import functools
from datetime import date
from typing import Final

from sqlalchemy import Column, Integer, String

from jinguo_contracts.areas import area_ancestors
from jinguo_contracts.employment import (
    CertificateAwardedV1,
    CourseScheduledV2,
    FlexibleEmploymentRecordedV1,
    LoanAppliedV1,
    LoanDisbursedV1,
    LoanRepaymentRecordedV1,
    PlacementEndedV1,
    PlacementFollowedUpV1,
    PostFilledV1,
    PostPublishedV1,
    SubsidyApprovedV1,
    SubsidyPaidV1,
    TrainingCompletedV1,
    TrainingSubsidyGrantedV1,
)
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch

rollup = functools.lru_cache(maxsize=4096)(area_ancestors)
PUBLISHED = "`published_on`, the day the post was published"
STARTED = "`start_date`, the first day of the placement"
COHORT = "`start_date` of the placement: the retention of that month's cohort"
COMPLETED = "`completed_on`, the day the trainee completed the course"
APPROVED = "`approved_on`, the day the subsidy was approved (committed against its fund)"
PAID = "`paid_on`, the day its payment was confirmed"
DISBURSED = "`disbursed_on`, the day the bank paid the loan out"
INDICATORS: Final[dict[str, tuple[str, str]]] = {
    "posts_published": ("posts (岗位) published", PUBLISHED),
    "openings": ("openings offered by the posts published", PUBLISHED),
    "placements": ("placements (就业安置): workers placed in a post", STARTED),
    "placements:{kind}": (
        "placements in posts of one kind: public_welfare (公益性岗位), market",
        STARTED,
    ),
    "placements_overriding_priority": (
        "placements of a worker outside the priority groups in a public-welfare post while a"
        " priority candidate waited (with the reason given)",
        STARTED,
    ),
    "posts_filled": ("posts whose last opening was filled", STARTED),
    "followed_up_{months}m": ("placements followed up after 3, 6 or 12 months", COHORT),
    "retained_{months}m": ("of those followed up, workers still employed", COHORT),
    "placements_ended": ("placements ended", "`ended_on`, the last day of the placement"),
    "flexible_employment": (
        "community services a registered worker delivered through services-orders (灵活就业)",
        "`completed_on`, the day the service was completed",
    ),
    "classes_held": ("courses (培训班) scheduled", "`ends_on`, the course's last day"),
    "classes:{kind}": ("courses of one kind: vocational, syb", "`ends_on`, the course's last day"),
    "trained": ("trainees who completed a course", COMPLETED),
    "trained:{gender}": ("trainees who completed a course: female, male", COMPLETED),
    "trade:{trade}": (
        "trainees who completed a course of one trade (专业, e.g. 养老护理)",
        COMPLETED,
    ),
    "passed": ("trainees who completed a course and passed", COMPLETED),
    "certificates": ("vocational certificates awarded", "`awarded_on`, the award's date"),
    "certificates:{trade}": (
        "vocational certificates awarded in one trade",
        "`awarded_on`, the award's date",
    ),
    "subsidies_granted": ("training subsidies granted", "`granted_on`, the grant's date"),
    "subsidy_yuan": ("yuan (元) of training subsidies granted", "`granted_on`, the grant's date"),
    "subsidies_approved:{kind}": (
        "subsidies approved against a fund, of one kind: post (岗位补贴), social_insurance"
        " (社保补贴), employment_assistance (就业援助补贴), training (培训补贴)",
        APPROVED,
    ),
    "subsidy_yuan_approved:{kind}": ("yuan (元) of the subsidies approved, of one kind", APPROVED),
    "subsidies_paid:{kind}": ("subsidies whose payment was confirmed, of one kind", PAID),
    "subsidy_yuan_paid:{kind}": ("yuan (元) of the subsidies paid, of one kind", PAID),
    "loans_applied": (
        "small guaranteed loans (小额担保贷款) applied for",
        "`applied_on`, the day she applied",
    ),
    "loans_disbursed": ("small guaranteed loans paid out", DISBURSED),
    "loans_disbursed:{gender}": (
        "loans paid out to women (female) or men: the women supported (扶持妇女创业)",
        DISBURSED,
    ),
    "loan_yuan": ("yuan (元) of small guaranteed loans paid out", DISBURSED),
    "loan_jobs_created": ("jobs the businesses of the loans paid out create (带动就业)", DISBURSED),
    "loan_repaid_yuan": ("yuan (元) of loans repaid", "`paid_on`, the day of the repayment"),
}
"""Each key an area report counts (`{…}` stands for each value it takes): what it counts, and
the date that decides the month it is counted in. A year summary adds up a year's months."""


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class EmploymentReports(Projection):
    name = "employment_reports"
    subjects = (
        "employment.post.>",
        "employment.worker.>",
        "employment.course.>",
        "employment.subsidy.>",
        "employment.loan.>",
    )

    def define(self) -> None:
        self.counts = self.table(
            # v2: rows roll up to the 6-, 9- and 12-digit codes (430000, not 43); a database
            # holding the old rows lacks this table, so the service asks for a replay
            "employment_month_counts_v2",
            Column("area_code", String(12), primary_key=True),
            Column("month", String(7), primary_key=True),
            Column("metric", String(80), primary_key=True),
            Column("count", Integer, nullable=False, default=0),
        )

    def _add(self, b: ProjectionBatch, area: str, day: date, metric: str, amount: int = 1) -> None:
        month = month_of(day)
        for code in rollup(area):
            b.increment(
                self.counts,
                {"area_code": code, "month": month, "metric": metric},
                {"count": amount},
            )

    @handles(PostPublishedV1)
    def _published(self, e: PostPublishedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.published_on, "posts_published")
        self._add(b, e.area_code, e.published_on, "openings", e.openings)

    @handles(PostFilledV1)
    def _filled(self, e: PostFilledV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.start_date, "placements")
        self._add(b, e.area_code, e.start_date, f"placements:{e.kind}")
        if e.override_reason:
            self._add(b, e.area_code, e.start_date, "placements_overriding_priority")
        if e.openings_left == 0:
            self._add(b, e.area_code, e.start_date, "posts_filled")

    @handles(PlacementFollowedUpV1)
    def _followed(self, e: PlacementFollowedUpV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        # counted in the month the placement started: the retention of that month's cohort
        self._add(b, e.area_code, e.start_date, f"followed_up_{e.month}m")
        if e.still_employed:
            self._add(b, e.area_code, e.start_date, f"retained_{e.month}m")

    @handles(PlacementEndedV1)
    def _ended(self, e: PlacementEndedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.ended_on, "placements_ended")

    @handles(FlexibleEmploymentRecordedV1)
    def _flexible(
        self, e: FlexibleEmploymentRecordedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        self._add(b, e.area_code, e.completed_on, "flexible_employment")

    @handles(CourseScheduledV2)
    def _course(self, e: CourseScheduledV2, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.ends_on, "classes_held")
        self._add(b, e.area_code, e.ends_on, f"classes:{e.kind}")

    @handles(TrainingCompletedV1)
    def _trained(self, e: TrainingCompletedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.completed_on, "trained")
        self._add(b, e.area_code, e.completed_on, f"trained:{e.gender}")
        self._add(b, e.area_code, e.completed_on, f"trade:{e.trade}")
        if e.passed:
            self._add(b, e.area_code, e.completed_on, "passed")

    @handles(CertificateAwardedV1)
    def _certified(self, e: CertificateAwardedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.awarded_on, "certificates")
        self._add(b, e.area_code, e.awarded_on, f"certificates:{e.trade}")

    @handles(TrainingSubsidyGrantedV1)
    def _subsidy(self, e: TrainingSubsidyGrantedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.granted_on, "subsidies_granted")
        self._add(b, e.area_code, e.granted_on, "subsidy_yuan", e.amount)

    @handles(SubsidyApprovedV1)
    def _approved(self, e: SubsidyApprovedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.approved_on, f"subsidies_approved:{e.kind}")
        self._add(b, e.area_code, e.approved_on, f"subsidy_yuan_approved:{e.kind}", e.amount)

    @handles(SubsidyPaidV1)
    def _paid(self, e: SubsidyPaidV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.paid_on, f"subsidies_paid:{e.kind}")
        self._add(b, e.area_code, e.paid_on, f"subsidy_yuan_paid:{e.kind}", e.amount)

    @handles(LoanAppliedV1)
    def _loan_applied(self, e: LoanAppliedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.applied_on, "loans_applied")

    @handles(LoanDisbursedV1)
    def _loan_disbursed(self, e: LoanDisbursedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.disbursed_on, "loans_disbursed")
        self._add(b, e.area_code, e.disbursed_on, f"loans_disbursed:{e.gender}")
        self._add(b, e.area_code, e.disbursed_on, "loan_yuan", e.amount)
        self._add(b, e.area_code, e.disbursed_on, "loan_jobs_created", e.jobs_created)

    @handles(LoanRepaymentRecordedV1)
    def _loan_repaid(
        self, e: LoanRepaymentRecordedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        self._add(b, e.area_code, e.paid_on, "loan_repaid_yuan", e.amount)
