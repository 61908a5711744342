"""Her path (her dossier over time): one row per fact of hers in the registry, employment and
services-orders, on its business date, with a short summary that holds no personal data.

Each event type the path shows has one small line function in `LINES`: an event in, the line
it adds out (or None when the event is not about a worker). Showing a new event is one function
and one entry; the projection's subjects follow from the table. A deployment has read past
the new event's older facts: name the table anew (`worker_path_v2`) so that the service asks for
a replay, as `employment_month_counts_v2` does. Rights cases never reach it: the registry's
credentials cannot read RIGHTS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Column, Date, Index, String

from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    CertificateAwardedV1,
    FlexibleEmploymentRecordedV1,
    LoanAppliedV1,
    LoanApprovedV1,
    LoanCertifiedV1,
    LoanDisbursedV1,
    LoanFiledV1,
    LoanOpinionGivenV1,
    LoanRefusedV1,
    LoanRepaymentRecordedV1,
    PlacementEndedV1,
    PlacementFollowedUpV1,
    PlacementStartedV1,
    SubsidyAppliedV1,
    SubsidyApprovedV1,
    SubsidyPaidV1,
    SubsidyRejectedV1,
    TraineeEnrolledV1,
    TraineeWithdrewV1,
    TrainingCompletedV1,
    TrainingSubsidyGrantedV1,
)
from jinguo_contracts.orders import OrderRatedV1, ServiceCompletedV1
from jinguo_contracts.programme import AwardGrantedV1
from jinguo_contracts.registry import (
    CertificateIssuedV1,
    CertificateReviewedV1,
    CertificateRevokedV1,
    HomeVisitRecordedV1,
    ReemploymentSpellEndedV1,
    ReemploymentSpellStartedV1,
    UnemploymentBenefitEndedV1,
    UnemploymentBenefitGrantedV1,
    UnemploymentReregisteredV1,
    WorkerCategoryAssessedV1,
    WorkerErasedV1,
    WorkerReemployedV1,
    WorkerRegisteredV1,
)
from jinguo_shared.clock import PROGRAMME_ZONE, business_day
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch

SUMMARY_LENGTH = 300


@dataclass(frozen=True, slots=True)
class Line:
    """One fact on her path. `key` names the fact, so that the same fact published again (a
    redelivery, or a retried command with a new event id) stays one line; `area_code` is where
    it happened."""

    worker_id: str
    kind: str
    key: str
    summary: str
    area_code: str | None
    ref: str | None = None


LineOf = Callable[[Any], Line | None]


def _registered(e: WorkerRegisteredV1) -> Line:
    return Line(e.worker_id, "registered", "", f"registered (登记), {e.hukou} hukou", e.area_code)


def _category(e: WorkerCategoryAssessedV1) -> Line:
    return Line(
        e.worker_id,
        "category_assessed",
        f"{e.category}:{e.valid_until}",  # a renewal is a fact of its own
        f"assessed {e.category} (就业困难人员认定), valid until {e.valid_until}",
        e.area_code,
    )


def _certificate_issued(e: CertificateIssuedV1) -> Line:
    level = f" level {e.level}" if e.level else ""
    occupation = f" {e.occupation_code}" if e.occupation_code else ""
    return Line(
        e.worker_id,
        "certificate_issued",
        e.number,
        f"certificate issued: {e.kind}{occupation}{level}",
        e.area_code,
        e.number,
    )


def _certificate_revoked(e: CertificateRevokedV1) -> Line:
    return Line(
        e.worker_id,
        "certificate_revoked",
        e.number,
        f"certificate revoked: {e.kind}",
        e.area_code,
        e.number,
    )


def _home_visit(e: HomeVisitRecordedV1) -> Line:
    return Line(
        e.worker_id, "home_visit", e.visit_id, "home visit (入户走访)", e.area_code, e.visit_id
    )


def _reemployed(e: WorkerReemployedV1) -> Line:
    return Line(
        e.worker_id,
        "spell_started",
        e.placement_id,
        f"re-employed (再就业): placement at {e.employer_name}",
        e.area_code,
        e.placement_id,
    )


def _spell_started(e: ReemploymentSpellStartedV1) -> Line:
    """A business is shown by its trade, not its name: a 个体户 often bears hers."""
    if e.business is not None:
        where = f" in {e.business.trade}, {e.business.jobs_created} jobs created"
    else:
        where = f" at {e.employer_name}" if e.employer_name else ""
    return Line(
        e.worker_id,
        "spell_started",
        e.spell_id,
        f"re-employed (再就业): {e.kind}{where}",
        e.area_code,
        e.spell_id,
    )


def _spell_ended(e: ReemploymentSpellEndedV1) -> Line:
    return Line(
        e.worker_id,
        "spell_ended",
        e.spell_id,
        f"{e.kind} work ended (失业)",
        e.area_code,
        e.spell_id,
    )


def _reregistered(e: UnemploymentReregisteredV1) -> Line:
    return Line(
        e.worker_id,
        "unemployment_reregistered",
        e.after_spell_id or e.occurred_on.isoformat(),
        "registered as unemployed again (失业再登记)",
        e.area_code,
        e.after_spell_id,
    )


def _award(e: AwardGrantedV1) -> Line | None:
    if e.nominee_kind != "worker":
        return None
    return Line(
        e.nominee_id, "award_granted", e.award_id, f"awarded {e.title}", e.area_code, e.award_id
    )


def _enrolled(e: TraineeEnrolledV1) -> Line:
    kind = f" ({e.course_kind})" if e.course_kind else ""
    return Line(
        e.worker_id,
        "course_enrolled",
        e.course_id,
        f"enrolled in a course{kind}",
        e.area_code,
        e.course_id,
    )


def _withdrew(e: TraineeWithdrewV1) -> Line:
    return Line(
        e.worker_id, "course_withdrawn", e.course_id, "withdrew from a course", None, e.course_id
    )


def _completed(e: TrainingCompletedV1) -> Line:
    result = "passed" if e.passed else "did not pass"
    return Line(
        e.worker_id,
        "course_completed",
        e.course_id,
        f"completed {e.trade} training: {result}, score {e.score}",
        e.area_code,
        e.course_id,
    )


def _awarded(e: CertificateAwardedV1) -> Line:
    return Line(
        e.worker_id,
        "certificate_awarded",
        e.certificate_no,
        f"course awarded a {e.trade} certificate, {e.occupation_code} level {e.level}",
        e.area_code,
        e.course_id,
    )


def _training_subsidy(e: TrainingSubsidyGrantedV1) -> Line:
    return Line(
        e.worker_id,
        "training_subsidy",
        e.course_id,
        f"training subsidy of {e.amount} yuan",
        e.area_code,
        e.course_id,
    )


def _placed(e: PlacementStartedV1) -> Line:
    return Line(
        e.worker_id,
        "placement_started",
        e.placement_id,
        f"placed in a {e.kind} post, {e.hours_type}",
        e.area_code,
        e.placement_id,
    )


def _followed_up(e: PlacementFollowedUpV1) -> Line:
    still = "still employed" if e.still_employed else "no longer employed"
    return Line(
        e.worker_id,
        "placement_followed_up",
        f"{e.placement_id}:{e.month}",
        f"{e.month}-month follow-up: {still}",
        e.area_code,
        e.placement_id,
    )


def _placement_ended(e: PlacementEndedV1) -> Line:
    return Line(
        e.worker_id,
        "placement_ended",
        e.placement_id,
        f"placement ended: {e.reason}",
        e.area_code,
        e.placement_id,
    )


def _flexible(e: FlexibleEmploymentRecordedV1) -> Line:
    return Line(
        e.worker_id,
        "flexible_employment",
        e.order_id,
        f"flexible employment (灵活就业): {e.service_code}, {e.hours:g} h",
        e.area_code,
        e.order_id,
    )


def _delivered(e: ServiceCompletedV1) -> Line | None:
    if e.worker_id is None:
        return None
    return Line(
        e.worker_id,
        "service_delivered",
        e.order_id,
        f"delivered {e.service_code}, {e.hours:g} h",
        e.area_code,
        e.order_id,
    )


def _rated(e: OrderRatedV1) -> Line | None:
    if e.worker_id is None:
        return None
    return Line(
        e.worker_id,
        "service_rated",
        e.order_id,
        f"service rated {e.score}/5",
        e.area_code,
        e.order_id,
    )


def _benefit_granted(e: UnemploymentBenefitGrantedV1) -> Line:
    return Line(
        e.worker_id,
        "benefit_granted",
        e.benefit_id,
        f"unemployment benefit (领失业金) from {e.from_on} until {e.until}",
        e.area_code,
        e.benefit_id,
    )


def _benefit_ended(e: UnemploymentBenefitEndedV1) -> Line:
    return Line(
        e.worker_id,
        "benefit_ended",
        e.benefit_id,
        "unemployment benefit ended",
        e.area_code,
        e.benefit_id,
    )


def _certificate_reviewed(e: CertificateReviewedV1) -> Line:
    until = f" until {e.valid_until}" if e.valid_until else ""
    return Line(
        e.worker_id,
        "certificate_reviewed",
        f"{e.number}:{e.reviewed_on}",
        f"certificate reviewed (年审): {e.kind} {e.outcome}{until}",
        e.area_code,
        e.number,
    )


def _subsidy_applied(e: SubsidyAppliedV1) -> Line:
    return Line(
        e.worker_id,
        "subsidy_applied",
        e.subsidy_id,
        f"{e.kind} subsidy of {e.amount} yuan for {e.month} applied for, paid to the {e.payee}",
        e.area_code,
        e.subsidy_id,
    )


def _subsidy_approved(e: SubsidyApprovedV1) -> Line:
    return Line(
        e.worker_id,
        "subsidy_approved",
        e.subsidy_id,
        f"{e.kind} subsidy of {e.amount} yuan approved",
        e.area_code,
        e.subsidy_id,
    )


def _subsidy_paid(e: SubsidyPaidV1) -> Line:
    return Line(
        e.worker_id,
        "subsidy_paid",
        e.subsidy_id,
        f"{e.kind} subsidy of {e.amount} yuan paid",
        e.area_code,
        e.subsidy_id,
    )


def _loan_applied(e: LoanAppliedV1) -> Line:
    return Line(
        e.worker_id,
        "loan_applied",
        e.loan_id,
        f"small guaranteed loan (小额担保贷款) of {e.amount} yuan applied for, {e.trade}",
        e.area_code,
        e.loan_id,
    )


def _loan_step(kind: str, summary: str) -> LineOf:
    def line(e: Any) -> Line:
        return Line(e.worker_id, kind, e.loan_id, summary, e.area_code, e.loan_id)

    return line


def _loan_opinion(e: LoanOpinionGivenV1) -> Line:
    opinion = "favourable" if e.favourable else "unfavourable"
    return Line(
        e.worker_id,
        "loan_opinion",
        e.loan_id,
        f"the county federation's opinion on the loan: {opinion}",
        e.area_code,
        e.loan_id,
    )


def _loan_approved(e: LoanApprovedV1) -> Line:
    return Line(
        e.worker_id,
        "loan_approved",
        e.loan_id,
        f"loan approved by the bank: {e.amount} yuan over {e.term_months} months",
        e.area_code,
        e.loan_id,
    )


def _loan_refused(e: LoanRefusedV1) -> Line:
    """The reason is hers (sealed): the path says only at which step."""
    return Line(
        e.worker_id, "loan_refused", e.loan_id, f"loan refused at {e.step}", e.area_code, e.loan_id
    )


def _loan_disbursed(e: LoanDisbursedV1) -> Line:
    return Line(
        e.worker_id,
        "loan_disbursed",
        e.loan_id,
        f"loan of {e.amount} yuan paid out, {e.jobs_created} jobs",
        e.area_code,
        e.loan_id,
    )


def _loan_repaid(e: LoanRepaymentRecordedV1) -> Line:
    return Line(
        e.worker_id,
        "loan_repayment",
        f"{e.loan_id}:{e.repaid}",  # what she has repaid in all names the repayment
        f"loan repayment of {e.amount} yuan, {e.outstanding} yuan outstanding",
        e.area_code,
        e.loan_id,
    )


def _subsidy_rejected(e: SubsidyRejectedV1) -> Line:
    return Line(
        e.worker_id, "subsidy_rejected", e.subsidy_id, "subsidy rejected", e.area_code, e.subsidy_id
    )


LINES: dict[type[EventContract], LineOf] = {
    WorkerRegisteredV1: _registered,
    WorkerCategoryAssessedV1: _category,
    CertificateIssuedV1: _certificate_issued,
    CertificateRevokedV1: _certificate_revoked,
    HomeVisitRecordedV1: _home_visit,
    WorkerReemployedV1: _reemployed,
    ReemploymentSpellStartedV1: _spell_started,
    ReemploymentSpellEndedV1: _spell_ended,
    UnemploymentReregisteredV1: _reregistered,
    AwardGrantedV1: _award,
    TraineeEnrolledV1: _enrolled,
    TraineeWithdrewV1: _withdrew,
    TrainingCompletedV1: _completed,
    CertificateAwardedV1: _awarded,
    TrainingSubsidyGrantedV1: _training_subsidy,
    PlacementStartedV1: _placed,
    PlacementFollowedUpV1: _followed_up,
    PlacementEndedV1: _placement_ended,
    FlexibleEmploymentRecordedV1: _flexible,
    ServiceCompletedV1: _delivered,
    OrderRatedV1: _rated,
    UnemploymentBenefitGrantedV1: _benefit_granted,
    UnemploymentBenefitEndedV1: _benefit_ended,
    CertificateReviewedV1: _certificate_reviewed,
    SubsidyAppliedV1: _subsidy_applied,
    SubsidyApprovedV1: _subsidy_approved,
    SubsidyRejectedV1: _subsidy_rejected,
    SubsidyPaidV1: _subsidy_paid,
    LoanAppliedV1: _loan_applied,
    LoanCertifiedV1: _loan_step("loan_certified", "loan certified by the women's congress"),
    LoanFiledV1: _loan_step("loan_filed", "loan filed by the township federation"),
    LoanOpinionGivenV1: _loan_opinion,
    LoanApprovedV1: _loan_approved,
    LoanRefusedV1: _loan_refused,
    LoanDisbursedV1: _loan_disbursed,
    LoanRepaymentRecordedV1: _loan_repaid,
}
"""The events her path shows, each with its line. Another service's new event: add its line."""


def fact_day(event: EventContract, recorded: datetime) -> date:
    """The business date of the fact, in the programme's zone; for an event recorded before
    events carried one, the day the log recorded it."""
    value = event.business_date()
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=PROGRAMME_ZONE)
        return moment.astimezone(PROGRAMME_ZONE).date()
    return business_day(value, recorded)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def microseconds(moment: datetime) -> int:
    """A recording time as an integer, exactly, so that it orders and pages without floats."""
    return (moment - EPOCH) // MICROSECOND


def moment(microseconds: int) -> datetime:
    return EPOCH + microseconds * MICROSECOND


def _subject(contract: type[EventContract]) -> str:
    return f"{contract.service}.{contract.aggregate}.*.{contract.event_type}"


class WorkerPath(Projection):
    name = "worker_path"
    subjects = (*(_subject(c) for c in LINES), _subject(WorkerErasedV1))

    def define(self) -> None:
        self.lines = self.table(
            "worker_path",
            Column("worker_id", String(36), primary_key=True),
            Column("fact_id", String(200), primary_key=True),
            Column("happened_on", Date, nullable=False),
            Column("recorded_at_us", BigInteger, nullable=False),
            Column("service", String(20), nullable=False),
            Column("kind", String(40), nullable=False),
            Column("summary", String(SUMMARY_LENGTH), nullable=False),
            Column("area_code", String(12)),
            Column("ref", String(64)),
        )
        Index(
            f"ix_worker_path_order_g{self.generation}",
            self.lines.c.worker_id,
            self.lines.c.happened_on,
            self.lines.c.recorded_at_us,
            self.lines.c.fact_id,
        )

    @handles(*LINES)
    def _line(self, e: EventContract, at: RecordedEvent, b: ProjectionBatch) -> None:
        line = LINES[type(e)](e)
        if line is None:
            return
        b.upsert(
            self.lines,
            {
                "worker_id": line.worker_id,
                "fact_id": f"{e.service}:{e.event_type}:{line.key}",
                "happened_on": fact_day(e, at.envelope.time),
                "recorded_at_us": microseconds(at.envelope.time),
                "service": e.service,
                "kind": line.kind,
                "summary": line.summary[:SUMMARY_LENGTH],
                "area_code": line.area_code,
                "ref": line.ref,
            },
        )

    @handles(WorkerErasedV1)
    def _erased(self, e: WorkerErasedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        """Her path goes with her: its lines describe her, though none holds her name."""
        b.delete_all(self.lines, "worker_id", e.worker_id)
