"""The one place that wires the rights service to its concrete adapters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from jinguo_rights.domain.calendar import CHINA_2026, WorkingCalendar
from jinguo_rights.domain.deadlines import DeadlinePolicy
from jinguo_rights.entrypoints.http import FEED, create_app
from jinguo_rights.handlers.commands import RightsHandlers
from jinguo_rights.policies.erasure import ComplainantErasurePolicy
from jinguo_rights.policies.figures import RightsFiguresPolicy
from jinguo_rights.projections.cases import RIGHTS_PROJECTIONS
from jinguo_rights.projections.figure_facts import FigureFacts
from jinguo_rights.projections.queries import AgencyDirectory, RightsQueries
from jinguo_shared.commands import CommandExecutor
from jinguo_shared.eventstore import EventStore
from jinguo_shared.projections.base import Projection
from jinguo_shared.reactions import Policy
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.services import DemoProgress

INSPECTIONS = "inspections"
"""The subject prefix (and stream INSPECTIONS) of the events other services may read."""


class RightsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JINGUO_RIGHTS_", extra="ignore")

    calendar: Path | None = Field(
        default=None,
        description='JSON {"holidays": [...], "workdays": [...]} added to the built-in calendar',
    )
    due_soon_days: int = Field(default=3, ge=1, le=30)
    max_extension_days: int = Field(default=30, ge=1, le=60)


def deadline_policy(settings: RightsSettings | None = None) -> DeadlinePolicy:
    settings = settings or RightsSettings()
    calendar = CHINA_2026
    if settings.calendar is not None:
        configured = json.loads(settings.calendar.read_text())
        calendar = calendar.merged(WorkingCalendar.from_mapping(configured))
    return DeadlinePolicy(
        calendar,
        due_soon_days=settings.due_soon_days,
        max_extension_days=settings.max_extension_days,
    )


def inspections_executor(runtime: ServiceRuntime) -> CommandExecutor:
    """Commands whose events go to INSPECTIONS, which other services may read."""
    return CommandExecutor(runtime.engine, EventStore(runtime.nc, INSPECTIONS, runtime.vault))


def handlers_for(runtime: ServiceRuntime, policy: DeadlinePolicy | None = None) -> RightsHandlers:
    return RightsHandlers(
        runtime.executor,
        inspections_executor(runtime),
        policy or deadline_policy(),
        today=runtime.clock.today,
        agency_area=AgencyDirectory(runtime.engine, runtime.projections).area_of,
    )


def queries_for(runtime: ServiceRuntime, handlers: RightsHandlers) -> RightsQueries:
    return RightsQueries(runtime.engine, runtime.projections, runtime.vault, handlers.policy)


class RightsService:
    name = "rights"
    prefix = "/rights"
    feed = FEED
    """Inspections only: the case stream (RIGHTS) is confidential and never leaves."""
    projections: Sequence[type[Projection]] = RIGHTS_PROJECTIONS
    policy_types: Sequence[type[Policy]] = (ComplainantErasurePolicy, RightsFiguresPolicy)

    def create_app(self, runtime: ServiceRuntime) -> FastAPI:
        handlers = handlers_for(runtime)
        return create_app(runtime, handlers, queries_for(runtime, handlers))

    def policies(self, runtime: ServiceRuntime) -> Sequence[Policy]:
        handlers = handlers_for(runtime)
        queries = queries_for(runtime, handlers)
        return [
            ComplainantErasurePolicy(handlers, queries, runtime.projections),
            RightsFiguresPolicy(
                inspections_executor(runtime),
                FigureFacts(runtime.engine, runtime.projections),
                runtime.projections,
            ),
        ]

    async def seed_development(self, runtime: ServiceRuntime) -> list[str]:
        return []

    async def load_demo(self, client: httpx.AsyncClient, progress: DemoProgress) -> str | None:
        from jinguo_rights.demo import load_rights_demo

        demo = await load_rights_demo(client, progress)
        return demo.summary()


service = RightsService()
