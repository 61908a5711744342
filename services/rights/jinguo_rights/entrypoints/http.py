"""The rights service's HTTP API under /rights.

Who is asking: the agency and the officer come from the API key (registry `ApiClientIssued`
with `officer_id`, learnt through the `api_clients` projection): cases are opened, worked and
read only with an officer's own key, and the officer must be appointed by the agency in this
service (`PUT /rights/officers/{id}`, scope `rights:admin`) as `officer` or `supervisor`. A case
is visible to its assigned officer, that agency's supervisors and an agency that accepted a
referral; to everyone else it does not exist (404). Every response that shows a case first
records a `CaseViewed` with the stated `purpose`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
)
from pydantic import BaseModel

from jinguo_contracts.rights import CaseCategory, Channel
from jinguo_rights.domain.cases import ForbiddenError, Viewer, access_basis
from jinguo_rights.domain.reports import INDICATORS
from jinguo_rights.entrypoints.figures import add_figures_route
from jinguo_rights.entrypoints.responses import (
    Case,
    CaseFile,
    CaseRead,
    Inspection,
    Officer,
    ReferralStatus,
    ReferralToYou,
    RightsReport,
)
from jinguo_rights.handlers import commands as c
from jinguo_rights.handlers.commands import RightsHandlers
from jinguo_rights.projections.queries import RightsQueries
from jinguo_shared.app import service_app
from jinguo_shared.domain import NotFoundError
from jinguo_shared.envelope import CommandContext
from jinguo_shared.feed import FeedDeclaration
from jinguo_shared.http.commands import (
    Accepted,
    CommandRequest,
    command_context,
    command_request,
)
from jinguo_shared.http.conventions import (
    Cursor,
    Page,
    ReadAfter,
    encode_cursor,
    page,
    require_scope,
    seq_after,
)
from jinguo_shared.http.security import Caller
from jinguo_shared.runtime import ServiceRuntime

Row = dict[str, Any]
Reader = Annotated[Caller, Depends(require_scope("rights:read"))]


def officer_key(scope: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency: a key with `scope` that is an officer's own (issued with `officer_id`).

    She acts with it and as nobody else: cases are opened, worked and read by officers, never
    by a key that merely names one."""
    authorised = require_scope(scope)

    async def officer(
        caller: Caller = Depends(authorised),
        named: str | None = Header(
            default=None,
            alias="Jinguo-Officer",
            max_length=64,
            description="optional; if sent, it must name the officer the key is bound to",
        ),
    ) -> Caller:
        if caller.officer_id is None:
            raise ForbiddenError(
                "this API key is not bound to an officer: cases are opened, worked and read"
                " with an officer's own key (an API client issued with officer_id)"
            )
        if named is not None and named != caller.officer_id:
            raise ForbiddenError(
                f"this API key is officer {caller.officer_id}'s; it cannot act as {named}",
                field="Jinguo-Officer",
            )
        return caller

    return officer


def as_officer(caller: Caller, context: CommandContext) -> CommandContext:
    """The events name the officer acting with her own key, not only the key."""
    if caller.officer_id is None:
        return context
    return dataclasses.replace(context, actor=f"{caller.client_id}/{caller.officer_id}")


def command_as_officer(
    authorised: Callable[..., Awaitable[Caller]],
) -> Callable[..., Awaitable[CommandRequest]]:
    async def command(
        found: CommandRequest = Depends(command_request(authorised)),
    ) -> CommandRequest:
        return dataclasses.replace(found, context=as_officer(found.caller, found.context))

    return command


OfficerWriter = Annotated[Caller, Depends(officer_key("rights:write"))]
OfficerReader = Annotated[Caller, Depends(officer_key("rights:read"))]
OfficerCommand = Annotated[CommandRequest, Depends(command_as_officer(officer_key("rights:write")))]
AdminCommand = Annotated[CommandRequest, Depends(command_as_officer(require_scope("rights:admin")))]
Purpose = Annotated[
    str,
    Query(
        min_length=2,
        max_length=500,
        description="why the case is read (查阅事由); kept in the case's access log",
    ),
]
Limit = Annotated[int, Query(ge=1, le=50)]
RecordId = Annotated[str, Path(min_length=1, max_length=64)]
After = ReadAfter
CASE_PROJECTIONS = ("case_files",)


class Escalations(BaseModel):
    escalated: list[str]
    position: str | None


FEED = FeedDeclaration("INSPECTIONS")
"""What partners read at the feed."""


def create_router(
    runtime: ServiceRuntime, handlers: RightsHandlers, queries: RightsQueries
) -> APIRouter:
    router = APIRouter()

    async def context(request: Request, caller: Caller) -> CommandContext:
        """A context without an idempotency key, for commands the API issues itself."""
        ctx, _ = await command_context(request, caller, None)
        return as_officer(caller, ctx)

    async def show(
        viewer: Viewer,
        rows: list[Row],
        request: Request,
        caller: Caller,
        purpose: str,
        basis_of: Callable[[Row], Any],
        *,
        full: bool,
    ) -> list[Row]:
        """Record a CaseViewed for every case about to be shown, then present them."""

        async def record(row: Row) -> str:
            ctx = await context(request, caller)
            result = await handlers.record_view(
                viewer,
                row["case_id"],
                complainant_id=row["complainant_id"],
                case_agency_id=row["agency_id"],
                basis=basis_of(row),
                purpose=purpose,
                ctx=ctx,
            )
            return result.position

        positions = await asyncio.gather(*(record(row) for row in rows))
        for row, position in zip(rows, positions, strict=True):
            row["access"] = {"basis": basis_of(row), "recorded_at": position}
        return await queries.present(rows, handlers.today(), full=full)

    async def viewer_of(caller: Caller) -> Viewer:
        assert caller.officer_id is not None  # checked by officer_key
        return await handlers.viewer(caller.agency_id, caller.officer_id, caller.jurisdiction)

    # officers ----------------------------------------------------------------------------------

    @router.put(
        "/officers/{officer_id}",
        summary="Appoint one of your agency's staff as case officer or supervisor",
    )
    async def appoint_officer(
        officer_id: Annotated[str, c.OfficerId], body: c.AppointOfficer, command: AdminCommand
    ) -> Accepted:
        result = await handlers.appoint_officer(
            command.caller.agency_id, officer_id, body, command.context, command.key
        )
        return command.accept(result)

    @router.get("/officers", summary="Your agency's officers and supervisors")
    async def list_officers(caller: Reader, after: After) -> list[Officer]:
        await runtime.visible(after, "officer_roster")
        return [Officer.model_validate(row) for row in await queries.officers(caller.agency_id)]

    # cases: commands ---------------------------------------------------------------------------

    @router.post("/cases", status_code=201, summary="Open a case (受理): hotline, visit, letter…")
    async def open_case(body: c.OpenCase, command: OfficerCommand) -> Accepted:
        viewer = await viewer_of(command.caller)
        result = await handlers.open_case(viewer, body, command.context, command.key)
        return command.accept(result)

    @router.post("/cases/{case_id}/assignment", summary="Assign to an officer (supervisors)")
    async def assign(case_id: RecordId, body: c.AssignCase, command: OfficerCommand) -> Accepted:
        viewer = await viewer_of(command.caller)
        result = await handlers.assign(viewer, case_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/cases/{case_id}/actions",
        status_code=201,
        summary="Record an action: mediation, legal aid, police, court, protection order…",
    )
    async def record_action(
        case_id: RecordId, body: c.RecordAction, command: OfficerCommand
    ) -> Accepted:
        viewer = await viewer_of(command.caller)
        result = await handlers.record_action(viewer, case_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/cases/{case_id}/referrals", status_code=201, summary="Refer to another agency (转介)"
    )
    async def refer(case_id: RecordId, body: c.ReferCase, command: OfficerCommand) -> Accepted:
        viewer = await viewer_of(command.caller)
        result = await handlers.refer(viewer, case_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/cases/{case_id}/referrals/{referral_id}/answer",
        summary="Accept or reject a referral (the receiving agency)",
    )
    async def answer_referral(
        case_id: RecordId, referral_id: RecordId, body: c.AnswerReferral, command: OfficerCommand
    ) -> Accepted:
        viewer = await viewer_of(command.caller)
        result = await handlers.answer_referral(
            viewer, case_id, referral_id, body, command.context, command.key
        )
        return command.accept(result)

    @router.post(
        "/cases/{case_id}/deadline-extensions",
        status_code=201,
        summary="Extend the time limit, with a reason (延期)",
    )
    async def extend(
        case_id: RecordId, body: c.ExtendDeadline, command: OfficerCommand
    ) -> Accepted:
        viewer = await viewer_of(command.caller)
        result = await handlers.extend_deadline(viewer, case_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/cases/{case_id}/closure", summary="Close with an outcome (办结)")
    async def close(case_id: RecordId, body: c.CloseCase, command: OfficerCommand) -> Accepted:
        viewer = await viewer_of(command.caller)
        result = await handlers.close(viewer, case_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/cases/{case_id}/reopening", summary="Reopen with a reason (supervisors)")
    async def reopen(case_id: RecordId, body: c.ReopenCase, command: OfficerCommand) -> Accepted:
        viewer = await viewer_of(command.caller)
        result = await handlers.reopen(viewer, case_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/deadlines/escalations",
        summary="Escalate every overdue case of your agency to its supervisors (督办)",
    )
    async def escalate_overdue(
        request: Request, caller: OfficerWriter, after: After
    ) -> Escalations:
        viewer = await viewer_of(caller)
        if not viewer.supervisor:
            raise HTTPException(403, "only a supervisor escalates overdue cases")
        await runtime.visible(after, *CASE_PROJECTIONS)
        today = handlers.today()
        escalated: list[str] = []
        position = None
        for case_id in await queries.overdue_case_ids(caller.agency_id, caller.area(None), today):
            ctx = await context(request, caller)
            # one command id per case and day: two sweeps at once escalate once
            ctx = dataclasses.replace(
                ctx, command_id=c.derived_id("escalation", case_id, today.isoformat())
            )
            result = await handlers.escalate(viewer, case_id, ctx)
            if result is not None:
                escalated.append(case_id)
                position = result.position
        return Escalations(escalated=escalated, position=position)

    # cases: reads ------------------------------------------------------------------------------

    @router.get("/cases/{case_id}", summary="A case file; the read is recorded (CaseViewed)")
    async def read_case(
        case_id: RecordId,
        request: Request,
        caller: OfficerReader,
        purpose: Purpose,
        after: After,
        emergency: Annotated[
            bool,
            Query(
                description="break-glass access (flagged, purpose states why): to a case of"
                " your own agency by any of its officers, to another agency's case by a"
                " supervisor only"
            ),
        ] = False,
    ) -> CaseFile:
        viewer = await viewer_of(caller)
        await runtime.visible(after, *CASE_PROJECTIONS)
        found = await queries.case_holders(case_id)
        basis = access_basis(found[1], viewer, emergency=emergency) if found else None
        if found is None or basis is None:
            raise NotFoundError(f"case {case_id} not found")
        [row] = await show(viewer, [found[0]], request, caller, purpose, lambda _: basis, full=True)
        return CaseFile.model_validate(row)

    async def case_page(
        viewer: Viewer,
        request: Request,
        caller: Caller,
        purpose: str,
        limit: int,
        cursor: str | None,
        area: str | None,
        **filters: Any,
    ) -> Page[Case]:
        """A page of the cases the viewer may see, within her jurisdiction (an `area` outside
        it is refused), each one recorded as read."""
        today = handlers.today()
        rows = await queries.visible_cases(
            viewer,
            today=today,
            after_seq=seq_after(cursor),
            limit=limit,
            area=caller.area(area),
            **filters,
        )
        next_cursor = encode_cursor([rows[-1]["opened_seq"]]) if len(rows) == limit else None
        bases = {row["case_id"]: queries.listed_basis(row, viewer) for row in rows}
        shown = [row for row in rows if bases[row["case_id"]] is not None]
        items = await show(
            viewer, shown, request, caller, purpose, lambda r: bases[r["case_id"]], full=False
        )
        return Page[Case].model_validate({"items": items, "next_cursor": next_cursor})

    @router.get("/cases", summary="Cases you may see; every case listed is recorded as read")
    async def list_cases(
        request: Request,
        caller: OfficerReader,
        purpose: Purpose,
        after: After,
        limit: Limit = 20,
        cursor: Cursor = None,
        status: Literal["open", "in_progress", "closed"] | None = None,
        category: CaseCategory | None = None,
        channel: Channel | None = None,
        area: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
        deadline: Literal["overdue", "due_soon"] | None = None,
    ) -> Page[Case]:
        viewer = await viewer_of(caller)
        await runtime.visible(after, *CASE_PROJECTIONS)
        return await case_page(
            viewer,
            request,
            caller,
            purpose,
            limit,
            cursor,
            status=status,
            category=category,
            channel=channel,
            area=area,
            deadline=deadline,
        )

    @router.get("/deadlines/overdue", summary="Overdue cases you may see (recorded as read)")
    async def overdue(
        request: Request,
        caller: OfficerReader,
        purpose: Purpose,
        after: After,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> Page[Case]:
        viewer = await viewer_of(caller)
        await runtime.visible(after, *CASE_PROJECTIONS)
        return await case_page(
            viewer,
            request,
            caller,
            purpose,
            limit,
            cursor,
            status=None,
            category=None,
            channel=None,
            area=None,
            deadline="overdue",
        )

    @router.get(
        "/deadlines/due-soon", summary="Cases due within a few working days (recorded as read)"
    )
    async def due_soon(
        request: Request,
        caller: OfficerReader,
        purpose: Purpose,
        after: After,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> Page[Case]:
        viewer = await viewer_of(caller)
        await runtime.visible(after, *CASE_PROJECTIONS)
        return await case_page(
            viewer,
            request,
            caller,
            purpose,
            limit,
            cursor,
            status=None,
            category=None,
            channel=None,
            area=None,
            deadline="due_soon",
        )

    @router.get("/referrals", summary="Referrals to your agency (the referral only, not the case)")
    async def referrals(
        caller: OfficerReader,
        after: After,
        status: ReferralStatus | None = None,
    ) -> list[ReferralToYou]:
        viewer = await viewer_of(caller)
        if viewer.role is None:
            raise HTTPException(
                403, f"{caller.officer_id} is not an appointed officer of your agency"
            )
        await runtime.visible(after, *CASE_PROJECTIONS)
        rows = await queries.referrals_to(caller.agency_id, status, caller.area(None))
        return [ReferralToYou.model_validate(row) for row in rows]

    # access history ----------------------------------------------------------------------------

    async def require_supervisor_of_case(viewer: Viewer, case_id: str) -> Row:
        found = await queries.case_holders(case_id)
        basis = access_basis(found[1], viewer, emergency=False) if found else None
        if found is None or basis is None:
            raise NotFoundError(f"case {case_id} not found")
        if basis != "supervisor":
            raise HTTPException(403, "the access log is for the owning agency's supervisors")
        return found[0]

    @router.get("/cases/{case_id}/access-log", summary="Every read of a case (supervisors)")
    async def case_access_log(
        case_id: RecordId,
        caller: OfficerReader,
        after: After,
        emergency: bool | None = None,
    ) -> list[CaseRead]:
        viewer = await viewer_of(caller)
        await runtime.visible(after, "case_files", "case_access_log")
        await require_supervisor_of_case(viewer, case_id)
        rows = await queries.views(
            case_id=case_id, case_agency_id=caller.agency_id, emergency=emergency
        )
        return [CaseRead.model_validate(row) for row in rows]

    @router.get(
        "/complainants/{complainant_id}/access-log",
        summary="Every read of every case of one complainant, for her to see (supervisors)",
    )
    async def complainant_access_log(
        complainant_id: RecordId,
        caller: OfficerReader,
        after: After,
        emergency: bool | None = None,
    ) -> list[CaseRead]:
        viewer = await viewer_of(caller)
        if not viewer.supervisor:
            raise HTTPException(403, "the access log is for the owning agency's supervisors")
        await runtime.visible(after, "case_access_log")
        rows = await queries.views(
            complainant_id=complainant_id, case_agency_id=caller.agency_id, emergency=emergency
        )
        return [CaseRead.model_validate(row) for row in rows]

    @router.get(
        "/access-log",
        summary="Every read of your agency's cases, emergency reads flagged (supervisors)",
    )
    async def agency_access_log(
        caller: OfficerReader,
        after: After,
        emergency: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Cursor = None,
    ) -> Page[CaseRead]:
        viewer = await viewer_of(caller)
        if not viewer.supervisor:
            raise HTTPException(403, "the access log is for the owning agency's supervisors")
        await runtime.visible(after, "case_access_log")
        rows = await queries.views(
            case_agency_id=caller.agency_id,
            emergency=emergency,
            after_seq=seq_after(cursor),
            limit=limit,
        )
        return page(Page[CaseRead], rows, limit, lambda row: [row["seq"]])

    # inspections -------------------------------------------------------------------------------

    @router.post(
        "/inspections",
        status_code=201,
        summary="Record an employer inspection (劳动保障监察); violations go to employment",
    )
    async def record_inspection(body: c.RecordInspection, command: OfficerCommand) -> Accepted:
        viewer = await viewer_of(command.caller)
        result = await handlers.record_inspection(viewer, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/inspections/{inspection_id}/rectification",
        summary="The employer put the violations right (整改完成)",
    )
    async def rectify(
        inspection_id: RecordId, body: c.RectifyViolation, command: OfficerCommand
    ) -> Accepted:
        viewer = await viewer_of(command.caller)
        result = await handlers.rectify(viewer, inspection_id, body, command.context, command.key)
        return command.accept(result)

    @router.get("/inspections", summary="Inspections by employer, status and area")
    async def list_inspections(
        caller: Reader,
        after: After,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Cursor = None,
        employer_id: Annotated[str | None, Query(max_length=64)] = None,
        status: Literal["compliant", "violation", "rectified"] | None = None,
        area: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
    ) -> Page[Inspection]:
        await runtime.visible(after, "inspection_register")
        rows = await queries.inspections(
            employer_id=employer_id,
            status=status,
            area=caller.area(area),
            after_seq=seq_after(cursor),
            limit=limit,
        )
        return page(Page[Inspection], rows, limit, lambda row: [row["seq"]])

    # reports ----------------------------------------------------------------------------------

    @router.get(
        "/reports",
        summary="Figures (办结率, satisfaction, …): exact for your agency's own cases; without"
        " agency_id, shared across the agencies of your jurisdiction with small counts hidden",
    )
    async def report(
        caller: Reader,
        after: After,
        agency_id: Annotated[str | None, Query(max_length=64)] = None,
        area: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
        opened_from: Annotated[date | None, Query(alias="from")] = None,
        opened_to: Annotated[date | None, Query(alias="to")] = None,
    ) -> RightsReport:
        if agency_id is not None and agency_id != caller.agency_id:
            raise ForbiddenError(
                "a report of another agency's cases is refused; leave agency_id out for the"
                " figures shared by the agencies of your jurisdiction",
                field="agency_id",
            )
        area = caller.area(area)
        await runtime.visible(after, "case_files", "inspection_register")
        figures = await queries.report(
            agency_id=agency_id,
            area=area,
            opened_from=opened_from,
            opened_to=opened_to,
            today=handlers.today(),
            shared=agency_id is None,
        )
        return RightsReport.model_validate(
            {"agency_id": agency_id, "area": area, "from": opened_from, "to": opened_to, **figures}
        )

    add_figures_route(router, runtime, handlers.figures)
    return router


def create_app(
    runtime: ServiceRuntime, handlers: RightsHandlers, queries: RightsQueries
) -> FastAPI:
    return service_app(
        runtime,
        "Jinguo rights (维权)",
        "Confidential rights cases (12338 hotline, visits, letters, referrals), deadlines in"
        " working days, referrals between agencies, and employer inspections. Every read of a"
        " case is recorded; a case you may not see answers 404.",
        create_router(runtime, handlers, queries),
        FEED,
        indicators=INDICATORS,
    )
