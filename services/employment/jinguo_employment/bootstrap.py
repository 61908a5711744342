"""The one place that wires the employment service to its concrete adapters."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from jinguo_employment.entrypoints.http import FEED, create_app
from jinguo_employment.entrypoints.loans_http import loans_router
from jinguo_employment.handlers.commands import EmploymentHandlers
from jinguo_employment.handlers.funds import FundHandlers
from jinguo_employment.handlers.loans import LoanHandlers
from jinguo_employment.policies.reactions import InspectionPolicy, OrdersPolicy
from jinguo_employment.projections.board import CourseRegister, PlacementRegister, PostBoard
from jinguo_employment.projections.funds import FundLedger, FundQueries
from jinguo_employment.projections.loans import LoanBook, LoanQueries
from jinguo_employment.projections.pool import SeekerPool
from jinguo_employment.projections.queries import EmploymentQueries
from jinguo_employment.projections.reports import EmploymentReports
from jinguo_employment.projections.training import TrainingOutcomes
from jinguo_shared.projections.base import Projection
from jinguo_shared.reactions import Policy
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.services import DemoProgress


class EmploymentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JINGUO_EMPLOYMENT_", extra="ignore")

    loans_require_syb: bool = Field(
        default=True,
        description="a small guaranteed loan needs an SYB course (创业培训) passed by the day"
        " she applies",
    )


def queries_for(runtime: ServiceRuntime) -> EmploymentQueries:
    return EmploymentQueries(runtime.engine, runtime.projections)


def handlers_for(runtime: ServiceRuntime) -> EmploymentHandlers:
    return EmploymentHandlers(runtime.executor, queries_for(runtime), runtime.clock.today)


def fund_queries_for(runtime: ServiceRuntime) -> FundQueries:
    return FundQueries(runtime.engine, runtime.projections)


def fund_handlers_for(runtime: ServiceRuntime) -> FundHandlers:
    """The clock is asked on every command, so a test may set `runtime.clock` later."""
    return FundHandlers(
        runtime.executor,
        queries_for(runtime),
        fund_queries_for(runtime),
        lambda: runtime.clock.today(),
    )


def loan_handlers_for(
    runtime: ServiceRuntime, settings: EmploymentSettings | None = None
) -> LoanHandlers:
    return LoanHandlers(
        runtime.executor,
        queries_for(runtime),
        loan_queries_for(runtime),
        runtime.clock.today,
        syb_required=(settings or EmploymentSettings()).loans_require_syb,
    )


def loan_queries_for(runtime: ServiceRuntime) -> LoanQueries:
    return LoanQueries(runtime.engine, runtime.projections, runtime.vault)


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
        LoanBook,
    )
    policy_types: Sequence[type[Policy]] = (InspectionPolicy, OrdersPolicy)

    def create_app(self, runtime: ServiceRuntime) -> FastAPI:
        return create_app(
            runtime,
            handlers_for(runtime),
            queries_for(runtime),
            fund_handlers_for(runtime),
            fund_queries_for(runtime),
            loans_router(runtime, loan_handlers_for(runtime), loan_queries_for(runtime)),
        )

    def policies(self, runtime: ServiceRuntime) -> Sequence[Policy]:
        handlers = handlers_for(runtime)
        return [InspectionPolicy(handlers), OrdersPolicy(handlers)]

    async def seed_development(self, runtime: ServiceRuntime) -> list[str]:
        return []

    async def load_demo(self, client: httpx.AsyncClient, progress: DemoProgress) -> str | None:
        from jinguo_employment.demo import load_employment_demo
        from jinguo_employment.demo_loans import load_loans_demo

        loaded = await load_employment_demo(client, progress)
        return f"{loaded}; {await load_loans_demo(client, progress)}"


service = EmploymentService()
