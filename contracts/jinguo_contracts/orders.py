"""Events of the services-orders service on `orders.>` (stream ORDERS).

Only `ServiceCompleted` is defined so far, because employment reacts to it (a flexible-employment
record, 灵活就业, for the worker who delivered the service). The services-orders service adds
the rest of its published language here (OrderPlaced, OrderAssigned, …).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field, model_validator

from jinguo_contracts.base import CATALOGUE, EventContract
from jinguo_contracts.registry import PriceTier


class _Order(EventContract):
    service: ClassVar[str] = "orders"
    aggregate: ClassVar[str] = "order"
    order_id: str


class ServiceCompletedV1(_Order):
    """A worker (or a provider's team) finished delivering an ordered community service."""

    event_type: ClassVar[str] = "ServiceCompleted"
    worker_id: str | None = Field(default=None, description="the registry's worker id, if a worker")
    provider_id: str | None = Field(default=None, description="the registry's provider id")
    service_code: str = Field(description="code in the service catalogue, e.g. housekeeping")
    area_code: str = Field(description="12-digit community code where it was delivered")
    started_at: datetime
    completed_at: datetime
    price_tier: PriceTier

    @model_validator(mode="after")
    def _someone_delivered(self) -> ServiceCompletedV1:
        if self.worker_id is None and self.provider_id is None:
            raise ValueError("a completed service names its worker_id or its provider_id")
        if self.completed_at < self.started_at:
            raise ValueError("completed_at is before started_at")
        return self

    @property
    def hours(self) -> float:
        return round((self.completed_at - self.started_at).total_seconds() / 3600, 2)


CATALOGUE.register(ServiceCompletedV1)
