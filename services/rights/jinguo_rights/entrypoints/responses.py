"""What the rights service's reads return, field by field. A case's personal fields are unsealed
for the officer whose read was just recorded, and null once the complainant is erased. Dates
are business dates; time limits count working days."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from jinguo_contracts.inspections import Finding, ViolationTopic
from jinguo_contracts.rights import (
    AccessBasis,
    ActionKind,
    CaseCategory,
    Channel,
    OfficerRole,
    Outcome,
    RespondentKind,
    Urgency,
)
from jinguo_shared.http.conventions import ReadModel

ReferralStatus = Literal["pending", "accepted", "rejected"]


class Officer(ReadModel):
    officer_id: str
    role: OfficerRole


class Deadline(ReadModel):
    due_on: date
    working_days_left: int | None = Field(description="null once the case is closed")
    overdue_days: int = Field(description="working days past due_on; 0 once closed")
    escalated_on: date | None = Field(description="when it was escalated (督办), if it was")
    years_without_holidays: list[int] = Field(
        description="years of the case whose public holidays are unknown: weekends alone count"
    )


class Access(ReadModel):
    basis: AccessBasis = Field(description="why you may see the case")
    recorded_at: str = Field(description="the position of the CaseViewed that recorded this read")


class Case(ReadModel):
    case_id: str
    agency_id: str = Field(description="the agency that took the case in and owns it")
    area_code: str
    channel: Channel
    category: CaseCategory
    urgency: Urgency
    complainant_id: str
    complainant_worker_id: str | None = Field(description="her registry worker id, if registered")
    complainant_name: str | None
    complainant_phone: str | None
    respondent_kind: RespondentKind
    respondent_name: str | None
    respondent_employer_id: str | None
    summary: str | None
    status: Literal["open", "in_progress", "closed"]
    officer_id: str | None = Field(description="the assigned officer")
    opened_on: date
    time_limit_days: int = Field(description="working days allowed, by channel and category")
    due_on: date
    closed_on: date | None
    outcome: Outcome | None
    complainant_satisfied: bool | None = Field(description="null when she was not asked")
    working_days_taken: int | None
    on_time: bool | None
    deadline: Deadline
    access: Access


class Action(ReadModel):
    case_id: str
    action_id: str
    action: ActionKind
    taken_on: date
    notes: str | None


class Referral(ReadModel):
    referral_id: str
    case_id: str
    from_agency_id: str
    to_agency_id: str
    reason: str
    referred_on: date
    status: ReferralStatus
    answer_reason: str | None
    answered_on: date | None
    seq: int


class CaseCounts(ReadModel):
    actions: int
    extensions: int
    escalations: int
    reopenings: int


class CaseFile(Case):
    actions: list[Action] = Field(description="in the order they were recorded")
    referrals: list[Referral]
    counts: CaseCounts


class ReferralToYou(ReadModel):
    """A referral as the receiving agency sees it before accepting: not the case."""

    referral_id: str
    case_id: str
    from_agency_id: str
    reason: str
    referred_on: date
    status: ReferralStatus
    answered_on: date | None


class CaseRead(ReadModel):
    seq: int
    case_id: str
    case_agency_id: str
    viewer_agency_id: str
    officer_id: str
    basis: AccessBasis
    purpose: str = Field(description="why the case was read (查阅事由)")
    viewed_at: datetime
    emergency: bool = Field(description="a break-glass read")


class Inspection(ReadModel):
    inspection_id: str
    agency_id: str
    employer_id: str = Field(description="the employer's id in the employment service")
    employer_name: str
    area_code: str
    inspected_on: date
    findings: list[Finding]
    violations: list[ViolationTopic]
    status: Literal["compliant", "violation", "rectified"]
    rectified_on: date | None
    seq: int


Figure = int | Literal["<5", "withheld"]
"""A count, or in figures shared across agencies what is shown instead of it."""
Rate = float | Literal["withheld"] | None
"""Worked out from counts, to one decimal: "withheld" when one of them is, null when there is
nothing to divide by."""


class RightsReport(ReadModel):
    agency_id: str | None = Field(description="your agency for exact figures; null: shared")
    area: str | None = Field(description="the area the figures cover; null: everywhere")
    opened_from: date | None = Field(alias="from", description="cases opened from this day")
    opened_to: date | None = Field(alias="to", description="cases opened up to this day")
    cases: Figure
    by_channel: dict[Channel, Figure]
    by_category: dict[CaseCategory, Figure]
    closed: Figure
    closure_rate: Rate = Field(description="办结率, % of the cases")
    closed_on_time: Figure
    average_working_days_to_close: Rate = Field(description="working days, not a percentage")
    open: Figure
    overdue: Figure
    escalated: Figure
    satisfaction_asked: Figure
    satisfied: Figure
    satisfaction_rate: Rate = Field(description="% of those asked")
    domestic_violence_stopped: Figure
    legal_aid_cases: Figure
    inspections: int = Field(description="inspections made in the period (always exact)")
    violations_found: int
    violations_by_topic: dict[ViolationTopic, int]
    violations_rectified: int
    summary: str = Field(description="one line as the seeds report it")
    years_without_holidays: list[int]
    small_counts: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="in shared figures only: how small counts are hidden",
    )
