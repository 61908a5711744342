"""The year-end sheet of one area and period, from counts already summed by business date: the
value of every indicator, its target, progress, the monthly trend, and the child areas that lag.

Pure: the figures come in as plain dictionaries (read from the projections elsewhere), so the
rules can be tested without a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jinguo_contracts.periods import Figure
from jinguo_registry.domain.indicators import BY_CODE, CATALOGUE, Indicator
from jinguo_registry.domain.periods import Period

Counts = Mapping[str, Mapping[str, int]]
"""indicator -> month -> stored count (in 1/scale units)."""


@dataclass(frozen=True, slots=True)
class AreaFigures:
    monthly: Counts = field(default_factory=dict)
    cumulative: Mapping[str, int] = field(default_factory=dict)
    """indicator -> stored count from the start of the records to the period's end."""
    population: Mapping[str, int] | None = None
    targets: Mapping[str, float] = field(default_factory=dict)
    rights: Mapping[str, Mapping[str, Figure]] = field(default_factory=dict)
    """indicator -> period -> the rights service's published cell (a number, "<5", …)."""


def _count(indicator: Indicator, stored: int) -> float | int:
    if indicator.scale == 1:
        return stored
    return round(stored / indicator.scale, 2)


def _rate(numerator: Figure, denominator: Figure) -> float | None:
    """A percentage of two numbers; none where either is a protected cell or nothing."""
    if not isinstance(numerator, int | float) or not isinstance(denominator, int | float):
        return None
    if not denominator:
        return None
    return round(100 * numerator / denominator, 1)


def value_of(indicator: Indicator, figures: AreaFigures, period: Period) -> Figure:
    def summed(code: str) -> Figure:
        counted = BY_CODE[code]
        if counted.source == "rights":  # published per period, never summed here
            return figures.rights.get(code, {}).get(period.code, 0)
        if counted.cumulative or indicator.cumulative:
            return _count(counted, figures.cumulative.get(code, 0))
        by_month = figures.monthly.get(code, {})
        return _count(counted, sum(by_month.get(month, 0) for month in period.months))

    if not indicator.is_rate:
        return summed(indicator.code)
    assert indicator.numerator is not None
    numerator = summed(indicator.numerator)
    if indicator.per is not None:
        population = figures.population or {}
        return _rate(numerator, population.get(indicator.per))
    assert indicator.denominator is not None
    return _rate(numerator, summed(indicator.denominator))


def progress_of(value: Figure, target: float | None) -> float | None:
    if target is None or not isinstance(value, int | float) or target <= 0:
        return None
    return round(100 * value / target, 1)


def is_lagging(progress: Mapping[str, float | None], expected: float) -> bool:
    """Behind on any target: progress below the share of the year that has passed."""
    return any(p is not None and p < expected for p in progress.values())


def trend_of(indicator: Indicator, figures: AreaFigures, period: Period) -> list[Figure]:
    if indicator.cumulative:
        return [None for _ in period.months]
    return [value_of(indicator, figures, Period.parse(month)) for month in period.months]


def difference(now: Figure, reported: Figure) -> float | int | None:
    if isinstance(now, int | float) and isinstance(reported, int | float):
        return round(now - reported, 2)
    return None


def figures_of(figures: AreaFigures, period: Period) -> dict[str, Figure]:
    """Every indicator's value: what a submitted report carries."""
    return {i.code: value_of(i, figures, period) for i in CATALOGUE}


def sheet(
    *,
    area: Mapping[str, Any],
    period: Period,
    today: date,
    figures: AreaFigures,
    children: list[tuple[Mapping[str, Any], AreaFigures]],
    reported: Mapping[str, Figure] | None,
    report: Mapping[str, Any] | None,
) -> dict[str, Any]:
    year = Period.parse(str(period.year))
    expected = round(100 * year.share_elapsed(min(today, period.ends_on)), 1)
    indicators = []
    for indicator in CATALOGUE:
        value = value_of(indicator, figures, period)
        target = figures.targets.get(indicator.code)
        as_reported = None if reported is None else reported.get(indicator.code)
        indicators.append(
            {
                "code": indicator.code,
                "name": indicator.name,
                "unit": indicator.unit,
                "service": indicator.source,
                "value": value,
                "target": target,
                "progress": progress_of(value, target),
                "as_reported": as_reported,
                "difference": None if reported is None else difference(value, as_reported),
                "trend": trend_of(indicator, figures, period),
            }
        )
    rows = []
    for child, child_figures in children:
        values = {i.code: value_of(i, child_figures, period) for i in CATALOGUE}
        progress = {
            code: progress_of(values[code], target)
            for code, target in child_figures.targets.items()
        }
        rows.append(
            {
                "code": child["area_code"],
                "name": child["name"],
                "level": child["level"],
                "values": values,
                "progress": progress,
                "lagging": is_lagging(progress, expected),
            }
        )
    return {
        "area": {"code": area["area_code"], "name": area["name"], "level": area["level"]},
        "period": period.code,
        "starts_on": period.starts_on.isoformat(),
        "ends_on": period.ends_on.isoformat(),
        "expected_progress": expected,
        "months": period.months,
        "indicators": indicators,
        "children": rows,
        "lagging": [row["code"] for row in rows if row["lagging"]],
        "report": None if report is None else dict(report),
    }


def _numbers(values: Sequence[Figure]) -> list[float] | None:
    """The values as numbers, or None if any is a protected cell or missing."""
    numbers = [v for v in values if isinstance(v, int | float)]
    return [float(v) for v in numbers] if len(numbers) == len(values) else None


def rolled_up(
    now: Mapping[str, Figure],
    children_now: Sequence[Mapping[str, Figure]],
    children_reported: Sequence[Mapping[str, Figure]],
    population: Mapping[str, int] | None,
) -> dict[str, Figure]:
    """An area's report built from its children's accepted reports: each count is what the
    children reported plus what was recorded at the area's own level (its count now less its
    children's counts now), so a late correction below reaches it only through a revision.
    Rights cells are published for every level and cumulative figures are stocks: both are
    taken as they are now; rates are computed again from the rolled-up counts."""
    figures: dict[str, Figure] = {}
    for indicator in CATALOGUE:
        code = indicator.code
        if indicator.is_rate or indicator.source == "rights" or indicator.cumulative:
            figures[code] = now.get(code)
            continue
        own = _numbers([now.get(code), *(c.get(code) for c in children_now)])
        reported = _numbers([c.get(code) for c in children_reported])
        if own is None or reported is None:
            figures[code] = now.get(code)
            continue
        total = own[0] - sum(own[1:]) + sum(reported)
        figures[code] = round(total, 2) if indicator.scale != 1 else round(total)
    for indicator in CATALOGUE:
        if indicator.is_rate and indicator.source != "rights" and not indicator.cumulative:
            numerator = figures.get(indicator.numerator or "")
            if indicator.per is not None:
                denominator: Figure = (population or {}).get(indicator.per)
            else:
                denominator = figures.get(indicator.denominator or "")
            figures[indicator.code] = _rate(numerator, denominator)
    return figures
