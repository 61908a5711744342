"""The one place that wires the services-orders service to its concrete adapters."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from fastapi import FastAPI

from jinguo_orders.entrypoints.http import FEED, create_app
from jinguo_orders.handlers.commands import OrdersHandlers
from jinguo_orders.policies.reactions import EmploymentPolicy
from jinguo_orders.projections.queries import OrdersQueries
from jinguo_orders.projections.reports import OrdersReports
from jinguo_orders.projections.views import (
    Community,
    DispatchPool,
    OrderBoard,
    Quality,
    Settlements,
    TimeBankLedger,
)
from jinguo_shared.projections.base import Projection
from jinguo_shared.reactions import Policy
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.services import DemoProgress


def queries_for(runtime: ServiceRuntime) -> OrdersQueries:
    return OrdersQueries(runtime.engine, runtime.projections, runtime.vault)


def handlers_for(runtime: ServiceRuntime) -> OrdersHandlers:
    return OrdersHandlers(runtime.executor, queries_for(runtime), runtime.clock)


class OrdersService:
    name = "orders"
    prefix = "/orders"
    feed = FEED
    projections: Sequence[type[Projection]] = (
        OrderBoard,
        DispatchPool,
        Community,
        Quality,
        Settlements,
        TimeBankLedger,
        OrdersReports,
    )
    policy_types: Sequence[type[Policy]] = (EmploymentPolicy,)

    def create_app(self, runtime: ServiceRuntime) -> FastAPI:
        return create_app(runtime, handlers_for(runtime), queries_for(runtime))

    def policies(self, runtime: ServiceRuntime) -> Sequence[Policy]:
        return [EmploymentPolicy(handlers_for(runtime))]

    async def seed_development(self, runtime: ServiceRuntime) -> list[str]:
        return []

    async def load_demo(self, client: httpx.AsyncClient, progress: DemoProgress) -> str | None:
        from jinguo_orders.demo import load_orders_demo

        return await load_orders_demo(client, progress)


service = OrdersService()
