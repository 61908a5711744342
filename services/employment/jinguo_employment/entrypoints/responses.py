"""What the employment service's reads return, field by field, as its projections hold them.
It keeps no personal data: people are the registry's ids, and a row about a worker the registry
erased keeps its facts with `worker_id` (and what staff wrote about her) null."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from jinguo_contracts.employment import (
    CourseKind,
    PlacementEndReason,
    PostKind,
    Requirements,
    WageUnit,
)
from jinguo_contracts.registry import Category, CertificateKind, HoursType
from jinguo_shared.http.conventions import ReadModel


class Employer(ReadModel):
    employer_id: str
    name: str
    credit_code: str = Field(description="18-character unified social credit code")
    area_code: str
    status: Literal["active", "suspended"]
    suspended_by: list[str] = Field(
        description="what suspends it: inspection ids, or 'manual' for a suspension by staff"
    )
    seq: int


class Candidate(ReadModel):
    post_id: str
    worker_id: str
    how: Literal["recommended", "applied", "placed"]
    score: float | None = Field(description="the matching score when recommended")
    reasons: list[str] | None = Field(description="why the score, when recommended")
    seq: int


class Post(ReadModel):
    post_id: str
    employer_id: str
    employer_name: str
    title: str
    occupation_code: str = Field(description="GB/T 6565 code, e.g. 4-10-01-05")
    area_code: str
    wage_amount: int = Field(description="yuan (元) per wage_unit")
    wage_unit: WageUnit
    hours_type: HoursType
    openings: int
    openings_left: int
    requirements: Requirements
    kind: PostKind
    status: Literal["open", "suspended", "closed"]
    published_on: date = Field(description="business date")
    seq: int


class PostWithCandidates(Post):
    candidates: list[Candidate] = Field(
        description="those living inside your jurisdiction, in the order they came"
    )


class Placement(ReadModel):
    placement_id: str
    worker_id: str | None = Field(description="null once the registry erased her")
    post_id: str
    employer_id: str
    employer_name: str
    area_code: str = Field(description="the post's community")
    occupation_code: str
    hours_type: HoursType
    kind: PostKind
    start_date: date
    override_reason: str | None = Field(
        description="why a worker outside the priority groups filled a public-welfare post"
    )
    status: Literal["active", "ended"]
    ended_on: date | None
    end_reason: PlacementEndReason | None
    due_3: date = Field(description="when the 3-month follow-up is due")
    due_6: date
    due_12: date
    followed_3: bool | None = Field(description="still employed at 3 months; null: not asked yet")
    followed_6: bool | None
    followed_12: bool | None
    seq: int


class FollowUpDue(ReadModel):
    month: Literal[3, 6, 12]
    due_on: date


class PlacementDue(Placement):
    due: list[FollowUpDue] = Field(description="the follow-ups due by the day asked, not recorded")


class Seeker(ReadModel):
    worker_id: str
    area_code: str
    gender: Literal["female", "male"]
    birth_date: date
    occupation_codes: list[str] = Field(description="GB/T 6565 codes of the work she wants")
    hours_types: list[HoursType]
    skills: list[str]
    registered_on: date = Field(description="business date of her registration")
    status: Literal["registered"]
    seq: int


class SeekerCategory(ReadModel):
    worker_id: str
    category: Category
    valid_until: date


class SeekerCertificate(ReadModel):
    worker_id: str
    number: str
    kind: CertificateKind
    occupation_code: str | None
    level: int | None = Field(description="1 (highest) to 5, vocational certificates only")
    active: bool = Field(description="false once revoked")


class FlexibleWork(ReadModel):
    """灵活就业: a community service she delivered (from services-orders)."""

    order_id: str
    worker_id: str
    service_code: str
    area_code: str
    completed_on: date
    hours: float


class SeekerFile(Seeker):
    categories: list[SeekerCategory] = Field(description="every assessment, expired ones too")
    certificates: list[SeekerCertificate]
    placements: list[Placement] = Field(description="in posts inside your jurisdiction")
    flexible_employment: list[FlexibleWork] = Field(
        description="delivered inside your jurisdiction"
    )


class Course(ReadModel):
    course_id: str
    title: str
    trade: str = Field(description="专业, e.g. 养老护理")
    occupation_code: str | None = Field(description="null for SYB, which trains for none")
    provider: str
    area_code: str
    seats: int
    seats_taken: int
    starts_on: date
    ends_on: date
    subsidy_per_trainee: int = Field(description="yuan (元)")
    kind: CourseKind
    seq: int


class Trainee(ReadModel):
    course_id: str
    worker_id: str | None = Field(description="null once the registry erased her")
    area_code: str | None = Field(description="her community; null once erased")
    status: Literal["enrolled", "withdrawn", "passed", "failed"]
    score: int | None = Field(description="0 to 100, once completed")
    certificate_no: str | None = Field(description="null until awarded, or once erased")
    certificate_level: int | None
    subsidy: int | None = Field(description="yuan (元) granted; null until granted")


class CourseWithTrainees(Course):
    trainees: list[Trainee] = Field(description="those living inside your jurisdiction")
