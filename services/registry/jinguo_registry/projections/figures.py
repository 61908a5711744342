"""The programme's counts per area and month, by business date, across the four services: what
the year-end sheet sums. Each count rolls up from the community to its street, district, city
and province; rates are computed from the counts when the sheet is read."""

from __future__ import annotations

import functools
from datetime import date

from sqlalchemy import JSON, BigInteger, Column, Integer, String

from jinguo_contracts.areas import area_ancestors
from jinguo_contracts.employment import (
    CertificateAwardedV1,
    CourseScheduledV2,
    PostFilledV1,
    PostPublishedV1,
    TraineeEnrolledV1,
    TrainingCompletedV1,
    TrainingSubsidyGrantedV1,
)
from jinguo_contracts.inspections import RightsFiguresPublishedV1
from jinguo_contracts.orders import ServiceCompletedV1, VolunteerHoursEarnedV1
from jinguo_contracts.programme import ActivityHeldV1, AreaInspectedV1, AwardGrantedV1
from jinguo_contracts.registry import (
    CertificateIssuedV1,
    CertificateReviewedV1,
    HomeVisitRecordedV1,
    ReemploymentSpellStartedV1,
    UnemploymentBenefitGrantedV1,
    UnemploymentReregisteredV1,
    VolunteerRegisteredV1,
    WorkerCategoryAssessedV1,
    WorkerReemployedV1,
    WorkerRegisteredV1,
    ZeroEmploymentHouseholdClearedV1,
    ZeroEmploymentHouseholdRecognisedV1,
)
from jinguo_registry.domain.indicators import BY_CODE
from jinguo_registry.domain.periods import month_of
from jinguo_shared.clock import PROGRAMME_ZONE, business_day
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch

rollup = functools.lru_cache(maxsize=65536)(area_ancestors)
ACTIVITY_COUNTS = {
    "job_fair": "job_fairs",
    "guidance_meeting": "guidance_meetings",
    "publicity": "publicity_campaigns",
    "legal_education": "publicity_campaigns",
}
SPELL_COUNTS = {
    "placement": "women_reemployed_placement",
    "found_herself": "women_reemployed_found_herself",
    "flexible": "women_reemployed_flexible",
    "self_employed": "women_self_employed",
    "business": "women_self_employed",
}
CERTIFICATE_COUNTS = {
    "tax_relief": "tax_relief_cards",
    "employment_unemployment": "unemployment_certificates",
    "reemployment_preference": "preference_certificates",
}


def recorded_day(at: RecordedEvent) -> date:
    return business_day(None, at.envelope.time)


def occurred(occurred_on: date | None, at: RecordedEvent) -> date:
    return business_day(occurred_on, at.envelope.time)


class ProgrammeFigures(Projection):
    name = "programme_figures"
    subjects = (
        "registry.worker.*.WorkerRegistered",
        "registry.worker.*.WorkerReemployed",
        "registry.worker.*.ReemploymentSpellStarted",
        "registry.worker.*.UnemploymentReregistered",
        "registry.worker.*.UnemploymentBenefitGranted",
        "registry.worker.*.WorkerCategoryAssessed",
        "registry.worker.*.CertificateIssued",
        "registry.worker.*.CertificateReviewed",
        "registry.worker.*.HomeVisitRecorded",
        "registry.volunteer.*.VolunteerRegistered",
        "registry.household.*.ZeroEmploymentHouseholdRecognised",
        "registry.household.*.ZeroEmploymentHouseholdCleared",
        "employment.post.*.PostPublished",
        "employment.post.*.PostFilled",
        "employment.course.*.CourseScheduled",
        "employment.course.*.TraineeEnrolled",
        "employment.course.*.TrainingCompleted",
        "employment.course.*.CertificateAwarded",
        "employment.course.*.TrainingSubsidyGranted",
        "orders.order.*.ServiceCompleted",
        "orders.timebank.*.VolunteerHoursEarned",
        "registry.activity.*.ActivityHeld",
        "registry.award.*.AwardGranted",
        "registry.inspection.*.AreaInspected",
        "inspections.figures.*.RightsFiguresPublished",
    )

    def define(self) -> None:
        self.counts = self.table(
            "programme_counts",
            Column("area_code", String(12), primary_key=True),
            Column("month", String(7), primary_key=True),
            Column("indicator", String(40), primary_key=True),
            Column("count", BigInteger, nullable=False, default=0),
        )
        self.rights = self.table(
            "programme_rights",
            Column("area_code", String(12), primary_key=True),
            Column("year", Integer, primary_key=True),
            Column("figures", JSON, nullable=False),
        )
        """The rights service's figures of an area-year as last published (they replace the
        earlier ones whole), small cells already protected there."""

    def _count(
        self, b: ProjectionBatch, area_code: str, day: date, indicator: str, amount: float = 1
    ) -> None:
        stored = round(amount * BY_CODE[indicator].scale)
        month = month_of(day)
        for area in rollup(area_code):
            b.increment(
                self.counts,
                {"area_code": area, "month": month, "indicator": indicator},
                {"count": stored},
            )

    # registry ----------------------------------------------------------------------------------

    @handles(WorkerRegisteredV1)
    def _registered(self, e: WorkerRegisteredV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        if e.gender == "female":
            self._count(
                b, e.area_code, business_day(e.occurred_on, at.envelope.time), "women_registered"
            )

    @handles(WorkerReemployedV1)
    def _reemployed(self, e: WorkerReemployedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        """Recorded before spells: a placement spell, so earlier reports stay as they were."""
        if e.gender == "female":
            self._count(b, e.area_code, e.started_on, "women_reemployed")
            self._count(b, e.area_code, e.started_on, "women_reemployed_placement")

    @handles(ReemploymentSpellStartedV1)
    def _spell(self, e: ReemploymentSpellStartedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        if e.business is not None and e.business.jobs_created:
            self._count(
                b, e.area_code, e.started_on, "business_jobs_created", e.business.jobs_created
            )
        if e.gender == "female":
            self._count(b, e.area_code, e.started_on, "women_reemployed")
            self._count(b, e.area_code, e.started_on, SPELL_COUNTS[e.kind])

    @handles(UnemploymentReregisteredV1)
    def _unemployed_again(
        self, e: UnemploymentReregisteredV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        self._count(b, e.area_code, e.occurred_on, "unemployed_again")

    @handles(UnemploymentBenefitGrantedV1)
    def _benefit(
        self, e: UnemploymentBenefitGrantedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        self._count(b, e.area_code, e.from_on, "benefit_recipients")

    @handles(WorkerCategoryAssessedV1)
    def _assessed(self, e: WorkerCategoryAssessedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(
            b, e.area_code, business_day(e.occurred_on, at.envelope.time), "hardship_assessed"
        )

    @handles(CertificateIssuedV1)
    def _certificate(self, e: CertificateIssuedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        indicator = CERTIFICATE_COUNTS.get(e.kind)
        if indicator is not None:
            self._count(b, e.area_code, e.issued_on, indicator)

    @handles(CertificateReviewedV1)
    def _review(self, e: CertificateReviewedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, e.reviewed_on, "certificates_reviewed")

    @handles(HomeVisitRecordedV1)
    def _visit(self, e: HomeVisitRecordedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        if e.area_code is not None:
            self._count(b, e.area_code, e.visited_on, "home_visits")

    @handles(VolunteerRegisteredV1)
    def _volunteer(self, e: VolunteerRegisteredV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(
            b, e.area_code, business_day(e.occurred_on, at.envelope.time), "volunteers_registered"
        )

    @handles(ZeroEmploymentHouseholdRecognisedV1)
    def _zero_employment(
        self, e: ZeroEmploymentHouseholdRecognisedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        self._count(b, e.area_code, e.recognised_on, "zero_employment_households")

    @handles(ZeroEmploymentHouseholdClearedV1)
    def _cleared(
        self, e: ZeroEmploymentHouseholdClearedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        self._count(b, e.area_code, e.cleared_on, "zero_employment_households_cleared")

    # employment --------------------------------------------------------------------------------

    @handles(PostPublishedV1)
    def _published(self, e: PostPublishedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, e.published_on, "job_information_items")
        self._count(b, e.area_code, e.published_on, "job_openings", e.openings)

    @handles(PostFilledV1)
    def _filled(self, e: PostFilledV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, e.start_date, "placements")
        if e.kind == "public_welfare":
            self._count(b, e.area_code, e.start_date, "public_welfare_placements")

    @handles(CourseScheduledV2)
    def _course(self, e: CourseScheduledV2, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, e.starts_on, "classes")

    @handles(TraineeEnrolledV1)
    def _enrolled(self, e: TraineeEnrolledV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        day = occurred(e.occurred_on, at)
        self._count(b, e.area_code, day, "trainees")
        if e.gender == "female":
            self._count(b, e.area_code, day, "women_trainees")
        if e.course_kind == "syb":
            self._count(b, e.area_code, day, "syb_trainees")

    @handles(TrainingCompletedV1)
    def _completed(self, e: TrainingCompletedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, e.completed_on, "trainees_completed")
        if e.passed:
            self._count(b, e.area_code, e.completed_on, "trainees_passed")

    @handles(CertificateAwardedV1)
    def _awarded(self, e: CertificateAwardedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, e.awarded_on, "vocational_certificates")

    @handles(TrainingSubsidyGrantedV1)
    def _subsidy(self, e: TrainingSubsidyGrantedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, e.granted_on, "training_subsidy_yuan", e.amount)

    # orders ------------------------------------------------------------------------------------

    @handles(ServiceCompletedV1)
    def _service(self, e: ServiceCompletedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        day = e.completed_at.astimezone(PROGRAMME_ZONE).date()
        self._count(b, e.area_code, day, "services_delivered")
        if e.price_tier == "free":
            self._count(b, e.area_code, day, "free_services")
        elif e.price_tier == "low_cost":
            self._count(b, e.area_code, day, "low_cost_services")
        self._count(b, e.area_code, day, "service_hours", e.hours)

    @handles(VolunteerHoursEarnedV1)
    def _hours(self, e: VolunteerHoursEarnedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, e.served_on, "volunteer_hours", e.hours)

    # the programme's own work ------------------------------------------------------------------

    @handles(ActivityHeldV1)
    def _activity(self, e: ActivityHeldV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        kind = ACTIVITY_COUNTS.get(e.kind)
        if kind is not None:
            self._count(b, e.area_code, e.held_on, kind)
        if e.referrals:
            self._count(b, e.area_code, e.held_on, "fair_referrals", e.referrals)
        if e.households_visited:
            self._count(b, e.area_code, e.held_on, "caring_visit_households", e.households_visited)
        if e.aid_yuan:
            self._count(b, e.area_code, e.held_on, "aid_yuan", e.aid_yuan)

    @handles(AwardGrantedV1)
    def _award(self, e: AwardGrantedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, e.granted_on, "awards_granted")

    @handles(AreaInspectedV1)
    def _inspection(self, e: AreaInspectedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, e.inspected_on, "areas_inspected")

    # rights: aggregates only, never a case -----------------------------------------------------

    @handles(RightsFiguresPublishedV1)
    def _rights(self, e: RightsFiguresPublishedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        if e.kind == "area" and e.area_code is not None:
            b.upsert(self.rights, {"area_code": e.area_code, "year": e.year, "figures": e.figures})
