"""Inspection and acceptance of areas, commendation and activities over HTTP."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from jinguo_contracts.programme import ActivityKind
from jinguo_registry.entrypoints.programme_responses import (
    ActivityRecord,
    AwardRecord,
    InspectionRecord,
)
from jinguo_registry.handlers import recognition as r
from jinguo_registry.handlers.recognition import RecognitionHandlers
from jinguo_registry.projections.programme_queries import RecognitionQueries
from jinguo_shared.http.commands import Accepted, CommandRequest, command_request
from jinguo_shared.http.conventions import ReadAfter, require_scope
from jinguo_shared.http.security import Caller
from jinguo_shared.runtime import ServiceRuntime

Reader = Annotated[Caller, Depends(require_scope("registry:read"))]
WriteCommand = Annotated[CommandRequest, Depends(command_request(require_scope("registry:write")))]
Id = Annotated[str, Path(min_length=1, max_length=64)]
AreaFilter = Annotated[str | None, Query(pattern=r"^\d{2,12}$")]
YearFilter = Annotated[int | None, Query(ge=1990, le=2999)]


def add_recognition_routes(
    router: APIRouter,
    runtime: ServiceRuntime,
    handlers: RecognitionHandlers,
    queries: RecognitionQueries,
) -> None:
    @router.post(
        "/area-inspections",
        status_code=201,
        summary="Inspect and accept an area's year (检查验收): scores, findings, result",
    )
    async def inspect_area(body: r.InspectArea, command: WriteCommand) -> Accepted:
        return command.accept(await handlers.inspect_area(body, command.context, command.key))

    @router.post(
        "/area-inspections/{inspection_id}/rectification",
        summary="Accept the rectification (整改) an inspection asked for",
    )
    async def accept_rectification(
        inspection_id: Id, body: r.AcceptRectification, command: WriteCommand
    ) -> Accepted:
        result = await handlers.accept_rectification(
            inspection_id, body, command.context, command.key
        )
        return command.accept(result)

    @router.get("/area-inspections", summary="Inspections of areas, by area and year")
    async def list_area_inspections(
        caller: Reader, after: ReadAfter, area: AreaFilter = None, year: YearFilter = None
    ) -> list[InspectionRecord]:
        await runtime.visible(after, "recognition")
        rows = await queries.inspections(caller.area(area) or "", year)
        return [InspectionRecord.model_validate(row) for row in rows]

    @router.post("/awards", status_code=201, summary="Nominate for a title (表彰)")
    async def nominate(body: r.Nominate, command: WriteCommand) -> Accepted:
        return command.accept(await handlers.nominate(body, command.context, command.key))

    @router.post("/awards/{award_id}/grant", summary="Award the title (the awarding office)")
    async def grant_award(award_id: Id, body: r.GrantAward, command: WriteCommand) -> Accepted:
        return command.accept(await handlers.grant(award_id, body, command.context, command.key))

    @router.post("/awards/{award_id}/decline", summary="Decline a nomination, with a reason")
    async def decline_award(award_id: Id, body: r.DeclineAward, command: WriteCommand) -> Accepted:
        result = await handlers.decline(award_id, body, command.context, command.key)
        return command.accept(result)

    @router.get("/awards", summary="Nominations and titles awarded, by area and year")
    async def list_awards(
        caller: Reader,
        after: ReadAfter,
        area: AreaFilter = None,
        year: YearFilter = None,
        decision: Annotated[Literal["nominated", "granted", "declined"] | None, Query()] = None,
    ) -> list[AwardRecord]:
        await runtime.visible(after, "recognition")
        rows = await queries.awards(caller.area(area) or "", year, decision)
        return [AwardRecord.model_validate(row) for row in rows]

    @router.post(
        "/activities",
        status_code=201,
        summary="Record an activity: job fair, guidance meeting, publicity, caring visit",
    )
    async def hold_activity(body: r.HoldActivity, command: WriteCommand) -> Accepted:
        return command.accept(await handlers.hold_activity(body, command.context, command.key))

    @router.get("/activities", summary="Activities by area, year and kind")
    async def list_activities(
        caller: Reader,
        after: ReadAfter,
        area: AreaFilter = None,
        year: YearFilter = None,
        kind: Annotated[ActivityKind | None, Query()] = None,
    ) -> list[ActivityRecord]:
        await runtime.visible(after, "recognition")
        rows = await queries.activities(caller.area(area) or "", year, kind)
        return [ActivityRecord.model_validate(row) for row in rows]
