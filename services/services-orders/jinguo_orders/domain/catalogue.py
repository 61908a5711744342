"""The service catalogue: what residents can order, at which prices, from whom."""

from __future__ import annotations

from jinguo_contracts.base import EventContract
from jinguo_contracts.orders import ServiceCategory, ServiceOfferedV1
from jinguo_shared.domain import Aggregate, AggregateState, InvalidCommandError


class ServiceState(AggregateState):
    category: ServiceCategory
    name: str
    market_price: int
    low_cost_price: int
    required_certificates: list[str]


class Service(Aggregate[ServiceState]):
    aggregate_type = "service"
    state_type = ServiceState

    @classmethod
    def evolve(cls, state: ServiceState | None, event: EventContract) -> ServiceState:
        assert isinstance(event, ServiceOfferedV1)
        return ServiceState(
            category=event.category,
            name=event.name,
            market_price=event.market_price,
            low_cost_price=event.low_cost_price,
            required_certificates=list(event.required_certificates),
        )

    def offer(
        self,
        *,
        category: ServiceCategory,
        name: str,
        market_price: int,
        low_cost_price: int,
        required_certificates: list[str],
    ) -> None:
        """Offering again with new prices changes the price list for orders placed afterwards;
        offering the same again changes nothing."""
        if low_cost_price > market_price:
            raise InvalidCommandError(
                "the low-cost price is above the market price", field="low_cost_price"
            )
        offered = ServiceOfferedV1(
            service_code=self.id,
            category=category,
            name=name,
            market_price=market_price,
            low_cost_price=low_cost_price,
            required_certificates=sorted(set(required_certificates)),
        )
        if self.state is not None and self.evolve(None, offered) == self.state:
            return
        self.record(offered)
