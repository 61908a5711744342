"""A fund (专项资金, 彩票公益金…): a source, a year, an area and a budget, perhaps split into
per-kind lines. Approving a subsidy commits its amount here, so the fund's version guards every
approval: concurrent approvals are decided one after another and none passes the budget."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    BudgetLine,
    FundBudgetAdjustedV1,
    FundCommittedV1,
    FundOpenedV1,
    FundSource,
    SubsidyKind,
)
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    InvalidCommandError,
    RuleViolationError,
    check_past_date,
)


class FundExhaustedError(RuleViolationError):
    code = "fund-exhausted"


class BudgetBelowCommitmentsError(RuleViolationError):
    code = "budget-below-commitments"


class FundState(AggregateState):
    area_code: str
    year: int
    budget: int
    lines: dict[str, int] = Field(default_factory=dict, description="budget per kind, if split")
    committed: int = 0
    committed_by_kind: dict[str, int] = Field(default_factory=dict)

    @property
    def balance(self) -> int:
        return self.budget - self.committed


def _lines(lines: list[BudgetLine], budget: int) -> dict[str, int]:
    by_kind: dict[str, int] = {}
    for line in lines:
        if line.kind in by_kind:
            raise InvalidCommandError(f"two budget lines for {line.kind}", field="lines")
        by_kind[line.kind] = line.amount
    if sum(by_kind.values()) > budget:
        raise InvalidCommandError(
            f"the budget lines add up to {sum(by_kind.values())} yuan, more than the budget"
            f" of {budget}",
            field="lines",
        )
    return by_kind


class Fund(Aggregate[FundState]):
    aggregate_type = "fund"
    state_type = FundState

    @classmethod
    def evolve(cls, state: FundState | None, event: EventContract) -> FundState:
        if isinstance(event, FundOpenedV1):
            return FundState(
                area_code=event.area_code,
                year=event.year,
                budget=event.budget,
                lines={line.kind: line.amount for line in event.lines},
            )
        assert state is not None, f"{event.event_type} before FundOpened"
        match event:
            case FundBudgetAdjustedV1():
                return state.model_copy(
                    update={
                        "budget": event.budget,
                        "lines": {line.kind: line.amount for line in event.lines},
                    }
                )
            case FundCommittedV1():
                by_kind = dict(state.committed_by_kind)
                by_kind[event.kind] = by_kind.get(event.kind, 0) + event.amount
                return state.model_copy(
                    update={
                        "committed": event.committed,
                        "committed_by_kind": by_kind,
                    }
                )
        return state

    def open(
        self,
        *,
        name: str,
        source: FundSource,
        year: int,
        area_code: str,
        budget: int,
        lines: list[BudgetLine],
        on: date,
        today: date,
    ) -> None:
        check_past_date(on, "occurred_on", today)
        if self.exists:
            raise AlreadyExistsError(f"fund {self.id} is already open", existing_id=self.id)
        _lines(lines, budget)
        self.record(
            FundOpenedV1(
                fund_id=self.id,
                name=name,
                source=source,
                year=year,
                area_code=area_code,
                budget=budget,
                lines=lines,
                occurred_on=on,
            )
        )

    def adjust_budget(
        self, *, budget: int, lines: list[BudgetLine], reason: str, on: date, today: date
    ) -> None:
        check_past_date(on, "occurred_on", today)
        state = self.require_state()
        by_kind = _lines(lines, budget)
        if budget < state.committed:
            raise BudgetBelowCommitmentsError(
                f"fund {self.id} has {state.committed} yuan committed: its budget cannot be"
                f" {budget}",
                committed=state.committed,
            )
        for kind, committed in state.committed_by_kind.items():
            if kind in by_kind and by_kind[kind] < committed:
                raise BudgetBelowCommitmentsError(
                    f"fund {self.id} has {committed} yuan committed to {kind} subsidies: that"
                    f" line cannot be {by_kind[kind]}",
                    committed=committed,
                    kind=kind,
                )
        self.record(
            FundBudgetAdjustedV1(
                fund_id=self.id,
                area_code=state.area_code,
                budget=budget,
                lines=lines,
                reason=reason,
                occurred_on=on,
            )
        )

    def commit(
        self, *, subsidy_id: str, kind: SubsidyKind, amount: int, area_code: str, on: date
    ) -> None:
        """Sets the amount aside, or refuses with what is left: the budget, and the kind's line
        if the fund has one. The subsidy, decided with it, commits itself once."""
        state = self.require_state()
        if amount > state.balance:
            raise FundExhaustedError(
                f"fund {self.id} has {state.balance} yuan left; this subsidy needs {amount}",
                balance=state.balance,
                fund_id=self.id,
            )
        line = state.lines.get(kind)
        if line is not None:
            left = line - state.committed_by_kind.get(kind, 0)
            if amount > left:
                raise FundExhaustedError(
                    f"fund {self.id} has {left} yuan left for {kind} subsidies; this one needs"
                    f" {amount}",
                    balance=left,
                    fund_id=self.id,
                    kind=kind,
                )
        self.record(
            FundCommittedV1(
                fund_id=self.id,
                subsidy_id=subsidy_id,
                kind=kind,
                amount=amount,
                area_code=area_code,
                committed=state.committed + amount,
                occurred_on=on,
            )
        )
