"""The one place that wires the employment service to its concrete adapters."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from fastapi import FastAPI

from jinguo_employment.entrypoints.http import FEED, create_app
from jinguo_employment.handlers.commands import EmploymentHandlers
from jinguo_employment.handlers.funds import FundHandlers
from jinguo_employment.policies.reactions import InspectionPolicy, OrdersPolicy
from jinguo_employment.projections.board import CourseRegister, PlacementRegister, PostBoard
from jinguo_employment.projections.funds import FundLedger, FundQueries
from jinguo_employment.projections.pool import SeekerPool
from jinguo_employment.projections.queries import EmploymentQueries
from jinguo_employment.projections.reports import EmploymentReports
from jinguo_employment.projections.training import TrainingOutcomes
from jinguo_shared.projections.base import Projection
from jinguo_shared.reactions import Policy
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.services import DemoProgress


def queries_for(runtime: ServiceRuntime) -> EmploymentQueries:
    return EmploymentQueries(runtime.engine, runtime.projections)


def handlers_for(runtime: ServiceRuntime) -> EmploymentHandlers:
    return EmploymentHandlers(runtime.executor, queries_for(runtime), runtime.clock.today)


def fund_handlers_for(runtime: ServiceRuntime) -> FundHandlers:
    """The clock is asked on every command, so a test may set `runtime.clock` later."""
    return FundHandlers(
        runtime.executor,
        queries_for(runtime),
        FundQueries(runtime.engine, runtime.projections),
        lambda: runtime.clock.today(),
    )


class EmploymentService:
    name = "employment"
    prefix = "/employment"
    feed = FEED
    projections: Sequence[type[Projection]] = (
        SeekerPool,
        PostBoard,
        PlacementRegister,
        CourseRegister,
        EmploymentReports,
        TrainingOutcomes,
        FundLedger,
    )
    policy_types: Sequence[type[Policy]] = (InspectionPolicy, OrdersPolicy)

    def create_app(self, runtime: ServiceRuntime) -> FastAPI:
        return create_app(
            runtime,
            handlers_for(runtime),
            queries_for(runtime),
            fund_handlers_for(runtime),
            FundQueries(runtime.engine, runtime.projections),
        )

    def policies(self, runtime: ServiceRuntime) -> Sequence[Policy]:
        handlers = handlers_for(runtime)
        return [InspectionPolicy(handlers), OrdersPolicy(handlers)]

    async def seed_development(self, runtime: ServiceRuntime) -> list[str]:
        return []

    async def load_demo(self, client: httpx.AsyncClient, progress: DemoProgress) -> str | None:
        from jinguo_employment.demo import load_employment_demo

        return await load_employment_demo(client, progress)


service = EmploymentService()
