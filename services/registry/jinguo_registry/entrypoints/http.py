"""The registry's HTTP API under /registry: commands answer with a position, reads accept one."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query
from pydantic import BaseModel

from jinguo_contracts.access import OPERATOR_SCOPE
from jinguo_registry.domain.organisations import Grantor
from jinguo_registry.entrypoints import sheet_page
from jinguo_registry.entrypoints.certificates_http import add_certificate_routes
from jinguo_registry.entrypoints.people_http import add_people_routes
from jinguo_registry.entrypoints.programme_http import add_programme_routes
from jinguo_registry.entrypoints.recognition_http import add_recognition_routes
from jinguo_registry.entrypoints.responses import (
    Agency,
    Certificate,
    Dossier,
    PathLine,
    Provider,
    Resident,
    Volunteer,
    Worker,
)
from jinguo_registry.entrypoints.spells_http import add_spell_routes
from jinguo_registry.handlers import commands as c
from jinguo_registry.handlers.certificates import CertificateHandlers
from jinguo_registry.handlers.commands import RegistryHandlers
from jinguo_registry.handlers.households import HouseholdHandlers
from jinguo_registry.handlers.programme import ProgrammeHandlers
from jinguo_registry.handlers.recognition import RecognitionHandlers
from jinguo_registry.handlers.spells import SpellHandlers
from jinguo_registry.projections.entitlement_queries import CertificateQueries
from jinguo_registry.projections.people_queries import PeopleQueries
from jinguo_registry.projections.programme_queries import ProgrammeQueries, RecognitionQueries
from jinguo_registry.projections.queries import PathPosition, RegistryQueries
from jinguo_registry.projections.reports import INDICATORS
from jinguo_shared.access import OutsideJurisdictionQueryError
from jinguo_shared.feed import FeedDeclaration
from jinguo_shared.http.commands import Accepted, CommandRequest, command_request
from jinguo_shared.http.conventions import (
    Cursor,
    Limit,
    MonthFrom,
    MonthTo,
    Page,
    ReadAfter,
    Report,
    decode_cursor,
    page,
    report,
    require_scope,
    seq_after,
)
from jinguo_shared.http.security import Caller
from jinguo_shared.runtime import ServiceRuntime

Reader = Annotated[Caller, Depends(require_scope("registry:read"))]
WriteCommand = Annotated[CommandRequest, Depends(command_request(require_scope("registry:write")))]
AdminCommand = Annotated[CommandRequest, Depends(command_request(require_scope("registry:admin")))]
OperatorCommand = Annotated[CommandRequest, Depends(command_request(require_scope(OPERATOR_SCOPE)))]
After = ReadAfter
Id = Annotated[str, Path(min_length=1, max_length=64)]
CertificateNumber = Annotated[str, Path(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
CommunityPage = Page[Resident] | Page[Provider] | Page[Volunteer]
COMMUNITY_PAGES: dict[str, type[CommunityPage]] = {
    "residents": Page[Resident],
    "providers": Page[Provider],
    "volunteers": Page[Volunteer],
}
DataService = Annotated[str, Path(pattern=r"^[a-z]{1,20}$", description="e.g. registry")]


class IssuedClient(BaseModel):
    id: str
    position: str
    client_id: str
    api_key: str | None
    """Shown only in the first answer; a retried request cannot show it again."""


class RotatedKey(IssuedClient):
    previous_valid_until: datetime | None
    """Until when the key it replaces still works (in the first answer only, like the key)."""


def grantor(caller: Caller, agency_id: str) -> Grantor:
    """The caller as she grants scopes to an agency's API clients, if she administers it."""
    caller.require_administers(agency_id)
    return Grantor(caller.scopes, operator=caller.operator, client_id=caller.client_id)


FEED = FeedDeclaration(
    "REGISTRY",
    # access administration (key hashes, scopes, grants) is no partner's business
    withheld=frozenset(
        {
            "ApiClientIssued",
            "ApiClientKeyRotated",
            "ApiClientRevoked",
            "ApiClientPersonalDataGranted",
            "ApiClientPersonalDataWithdrawn",
        }
    ),
)
"""What partners read at the feed."""


def create_router(
    runtime: ServiceRuntime, handlers: RegistryHandlers, queries: RegistryQueries
) -> APIRouter:
    router = APIRouter()
    programme = ProgrammeQueries(runtime.engine, runtime.projections)
    add_programme_routes(
        router,
        runtime,
        ProgrammeHandlers(runtime.executor, programme, runtime.clock.today),
        programme,
    )
    add_recognition_routes(
        router,
        runtime,
        RecognitionHandlers(runtime.executor, runtime.clock.today),
        RecognitionQueries(runtime.engine, runtime.projections),
    )
    add_spell_routes(router, SpellHandlers(runtime.executor, runtime.clock.today))
    people = PeopleQueries(runtime.engine, runtime.projections, runtime.vault)
    add_people_routes(router, runtime, handlers, household_handlers(runtime, people), people)

    add_certificate_routes(
        router,
        runtime,
        CertificateHandlers(runtime.executor, runtime.clock.today),
        CertificateQueries(runtime.engine, runtime.projections),
    )

    # workers -----------------------------------------------------------------------------------

    @router.post("/workers", status_code=201, summary="Register a worker (登记)")
    async def register_worker(body: c.RegisterWorker, command: WriteCommand) -> Accepted:
        result = await handlers.register_worker(body, command.context, command.key)
        return command.accept(result)

    @router.patch("/workers/{worker_id}", summary="Update a worker's profile")
    async def update_worker(
        worker_id: Id, body: c.UpdateWorkerProfile, command: WriteCommand
    ) -> Accepted:
        result = await handlers.update_worker_profile(worker_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/workers/{worker_id}/categories",
        status_code=201,
        summary="Assess a hard-to-employ category (就业困难人员认定)",
    )
    async def assess_category(
        worker_id: Id, body: c.AssessCategory, command: WriteCommand
    ) -> Accepted:
        result = await handlers.assess_category(worker_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/workers/{worker_id}/certificates",
        status_code=201,
        summary="Issue a certificate (就业失业登记证, 再就业优惠证, 职业资格证书…)",
    )
    async def issue_certificate(
        worker_id: Id, body: c.IssueCertificate, command: WriteCommand
    ) -> Accepted:
        result = await handlers.issue_certificate(worker_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/workers/{worker_id}/certificates/{number}/revoke", summary="Revoke a certificate"
    )
    async def revoke_certificate(
        worker_id: Id, number: CertificateNumber, body: c.RevokeCertificate, command: WriteCommand
    ) -> Accepted:
        result = await handlers.revoke_certificate(
            worker_id, number, body, command.context, command.key
        )
        return command.accept(result)

    @router.post(
        "/workers/{worker_id}/home-visits",
        status_code=201,
        summary="Record a home visit (入户走访)",
    )
    async def record_home_visit(
        worker_id: Id, body: c.RecordHomeVisit, command: WriteCommand
    ) -> Accepted:
        result = await handlers.record_home_visit(worker_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/workers/{worker_id}/erase", summary="Erase a worker's personal data (destroys her key)"
    )
    async def erase_worker(worker_id: Id, body: c.Erase, command: AdminCommand) -> Accepted:
        result = await handlers.erase_worker(worker_id, body, command.context, command.key)
        return command.accept(result)

    @router.get("/workers", summary="Workers by area, category and status")
    async def list_workers(
        caller: Reader,
        after: After,
        area: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
        category: Annotated[
            Literal[
                "age_40_50",
                "disabled",
                "zero_employment_household",
                "minimum_living_allowance",
                "long_term_unemployed",
            ]
            | None,
            Query(),
        ] = None,
        status: Annotated[
            Literal["registered", "reemployed", "unemployed_again"] | None,
            Query(description="unemployed_again: her last spell ended (失业再登记)"),
        ] = None,
        draws_benefit: Annotated[
            bool | None, Query(description="draws unemployment benefit today (领失业金)")
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[Worker]:
        await runtime.visible(after, "worker_directory")
        rows = await queries.workers(
            area=caller.area(area),
            category=category,
            status=status,
            draws_benefit=draws_benefit,
            after_seq=seq_after(cursor),
            limit=limit,
            today=runtime.clock.today(),
        )
        return page(Page[Worker], rows, limit, lambda r: [r["registered_seq"]])

    @router.get(
        "/workers/{worker_id}", summary="A worker's full dossier (404 outside your jurisdiction)"
    )
    async def worker_dossier(worker_id: Id, caller: Reader, after: After) -> Dossier:
        await runtime.visible(after, "worker_directory", "certificates", "recognition")
        await runtime.visible(after, "community_directory", "people")
        dossier = await queries.dossier(worker_id, caller.sees, runtime.clock.today())
        if dossier is None:
            raise HTTPException(404, f"no worker {worker_id}")
        today = runtime.clock.today()
        person_id, as_resident = await people.minimum_living_allowance(worker_id, today)
        held = any(
            row["category"] == "minimum_living_allowance" and row["valid_until"] >= today
            for row in dossier["categories"]
        )
        dossier.update(person_id=person_id, minimum_living_allowance=held or as_resident)
        return Dossier.model_validate(dossier)

    @router.get(
        "/workers/{worker_id}/path",
        summary="Her path across the services, by business date (404 outside your jurisdiction)",
    )
    async def worker_path(
        worker_id: Id, caller: Reader, after: After, cursor: Cursor = None, limit: Limit = 50
    ) -> Page[PathLine]:
        await runtime.visible(after, "worker_directory", "worker_path")
        rows = await queries.path(worker_id, caller.sees, after=path_position(cursor), limit=limit)
        if rows is None:
            raise HTTPException(404, f"no worker {worker_id}")
        return page(
            Page[PathLine],
            rows,
            limit,
            lambda r: [r["happened_on"].isoformat(), r["recorded_at"].isoformat(), r["fact_id"]],
        )

    @router.get("/certificates", summary="Certificates by area, kind and status")
    async def list_certificates(
        caller: Reader,
        after: After,
        area: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
        kind: Annotated[
            Literal[
                "employment_unemployment", "reemployment_preference", "tax_relief", "vocational"
            ]
            | None,
            Query(),
        ] = None,
        status: Annotated[Literal["active", "revoked", "withdrawn"] | None, Query()] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[Certificate]:
        await runtime.visible(after, "certificates")
        position = None
        if cursor is not None:
            values = decode_cursor(cursor)
            if len(values) != 2:
                raise HTTPException(400, "the cursor is not one this API gave out")
            position = (str(values[0]), str(values[1]))
        rows = await queries.certificates(
            area=caller.area(area), kind=kind, status=status, after=position, limit=limit
        )
        return page(Page[Certificate], rows, limit, lambda r: [r["worker_id"], r["number"]])

    @router.get("/reports/areas/{area_code}", summary="Figures per month for an area")
    async def area_report(
        area_code: Annotated[str, Path(pattern=r"^\d{6}(\d{3}){0,2}$")],
        caller: Reader,
        after: After,
        month_from: MonthFrom = "2000-01",
        month_to: MonthTo = "2999-12",
    ) -> Report:
        if not caller.sees(area_code):  # outside, or wider than the jurisdiction
            raise OutsideJurisdictionQueryError(
                f"area {area_code} is not within your agency's jurisdiction"
            )
        await runtime.visible(after, "area_reports")
        rows = await queries.report(area_code, month_from, month_to)
        return report(area_code, month_from, month_to, rows)

    # residents, providers, volunteers -----------------------------------------------------------

    @router.post("/residents", status_code=201, summary="Register a resident (居民)")
    async def register_resident(body: c.RegisterResident, command: WriteCommand) -> Accepted:
        result = await handlers.register_resident(body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/residents/{resident_id}/eligibility",
        summary="Change eligibility for free or low-cost services (低保, 特困, 优抚…)",
    )
    async def change_eligibility(
        resident_id: Id, body: c.ChangeEligibility, command: WriteCommand
    ) -> Accepted:
        result = await handlers.change_eligibility(resident_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/residents/{resident_id}/erase", summary="Erase a resident's personal data")
    async def erase_resident(resident_id: Id, body: c.Erase, command: AdminCommand) -> Accepted:
        result = await handlers.erase_resident(resident_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/providers", status_code=201, summary="Register a service provider")
    async def register_provider(body: c.RegisterProvider, command: WriteCommand) -> Accepted:
        result = await handlers.register_provider(body, command.context, command.key)
        return command.accept(result)

    @router.post("/providers/{provider_id}/grade", summary="Grade a provider (GB/T 31772)")
    async def grade_provider(
        provider_id: Id, body: c.GradeProvider, command: WriteCommand
    ) -> Accepted:
        result = await handlers.grade_provider(provider_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/providers/{provider_id}/suspend", summary="Suspend a provider")
    async def suspend_provider(
        provider_id: Id, body: c.SuspendProvider, command: WriteCommand
    ) -> Accepted:
        result = await handlers.suspend_provider(provider_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/providers/{provider_id}/reinstatement",
        summary="Reinstate a suspended provider (整改到位): dispatch sends it orders again",
    )
    async def reinstate_provider(
        provider_id: Id, body: c.ReinstateProvider, command: WriteCommand
    ) -> Accepted:
        result = await handlers.reinstate_provider(provider_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/volunteers", status_code=201, summary="Register a volunteer (志愿者)")
    async def register_volunteer(body: c.RegisterVolunteer, command: WriteCommand) -> Accepted:
        result = await handlers.register_volunteer(body, command.context, command.key)
        return command.accept(result)

    for kind, listed in COMMUNITY_PAGES.items():
        router.add_api_route(
            f"/{kind}",
            _community_list(kind, listed, queries, runtime),
            response_model=listed,
            methods=["GET"],
            summary=f"{kind.capitalize()} by area and status",
        )

    # agencies and API clients -------------------------------------------------------------------

    @router.post(
        "/agencies",
        status_code=201,
        summary="Register a partner agency (the platform operator only, in any area)",
    )
    async def register_agency(body: c.RegisterAgency, command: OperatorCommand) -> Accepted:
        platform = dataclasses.replace(command.context, jurisdiction=None)  # not an area's
        return command.accept(await handlers.register_agency(body, platform, command.key))

    @router.get("/agencies", summary="Partner agencies (all of them: partners refer to each other)")
    async def list_agencies(caller: Reader, after: After) -> list[Agency]:
        await runtime.visible(after, "api_clients")
        return [Agency.model_validate(row) for row in await queries.agencies()]

    @router.post(
        "/agencies/{agency_id}/clients",
        status_code=201,
        summary="Issue an API client of your own agency, perhaps to one officer; its key is"
        " shown once",
    )
    async def issue_client(
        agency_id: Id, body: c.IssueApiClient, command: AdminCommand
    ) -> IssuedClient:
        granting = grantor(command.caller, agency_id)
        result, client_id, api_key = await handlers.issue_api_client(
            agency_id, body, command.context, command.key, grantor=granting
        )
        done = command.accept(result)
        return IssuedClient(
            id=done.id,
            position=done.position,
            client_id=client_id,
            api_key=None if result.replayed else api_key,
        )

    @router.post(
        "/agencies/{agency_id}/clients/{client_id}/rotation",
        status_code=201,
        summary="A new key for an API client of your own agency; the old one works for"
        " grace_seconds more",
    )
    async def rotate_key(
        agency_id: Id, client_id: Id, body: c.RotateApiKey, command: AdminCommand
    ) -> RotatedKey:
        granting = grantor(command.caller, agency_id)
        result, api_key, previous_valid_until = await handlers.rotate_api_key(
            agency_id, client_id, body, command.context, command.key, grantor=granting
        )
        done = command.accept(result)
        return RotatedKey(
            id=done.id,
            position=done.position,
            client_id=client_id,
            api_key=None if result.replayed else api_key,
            previous_valid_until=None if result.replayed else previous_valid_until,
        )

    @router.post(
        "/agencies/{agency_id}/clients/{client_id}/revoke",
        summary="Revoke an API client of your own agency",
    )
    async def revoke_client(
        agency_id: Id, client_id: Id, body: c.RevokeApiClient, command: AdminCommand
    ) -> Accepted:
        granting = grantor(command.caller, agency_id)
        result = await handlers.revoke_api_client(
            agency_id, client_id, body, command.context, command.key, grantor=granting
        )
        return command.accept(result)

    @router.put(
        "/agencies/{agency_id}/clients/{client_id}/grants/{data_service}",
        summary="Let an API client of your own agency receive named personal fields of a"
        " service's events, for a stated purpose; every disclosure is recorded",
    )
    async def grant_personal_data(
        agency_id: Id,
        client_id: Id,
        data_service: DataService,
        body: c.GrantPersonalData,
        command: AdminCommand,
    ) -> Accepted:
        granting = grantor(command.caller, agency_id)
        result = await handlers.grant_personal_data(
            agency_id, client_id, data_service, body, command.context, command.key, grantor=granting
        )
        return command.accept(result)

    @router.post(
        "/agencies/{agency_id}/clients/{client_id}/grants/{data_service}/withdraw",
        summary="Withdraw an API client's grant of personal data (refused everywhere at once)",
    )
    async def withdraw_personal_data(
        agency_id: Id,
        client_id: Id,
        data_service: DataService,
        body: c.WithdrawPersonalData,
        command: AdminCommand,
    ) -> Accepted:
        granting = grantor(command.caller, agency_id)
        result = await handlers.withdraw_personal_data(
            agency_id, client_id, data_service, body, command.context, command.key, grantor=granting
        )
        return command.accept(result)

    return router


def path_position(cursor: str | None) -> PathPosition | None:
    if cursor is None:
        return None
    not_ours = HTTPException(400, "the cursor is not one this API gave out")
    values = decode_cursor(cursor)
    try:
        day, recorded, fact_id = values
        recorded_at = datetime.fromisoformat(recorded)
        position = date.fromisoformat(day), recorded_at, str(fact_id)
    except (TypeError, ValueError):
        raise not_ours from None
    if recorded_at.tzinfo is None:
        raise not_ours
    return position


def household_handlers(runtime: ServiceRuntime, people: PeopleQueries) -> HouseholdHandlers:
    async def settled() -> None:
        wait = runtime.settings.consistency_wait_seconds
        await runtime.projections.wait_for_head("REGISTRY", ["people"], wait)

    return HouseholdHandlers(runtime.executor, people, settled, runtime.clock.today)


def _community_list(
    kind: str,
    listed: type[CommunityPage],
    queries: RegistryQueries,
    runtime: ServiceRuntime,
) -> Callable[..., Awaitable[CommunityPage]]:
    async def list_people(
        caller: Reader,
        after: After,
        area: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
        status: Annotated[str | None, Query(pattern=r"^(registered|active|suspended)$")] = None,
        price_tier: Annotated[Literal["free", "low_cost", "market"] | None, Query()] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> CommunityPage:
        await runtime.visible(after, "community_directory")
        rows = await queries.community(
            kind,
            area=caller.area(area),
            status=status,
            tier=price_tier,
            after_seq=seq_after(cursor),
            limit=limit,
        )
        return page(listed, rows, limit, lambda r: [r["seq"]])

    list_people.__name__ = f"list_{kind}"
    return list_people


def create_app(
    runtime: ServiceRuntime,
    handlers: RegistryHandlers,
    queries: RegistryQueries,
) -> FastAPI:
    from jinguo_shared.app import service_app

    app = service_app(
        runtime,
        "Jinguo registry",
        "登记: workers, residents, providers, volunteers, agencies",
        create_router(runtime, handlers, queries),
        FEED,
        indicators=INDICATORS,
    )
    sheet_page.install(app)
    return app
