"""Time limits of a case (办理时限) by channel, category and urgency, in working days."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from jinguo_contracts.rights import CaseCategory, Channel, Urgency
from jinguo_rights.domain.calendar import WorkingCalendar

DEFAULT_BY_CHANNEL: Mapping[str, int] = {
    "hotline_12338": 10,
    "visit": 15,
    "online": 15,
    "letter": 30,
    "referral": 20,
}
DEFAULT_CATEGORY_CAP: Mapping[str, int] = {"domestic_violence": 5}
"""Domestic violence is never left longer than this, whatever the channel."""
DEFAULT_URGENCY_CAP: Mapping[str, int] = {"urgent": 3, "emergency": 1}


@dataclass(frozen=True)
class DeadlinePolicy:
    calendar: WorkingCalendar
    by_channel: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_BY_CHANNEL))
    category_cap: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_CATEGORY_CAP))
    urgency_cap: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_URGENCY_CAP))
    max_extension_days: int = 30
    due_soon_days: int = 3

    def time_limit(self, channel: Channel, category: CaseCategory, urgency: Urgency) -> int:
        limits = [self.by_channel[channel]]
        if category in self.category_cap:
            limits.append(self.category_cap[category])
        if urgency in self.urgency_cap:
            limits.append(self.urgency_cap[urgency])
        return min(limits)

    def due_on(self, start: date, working_days: int) -> date:
        return self.calendar.add_working_days(start, working_days)

    def overdue_days(self, due_on: date, today: date) -> int:
        """Working days past `due_on` (0 while it is not overdue)."""
        return max(0, self.calendar.working_days_between(due_on, today))

    def working_days_left(self, due_on: date, today: date) -> int:
        return self.calendar.working_days_between(today, due_on)

    def due_soon_until(self, today: date) -> date:
        return self.calendar.add_working_days(today, self.due_soon_days)
