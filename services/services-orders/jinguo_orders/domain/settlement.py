"""政府购买服务结算: the monthly statement of what the government owes a community.

The statement is a pure function of delivered services (each with the tier and prices fixed
when it was ordered), so it is the same however often it is rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from jinguo_contracts.base import EventContract
from jinguo_contracts.orders import SettlementIssuedV1, SettlementLine
from jinguo_contracts.registry import PriceTier
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    InvalidCommandError,
    check_planned_date,
)


@dataclass(frozen=True, slots=True)
class Delivered:
    order_id: str
    service_code: str
    price_tier: PriceTier
    completed_on: date
    market_price: int
    resident_paid: int


def statement(delivered: Iterable[Delivered]) -> list[SettlementLine]:
    """Free and low-cost services only (market ones are the resident's own business), in a
    stable order; the government owes the difference between the full and the paid price."""
    return [
        SettlementLine(
            order_id=d.order_id,
            service_code=d.service_code,
            price_tier=d.price_tier,
            completed_on=d.completed_on,
            market_price=d.market_price,
            resident_paid=d.resident_paid,
            government_owes=d.market_price - d.resident_paid,
        )
        for d in sorted(delivered, key=lambda d: (d.completed_on, d.order_id))
        if d.price_tier != "market"
    ]


def month_start(month: str) -> date:
    """The first day of a `YYYY-MM` month."""
    year, number = (int(part) for part in month.split("-"))
    return date(year, number, 1)


def settlement_id(area_code: str, month: str) -> str:
    return f"{area_code}-{month}"


class SettlementState(AggregateState):
    area_code: str
    total_owed: int


class Settlement(Aggregate[SettlementState]):
    aggregate_type = "settlement"
    state_type = SettlementState

    @classmethod
    def evolve(cls, state: SettlementState | None, event: EventContract) -> SettlementState:
        assert isinstance(event, SettlementIssuedV1)
        return SettlementState(area_code=event.area_code, total_owed=event.total_owed)

    def issue(
        self, *, area_code: str, month: str, lines: list[SettlementLine], today: date
    ) -> None:
        """A month is settled once, and only after it has ended (`today` is the programme's)."""
        if self.exists:
            raise AlreadyExistsError(f"{month} is already settled for {area_code}")
        first = month_start(month)
        check_planned_date(first, "month", today)
        if (today.year, today.month) <= (first.year, first.month):
            raise InvalidCommandError(f"{month} has not ended yet", field="month")
        self.record(
            SettlementIssuedV1(
                settlement_id=self.id,
                area_code=area_code,
                month=month,
                lines=lines,
                total_owed=sum(line.government_owes for line in lines),
            )
        )
