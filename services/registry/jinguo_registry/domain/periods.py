"""Reporting periods: a year (2026), a half (2026H1), a quarter (2026Q2) or a month (2026-03)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from jinguo_contracts.periods import PERIOD_PATTERN

PeriodKind = Literal["year", "half", "quarter", "month"]
_PERIOD: Final = re.compile(PERIOD_PATTERN)


@dataclass(frozen=True, slots=True)
class Period:
    code: str
    kind: PeriodKind
    year: int
    first_month: int
    last_month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        code = text.strip()
        if not _PERIOD.fullmatch(code):
            raise ValueError(
                f"{text!r} is not a period: a year (2026), a half (2026H1), a quarter (2026Q2)"
                " or a month (2026-03)"
            )
        year = int(code[:4])
        if len(code) == 4:
            return cls(code, "year", year, 1, 12)
        if code[4] == "H":
            half = int(code[5])
            return cls(code, "half", year, 6 * half - 5, 6 * half)
        if code[4] == "Q":
            quarter = int(code[5])
            return cls(code, "quarter", year, 3 * quarter - 2, 3 * quarter)
        month = int(code[5:])
        return cls(code, "month", year, month, month)

    @property
    def starts_on(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def ends_on(self) -> date:
        return date(self.year, self.last_month, calendar.monthrange(self.year, self.last_month)[1])

    @property
    def months(self) -> list[str]:
        return [f"{self.year:04d}-{m:02d}" for m in range(self.first_month, self.last_month + 1)]

    def share_elapsed(self, today: date) -> float:
        """How much of the period lies before the end of `today`: 0 before it, 1 after it."""
        if today < self.starts_on:
            return 0.0
        if today >= self.ends_on:
            return 1.0
        return ((today - self.starts_on).days + 1) / ((self.ends_on - self.starts_on).days + 1)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"
