"""The programme's year, published by the registry on `registry.>` (stream REGISTRY): each area's
annual plan with its targets, inspections of areas, commendations and activities. The register
of areas and stations is in `jinguo_contracts.areas` and the reports of a period, which close
it for every service, in `jinguo_contracts.periods`: every service learns both.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from jinguo_contracts.base import CATALOGUE, EventContract


class _Plan(EventContract):
    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "plan"
    plan_id: str = Field(description="<area_code>-<year>")
    area_code: str
    year: int


class PlanSubmittedV1(_Plan):
    """An area's annual plan (年初工作计划): a target per indicator, submitted by its agency."""

    event_type: ClassVar[str] = "PlanSubmitted"
    targets: dict[str, float]
    submitted_by: str = Field(description="the submitting agency")
    submitted_on: date


class PlanApprovedV1(_Plan):
    event_type: ClassVar[str] = "PlanApproved"
    decided_by: str = Field(description="the approving agency, at a level above the area")
    decided_on: date


class PlanReturnedV1(_Plan):
    event_type: ClassVar[str] = "PlanReturned"
    decided_by: str
    decided_on: date
    reason: str


AwardTitle = Literal[
    "civilised_post",
    "post_star",
    "model_womens_home",
    "excellent_worker",
    "model_family",
    "advanced_unit",
    "advanced_individual",
]
"""巾帼文明岗, 巾帼岗位明星, 示范妇女之家, 优秀服务员, 五好文明家庭, 先进单位, 先进个人."""
AwardLevel = Literal["district", "city", "province", "national"]
NomineeKind = Literal["worker", "post", "station", "area", "provider"]
ActivityKind = Literal[
    "job_fair", "guidance_meeting", "publicity", "caring_visit", "legal_education"
]
"""招聘会, 就业指导会, 宣传活动 (三八维权周…), 走访慰问, 法制宣传教育."""
InspectionResult = Literal["passed", "rectification_required", "failed"]


class _Inspection(EventContract):
    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "inspection"
    inspection_id: str
    area_code: str


class AreaInspectedV1(_Inspection):
    """Year-end inspection and acceptance (检查验收) of an area by an office above it: a score
    per indicator (0–100), the findings and the result."""

    event_type: ClassVar[str] = "AreaInspected"
    business_date_field: ClassVar[str] = "inspected_on"
    year: int
    inspected_on: date
    inspected_by: str = Field(description="the inspecting agency")
    scores: dict[str, int]
    findings: str
    result: InspectionResult


class RectificationAcceptedV1(_Inspection):
    """The area put right what the inspection found (整改), and the inspecting office accepts."""

    event_type: ClassVar[str] = "RectificationAccepted"
    business_date_field: ClassVar[str] = "accepted_on"
    accepted_on: date
    notes: str


class _Award(EventContract):
    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "award"
    award_id: str
    area_code: str


class AwardNominatedV1(_Award):
    """A nomination for a title (表彰): who or what, by which office, and why."""

    event_type: ClassVar[str] = "AwardNominated"
    business_date_field: ClassVar[str] = "nominated_on"
    title: AwardTitle
    level: AwardLevel
    year: int
    nominee_kind: NomineeKind
    nominee_id: str
    nominee_name: str
    reason: str
    nominated_by: str
    nominated_on: date


class AwardGrantedV1(_Award):
    event_type: ClassVar[str] = "AwardGranted"
    business_date_field: ClassVar[str] = "granted_on"
    title: AwardTitle
    nominee_kind: NomineeKind
    nominee_id: str
    granted_by: str
    granted_on: date


class AwardDeclinedV1(_Award):
    event_type: ClassVar[str] = "AwardDeclined"
    declined_by: str
    reason: str


class ActivityHeldV1(EventContract):
    """An activity the programme counts: a job fair with the referrals made there, a guidance
    meeting, a publicity campaign, caring visits (慰问) with the aid given."""

    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "activity"
    event_type: ClassVar[str] = "ActivityHeld"
    business_date_field: ClassVar[str] = "held_on"
    activity_id: str
    kind: ActivityKind
    title: str
    held_on: date
    area_code: str
    organised_by: str
    participants: int = Field(ge=0)
    referrals: int = Field(default=0, ge=0, description="job referrals made (推介就业)")
    households_visited: int = Field(default=0, ge=0)
    aid_yuan: int = Field(default=0, ge=0, description="cash aid given (慰问金), yuan")
    aid_in_kind: str | None = None
    results: str | None = None


CATALOGUE.register(
    PlanSubmittedV1,
    PlanApprovedV1,
    PlanReturnedV1,
    AreaInspectedV1,
    RectificationAcceptedV1,
    AwardNominatedV1,
    AwardGrantedV1,
    AwardDeclinedV1,
    ActivityHeldV1,
)
