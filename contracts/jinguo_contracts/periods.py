"""The reports of a period, published by the registry on `registry.report.>` (stream REGISTRY):
submitted up the hierarchy and accepted, returned or revised there. Every service learns from
them which periods are closed: a fact dated in a closed period of its area (or of an area above
it) is recorded only as a correction.

A report's figures are keyed by indicator code (`GET /registry/indicators` lists them). A figure
is a number, `"<5"` for a small rights cell that may not be shown exactly, or null where it
cannot be computed (a rate without a denominator).
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import Field

from jinguo_contracts.base import CATALOGUE, EventContract

Figure = int | float | str | None
"""A number, "<5" (a suppressed small cell) or null."""
PERIOD_PATTERN = r"^\d{4}(-(0[1-9]|1[0-2])|Q[1-4]|H[12])?$"
"""A year (2026), a half (2026H1), a quarter (2026Q2) or a month (2026-03)."""


def periods_of(day: date) -> list[str]:
    """Every period a day lies in: its year, half, quarter and month."""
    return [
        f"{day.year}",
        f"{day.year}H{1 if day.month <= 6 else 2}",
        f"{day.year}Q{(day.month - 1) // 3 + 1}",
        f"{day.year}-{day.month:02d}",
    ]


class _Report(EventContract):
    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "report"
    report_id: str = Field(description="<area_code>-<period>")
    area_code: str
    period: str = Field(pattern=PERIOD_PATTERN)


class ReportSubmittedV1(_Report):
    """A period closed and submitted upward (年终报送): the figures as submitted."""

    event_type: ClassVar[str] = "ReportSubmitted"
    figures: dict[str, Figure]
    submitted_by: str
    submitted_on: date


class ReportAcceptedV1(_Report):
    event_type: ClassVar[str] = "ReportAccepted"
    decided_by: str
    decided_on: date


class ReportReturnedV1(_Report):
    """Returned to the area with a reason: the period is open again until it is resubmitted."""

    event_type: ClassVar[str] = "ReportReturned"
    decided_by: str
    decided_on: date
    reason: str


class ReportRevisedV1(_Report):
    """A late correction to an accepted period: the figures as known now replace those
    reported, which stay in the log (and in the sheet, "as reported on" a day)."""

    event_type: ClassVar[str] = "ReportRevised"
    figures: dict[str, Figure]
    revision: int = Field(ge=1)
    reason: str
    revised_by: str
    revised_on: date


CATALOGUE.register(ReportSubmittedV1, ReportAcceptedV1, ReportReturnedV1, ReportRevisedV1)
