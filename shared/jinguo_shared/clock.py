"""Business time: the programme's time zone says what day it is, never the server's UTC date.

Offices record what happened on a day of their own calendar; a case opened at 06:00 in Beijing
is opened that day, although UTC still says yesterday. A time given without an offset is read
in the programme's zone as well, never guessed from the server's.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIME_ZONE = "Asia/Shanghai"


class ProgrammeClock:
    def __init__(self, time_zone: str = DEFAULT_TIME_ZONE) -> None:
        try:
            self.zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {time_zone!r} (JINGUO_TIME_ZONE); e.g. Asia/Shanghai"
            ) from None

    def today(self) -> date:
        return datetime.now(self.zone).date()

    def instant(self, moment: datetime) -> datetime:
        """`moment` with its offset, or in the programme's zone when it has none."""
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self.zone)

    def parse_instant(self, text: str) -> datetime:
        """An ISO 8601 date or time; a date means its end of day in the programme's zone."""
        value = text.strip()
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, self.zone)
            return self.instant(datetime.fromisoformat(value))
        except ValueError:
            raise ValueError(
                f"{text!r} is not an ISO 8601 date or time (e.g. 2026-06-30 or"
                " 2026-06-30T23:59:59+08:00)"
            ) from None


PROGRAMME_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)


def business_day(occurred_on: date | None, recorded: datetime) -> date:
    """The day a fact counts on: the business date it carries, or, for an event recorded before
    events carried one, the programme's day on which the log recorded it."""
    if occurred_on is not None:
        return occurred_on
    return recorded.astimezone(PROGRAMME_ZONE).date()
