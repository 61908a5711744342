"""The programme's year, published by the registry on `registry.>` (stream REGISTRY): the register
of areas and stations, and each area's annual plan with its targets. The reports of a period,
which close it for every service, are in `jinguo_contracts.periods`.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from jinguo_contracts.areas import AreaLevel
from jinguo_contracts.base import CATALOGUE, EventContract

StationKind = Literal[
    "womens_home",
    "labour_security_station",
    "job_agency",
    "rights_point",
    "legal_aid_point",
    "shelter",
    "training_base",
    "womens_congress",
]
"""妇女之家, 社区劳动保障站, 职业介绍所, 维权站点, 法律援助工作点, 家暴庇护所, 培训基地,
妇女代表大会."""


class _Area(EventContract):
    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "area"
    area_code: str


class AreaRegisteredV1(_Area):
    """An area enters the register: its name, level and (below a district) whether it is urban
    (社区, 街道) or rural (村, 乡镇)."""

    event_type: ClassVar[str] = "AreaRegistered"
    name: str
    level: AreaLevel
    parent_code: str | None
    urban: bool


class AreaRenamedV1(_Area):
    event_type: ClassVar[str] = "AreaRenamed"
    name: str
    urban: bool


class AreaPopulationRecordedV1(_Area):
    """The denominators of the area's rates for one year: households, residents, women."""

    event_type: ClassVar[str] = "AreaPopulationRecorded"
    year: int
    households: int = Field(ge=0)
    residents: int = Field(ge=0)
    women: int = Field(ge=0)


class StationRegisteredV1(EventContract):
    """A station or organisation with an area: a registration, a case or a course may name
    the station that took it."""

    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "station"
    event_type: ClassVar[str] = "StationRegistered"
    station_id: str
    area_code: str
    kind: StationKind
    name: str
    agency_id: str | None = None
    opened_on: date


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


CATALOGUE.register(
    AreaRegisteredV1,
    AreaRenamedV1,
    AreaPopulationRecordedV1,
    StationRegisteredV1,
    PlanSubmittedV1,
    PlanApprovedV1,
    PlanReturnedV1,
)
