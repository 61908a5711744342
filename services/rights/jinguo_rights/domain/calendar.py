"""Working days: weekends off, public holidays off, make-up working days (调休上班) on.

Time limits of rights cases are counted in working days (工作日). The calendar is data, not
code: the State Council publishes the next year's holidays every November, and an operator adds
them with `JINGUO_RIGHTS_CALENDAR` (a JSON file: {"holidays": [...], "workdays": [...]}).
A year whose holidays the calendar does not know still counts its weekends, and is named as
such wherever a deadline or a report depends on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

MAX_SPAN_DAYS = 3660
"""No time limit is anywhere near ten years: a longer walk finding no working day means a
broken calendar."""


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    """Weekdays that are off (法定节假日 and the days moved onto them)."""
    workdays: frozenset[date] = field(default_factory=frozenset)
    """Weekend days that are worked (调休上班)."""

    def __post_init__(self) -> None:
        both = self.holidays & self.workdays
        if both:
            first = min(both).isoformat()
            raise CalendarError(f"{first} is listed both as a holiday and as a working day")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> WorkingCalendar:
        """From {"holidays": ["2026-10-01", …], "workdays": ["2026-09-20", …]}."""
        unknown = set(data) - {"holidays", "workdays"}
        if unknown:
            raise CalendarError(f"unknown calendar keys: {', '.join(sorted(unknown))}")
        try:
            holidays = frozenset(date.fromisoformat(d) for d in data.get("holidays", []))
            workdays = frozenset(date.fromisoformat(d) for d in data.get("workdays", []))
        except (TypeError, ValueError) as error:
            raise CalendarError(f"calendar dates must be YYYY-MM-DD: {error}") from None
        return cls(holidays, workdays)

    def merged(self, other: WorkingCalendar) -> WorkingCalendar:
        """This calendar with `other`'s days added; where they disagree on a day, `other` wins."""
        holidays = (self.holidays - other.workdays) | other.holidays
        workdays = (self.workdays - other.holidays) | other.workdays
        return WorkingCalendar(holidays, workdays)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        """The day on which `days` working days after `start` have passed (start not counted).

        Zero days is `start` itself; a time limit of 5 from a Friday ends the next Friday.
        """
        if days < 0:
            raise CalendarError("cannot add a negative number of working days")
        day = start
        remaining = days
        while remaining:
            day += timedelta(days=1)
            if (day - start).days > MAX_SPAN_DAYS:
                raise CalendarError("no working days found in ten years")
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many working days `end` is after `start`;
        negative when `end` comes first. Counted, not walked, so any span costs the same."""
        if end < start:
            return -self.working_days_between(end, start)
        days = (end - start).days
        weeks, rest = divmod(days, 7)
        first = (start.weekday() + 1) % 7
        weekdays = weeks * 5 + sum(1 for n in range(rest) if (first + n) % 7 < 5)
        moved_off = sum(1 for d in self.holidays if start < d <= end and d.weekday() < 5)
        moved_on = sum(1 for d in self.workdays if start < d <= end and d.weekday() >= 5)
        return weekdays - moved_off + moved_on

    @property
    def years(self) -> frozenset[int]:
        """The years whose public holidays the calendar knows; other years count weekends only."""
        return frozenset(d.year for d in self.holidays)

    def years_without_holidays(self, first: date, last: date) -> list[int]:
        """The years from `first` to `last` whose holidays are unknown (weekends still count)."""
        known = self.years
        return [year for year in range(first.year, last.year + 1) if year not in known]


def _days(*spans: tuple[str, str]) -> Iterable[date]:
    for first, last in spans:
        day, end = date.fromisoformat(first), date.fromisoformat(last)
        while day <= end:
            yield day
            day += timedelta(days=1)


CHINA_2026 = WorkingCalendar(
    holidays=frozenset(
        _days(
            ("2026-01-01", "2026-01-03"),  # 元旦
            ("2026-02-15", "2026-02-23"),  # 春节
            ("2026-04-04", "2026-04-06"),  # 清明节
            ("2026-05-01", "2026-05-05"),  # 劳动节
            ("2026-06-19", "2026-06-21"),  # 端午节
            ("2026-09-25", "2026-09-27"),  # 中秋节
            ("2026-10-01", "2026-10-07"),  # 国庆节
        )
    ),
    workdays=frozenset(
        date.fromisoformat(d)
        for d in (
            "2026-01-04",
            "2026-02-14",
            "2026-02-28",
            "2026-05-09",
            "2026-09-20",
            "2026-10-10",
        )
    ),
)
"""国务院办公厅 2026 年部分节假日安排 (holidays and make-up working days), the built-in default."""
