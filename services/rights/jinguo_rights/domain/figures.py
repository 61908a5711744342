"""The rights figures other services may read (`RightsFiguresPublished` on INSPECTIONS): per
area or agency and year, each indicator per month, quarter, half and year, by business date,
with small counts protected as in a shared report (`reports.protect`).

Within one event the periods add up (a quarter is its months, the year its halves) and so do
the indicators (the cases taken in are their categories, and their channels; the cases closed
are those closed on time and the rest): `protect` is given every such sum, so that adding and
subtracting the published cells never pins a count of 1 to 4.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final, cast

from pydantic import Field

from jinguo_contracts.areas import area_level
from jinguo_contracts.base import EventContract
from jinguo_contracts.inspections import FIGURE_INDICATORS, FigureCell, RightsFiguresPublishedV1
from jinguo_rights.domain.reports import Sum, protect
from jinguo_shared.domain import Aggregate, AggregateState

Figures = dict[str, dict[str, FigureCell]]

PARTS: Final[dict[str, str]] = {
    "opened_domestic_violence": "cases_opened",
    "opened_via_hotline_12338": "cases_opened",
    "opened_and_closed": "cases_opened",
    "closed_on_time": "cases_closed",
    "domestic_violence_stopped": "cases_closed",
    "mediated": "cases_closed",
    "satisfaction_asked": "cases_closed",
    "satisfied": "satisfaction_asked",
}
"""Indicators counting part of another in each period; what is left of the whole is not
published but implied (the whole less the part), and protected as well."""
IMPLIED: Final = {f"{part}~rest": (whole, part) for part, whole in PARTS.items()}
GRANULARITY: Final = {7: 0, 6: 1, 4: 3}
"""Rank of a period by its length: a month is withheld before a quarter or a half (rank 2,
the default), and the year last."""
TOTALS: Final = frozenset({"cases_opened", "cases_closed"})
"""Withheld only after every breakdown: the figures a sheet shows first."""


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the figures need of one case, with the business date of each fact."""

    opened_on: date
    category: str
    channel: str
    closed_on: date | None
    on_time: bool | None
    outcome: str | None
    complainant_satisfied: bool | None
    first_legal_aid_on: date | None


def periods(year: int) -> tuple[str, ...]:
    """The year's 12 months, 4 quarters, 2 halves and the year itself."""
    return (
        *(f"{year}-{m:02d}" for m in range(1, 13)),
        *(f"{year}Q{q}" for q in range(1, 5)),
        f"{year}H1",
        f"{year}H2",
        str(year),
    )


def periods_of(day: date) -> tuple[str, ...]:
    """The periods of its year a day counts in: its month, quarter, half and year."""
    quarter = (day.month - 1) // 3 + 1
    half = 1 if day.month <= 6 else 2
    return (
        f"{day.year}-{day.month:02d}",
        f"{day.year}Q{quarter}",
        f"{day.year}H{half}",
        str(day.year),
    )


def period_sums(indicator: str, year: int) -> list[Sum]:
    def cell(period: str) -> str:
        return f"{indicator}|{period}"

    sums = [
        Sum(
            cell(f"{year}Q{q}"), tuple(cell(f"{year}-{m:02d}") for m in range(3 * q - 2, 3 * q + 1))
        )
        for q in range(1, 5)
    ]
    sums.append(Sum(cell(f"{year}H1"), (cell(f"{year}Q1"), cell(f"{year}Q2"))))
    sums.append(Sum(cell(f"{year}H2"), (cell(f"{year}Q3"), cell(f"{year}Q4"))))
    sums.append(Sum(cell(str(year)), (cell(f"{year}H1"), cell(f"{year}H2"))))
    return sums


def count_cells(cases: Iterable[CaseFacts], year: int) -> dict[str, int]:
    """Every count, published or implied, as `<indicator>|<period>` of `year`."""
    counted: Counter[str] = Counter()

    def count(indicator: str, day: date | None) -> None:
        if day is not None and day.year == year:
            for period in periods_of(day):
                counted[f"{indicator}|{period}"] += 1

    for case in cases:
        opened = case.opened_on
        count("cases_opened", opened)
        if case.category == "domestic_violence":
            count("opened_domestic_violence", opened)
        if case.channel == "hotline_12338":
            count("opened_via_hotline_12338", opened)
        if case.closed_on is not None:
            count("opened_and_closed", opened)
            closed = case.closed_on
            count("cases_closed", closed)
            if case.on_time:
                count("closed_on_time", closed)
            if case.outcome == "violence_stopped":
                count("domestic_violence_stopped", closed)
            if case.outcome == "mediated":
                count("mediated", closed)
            if case.complainant_satisfied is not None:
                count("satisfaction_asked", closed)
                if case.complainant_satisfied:
                    count("satisfied", closed)
        count("legal_aid_cases", case.first_legal_aid_on)
    cells = {
        f"{indicator}|{period}": counted[f"{indicator}|{period}"]
        for indicator in FIGURE_INDICATORS
        for period in periods(year)
    }
    for rest, (total, part) in IMPLIED.items():
        for period in periods(year):
            cells[f"{rest}|{period}"] = cells[f"{total}|{period}"] - cells[f"{part}|{period}"]
    return cells


def figure_sums(year: int) -> list[Sum]:
    sums = [s for name in [*FIGURE_INDICATORS, *IMPLIED] for s in period_sums(name, year)]
    for period in periods(year):
        for rest, (total, part) in IMPLIED.items():
            sums.append(Sum(f"{total}|{period}", (f"{part}|{period}", f"{rest}|{period}")))
    return sums


def figures(cases: Iterable[CaseFacts], year: int) -> Figures:
    """Indicator -> period -> cell, protected: 0, 5 or more, "<5" or "withheld"."""
    cells = count_cells(cases, year)
    shown = [f"{i}|{p}" for i in FIGURE_INDICATORS for p in periods(year)]
    protected = protect(cells, shown, figure_sums(year), rank)
    return {
        indicator: {
            period: cast(FigureCell, protected[f"{indicator}|{period}"]) for period in periods(year)
        }
        for indicator in FIGURE_INDICATORS
    }


def rank(cell: str) -> int:
    """Which cells are withheld first, when one must be: breakdowns before the totals, and
    months before quarters, halves and years."""
    indicator, period = cell.rsplit("|", 1)
    return (10 if indicator in TOTALS else 0) + GRANULARITY.get(len(period), 2)


def area_figures_id(area_code: str, year: int) -> str:
    return f"{area_code}-{year}"


def agency_figures_id(agency_id: str, year: int) -> str:
    return f"agency-{agency_id}-{year}"


class FiguresState(AggregateState):
    figures: Figures = Field(default_factory=dict)


class RightsFigures(Aggregate[FiguresState]):
    """The figures last published for one area-year or agency-year."""

    aggregate_type = "figures"
    state_type = FiguresState

    @classmethod
    def evolve(cls, state: FiguresState | None, event: EventContract) -> FiguresState:
        assert isinstance(event, RightsFiguresPublishedV1)
        return FiguresState(figures=event.figures)

    def publish_area(self, *, area_code: str, year: int, now: Figures) -> None:
        self._publish(
            RightsFiguresPublishedV1(
                figures_id=self.id,
                kind="area",
                area_code=area_code,
                area_level=area_level(area_code),
                agency_id=None,
                year=year,
                figures=now,
            )
        )

    def publish_agency(self, *, agency_id: str, year: int, now: Figures) -> None:
        self._publish(
            RightsFiguresPublishedV1(
                figures_id=self.id,
                kind="agency",
                area_code=None,
                area_level=None,
                agency_id=agency_id,
                year=year,
                figures=now,
            )
        )

    def _publish(self, event: RightsFiguresPublishedV1) -> None:
        """Only what changed is published again; nothing at all for figures never counted."""
        last = self.state.figures if self.state is not None else None
        if last == event.figures:
            return
        if last is None and all(v == 0 for cells in event.figures.values() for v in cells.values()):
            return
        self.record(event)
