"""The case figures of a rights report, exact for the agency's own cases, protected where they
are shared across agencies.

Small counts of domestic violence in one community identify people, so a shared figure of 1 to
4 cases is shown as "<5". Hiding it is not enough when the other figures add up to it (cases =
closed + open, a breakdown by category, a rate): someone who adds and subtracts the shown
figures must not be able to work out any count of 1 to 4, shown or not. Where they could,
further figures are "withheld", the smallest first, until none can.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, get_args

from jinguo_contracts.rights import CaseCategory, Channel

LESS_THAN_FIVE: Final = "<5"
WITHHELD: Final = "withheld"
SMALL: Final = range(1, 5)
UNBOUNDED: Final = 10**15
"""As good as no upper bound: more cases than any report holds."""
CHANNELS: Final[tuple[str, ...]] = get_args(Channel)
CATEGORIES: Final[tuple[str, ...]] = get_args(CaseCategory)

OPENED = "`opened_on`, the case's intake day, between `from` and `to`"
INSPECTED = "`inspected_on`, the inspection's day, between `from` and `to`"
OF_OPENED = "`opened_on` of the case (counted as of today)"
INDICATORS: Final[dict[str, tuple[str, str]]] = {
    "agency_id": ("the agency whose own cases are counted; null: shared figures", "—"),
    "area": ("the area (prefix of area codes) counted", "—"),
    "from": ("the first intake day counted (null: no first day)", "—"),
    "to": ("the last intake day counted (null: no last day)", "—"),
    "cases": ("cases opened (受理)", OPENED),
    "by_channel.{channel}": (
        "cases by intake channel: hotline_12338, visit, letter, online, referral",
        OPENED,
    ),
    "by_category.{category}": (
        "cases by category: labour, domestic_violence, marriage_family, property, other",
        OPENED,
    ),
    "closed": ("cases closed (办结)", OF_OPENED),
    "closure_rate": ("percentage of the cases closed (办结率)", OF_OPENED),
    "closed_on_time": ("cases closed within their deadline (working days)", OF_OPENED),
    "average_working_days_to_close": ("working days from intake to closure, on average", OF_OPENED),
    "open": ("cases not closed", OF_OPENED),
    "overdue": ("open cases past their due day", OF_OPENED),
    "escalated": ("cases escalated for being overdue", OF_OPENED),
    "satisfaction_asked": ("closed cases whose complainant said if she was satisfied", OF_OPENED),
    "satisfied": ("of those, complainants satisfied", OF_OPENED),
    "satisfaction_rate": ("percentage of those asked who were satisfied", OF_OPENED),
    "domestic_violence_stopped": ("cases closed with the violence stopped", OF_OPENED),
    "legal_aid_cases": ("cases with a legal-aid action", OF_OPENED),
    "inspections": ("employer inspections (劳动保障监察) made", INSPECTED),
    "violations_found": ("inspections finding a violation", INSPECTED),
    "violations_by_topic.{topic}": (
        "violations found by topic: labour_contract, equal_pay, protected_periods,"
        " working_hours, social_insurance",
        INSPECTED,
    ),
    "violations_rectified": ("inspections whose violations were rectified", INSPECTED),
    "summary": ("the figures in one line, as the seeds report them", "as the figures"),
    "years_without_holidays": (
        "years whose public holidays the calendar does not know: their deadlines count"
        " weekends only",
        "from the first intake day counted to today",
    ),
    "small_counts": (
        'on shared figures only: counts of 1 to 4 cases are "<5", and "withheld" marks a figure'
        " from which one could be worked out",
        "—",
    ),
}
"""Each key of a rights report (`{…}` stands for each value it takes; `a.b` is member b of
object a): what it counts, and the date that decides whether a case or inspection is counted."""

Figure = int | str
"""A count, or what is shown instead of it: "<5" or "withheld"."""


@dataclass(frozen=True, slots=True)
class Sum:
    """`total` is the sum of `parts`: what someone can add and subtract."""

    total: str
    parts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CaseCounts:
    """The counts a report is made of, as the read model gives them."""

    cases: int
    by_channel: Mapping[str, int]
    by_category: Mapping[str, int]
    closed: int
    closed_on_time: int
    working_days_to_close: int
    """Summed over the closed cases."""
    overdue: int
    escalated: int
    satisfaction_asked: int
    satisfied: int
    domestic_violence_stopped: int
    legal_aid_cases: int

    def cells(self) -> dict[str, int]:
        """Every count of cases the report shows, and those it implies (the differences)."""
        cells = {
            "cases": self.cases,
            **{f"channel:{c}": self.by_channel.get(c, 0) for c in CHANNELS},
            **{f"category:{c}": self.by_category.get(c, 0) for c in CATEGORIES},
            "closed": self.closed,
            "open": self.cases - self.closed,
            "closed_on_time": self.closed_on_time,
            "overdue": self.overdue,
            "escalated": self.escalated,
            "satisfaction_asked": self.satisfaction_asked,
            "satisfied": self.satisfied,
            "domestic_violence_stopped": self.domestic_violence_stopped,
            "legal_aid_cases": self.legal_aid_cases,
        }
        for rest, (total, part) in IMPLIED.items():
            cells[rest] = cells[total] - cells[part]
        return cells


IMPLIED: Final[dict[str, tuple[str, str]]] = {
    "closed_late": ("closed", "closed_on_time"),
    "open_in_time": ("open", "overdue"),
    "not_escalated": ("cases", "escalated"),
    "not_asked": ("closed", "satisfaction_asked"),
    "not_satisfied": ("satisfaction_asked", "satisfied"),
    "closed_otherwise": ("closed", "domestic_violence_stopped"),
    "domestic_violence_not_stopped": ("category:domestic_violence", "domestic_violence_stopped"),
    "without_legal_aid": ("cases", "legal_aid_cases"),
}
"""Counts a report does not show but implies: each is its total less its shown part."""
SUMS: Final[tuple[Sum, ...]] = (
    Sum("cases", tuple(f"channel:{c}" for c in CHANNELS)),
    Sum("cases", tuple(f"category:{c}" for c in CATEGORIES)),
    Sum("cases", ("closed", "open")),
    *(Sum(total, (part, rest)) for rest, (total, part) in IMPLIED.items()),
)
SHOWN: Final[tuple[str, ...]] = (
    "cases",
    *(f"channel:{c}" for c in CHANNELS),
    *(f"category:{c}" for c in CATEGORIES),
    "closed",
    "open",
    "closed_on_time",
    "overdue",
    "escalated",
    "satisfaction_asked",
    "satisfied",
    "domestic_violence_stopped",
    "legal_aid_cases",
)


def protect(
    counts: Mapping[str, int],
    shown: Collection[str],
    sums: Sequence[Sum],
    rank: Callable[[str], int] = lambda _: 0,
) -> dict[str, Figure]:
    """Each shown count as it may be shared: itself, "<5" for 1 to 4, or "withheld" where the
    `sums` would otherwise let someone work out a count of 1 to 4 (shown or implied). Of the
    figures that could be withheld, those of the lowest `rank` go first, the smallest first."""
    small = {name for name, value in counts.items() if value in SMALL}
    withheld: set[str] = set()
    while True:
        bounds = _bounds(counts, shown, small, withheld, sums)
        pinned = {name for name in small if bounds[name][0] == bounds[name][1]}
        if not pinned:
            break
        hidden = _next_to_withhold(pinned, counts, shown, small | withheld, sums, rank)
        if hidden is None:
            break
        withheld.add(hidden)
    return {
        name: LESS_THAN_FIVE if name in small else WITHHELD if name in withheld else counts[name]
        for name in shown
    }


def _bounds(
    counts: Mapping[str, int],
    shown: Collection[str],
    small: set[str],
    withheld: set[str],
    sums: Sequence[Sum],
) -> dict[str, tuple[int, int]]:
    """What the shown figures tell of each count: the narrowest range adding and subtracting
    along the sums gives (a withheld figure is known not to be below 5)."""
    bounds: dict[str, tuple[int, int]] = {}
    for name, value in counts.items():
        if name not in shown:
            bounds[name] = (0, UNBOUNDED)
        elif name in small:
            bounds[name] = (1, 4)
        elif name in withheld:
            bounds[name] = (5, UNBOUNDED)
        else:
            bounds[name] = (value, value)
    # a sum is looked at again only when a count in it has narrowed
    containing: dict[str, list[int]] = {}
    for index, total_sum in enumerate(sums):
        for name in (total_sum.total, *total_sum.parts):
            containing.setdefault(name, []).append(index)
    queue = deque(range(len(sums)))
    queued = set(queue)
    for _ in range(100 * len(sums)):
        if not queue:
            break
        at = queue.popleft()
        queued.discard(at)
        total_sum = sums[at]
        names = total_sum.parts
        lows = [bounds[p][0] for p in names]
        highs = [bounds[p][1] for p in names]
        all_low, all_high = sum(lows), sum(highs)
        low, high = bounds[total_sum.total]
        narrowed = {total_sum.total: (max(low, all_low), min(high, all_high))}
        for index, part in enumerate(names):
            narrowed[part] = (
                max(lows[index], low - (all_high - highs[index])),
                min(highs[index], high - (all_low - lows[index])),
            )
        for name, bound in narrowed.items():
            if bound != bounds[name]:
                bounds[name] = bound
                for again in containing[name]:
                    if again not in queued:
                        queue.append(again)
                        queued.add(again)
    return bounds


def _next_to_withhold(
    pinned: set[str],
    counts: Mapping[str, int],
    shown: Collection[str],
    hidden: set[str],
    sums: Sequence[Sum],
    rank: Callable[[str], int],
) -> str | None:
    """The shown count of 5 or more to withhold next, near a count that can be worked out (a
    part of a sum with it, any count of such a sum, a count of a sum sharing one with those):
    of the lowest `rank`, then the nearest, then the smallest. Failing that, the smallest in any
    sum; None when nothing is left."""
    related = [s for s in sums if pinned & {s.total, *s.parts}]
    near = {n for s in related for n in (s.total, *s.parts)}
    pools = (
        {p for s in related for p in s.parts},
        near,
        {n for s in sums if near & {s.total, *s.parts} for n in (s.total, *s.parts)},
    )
    for tried in (pools, ({n for s in sums for n in (s.total, *s.parts)},)):
        candidates = {
            n: index
            for index, pool in reversed(list(enumerate(tried)))
            for n in pool
            if n in shown and n not in hidden and counts[n] >= 5
        }
        if candidates:
            return min(candidates, key=lambda n: (rank(n), candidates[n], counts[n], n))
    return None


def case_figures(counts: CaseCounts, *, shared: bool) -> dict[str, Any]:
    """The report's case figures: exact for the agency's own cases, protected when `shared`."""
    cells = counts.cells()
    shown = protect(cells, SHOWN, SUMS) if shared else {n: cells[n] for n in SHOWN}

    def rate(part: str, whole: str) -> float | str | None:
        numerator, denominator = shown[part], shown[whole]
        if isinstance(numerator, int) and isinstance(denominator, int):
            return round(100 * numerator / denominator, 1) if denominator else None
        return WITHHELD

    closed = shown["closed"]
    average: float | str | None = WITHHELD
    if isinstance(closed, int):
        average = round(counts.working_days_to_close / closed, 1) if closed else None
    return {
        "cases": shown["cases"],
        "by_channel": {c: shown[f"channel:{c}"] for c in CHANNELS},
        "by_category": {c: shown[f"category:{c}"] for c in CATEGORIES},
        "closed": closed,
        "closure_rate": rate("closed", "cases"),
        "closed_on_time": shown["closed_on_time"],
        "average_working_days_to_close": average,
        "open": shown["open"],
        "overdue": shown["overdue"],
        "escalated": shown["escalated"],
        "satisfaction_asked": shown["satisfaction_asked"],
        "satisfied": shown["satisfied"],
        "satisfaction_rate": rate("satisfied", "satisfaction_asked"),
        "domestic_violence_stopped": shown["domestic_violence_stopped"],
        "legal_aid_cases": shown["legal_aid_cases"],
    }


def summary(figures: Mapping[str, Any]) -> str:
    """One line as the seeds report it: "38 cases, 100% closed; …"."""
    rate = figures["closure_rate"]
    closure = "share closed withheld" if rate == WITHHELD else f"{rate or 0:g}% closed"
    return (
        f"{figures['cases']} cases, {closure};"
        f" {figures['domestic_violence_stopped']} domestic-violence incidents stopped;"
        f" {figures['legal_aid_cases']} legal-aid cases;"
        f" {figures['inspections']} inspections, {figures['violations_found']} with violations"
    )
