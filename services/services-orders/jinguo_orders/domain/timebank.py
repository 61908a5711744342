"""志愿服务时间储蓄: a volunteer banks hours by serving and draws on them when in need."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from jinguo_contracts.base import EventContract
from jinguo_contracts.orders import VolunteerHoursEarnedV1, VolunteerHoursSpentV1
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    InvalidCommandError,
    RuleViolationError,
    check_past_date,
)


class NotEnoughHoursError(RuleViolationError):
    code = "not-enough-hours"


class TimeBankState(AggregateState):
    area_code: str
    """The volunteer's, as of her last entry: whose agency keeps her account."""
    balance: float = 0.0
    entries: list[str] = Field(default_factory=list)


class TimeBank(Aggregate[TimeBankState]):
    """The balance is the ledger's sum and never goes below zero; an entry is booked once."""

    aggregate_type = "timebank"
    state_type = TimeBankState

    @classmethod
    def evolve(cls, state: TimeBankState | None, event: EventContract) -> TimeBankState:
        match event:
            case VolunteerHoursEarnedV1():
                delta = event.hours
            case VolunteerHoursSpentV1():
                delta = -event.hours
            case _:
                raise AssertionError(f"{event.event_type} is not a time bank event")
        balance, entries = (state.balance, state.entries) if state else (0.0, [])
        return TimeBankState(
            area_code=event.area_code,
            balance=round(balance + delta, 2),
            entries=[*entries, event.entry_id],
        )

    @property
    def balance(self) -> float:
        return self.state.balance if self.state else 0.0

    def _new_entry(self, entry_id: str, hours: float) -> bool:
        if hours <= 0 or round(hours, 2) != hours:
            raise InvalidCommandError("hours are positive, in hundredths at most", field="hours")
        return self.state is None or entry_id not in self.state.entries

    def earn(
        self,
        *,
        entry_id: str,
        hours: float,
        activity: str,
        served_on: date,
        area_code: str,
        today: date,
    ) -> None:
        check_past_date(served_on, "served_on", today)
        if self._new_entry(entry_id, hours):
            self.record(
                VolunteerHoursEarnedV1(
                    volunteer_id=self.id,
                    entry_id=entry_id,
                    hours=hours,
                    activity=activity,
                    served_on=served_on,
                    area_code=area_code,
                )
            )

    def spend(
        self,
        *,
        entry_id: str,
        hours: float,
        purpose: str,
        spent_on: date,
        area_code: str,
        today: date,
    ) -> None:
        check_past_date(spent_on, "spent_on", today)
        if not self._new_entry(entry_id, hours):
            return
        if hours > self.balance:
            raise NotEnoughHoursError(
                f"volunteer {self.id} has {self.balance:g} hours banked, not {hours:g}",
                balance=self.balance,
            )
        self.record(
            VolunteerHoursSpentV1(
                volunteer_id=self.id,
                entry_id=entry_id,
                hours=hours,
                purpose=purpose,
                spent_on=spent_on,
                area_code=area_code,
                balance_after=round(self.balance - hours, 2),
            )
        )
