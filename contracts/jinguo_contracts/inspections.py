"""Labour-inspection events (劳动保障监察), published by the rights service on `inspections.>`
(stream INSPECTIONS).

They live apart from the confidential case stream (RIGHTS) so that other services may read them:
employment suspends an employer on a violation and reinstates it once rectified.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from jinguo_contracts.base import CATALOGUE, EventContract

ViolationTopic = Literal[
    "labour_contract",
    "equal_pay",
    "protected_periods",
    "working_hours",
    "social_insurance",
]
"""合同, 同工同酬, 四期保护 (menstruation, pregnancy, childbirth, nursing), 工时, 社会保险."""


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: ViolationTopic
    compliant: bool
    note: str = Field(default="", description="what was checked; no personal data")


class _Inspection(EventContract):
    service: ClassVar[str] = "inspections"
    aggregate: ClassVar[str] = "inspection"
    inspection_id: str


class InspectionRecordedV1(_Inspection):
    """An employer was inspected (劳动保障监察), compliant or not."""

    event_type: ClassVar[str] = "InspectionRecorded"
    agency_id: str
    employer_id: str
    employer_name: str
    area_code: str
    inspected_on: date
    findings: list[Finding] = Field(min_length=1)


class EmployerViolationFoundV1(_Inspection):
    """An inspection found the employer in breach: employment suspends it and its open posts."""

    event_type: ClassVar[str] = "EmployerViolationFound"
    employer_id: str = Field(description="the employer's id in the employment service")
    violations: list[ViolationTopic] = Field(min_length=1)
    found_on: date


class ViolationRectifiedV1(_Inspection):
    """The employer put right what the inspection found: employment reinstates it."""

    event_type: ClassVar[str] = "ViolationRectified"
    employer_id: str
    rectified_on: date


CATALOGUE.register(InspectionRecordedV1, EmployerViolationFoundV1, ViolationRectifiedV1)
