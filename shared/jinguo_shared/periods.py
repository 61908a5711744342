"""Closed periods: a fact dated in a period whose report has been submitted, for its area or an
area above it, is refused unless the command says it is a correction, and why (`?correction=`).
The reason travels in the event's envelope; the office then revises its report.

Only a period that has ended can be closed, so a fact dated in the current month never needs
the look-up: the usual command (dated today) costs nothing here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from jinguo_contracts.areas import area_ancestors
from jinguo_contracts.base import EventContract
from jinguo_contracts.periods import periods_of
from jinguo_shared.clock import PROGRAMME_ZONE
from jinguo_shared.db import DirectSql
from jinguo_shared.domain import DomainError
from jinguo_shared.envelope import CommandContext


class PeriodClosedError(DomainError):
    code = "period-closed"
    status = 409


class ClosedPeriodGuard:
    def __init__(self, sql: DirectSql, table: Callable[[], str], today: Callable[[], date]) -> None:
        self._sql = sql
        self._table = table
        self._today = today

    async def check(self, events: Sequence[EventContract], context: CommandContext) -> None:
        # the system carries facts another service has accepted already (its policies, tools)
        if context.jurisdiction is None or context.correction:
            return
        month_start = self._today().replace(day=1)
        for event in events:
            day = _day(event.business_date())
            area = getattr(event, "area_code", None)
            if day is None or day >= month_start or not isinstance(area, str):
                continue
            try:
                areas = area_ancestors(area)
            except ValueError:
                continue
            periods = periods_of(day)
            marks = ", ".join("?" for _ in areas)
            rows = await self._sql.fetch(
                f"SELECT area_code, period, submitted_on FROM {self._table()}"
                f" WHERE area_code IN ({marks}) AND period IN (?, ?, ?, ?)"
                " ORDER BY length(area_code), length(period)",
                *areas,
                *periods,
            )
            if rows:
                closed_area, period, submitted_on = rows[0]
                raise PeriodClosedError(
                    f"{event.business_date_field} {day.isoformat()} lies in {period} of area"
                    f" {closed_area}, whose report was submitted on {submitted_on}: record it as"
                    " a correction (?correction=<why>), then revise the report",
                    field=event.business_date_field,
                    area_code=closed_area,
                    period=period,
                )


def _day(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(PROGRAMME_ZONE).date()
    return value
