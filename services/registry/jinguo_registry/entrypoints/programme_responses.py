"""What the reads of the programme's year return: the register, plans, reports and the sheet."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from jinguo_contracts.areas import AreaLevel, StationKind
from jinguo_contracts.periods import Figure
from jinguo_contracts.programme import (
    ActivityKind,
    AwardLevel,
    AwardTitle,
    InspectionResult,
    NomineeKind,
)
from jinguo_shared.http.conventions import ReadModel


class IndicatorDefinition(ReadModel):
    code: str
    name: str
    unit: Literal["people", "items", "events", "percent", "yuan", "hours"]
    source: Literal["registry", "employment", "orders", "rights"]
    counts: str = Field(description="the event, the condition and the date that counts")
    numerator: str | None
    denominator: str | None
    per: Literal["residents", "women", "households"] | None
    cumulative: bool


class AreaRecord(ReadModel):
    area_code: str
    name: str
    level: AreaLevel
    parent_code: str | None
    urban: bool


class StationRecord(ReadModel):
    station_id: str
    area_code: str
    kind: StationKind
    name: str
    agency_id: str | None
    opened_on: date


class PlanRecord(ReadModel):
    area_code: str
    year: int
    targets: dict[str, float]
    decision: Literal["submitted", "approved", "returned"]
    submitted_by: str
    submitted_on: date
    decided_by: str | None
    decided_on: date | None
    reason: str | None


class ReportStatus(ReadModel):
    area_code: str
    period: str
    decision: Literal["submitted", "accepted", "returned"]
    submitted_by: str
    submitted_on: date
    decided_by: str | None
    decided_on: date | None
    reason: str | None
    revision: int


class SheetArea(ReadModel):
    code: str
    name: str
    level: AreaLevel


class SheetIndicator(ReadModel):
    code: str
    name: str
    unit: str
    service: str
    value: Figure
    target: float | None
    progress: float | None = Field(description="percent of the year's target")
    as_reported: Figure = Field(description="in the report on file, null without one")
    difference: float | None = Field(description="as known now minus as reported")
    trend: list[Figure] = Field(description="one value per entry of `months`")


class SheetChild(ReadModel):
    code: str
    name: str
    level: AreaLevel
    values: dict[str, Figure]
    progress: dict[str, float | None]
    lagging: bool


class SheetReport(ReadModel):
    decision: Literal["submitted", "accepted", "returned"]
    submitted_on: date
    decided_on: date | None
    reason: str | None
    revision: int
    as_reported_on: date | None = Field(description="the day the figures shown were filed")


class Sheet(ReadModel):
    area: SheetArea
    period: str
    starts_on: date
    ends_on: date
    expected_progress: float = Field(
        description="percent of the year passed by the period's end (or today): an area whose"
        " progress on a target is below it lags"
    )
    months: list[str]
    indicators: list[SheetIndicator]
    children: list[SheetChild]
    lagging: list[str]
    report: SheetReport | None


class InspectionRecord(ReadModel):
    inspection_id: str
    area_code: str
    year: int
    inspected_on: date
    inspected_by: str
    scores: dict[str, int]
    findings: str
    result: InspectionResult
    rectified_on: date | None
    rectification: str | None


class AwardRecord(ReadModel):
    award_id: str
    area_code: str
    title: AwardTitle
    level: AwardLevel
    year: int
    nominee_kind: NomineeKind
    nominee_id: str
    nominee_name: str
    reason: str
    nominated_by: str
    nominated_on: date
    decision: Literal["nominated", "granted", "declined"]
    decided_by: str | None
    granted_on: date | None
    declined_reason: str | None


class ActivityRecord(ReadModel):
    activity_id: str
    kind: ActivityKind
    title: str
    held_on: date
    area_code: str
    organised_by: str
    participants: int
    referrals: int
    households_visited: int
    aid_yuan: int
    aid_in_kind: str | None
    results: str | None
