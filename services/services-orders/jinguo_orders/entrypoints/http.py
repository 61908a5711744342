"""The services-orders HTTP API under /orders: commands answer with a position, reads accept
one (`?after=`), and so does placing an order for a resident the registry just registered."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Path, Query

from jinguo_contracts.areas import AreaCode, area_prefix, check_area_code
from jinguo_orders.domain.settlement import month_start, statement
from jinguo_orders.entrypoints.responses import (
    AreaReport,
    Order,
    OrderMove,
    OrderStatus,
    Performer,
    Resident,
    Service,
    Statement,
    TimeBankOut,
    Volunteer,
    with_satisfaction,
)
from jinguo_orders.handlers import commands as c
from jinguo_orders.handlers.commands import OrdersHandlers
from jinguo_orders.projections.queries import OrdersQueries
from jinguo_orders.projections.reports import INDICATORS
from jinguo_shared.access import OutsideJurisdictionQueryError
from jinguo_shared.domain import InvalidCommandError, check_planned_date
from jinguo_shared.feed import FeedDeclaration
from jinguo_shared.http.commands import Accepted, CommandRequest, command_request
from jinguo_shared.http.conventions import (
    Cursor,
    Limit,
    MonthFrom,
    MonthTo,
    Page,
    ReadAfter,
    decode_cursor,
    page,
    report,
    require_scope,
    seq_after,
)
from jinguo_shared.http.security import Caller
from jinguo_shared.runtime import ServiceRuntime

Row = dict[str, Any]
WriteCommand = Annotated[CommandRequest, Depends(command_request(require_scope("orders:write")))]
Reader = Annotated[Caller, Depends(require_scope("orders:read"))]
After = ReadAfter
ServiceCode = Annotated[str, Path(pattern=r"^[a-z][a-z_]{1,39}$")]
Area12 = Annotated[str, Path(pattern=r"^\d{12}$")]
Month = Annotated[str, Path(pattern=c.MONTH)]
OrderId = Annotated[str, Path(min_length=1, max_length=64)]
VolunteerId = Annotated[str, Path(min_length=1, max_length=64)]
AreaFilter = Annotated[
    AreaCode | None,
    Query(description="an area code in any form (43, 430000, 110101001 …): the records in it"),
]
Happening = Annotated[c.Happened, Body(description="optional: the day it happened")]
TODAY = c.Happened()
ALL = (
    "order_board",
    "dispatch_pool",
    "orders_community",
    "quality",
    "settlements",
    "time_bank",
    "orders_reports",
)


FEED = FeedDeclaration("ORDERS")
"""What partners read at the feed."""


def create_router(
    runtime: ServiceRuntime, handlers: OrdersHandlers, queries: OrdersQueries
) -> APIRouter:
    router = APIRouter()

    async def consistent(after: str | None, *projections: str) -> None:
        await runtime.visible(after, *(projections or ALL))

    def seen_by(caller: Caller, row: Row | None, missing: str) -> Row:
        """A record outside the caller's jurisdiction answers exactly as one that does not
        exist."""
        if row is None or not caller.sees(row["area_code"]):
            raise HTTPException(404, missing)
        return row

    # catalogue -----------------------------------------------------------------------

    @router.put(
        "/services/{service_code}",
        summary="Offer a service (家政, 保洁, 居家养老照料, 接送, 送餐 …) or change its prices",
    )
    async def offer_service(
        service_code: ServiceCode, body: c.OfferService, command: WriteCommand
    ) -> Accepted:
        if not command.caller.operator:
            # one price list for the whole programme: it sets what every district's settlement
            # owes, so no single agency may change it for all the others
            raise HTTPException(
                403,
                "the service catalogue is the programme's: only the platform operator"
                " (platform:admin) offers services or changes their prices",
            )
        result = await handlers.offer_service(service_code, body, command.context, command.key)
        return command.accept(result)

    @router.get("/services", summary="The service catalogue")
    async def services(caller: Reader, after: After) -> list[Service]:
        await consistent(after, "order_board")
        return [Service.model_validate(row) for row in await queries.services()]

    @router.get(
        "/residents", summary="Residents and the price tier the registry last gave them (收费类别)"
    )
    async def residents(
        caller: Reader,
        after: After,
        tier: Annotated[Literal["free", "low_cost", "market"] | None, Query()] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[Resident]:
        await consistent(after, "orders_community")
        after_id = None
        if cursor is not None:
            values = decode_cursor(cursor)
            if len(values) != 1 or not isinstance(values[0], str):
                raise HTTPException(400, "the cursor is not one this API gave out")
            after_id = values[0]
        rows = await queries.residents(
            tier=tier, within=caller.area(None), after_id=after_id, limit=limit
        )
        return page(Page[Resident], rows, limit, lambda row: [row["resident_id"]])

    @router.get("/volunteers", summary="Volunteers who may bank hours (志愿者)")
    async def volunteers(caller: Reader, after: After, limit: Limit = 50) -> list[Volunteer]:
        await consistent(after, "orders_community")
        rows = await queries.volunteers(within=caller.area(None), limit=limit)
        return [Volunteer.model_validate(row) for row in rows]

    # orders -----------------------------------------------------------------------

    @router.post("/orders", status_code=201, summary="Place an order for a resident (下单)")
    async def place_order(body: c.PlaceOrder, command: WriteCommand, after: After) -> Accepted:
        await consistent(after, "orders_community")
        result = await handlers.place_order(body, command.context, command.key)
        return command.accept(result)

    @router.get("/orders", summary="Orders by status, community and worker")
    async def list_orders(
        caller: Reader,
        after: After,
        status: Annotated[OrderStatus | None, Query()] = None,
        area: AreaFilter = None,
        worker_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[Order]:
        await consistent(after, "order_board")
        rows = await queries.orders(
            status=status,
            within=caller.area(prefix(area)),
            worker_id=worker_id,
            after_seq=seq_after(cursor),
            limit=limit,
        )
        return page(Page[Order], rows, limit, lambda row: [row["seq"]])

    @router.get("/orders/{order_id}", summary="An order")
    async def order(order_id: OrderId, caller: Reader, after: After) -> Order:
        await consistent(after, "order_board")
        found = seen_by(caller, await queries.order(order_id), f"no order {order_id}")
        return Order.model_validate(found)

    @router.get("/orders/{order_id}/history", summary="Who did what to an order, and when")
    async def history(order_id: OrderId, caller: Reader, after: After) -> list[OrderMove]:
        await consistent(after, "order_board")
        seen_by(caller, await queries.order(order_id), f"no order {order_id}")
        return [OrderMove.model_validate(row) for row in await queries.history(order_id)]

    @router.post("/orders/{order_id}/dispatch", summary="Assign automatically (自动派单)")
    async def dispatch(
        order_id: OrderId, command: WriteCommand, after: After, body: Happening = TODAY
    ) -> Accepted:
        await consistent(after, "dispatch_pool", "quality")
        result = await handlers.dispatch(
            order_id, command.context, command.key, occurred_on=body.occurred_on
        )
        return command.accept(result)

    @router.post("/orders/{order_id}/assign", summary="Assign by a dispatcher (人工派单)")
    async def assign(
        order_id: OrderId, body: c.AssignOrder, command: WriteCommand, after: After
    ) -> Accepted:
        await consistent(after, "dispatch_pool")
        result = await handlers.assign(order_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/orders/{order_id}/accept", summary="The assignee accepts")
    async def accept(order_id: OrderId, command: WriteCommand, body: Happening = TODAY) -> Accepted:
        result = await handlers.accept(
            order_id, command.context, command.key, occurred_on=body.occurred_on
        )
        return command.accept(result)

    @router.post("/orders/{order_id}/reject", summary="The assignee declines: back to dispatch")
    async def reject(order_id: OrderId, body: c.Reason, command: WriteCommand) -> Accepted:
        result = await handlers.reject(order_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/orders/{order_id}/start", summary="The service starts")
    async def start(order_id: OrderId, body: c.AtTime, command: WriteCommand) -> Accepted:
        result = await handlers.start(order_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/orders/{order_id}/complete", summary="The service is complete")
    async def complete(order_id: OrderId, body: c.AtTime, command: WriteCommand) -> Accepted:
        result = await handlers.complete(order_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/orders/{order_id}/cancel", summary="Cancelled by the resident or staff")
    async def cancel(order_id: OrderId, body: c.CancelOrder, command: WriteCommand) -> Accepted:
        result = await handlers.cancel(order_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/orders/{order_id}/no-show", summary="The worker or the resident did not show")
    async def no_show(order_id: OrderId, body: c.MarkNoShow, command: WriteCommand) -> Accepted:
        result = await handlers.no_show(order_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/orders/{order_id}/rating", summary="The resident rates the service (1–5)")
    async def rate(order_id: OrderId, body: c.RateOrder, command: WriteCommand) -> Accepted:
        result = await handlers.rate(order_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/orders/{order_id}/follow-up", summary="Record the follow-up call (回访)")
    async def follow_up(
        order_id: OrderId, body: c.RecordFollowUp, command: WriteCommand
    ) -> Accepted:
        result = await handlers.follow_up(order_id, body, command.context, command.key)
        return command.accept(result)

    # quality -----------------------------------------------------------------------

    @router.get(
        "/rankings/{kind}",
        summary="Workers or providers by satisfaction and completed work (优秀服务员, 示范岗)",
    )
    async def rankings(
        kind: Literal["worker", "provider"],
        caller: Reader,
        after: After,
        area: AreaFilter = None,
        limit: Limit = 20,
    ) -> list[Performer]:
        await consistent(after, "quality", "dispatch_pool")
        rows = await queries.rankings(kind, within=caller.area(prefix(area)), limit=limit)
        return [Performer.model_validate(row) for row in rows]

    # settlement -----------------------------------------------------------------------

    @router.get(
        "/settlements/{area_code}/{month}",
        summary="The month's statement of free and low-cost services the government owes",
    )
    async def settlement(
        area_code: Area12, month: Month, caller: Reader, after: After
    ) -> Statement:
        if not caller.sees(area_code):
            raise OutsideJurisdictionQueryError(
                f"area {area_code} is outside your agency's jurisdiction"
            )
        check_planned_date(month_start(month), "month", runtime.clock.today())
        await consistent(after, "settlements")
        issued = await queries.settlement(area_code, month)
        if issued is not None:
            return Statement(
                area_code=area_code,
                month=month,
                lines=issued["lines"],
                total_owed=issued["total_owed"],
                issued=True,
            )
        lines = statement(await queries.delivered(area_code, month))
        return Statement(
            area_code=area_code,
            month=month,
            lines=lines,
            total_owed=sum(line.government_owes for line in lines),
            issued=False,
        )

    @router.post("/settlements", status_code=201, summary="Issue a month's settlement (结算)")
    async def issue_settlement(
        body: c.IssueSettlement, command: WriteCommand, after: After
    ) -> Accepted:
        await consistent(after, "settlements")
        result = await handlers.issue_settlement(body, command.context, command.key)
        return command.accept(result)

    # reports -----------------------------------------------------------------------

    @router.get(
        "/reports/areas/{area_code}",
        summary="Figures per month for an area, by the business date they happened",
        description="Each indicator is counted in the month of the date that decides it, so a"
        " year entered late counts in its own months (the indicators: the API's description).",
    )
    async def area_report(
        area_code: Annotated[
            str, Path(max_length=24, description="in any form: 43, 430000, 110101001001 …")
        ],
        caller: Reader,
        after: After,
        month_from: MonthFrom = "2000-01",
        month_to: MonthTo = "2999-12",
    ) -> AreaReport:
        try:
            code = check_area_code(area_code)
        except ValueError as error:
            raise InvalidCommandError(str(error), field="area_code") from None
        if not caller.sees(code):  # outside, or wider than the jurisdiction
            raise OutsideJurisdictionQueryError(
                f"area {code} is outside or wider than your agency's jurisdiction",
                jurisdiction=caller.jurisdiction.prefix if caller.jurisdiction else None,
            )
        await consistent(after, "orders_reports")
        rows = await queries.report(code, month_from, month_to)
        return with_satisfaction(report(code, month_from, month_to, rows))

    # time bank -----------------------------------------------------------------------

    @router.post("/time-bank/{volunteer_id}/earned", summary="Bank a volunteer's hours")
    async def earn(
        volunteer_id: VolunteerId, body: c.EarnHours, command: WriteCommand, after: After
    ) -> Accepted:
        await consistent(after, "orders_community")
        result = await handlers.earn_hours(volunteer_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/time-bank/{volunteer_id}/spent", summary="Draw on banked hours")
    async def spend(
        volunteer_id: VolunteerId, body: c.SpendHours, command: WriteCommand, after: After
    ) -> Accepted:
        await consistent(after, "orders_community")
        result = await handlers.spend_hours(volunteer_id, body, command.context, command.key)
        return command.accept(result)

    @router.get("/time-bank/{volunteer_id}", summary="A volunteer's balance and ledger")
    async def time_bank(volunteer_id: VolunteerId, caller: Reader, after: After) -> TimeBankOut:
        await consistent(after, "time_bank", "orders_community")
        seen_by(caller, await queries.volunteer(volunteer_id), f"no volunteer {volunteer_id}")
        balance, entries = await queries.time_bank(volunteer_id)
        return TimeBankOut.model_validate(
            {"volunteer_id": volunteer_id, "balance": balance, "entries": entries}
        )

    return router


def prefix(area: str | None) -> str | None:
    """The digits every code in the area starts with (430000 -> 43)."""
    return None if area is None else area_prefix(area)


def create_app(
    runtime: ServiceRuntime, handlers: OrdersHandlers, queries: OrdersQueries
) -> FastAPI:
    from jinguo_shared.app import service_app

    return service_app(
        runtime,
        "Jinguo services-orders",
        "社区服务订单: service catalogue, orders, dispatch (派单), quality (满意程度, 回访),"
        " government settlement (政府购买服务结算) and the volunteer time bank (时间银行)",
        create_router(runtime, handlers, queries),
        FEED,
        indicators=INDICATORS,
    )
