"""Pure building blocks for every service's domain: aggregates decide by recording events."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Final, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict

from jinguo_contracts.base import EventContract

StateT = TypeVar("StateT", bound=BaseModel)


class AggregateState(BaseModel):
    """Only what deciding needs; it is cached as JSON, so keep PII out of it."""

    model_config = ConfigDict(extra="ignore")


class DomainError(Exception):
    """A command refused by a rule of the domain; `code` is stable for clients."""

    code: ClassVar[str] = "domain-error"
    status: ClassVar[int] = 409

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class NotFoundError(DomainError):
    code = "not-found"
    status = 404


class AlreadyExistsError(DomainError):
    code = "already-exists"
    status = 409


class RuleViolationError(DomainError):
    code = "rule-violation"
    status = 409


class InvalidCommandError(DomainError):
    code = "invalid-command"
    status = 422


class OutsideJurisdictionError(DomainError):
    """A write that would put a record in an area the caller's agency does not cover."""

    code = "outside-jurisdiction"
    status = 403


EARLIEST_DATE: Final = date(1990, 1, 1)
"""No record of the programme is older: earlier dates are typing errors."""
PLANNING_YEARS: Final = 10
"""How far ahead a planned date (an expiry, a course's end) may lie."""


def check_past_date(value: date, field: str, today: date) -> date:
    """The one rule for the day something happened: not after today (in the programme's time
    zone, which `today` comes from) and not before the programme's records begin."""
    if value > today:
        raise InvalidCommandError(
            f"{field} {value.isoformat()} is in the future (today is {today.isoformat()})",
            field=field,
        )
    if value < EARLIEST_DATE:
        raise InvalidCommandError(
            f"{field} {value.isoformat()} is before {EARLIEST_DATE.isoformat()}", field=field
        )
    return value


def check_planned_date(value: date, field: str, today: date) -> date:
    """The one rule for a day planned or promised (an expiry, a course's dates, a window):
    within the programme's records and at most to the end of the year `PLANNING_YEARS` ahead."""
    latest = date(today.year + PLANNING_YEARS, 12, 31)
    if not EARLIEST_DATE <= value <= latest:
        raise InvalidCommandError(
            f"{field} {value.isoformat()} is outside {EARLIEST_DATE.isoformat()} to"
            f" {latest.isoformat()}",
            field=field,
        )
    return value


class Aggregate(Generic[StateT]):
    """State changes only by applying events; command methods check rules, then `record`."""

    aggregate_type: ClassVar[str]
    state_type: ClassVar[type[BaseModel]]

    def __init__(self, aggregate_id: str, state: StateT | None = None, version: int = 0) -> None:
        self.id = aggregate_id
        self.state = state
        self.version = version
        self.pending: list[EventContract] = []

    @classmethod
    def evolve(cls, state: StateT | None, event: EventContract) -> StateT:
        raise NotImplementedError

    @classmethod
    def from_history(cls, aggregate_id: str, events: list[EventContract], version: int) -> Self:
        state: StateT | None = None
        for event in events:
            state = cls.evolve(state, event)
        return cls(aggregate_id, state, version)

    @property
    def exists(self) -> bool:
        return self.state is not None

    @property
    def area_code(self) -> str | None:
        """Where the aggregate belongs, if its state says: who may act on it follows from it."""
        return getattr(self.state, "area_code", None)

    def record(self, event: EventContract) -> None:
        self.state = self.evolve(self.state, event)
        self.pending.append(event)

    def require_state(self) -> StateT:
        if self.state is None:
            raise NotFoundError(f"{self.aggregate_type} {self.id} does not exist")
        return self.state
