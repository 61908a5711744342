"""Events the rights service publishes on `inspections.>` (stream INSPECTIONS) for other
services to read: labour inspections (劳动保障监察), and the rights figures.

They live apart from the confidential case stream (RIGHTS) so that other services may read them:
employment suspends an employer on a violation and reinstates it once rectified; the registry's
year-end sheet takes the rights figures (`RightsFiguresPublished`), in which no case appears.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from jinguo_contracts.areas import AreaLevel
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


FIGURE_INDICATORS: Final[dict[str, str]] = {
    "cases_opened": "cases taken in (受理), on the day they were taken in (`opened_on`)",
    "opened_domestic_violence": "of those, domestic-violence cases (家庭暴力)",
    "opened_via_hotline_12338": "of those, taken in through the 12338 hotline",
    "opened_and_closed": (
        "cases taken in during the period that are closed now: 办结率 is this over cases_opened"
    ),
    "cases_closed": "cases closed (办结), on the day they were closed (`closed_on`)",
    "closed_on_time": (
        "cases closed within their time limit in working days, counted from the day they were"
        " taken in, on the day they were closed: 按时办结率 is this over cases_closed"
    ),
    "domestic_violence_stopped": "cases closed with the violence stopped, on the day closed",
    "mediated": "cases closed by mediation (调解), on the day closed",
    "satisfaction_asked": (
        "closed cases whose complainant said if she was satisfied, on the day closed"
    ),
    "satisfied": "of those, complainants satisfied: 满意率 is this over satisfaction_asked",
    "legal_aid_cases": (
        "cases given legal aid (法律援助), on the day of their first legal-aid action"
    ),
}
"""Each indicator of `RightsFiguresPublished`: what it counts, and on which business date."""

PERIODS_NOTE = (
    "each month `2026-03`, quarter `2026Q1`, half `2026H1`, and the year `2026`, by the business"
    " date of each indicator"
)

FigureCell = Annotated[int, Field(ge=0)] | Literal["<5", "withheld"]
"""A count of cases, or what is published instead: "<5" for 1 to 4, "withheld" for a count of 5
or more from which, with the other cells of the same event, a count of 1 to 4 could be worked out
(by adding and subtracting along periods and indicators)."""


class RightsFiguresPublishedV1(EventContract):
    """The rights figures of one area (or agency) for one year, as they stand now.

    Published whenever a case event changes them, and only then; each event replaces the figures
    of its aggregate (`<area_code>-<year>`, or `agency-<agency_id>-<year>`) whole. No case, no
    person and no count of 1 to 4 can be read from it: a cell holds 0 or a count of 5 or more, or
    "<5" for 1 to 4 (small cells identify people), or "withheld" where other cells of this event
    would let someone work a small count out. A rate is published as its numerator and
    denominator cells, both protected, never as a percentage. Cases are counted by business date
    (the day a thing happened, in the programme's time zone), never by when it was recorded, and
    an area counts the cases of every area inside it. Differences between areas (a district less
    its communities) and between an agency and the areas it covers are not protected here.
    """

    service: ClassVar[str] = "inspections"
    aggregate: ClassVar[str] = "figures"
    event_type: ClassVar[str] = "RightsFiguresPublished"
    figures_id: str = Field(
        description="`<area_code>-<year>` (area) or `agency-<agency_id>-<year>` (agency)",
        examples=["110101001-2026"],
    )
    kind: Literal["area", "agency"]
    area_code: str | None = Field(
        description="the area (6, 9 or 12 digits), counting every area inside it; None: agency"
    )
    area_level: AreaLevel | None = Field(description="None for an agency's figures")
    agency_id: str | None = Field(
        description="the agency owning the cases counted; None: every agency's, in the area"
    )
    year: int
    figures: dict[str, dict[str, FigureCell]] = Field(
        description="indicator -> period -> cell; indicators: "
        + "; ".join(f"{name}: {meaning}" for name, meaning in FIGURE_INDICATORS.items())
        + "; periods: "
        + PERIODS_NOTE
    )


CATALOGUE.register(
    InspectionRecordedV1, EmployerViolationFoundV1, ViolationRectifiedV1, RightsFiguresPublishedV1
)
