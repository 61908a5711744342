"""The one place that wires the registry to its concrete adapters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from jinguo_contracts.access import OPERATOR_SCOPE, SCOPES
from jinguo_registry.domain.organisations import BOOTSTRAP
from jinguo_registry.entrypoints.areas_file import AreaLine
from jinguo_registry.entrypoints.http import FEED, create_app, household_handlers
from jinguo_registry.handlers.commands import (
    IssueApiClient,
    RegisterAgency,
    RegistryHandlers,
)
from jinguo_registry.handlers.programme import ProgrammeHandlers, RenameArea
from jinguo_registry.handlers.spells import SpellHandlers
from jinguo_registry.policies.certificates import CourseCertificatePolicy
from jinguo_registry.policies.households import HouseholdClearingPolicy
from jinguo_registry.policies.reemployment import ReemploymentPolicy
from jinguo_registry.projections.community import CommunityDirectory
from jinguo_registry.projections.entitlement import CertificateEntitlement
from jinguo_registry.projections.figures import ProgrammeFigures
from jinguo_registry.projections.path import WorkerPath
from jinguo_registry.projections.people import People
from jinguo_registry.projections.people_queries import PeopleQueries
from jinguo_registry.projections.programme import ProgrammeRegister
from jinguo_registry.projections.programme_queries import ProgrammeQueries
from jinguo_registry.projections.queries import RegistryQueries
from jinguo_registry.projections.recognition import Recognition
from jinguo_registry.projections.reports import AreaReports
from jinguo_registry.projections.workers import CertificateRegister, ErasedKeys, WorkerDirectory
from jinguo_shared.domain import AlreadyExistsError
from jinguo_shared.envelope import CommandContext
from jinguo_shared.projections.base import Projection
from jinguo_shared.reactions import Policy
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.services import DemoProgress

DEV_KEY_FILE = "dev-api-key"
DEV_AGENCY_AREA = "110101"


def handlers_for(runtime: ServiceRuntime) -> RegistryHandlers:
    return RegistryHandlers(runtime.executor, runtime.hasher, runtime.vault, runtime.clock.today)


class RegistryService:
    name = "registry"
    prefix = "/registry"
    feed = FEED
    projections: Sequence[type[Projection]] = (
        WorkerDirectory,
        CertificateRegister,
        AreaReports,
        CommunityDirectory,
        ErasedKeys,
        ProgrammeRegister,
        ProgrammeFigures,
        Recognition,
        WorkerPath,
        People,
        CertificateEntitlement,
    )
    policy_types: Sequence[type[Policy]] = (
        ReemploymentPolicy,
        CourseCertificatePolicy,
        HouseholdClearingPolicy,
    )

    def create_app(self, runtime: ServiceRuntime) -> FastAPI:
        queries = RegistryQueries(runtime.engine, runtime.projections, runtime.vault)
        return create_app(runtime, handlers_for(runtime), queries)

    def policies(self, runtime: ServiceRuntime) -> Sequence[Policy]:
        handlers = handlers_for(runtime)
        spells = SpellHandlers(runtime.executor, runtime.clock.today)
        people = PeopleQueries(runtime.engine, runtime.projections, runtime.vault)
        return [
            ReemploymentPolicy(spells),
            CourseCertificatePolicy(handlers),
            HouseholdClearingPolicy(household_handlers(runtime, people)),
        ]

    async def seed_development(self, runtime: ServiceRuntime) -> list[str]:
        """On first start only: a development agency and the platform operator's key, with
        every scope."""
        key_file = runtime.settings.data_dir / DEV_KEY_FILE
        if key_file.exists():
            return [f"API key (development): {key_file.read_text().strip()}  [{key_file}]"]
        issued = await issue_agency_key(
            runtime,
            RegisterAgency(
                name="开发测试机构 (development agency)",
                kind="womens_federation",
                area_code=DEV_AGENCY_AREA,
            ),
            IssueApiClient(name="development", scopes=sorted(SCOPES | {OPERATOR_SCOPE})),
        )
        await runtime.projections.wait_for(issued.position, ["api_clients"], 30)
        key_file.write_text(issued.api_key + "\n")
        key_file.chmod(0o600)
        return [f"API key (development, created now): {issued.api_key}  [{key_file}]"]

    async def finish_demo(self, client: httpx.AsyncClient, progress: DemoProgress) -> str:
        """Once every service has entered its demo data: the programme's year over it."""
        from jinguo_registry.demo_programme import load_programme_demo

        return await load_programme_demo(client, progress)

    async def load_demo(self, client: httpx.AsyncClient, progress: DemoProgress) -> str | None:
        from jinguo_registry.demo import load_registry_demo
        from jinguo_registry.demo_programme import register_demo_areas

        await register_demo_areas(client)
        demo = await load_registry_demo(client, progress)
        return (
            f"registry demo: {len(demo.worker_ids)} workers, {len(demo.resident_ids)} residents,"
            f" {len(demo.provider_ids)} providers, {len(demo.volunteer_ids)} volunteers,"
            f" {len(demo.agency_ids)} agencies, {len(demo.household_ids)} households"
        )


@dataclass(frozen=True)
class IssuedKey:
    agency_id: str
    client_id: str
    api_key: str
    position: str


async def issue_agency_key(
    runtime: ServiceRuntime, agency: RegisterAgency, client: IssueApiClient
) -> IssuedKey:
    """The agency (registered once per name and area) and a new API client of it, issued by the
    bootstrap step (it alone may grant platform:admin). Also how an operator creates the first
    key of a deployment (`jinguo-registry issue-key`)."""
    handlers = handlers_for(runtime)
    try:
        agency_id = (
            await handlers.register_agency(
                agency, system_context(f"agency:{agency.name}:{agency.area_code}")
            )
        ).aggregate_id
    except AlreadyExistsError as exists:
        agency_id = str(exists.extensions["existing_id"])
    result, client_id, api_key = await handlers.issue_api_client(
        agency_id, client, system_context(f"client-{uuid.uuid4()}"), grantor=BOOTSTRAP
    )
    return IssuedKey(agency_id, client_id, api_key, result.position)


@dataclass(frozen=True)
class LoadedAreas:
    registered: int
    renamed: int
    populations: int
    position: str


async def load_areas(runtime: ServiceRuntime, lines: Sequence[AreaLine]) -> LoadedAreas:
    """The register of areas from checked lines (parents first), as the platform operator.
    Loading the same file again records nothing new: each command's id comes from its line."""
    programme = ProgrammeHandlers(
        runtime.executor, ProgrammeQueries(runtime.engine, runtime.projections), runtime.clock.today
    )
    registered = renamed = populations = 0
    position = ""
    for line in lines:
        area = line.area
        what = f"{area.area_code}:{area.name}:{area.urban}"
        try:
            result = await programme.register_area(area, system_context(f"area:{what}"))
            registered += not result.replayed
        except AlreadyExistsError:
            change = RenameArea(name=area.name, urban=area.urban)
            result = await programme.rename_area(
                area.area_code, change, system_context(f"area-renamed:{what}")
            )
            renamed += bool(result.events) and not result.replayed
        position = f"{result.stream}:{result.seq}"
        if line.population is not None and line.year is not None:
            counts = line.population
            purpose = f"population:{area.area_code}:{line.year}:{counts.model_dump_json()}"
            result = await programme.record_population(
                area.area_code, line.year, counts, system_context(purpose)
            )
            populations += bool(result.events) and not result.replayed
            position = f"{result.stream}:{result.seq}"
    return LoadedAreas(registered, renamed, populations, position)


def system_context(purpose: str) -> CommandContext:
    command_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"jinguo:system:{purpose}"))
    return CommandContext(command_id=command_id, correlation_id=command_id, actor="system")


service = RegistryService()
