"""The programme's year over HTTP: the register of areas and stations, annual plans, a period's
report up the hierarchy, and the year-end sheet."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import Response

from jinguo_contracts.areas import check_area_code
from jinguo_registry.domain.indicators import CATALOGUE
from jinguo_registry.domain.periods import Period
from jinguo_registry.entrypoints.programme_responses import (
    AreaRecord,
    IndicatorDefinition,
    PlanRecord,
    ReportStatus,
    Sheet,
    StationRecord,
)
from jinguo_registry.entrypoints.sheet_export import XLSX_MEDIA_TYPE, FileKind, sheet_file
from jinguo_registry.handlers import programme as p
from jinguo_registry.handlers.programme import ProgrammeHandlers
from jinguo_registry.projections.programme_queries import ProgrammeQueries
from jinguo_shared.access import OutsideJurisdictionQueryError
from jinguo_shared.envelope import CommandContext
from jinguo_shared.http.commands import Accepted, CommandRequest, command_request
from jinguo_shared.http.conventions import ReadAfter, require_scope
from jinguo_shared.http.security import Caller
from jinguo_shared.runtime import ServiceRuntime

Reader = Annotated[Caller, Depends(require_scope("registry:read"))]
WriteCommand = Annotated[CommandRequest, Depends(command_request(require_scope("registry:write")))]
AdminCommand = Annotated[CommandRequest, Depends(command_request(require_scope("registry:admin")))]
AreaPath = Annotated[
    str,
    Path(min_length=2, max_length=12, pattern=r"^\d+$", description="e.g. 430102 or 43"),
]
Year = Annotated[int, Path(ge=1990, le=2999)]
PeriodPath = Annotated[
    str, Path(max_length=7, description="2026, 2026H1, 2026Q2 or 2026-03", examples=["2026"])
]
REGISTER = ("programme_register",)
SHEET = ("programme_register", "programme_figures")


def area_of(text: str) -> str:
    try:
        return check_area_code(text)
    except ValueError as error:
        raise HTTPException(422, f"area {text}: {error}") from None


def period_of(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as error:
        raise HTTPException(422, str(error)) from None


def administering(command: CommandRequest) -> CommandContext:
    """The platform operator maintains the register everywhere; an agency's admin within its
    own jurisdiction."""
    if command.caller.operator:
        return dataclasses.replace(command.context, jurisdiction=None)
    return command.context


def require_sees(caller: Caller, area_code: str) -> None:
    if not caller.sees(area_code):
        raise OutsideJurisdictionQueryError(
            f"area {area_code} is not within your agency's jurisdiction"
        )


def add_programme_routes(
    router: APIRouter,
    runtime: ServiceRuntime,
    handlers: ProgrammeHandlers,
    queries: ProgrammeQueries,
) -> None:
    """On the registry's own router: FastAPI keeps an included router apart, out of reach of
    what the kernel documents on each route."""

    @router.get("/indicators", summary="The programme's indicators and what each counts")
    async def list_indicators(caller: Reader) -> list[IndicatorDefinition]:
        return [
            IndicatorDefinition.model_validate(
                {k: v for k, v in dataclasses.asdict(i).items() if k != "scale"}
            )
            for i in CATALOGUE
        ]

    # areas and stations ------------------------------------------------------------------------

    @router.post("/areas", status_code=201, summary="Register an area (行政区划)")
    async def register_area(body: p.RegisterArea, command: AdminCommand) -> Accepted:
        result = await handlers.register_area(body, administering(command), command.key)
        return command.accept(result)

    @router.patch("/areas/{area_code}", summary="Rename an area, or say it is urban or rural")
    async def rename_area(
        area_code: AreaPath, body: p.RenameArea, command: AdminCommand
    ) -> Accepted:
        result = await handlers.rename_area(area_of(area_code), body, command.context, command.key)
        return command.accept(result)

    @router.put(
        "/areas/{area_code}/population/{year}",
        summary="Households, residents and women of a year (the denominators of rates)",
    )
    async def record_population(
        area_code: AreaPath, year: Year, body: p.RecordPopulation, command: AdminCommand
    ) -> Accepted:
        result = await handlers.record_population(
            area_of(area_code), year, body, administering(command), command.key
        )
        return command.accept(result)

    @router.get("/areas", summary="Areas of the register, by parent")
    async def list_areas(
        caller: Reader,
        after: ReadAfter,
        parent: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    ) -> list[AreaRecord]:
        await runtime.visible(after, *REGISTER)
        parent_code = None if parent is None else area_of(parent)
        prefix = caller.area(None) or ""
        rows = await queries.areas(parent=parent_code, prefix=prefix, limit=limit)
        return [AreaRecord.model_validate(row) for row in rows]

    @router.get("/areas/{area_code}", summary="One area of the register")
    async def get_area(area_code: AreaPath, caller: Reader, after: ReadAfter) -> AreaRecord:
        await runtime.visible(after, *REGISTER)
        code = area_of(area_code)
        require_sees(caller, code)
        row = await queries.area(code)
        if row is None:
            raise HTTPException(404, f"area {code} is not in the register")
        return AreaRecord.model_validate(row)

    @router.post("/stations", status_code=201, summary="Register a station (妇女之家, 劳动保障站…)")
    async def register_station(body: p.RegisterStation, command: WriteCommand) -> Accepted:
        result = await handlers.register_station(body, command.context, command.key)
        return command.accept(result)

    @router.get("/stations", summary="Stations by area")
    async def list_stations(
        caller: Reader,
        after: ReadAfter,
        area: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
    ) -> list[StationRecord]:
        await runtime.visible(after, *REGISTER)
        rows = await queries.stations(caller.area(area) or "")
        return [StationRecord.model_validate(row) for row in rows]

    # plans -------------------------------------------------------------------------------------

    @router.put("/plans/{area_code}/{year}", summary="Submit an area's annual plan (年初计划)")
    async def submit_plan(
        area_code: AreaPath, year: Year, body: p.SubmitPlan, command: WriteCommand
    ) -> Accepted:
        result = await handlers.submit_plan(
            area_of(area_code), year, body, command.context, command.key
        )
        return command.accept(result)

    @router.post("/plans/{area_code}/{year}/approve", summary="Approve a plan (the level above)")
    async def approve_plan(area_code: AreaPath, year: Year, command: WriteCommand) -> Accepted:
        result = await handlers.approve_plan(area_of(area_code), year, command.context, command.key)
        return command.accept(result)

    @router.post("/plans/{area_code}/{year}/return", summary="Return a plan with a reason")
    async def return_plan(
        area_code: AreaPath, year: Year, body: p.Decline, command: WriteCommand
    ) -> Accepted:
        result = await handlers.return_plan(
            area_of(area_code), year, body, command.context, command.key
        )
        return command.accept(result)

    @router.get("/plans/{area_code}/{year}", summary="An area's plan and its decision")
    async def get_plan(
        area_code: AreaPath, year: Year, caller: Reader, after: ReadAfter
    ) -> PlanRecord:
        await runtime.visible(after, *REGISTER)
        code = area_of(area_code)
        require_sees(caller, code)
        row = await queries.plan(code, year)
        if row is None:
            raise HTTPException(404, f"area {code} has no plan for {year}")
        return PlanRecord.model_validate(row)

    # a period's report -------------------------------------------------------------------------

    @router.post(
        "/period-reports/{area_code}/{period}",
        status_code=201,
        summary="Close a period and submit its figures upward (年终报送)",
    )
    async def submit_report(
        area_code: AreaPath, period: PeriodPath, command: WriteCommand, after: ReadAfter
    ) -> Accepted:
        # the figures (and the children's decisions) as of the caller's last writes
        await runtime.visible(after, *SHEET)
        result = await handlers.submit_report(
            area_of(area_code), period_of(period), command.context, command.key
        )
        return command.accept(result)

    @router.post(
        "/period-reports/{area_code}/{period}/accept", summary="Accept a report (the level above)"
    )
    async def accept_report(
        area_code: AreaPath, period: PeriodPath, command: WriteCommand
    ) -> Accepted:
        result = await handlers.accept_report(
            area_of(area_code), period_of(period), command.context, command.key
        )
        return command.accept(result)

    @router.post(
        "/period-reports/{area_code}/{period}/return", summary="Return a report with a reason"
    )
    async def return_report(
        area_code: AreaPath, period: PeriodPath, body: p.Decline, command: WriteCommand
    ) -> Accepted:
        result = await handlers.return_report(
            area_of(area_code), period_of(period), body, command.context, command.key
        )
        return command.accept(result)

    @router.post(
        "/period-reports/{area_code}/{period}/revisions",
        status_code=201,
        summary="Revise an accepted report with the figures as known now",
    )
    async def revise_report(
        area_code: AreaPath,
        period: PeriodPath,
        body: p.ReviseReport,
        command: WriteCommand,
        after: ReadAfter,
    ) -> Accepted:
        await runtime.visible(after, *SHEET)
        result = await handlers.revise_report(
            area_of(area_code), period_of(period), body, command.context, command.key
        )
        return command.accept(result)

    @router.get("/period-reports/{area_code}/{period}", summary="A period's report and decision")
    async def get_report(
        area_code: AreaPath, period: PeriodPath, caller: Reader, after: ReadAfter
    ) -> ReportStatus:
        await runtime.visible(after, *REGISTER)
        code = area_of(area_code)
        require_sees(caller, code)
        row = await queries.report(code, period_of(period).code)
        if row is None:
            raise HTTPException(404, f"area {code} has no report for {period}")
        return ReportStatus.model_validate(row)

    # the sheet ---------------------------------------------------------------------------------

    # before the JSON route, which would otherwise take "2026H1.xlsx" for a period
    @router.get(
        "/sheets/{area_code}/{period}.{extension}",
        summary="The year-end sheet as XLSX or CSV, with the numbers of the JSON",
        response_class=Response,
        responses={
            200: {
                "content": {
                    media_type: {"schema": {"type": "string", "format": "binary"}}
                    for media_type in (XLSX_MEDIA_TYPE, "text/csv")
                }
            }
        },
    )
    async def year_end_sheet_file(
        area_code: AreaPath,
        period: PeriodPath,
        extension: FileKind,
        caller: Reader,
        after: ReadAfter,
        as_reported_on: Annotated[
            date | None, Query(description="the report's figures as filed on that day")
        ] = None,
    ) -> Response:
        found = await year_end_sheet(area_code, period, caller, after, as_reported_on)
        return sheet_file(found.model_dump(mode="json"), extension)

    @router.get(
        "/sheets/{area_code}/{period}",
        summary="The year-end sheet: every indicator, target, progress, trend and child area",
    )
    async def year_end_sheet(
        area_code: AreaPath,
        period: PeriodPath,
        caller: Reader,
        after: ReadAfter,
        as_reported_on: Annotated[
            date | None, Query(description="the report's figures as filed on that day")
        ] = None,
    ) -> Sheet:
        await runtime.visible(after, *SHEET)
        code = area_of(area_code)
        require_sees(caller, code)
        found = await queries.sheet(code, period_of(period), runtime.clock.today(), as_reported_on)
        if found is None:
            raise HTTPException(404, f"area {code} is not in the register")
        return Sheet.model_validate(found)
