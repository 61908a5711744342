"""Pure building blocks for every service's domain: aggregates decide by recording events."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Self, TypeVar

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

    def record(self, event: EventContract) -> None:
        self.state = self.evolve(self.state, event)
        self.pending.append(event)

    def require_state(self) -> StateT:
        if self.state is None:
            raise NotFoundError(f"{self.aggregate_type} {self.id} does not exist")
        return self.state
