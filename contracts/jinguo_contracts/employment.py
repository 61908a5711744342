"""Events published by the employment service on `employment.>` (stream EMPLOYMENT).

Aggregates: `employer`, `post` (岗位), `course` (培训班), `worker`, the employment record of
one registered worker (her placements, follow-ups and flexible employment), keyed by the
registry's worker id; `fund` (专项资金 and the like, with its budget and commitments),
`subsidy` (one claim for one person, kind and month, applied for, approved against a fund,
paid and reconciled) and `claim`, the key that lets one person, kind and month be claimed
once; and `loan` (小额担保贷款). People are ids here; the only personal data are a loan's
guarantor and the reasons a loan was refused, sealed with the borrower's key.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from jinguo_contracts.base import CATALOGUE, EventContract, OptionalPii, Pii
from jinguo_contracts.registry import HoursType

OCCURRED_ON = (
    "the business day the fact happened, in the programme's time zone (it may precede the day"
    " it was recorded: a past year entered after the fact); None only on events recorded before"
    " events carried it, whose business day is the day the log recorded them"
)

PostKind = Literal["public_welfare", "market"]
"""公益性岗位 (reserved first for the hard to employ) or an ordinary market post."""
CourseKind = Literal["vocational", "syb"]
"""A vocational class (职业技能培训) or SYB entrepreneurship training (创业培训)."""
WageUnit = Literal["month", "day", "hour"]
FollowUpMonth = Literal[3, 6, 12]
PlacementEndReason = Literal["resigned", "dismissed", "contract_ended", "post_closed", "other"]


class Wage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: int = Field(ge=0, description="yuan (元) per unit")
    unit: WageUnit


class Requirements(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    skills: list[str] = Field(default_factory=list)
    vocational_certificate: bool = Field(
        default=False, description="a vocational certificate in the post's occupation is required"
    )
    min_level: int | None = Field(default=None, ge=1, le=5, description="of that certificate")
    notes: str | None = None


class BusinessPlan(BaseModel):
    """What an SYB trainee plans to start: the course leads to this, never to a certificate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    business: str = Field(min_length=1, max_length=200, description="经营项目, e.g. 社区家政服务店")
    trade: str | None = Field(default=None, max_length=60, description="行业, e.g. 居民服务业")
    jobs_planned: int = Field(
        ge=0, le=100_000, description="jobs it plans to create, hers included"
    )
    capital_yuan: int | None = Field(
        default=None, ge=0, le=100_000_000, description="start-up capital needed"
    )


# employer ---------------------------------------------------------------------------------------


class _Employer(EventContract):
    service: ClassVar[str] = "employment"
    aggregate: ClassVar[str] = "employer"
    employer_id: str


class EmployerRegisteredV1(_Employer):
    event_type: ClassVar[str] = "EmployerRegistered"
    name: str
    credit_code: str = Field(description="18-character unified social credit code")
    area_code: str
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class EmployerSuspendedV1(_Employer):
    """The employer may publish no post and fill none; its open posts are suspended."""

    event_type: ClassVar[str] = "EmployerSuspended"
    reason: str
    inspection_id: str | None = Field(
        default=None, description="set when an inspection's violation caused the suspension"
    )
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class EmployerReinstatedV1(_Employer):
    event_type: ClassVar[str] = "EmployerReinstated"
    reason: str
    inspection_id: str | None = None
    still_suspended_by: list[str] = Field(
        default_factory=list,
        description="inspections whose violations are not rectified yet: while any remain,"
        " the employer stays suspended",
    )
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


# post ---------------------------------------------------------------------------------------------


class _Post(EventContract):
    service: ClassVar[str] = "employment"
    aggregate: ClassVar[str] = "post"
    post_id: str


class PostPublishedV1(_Post):
    event_type: ClassVar[str] = "PostPublished"
    business_date_field: ClassVar[str] = "published_on"
    employer_id: str
    employer_name: str
    title: str
    occupation_code: str = Field(description="GB/T 6565 code, e.g. 4-10-01-05")
    code_system: str
    area_code: str
    wage: Wage
    hours_type: HoursType
    openings: int = Field(ge=1)
    requirements: Requirements
    kind: PostKind
    published_on: date


class CandidateRecommendedV1(_Post):
    """A person recommended this worker for the post; the score explains why, never decides."""

    event_type: ClassVar[str] = "CandidateRecommended"
    worker_id: str
    score: float
    reasons: list[str]
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class ApplicationReceivedV1(_Post):
    event_type: ClassVar[str] = "ApplicationReceived"
    worker_id: str
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class PostFilledV1(_Post):
    """A person placed a worker in the post (就业安置). The registry records her re-employment."""

    event_type: ClassVar[str] = "PostFilled"
    business_date_field: ClassVar[str] = "start_date"
    worker_id: str
    placement_id: str
    start_date: date
    employer_id: str
    employer_name: str
    area_code: str
    occupation_code: str
    hours_type: HoursType
    kind: PostKind
    openings_left: int = Field(ge=0)
    override_reason: str | None = Field(
        default=None,
        description="why a worker outside the priority groups filled a public-welfare post"
        " while a priority candidate was waiting",
    )


class PostClosedV1(_Post):
    event_type: ClassVar[str] = "PostClosed"
    reason: str
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class PostSuspendedV1(_Post):
    event_type: ClassVar[str] = "PostSuspended"
    reason: str
    employer_suspended: bool = Field(
        default=False, description="suspended with its employer; reopened on reinstatement"
    )
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class PostReopenedV1(_Post):
    event_type: ClassVar[str] = "PostReopened"
    reason: str
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


# the worker's employment record -------------------------------------------------------------------


class _WorkerRecord(EventContract):
    service: ClassVar[str] = "employment"
    aggregate: ClassVar[str] = "worker"
    worker_id: str


class PlacementStartedV1(_WorkerRecord):
    """Recorded with PostFilled, in the same atomic append: the worker's side of a placement."""

    event_type: ClassVar[str] = "PlacementStarted"
    business_date_field: ClassVar[str] = "start_date"
    placement_id: str
    post_id: str
    employer_id: str
    area_code: str
    hours_type: HoursType
    kind: PostKind
    start_date: date


class PlacementFollowedUpV1(_WorkerRecord):
    """就业稳定性 follow-up at 3, 6 or 12 months."""

    event_type: ClassVar[str] = "PlacementFollowedUp"
    business_date_field: ClassVar[str] = "followed_up_on"
    placement_id: str
    month: FollowUpMonth
    still_employed: bool
    followed_up_on: date
    area_code: str
    start_date: date


class PlacementEndedV1(_WorkerRecord):
    event_type: ClassVar[str] = "PlacementEnded"
    business_date_field: ClassVar[str] = "ended_on"
    placement_id: str
    reason: PlacementEndReason
    ended_on: date
    hours_type: HoursType
    area_code: str
    notes: str | None = None


class FlexibleEmploymentRecordedV1(_WorkerRecord):
    """灵活就业: a community service the worker delivered (from services-orders)."""

    event_type: ClassVar[str] = "FlexibleEmploymentRecorded"
    business_date_field: ClassVar[str] = "completed_on"
    order_id: str
    service_code: str
    area_code: str
    completed_on: date
    hours: float = Field(ge=0)


# course -------------------------------------------------------------------------------------------


class _Course(EventContract):
    service: ClassVar[str] = "employment"
    aggregate: ClassVar[str] = "course"
    course_id: str


class CourseScheduledV1(_Course):
    event_type: ClassVar[str] = "CourseScheduled"
    title: str
    trade: str = Field(description="专业, e.g. 养老护理")
    occupation_code: str
    code_system: str
    provider: str
    area_code: str
    seats: int = Field(ge=1)
    starts_on: date
    ends_on: date
    subsidy_per_trainee: int = Field(ge=0, description="yuan (元)")
    kind: CourseKind
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)
    station_id: str | None = Field(
        default=None, description="the station of the register that took it, if one did"
    )


class CourseScheduledV2(_Course):
    """A vocational course trains for one occupation (its GB/T 6565 code); SYB trains for
    none and awards no occupational certificate, so it carries no code."""

    event_type: ClassVar[str] = "CourseScheduled"
    version: ClassVar[int] = 2
    title: str
    trade: str = Field(description="专业, e.g. 养老护理")
    occupation_code: str | None = Field(
        description="GB/T 6565 code of a vocational course; None for SYB (an SYB course"
        " scheduled under v1 still carries the code it was given, which nothing uses)"
    )
    code_system: str | None
    provider: str
    area_code: str
    seats: int = Field(ge=1)
    starts_on: date
    ends_on: date
    subsidy_per_trainee: int = Field(ge=0, description="yuan (元)")
    kind: CourseKind
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)
    station_id: str | None = Field(
        default=None, description="the station of the register that took it, if one did"
    )


class TraineeEnrolledV1(_Course):
    event_type: ClassVar[str] = "TraineeEnrolled"
    worker_id: str
    seats_taken: int
    gender: Literal["female", "male"]
    area_code: str = Field(description="the trainee's community, for the area reports")
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)
    course_kind: CourseKind | None = Field(
        default=None, description="absent on events recorded before it was carried"
    )


class TraineeWithdrewV1(_Course):
    event_type: ClassVar[str] = "TraineeWithdrew"
    worker_id: str
    reason: str
    seats_taken: int
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class TrainingCompletedV1(_Course):
    event_type: ClassVar[str] = "TrainingCompleted"
    business_date_field: ClassVar[str] = "completed_on"
    worker_id: str
    passed: bool
    score: int = Field(ge=0, le=100)
    trade: str
    area_code: str
    gender: Literal["female", "male"]
    completed_on: date
    course_kind: CourseKind | None = Field(
        default=None, description="absent on events recorded before it was carried"
    )
    business_plan: BusinessPlan | None = Field(
        default=None,
        description="SYB only: the business plan (创业计划书) she completed the course with;"
        " loans read it with the completion",
    )


class CertificateAwardedV1(_Course):
    event_type: ClassVar[str] = "CertificateAwarded"
    business_date_field: ClassVar[str] = "awarded_on"
    worker_id: str
    certificate_no: str
    occupation_code: str
    code_system: str
    level: int = Field(ge=1, le=5)
    trade: str
    area_code: str
    awarded_on: date


class TrainingSubsidyGrantedV1(_Course):
    event_type: ClassVar[str] = "TrainingSubsidyGranted"
    business_date_field: ClassVar[str] = "granted_on"
    worker_id: str
    amount: int = Field(ge=0, description="yuan (元)")
    area_code: str
    granted_on: date


# funds and subsidies ------------------------------------------------------------------------------

FundSource = Literal["central", "provincial", "city", "county", "lottery", "other"]
"""中央/省/市/县 专项资金, 彩票公益金, or another source."""
SubsidyKind = Literal["post", "social_insurance", "employment_assistance", "training"]
"""岗位补贴 (a filled public-welfare post, paid to the employer), 社保补贴 (the hard to employ in
public-welfare posts or flexible work), 就业援助补贴 (4050 women) and 职业培训补贴."""
SUBSIDY_KINDS: tuple[SubsidyKind, ...] = (
    "post",
    "social_insurance",
    "employment_assistance",
    "training",
)
Payee = Literal["employer", "person", "school"]
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class BudgetLine(BaseModel):
    """A fund's budget for one kind of subsidy: commitments of that kind never pass it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SubsidyKind
    amount: int = Field(ge=0, description="yuan (元)")


class _Fund(EventContract):
    service: ClassVar[str] = "employment"
    aggregate: ClassVar[str] = "fund"
    fund_id: str


class FundOpenedV1(_Fund):
    event_type: ClassVar[str] = "FundOpened"
    name: str
    source: FundSource
    year: int = Field(ge=2000, le=2999)
    area_code: str = Field(description="the area whose subsidies it pays (that area and below)")
    budget: int = Field(ge=0, description="yuan (元)")
    lines: list[BudgetLine] = Field(
        default_factory=list,
        description="per-kind budgets, if any; a kind without one is capped by the budget alone",
    )
    occurred_on: date = Field(description=OCCURRED_ON)


class FundBudgetAdjustedV1(_Fund):
    """A budget raised or cut (追加, 调减): never below what is already committed."""

    event_type: ClassVar[str] = "FundBudgetAdjusted"
    area_code: str
    budget: int = Field(ge=0, description="the new budget, yuan (元)")
    lines: list[BudgetLine]
    reason: str
    occurred_on: date = Field(description=OCCURRED_ON)


class FundCommittedV1(_Fund):
    """An approved subsidy's amount set aside from the fund (appended with SubsidyApproved)."""

    event_type: ClassVar[str] = "FundCommitted"
    subsidy_id: str
    kind: SubsidyKind
    amount: int = Field(ge=1, description="yuan (元)")
    area_code: str = Field(description="the subsidy's area")
    committed: int = Field(ge=0, description="the fund's commitments with this one, yuan")
    occurred_on: date = Field(description=OCCURRED_ON)


class _Subsidy(EventContract):
    service: ClassVar[str] = "employment"
    aggregate: ClassVar[str] = "subsidy"
    subsidy_id: str


class SubsidyAppliedV1(_Subsidy):
    """A claim for one person, kind and month (for training: the course she passed)."""

    event_type: ClassVar[str] = "SubsidyApplied"
    business_date_field: ClassVar[str] = "applied_on"
    kind: SubsidyKind
    worker_id: str
    month: str = Field(pattern=MONTH_PATTERN, description="the month the subsidy is for")
    amount: int = Field(ge=1, description="yuan (元)")
    area_code: str = Field(description="where the subsidy belongs: the post's or her community")
    fund_id: str
    payee: Payee
    payee_id: str | None = Field(
        default=None, description="the employer for a post subsidy; None when paid to her"
    )
    placement_id: str | None = None
    course_id: str | None = None
    applied_on: date


class SubsidyApprovedV1(_Subsidy):
    """Approved and committed against the fund (FundCommitted travels with it)."""

    event_type: ClassVar[str] = "SubsidyApproved"
    business_date_field: ClassVar[str] = "approved_on"
    worker_id: str = Field(description="the person it is for")
    fund_id: str
    kind: SubsidyKind
    amount: int = Field(ge=1, description="yuan (元)")
    area_code: str
    approved_on: date


class SubsidyRejectedV1(_Subsidy):
    """Refused; the person, kind and month may be claimed again."""

    event_type: ClassVar[str] = "SubsidyRejected"
    business_date_field: ClassVar[str] = "rejected_on"
    worker_id: str = Field(description="the person it is for")
    reason: str
    area_code: str
    rejected_on: date


class SubsidyPaidV1(_Subsidy):
    """The payment confirmed (拨付), with the reference of the transfer."""

    event_type: ClassVar[str] = "SubsidyPaid"
    business_date_field: ClassVar[str] = "paid_on"
    worker_id: str = Field(description="the person it is for")
    fund_id: str
    kind: SubsidyKind
    amount: int = Field(ge=1, description="yuan (元)")
    area_code: str
    payment_reference: str
    paid_on: date


class SubsidyReconciledV1(_Subsidy):
    """The payment matched against the bank or treasury statement (对账)."""

    event_type: ClassVar[str] = "SubsidyReconciled"
    business_date_field: ClassVar[str] = "reconciled_on"
    worker_id: str = Field(description="the person it is for")
    fund_id: str
    kind: SubsidyKind
    amount: int = Field(ge=1, description="yuan (元)")
    area_code: str
    statement_reference: str
    reconciled_on: date


class _Claim(EventContract):
    service: ClassVar[str] = "employment"
    aggregate: ClassVar[str] = "claim"
    claim_id: str = Field(description="derived from the person, the kind and the month")


class SubsidyClaimedV1(_Claim):
    """The person, kind and month are taken by this subsidy; a second claim is refused."""

    event_type: ClassVar[str] = "SubsidyClaimed"
    subsidy_id: str
    agency_id: str | None = Field(description="the agency that claimed")
    claimed_in: str = Field(description="the area of the subsidy that claimed")
    occurred_on: date = Field(description=OCCURRED_ON)


class SubsidyClaimReleasedV1(_Claim):
    """The subsidy holding the claim was rejected: the person, kind and month are free again."""

    event_type: ClassVar[str] = "SubsidyClaimReleased"
    subsidy_id: str
    occurred_on: date = Field(description=OCCURRED_ON)


# loan ---------------------------------------------------------------------------------------------

GuaranteeKind = Literal["guarantor", "collateral", "credit_community", "guarantee_fund"]
"""A person's guarantee (担保人), collateral (抵押), a credit community's joint guarantee (信用社区
联保) or the guarantee fund (担保基金) standing for her."""
LoanStep = Literal["certification", "filing", "opinion", "decision"]
"""The steps before the money: the village or community women's congress certifies (出证明), the
township or street federation files (报材料), the county federation gives its opinion (拿意见),
the bank decides."""


class Instalment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    due_on: date
    amount: int = Field(ge=0, description="yuan (元) of principal due that day")


class _Loan(EventContract):
    service: ClassVar[str] = "employment"
    aggregate: ClassVar[str] = "loan"
    pii_subject_field: ClassVar[str | None] = "worker_id"
    loan_id: str
    worker_id: str = Field(description="the borrower, a registered worker")
    area_code: str = Field(description="the borrower's community (12 digits)")


class LoanAppliedV1(_Loan):
    """Her application for a small guaranteed loan to start or grow a business."""

    event_type: ClassVar[str] = "LoanApplied"
    business_date_field: ClassVar[str] = "applied_on"
    gender: Literal["female", "male"]
    amount: int = Field(ge=1, description="yuan (元) asked for")
    term_months: int = Field(ge=1)
    purpose: str
    business_name: str
    trade: str
    licence_no: str | None = Field(default=None, description="business licence (营业执照), if any")
    jobs_created: int = Field(ge=0, description="jobs the business creates, hers included")
    guarantee: GuaranteeKind
    guarantor: OptionalPii = Field(
        default=None, description="who or what guarantees it (a person, the collateral)"
    )
    syb_course_id: str | None = Field(
        default=None, description="the SYB course (创业培训) she passed, when one was required"
    )
    applied_on: date


class LoanCertifiedV1(_Loan):
    """The village or community women's congress certifies her (村居妇代会出证明)."""

    event_type: ClassVar[str] = "LoanCertified"
    business_date_field: ClassVar[str] = "certified_on"
    certified_on: date


class LoanFiledV1(_Loan):
    """The township or street federation files her papers (乡镇妇联报材料)."""

    event_type: ClassVar[str] = "LoanFiled"
    business_date_field: ClassVar[str] = "filed_on"
    filed_on: date


class LoanOpinionGivenV1(_Loan):
    """The county federation's opinion (县级妇联拿意见); an unfavourable one ends the loan."""

    event_type: ClassVar[str] = "LoanOpinionGiven"
    business_date_field: ClassVar[str] = "given_on"
    favourable: bool
    reason: OptionalPii = None
    given_on: date


class LoanApprovedV1(_Loan):
    event_type: ClassVar[str] = "LoanApproved"
    business_date_field: ClassVar[str] = "decided_on"
    amount: int = Field(ge=1, description="yuan (元) approved")
    annual_rate_percent: float = Field(ge=0, le=100)
    term_months: int = Field(ge=1)
    decided_on: date


class LoanRefusedV1(_Loan):
    """Refused at a step before the money (the county's refusal is its unfavourable opinion):
    the loan ends, the reason kept."""

    event_type: ClassVar[str] = "LoanRefused"
    business_date_field: ClassVar[str] = "refused_on"
    step: LoanStep
    reason: Pii
    refused_on: date


class LoanDisbursedV1(_Loan):
    """The money paid out, with its repayment schedule: equal monthly instalments of principal
    (the interest of a guaranteed loan is subsidised, 财政贴息)."""

    event_type: ClassVar[str] = "LoanDisbursed"
    business_date_field: ClassVar[str] = "disbursed_on"
    amount: int = Field(ge=1, description="yuan (元)")
    gender: Literal["female", "male"]
    jobs_created: int = Field(ge=0)
    schedule: list[Instalment]
    disbursed_on: date


class LoanRepaymentRecordedV1(_Loan):
    event_type: ClassVar[str] = "LoanRepaymentRecorded"
    business_date_field: ClassVar[str] = "paid_on"
    amount: int = Field(ge=1, description="yuan (元)")
    repaid: int = Field(ge=0, description="yuan repaid in all, this payment included")
    outstanding: int = Field(ge=0, description="yuan still owed; 0: the loan is repaid")
    next_due_on: date | None = Field(
        description="the due day of the first instalment not yet covered: the loan is overdue"
        " once it has passed; None when repaid"
    )
    paid_on: date


CATALOGUE.register(
    EmployerRegisteredV1,
    EmployerSuspendedV1,
    EmployerReinstatedV1,
    PostPublishedV1,
    CandidateRecommendedV1,
    ApplicationReceivedV1,
    PostFilledV1,
    PostClosedV1,
    PostSuspendedV1,
    PostReopenedV1,
    PlacementStartedV1,
    PlacementFollowedUpV1,
    PlacementEndedV1,
    FlexibleEmploymentRecordedV1,
    CourseScheduledV1,
    CourseScheduledV2,
    TraineeEnrolledV1,
    TraineeWithdrewV1,
    TrainingCompletedV1,
    CertificateAwardedV1,
    TrainingSubsidyGrantedV1,
    FundOpenedV1,
    FundBudgetAdjustedV1,
    FundCommittedV1,
    SubsidyAppliedV1,
    SubsidyApprovedV1,
    SubsidyRejectedV1,
    SubsidyPaidV1,
    SubsidyReconciledV1,
    SubsidyClaimedV1,
    SubsidyClaimReleasedV1,
    LoanAppliedV1,
    LoanCertifiedV1,
    LoanFiledV1,
    LoanOpinionGivenV1,
    LoanApprovedV1,
    LoanRefusedV1,
    LoanDisbursedV1,
    LoanRepaymentRecordedV1,
)


@CATALOGUE.upcaster("CourseScheduled", 1)
def _course_scheduled_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 always carried a code: v2 only lets SYB go without."""
    return data
