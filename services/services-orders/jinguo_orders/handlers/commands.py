"""The services-orders commands: validated input, and one handler per command."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from jinguo_contracts.areas import AreaCode, area_level
from jinguo_contracts.orders import CancelledBy, NoShowParty, ServiceCategory
from jinguo_contracts.registry import PriceTier
from jinguo_orders.domain.catalogue import Service
from jinguo_orders.domain.dispatch import rank
from jinguo_orders.domain.order import Order
from jinguo_orders.domain.schedule import (
    AssignmentChangedError,
    WorkerSchedule,
    WorkerUnavailableError,
    assign_worker,
    check_assigned,
    release_with,
)
from jinguo_orders.domain.settlement import Settlement, settlement_id, statement
from jinguo_orders.domain.timebank import TimeBank
from jinguo_orders.projections.queries import OrdersQueries
from jinguo_shared.access import check_within
from jinguo_shared.clock import ProgrammeClock
from jinguo_shared.commands import CommandExecutor, CommandResult, IdempotencyKey
from jinguo_shared.domain import (
    InvalidCommandError,
    NotFoundError,
    OutsideJurisdictionError,
    RuleViolationError,
)
from jinguo_shared.envelope import CommandContext

Text = Field(min_length=1, max_length=2000)
Id = Field(min_length=1, max_length=64)
OccupationCode = Annotated[str, Field(pattern=r"^\d-\d{2}-\d{2}-\d{2}$")]
MONTH = r"^[1-9]\d{3}-(0[1-9]|1[0-2])$"
OCCURRED_ON = (
    "the day it happened, in the programme's time zone (default today); not in the future,"
    " not before the order was requested"
)


def community_code(code: str) -> str:
    if area_level(code) != "community":
        raise ValueError("a settlement is for one community (社区/村): a 12-digit code")
    return code


CommunityCode = Annotated[AreaCode, AfterValidator(community_code)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class OfferService(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "category": "elderly_care",
                    "name": "居家养老照料",
                    "market_price": 100,
                    "low_cost_price": 40,
                    "required_certificates": ["4-10-01-05"],
                }
            ]
        }
    )

    category: ServiceCategory
    name: str = Field(min_length=1, max_length=200)
    market_price: int = Field(ge=0, le=100_000, description="yuan (元) per visit")
    low_cost_price: int = Field(ge=0, le=100_000, description="yuan (元) per visit")
    required_certificates: list[OccupationCode] = Field(default_factory=list, max_length=10)


class PlaceOrder(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "resident_id": "5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f",
                    "service_code": "elderly_care",
                    "address": "北京市东城区东四街道东四六条12号",
                    "window_start": "2026-05-08T09:00:00+08:00",
                    "window_end": "2026-05-08T11:00:00+08:00",
                    "notes": "老人行动不便，上门前请电话联系",
                }
            ]
        }
    )

    resident_id: str = Id
    service_code: str = Field(min_length=1, max_length=40)
    address: str = Field(min_length=1, max_length=500)
    window_start: AwareDatetime
    window_end: AwareDatetime
    notes: str | None = Field(default=None, max_length=2000)
    occurred_on: date | None = Field(
        default=None,
        description="the day the resident requested it, in the programme's time zone (default"
        " today, or the window's first day when that has passed); not in the future, not after"
        " the window starts",
    )


class Happened(Command):
    model_config = ConfigDict(json_schema_extra={"examples": [{"occurred_on": "2026-05-07"}]})

    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class AssignOrder(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"worker_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7"}]}
    )

    worker_id: str | None = Field(default=None, min_length=1, max_length=64)
    provider_id: str | None = Field(default=None, min_length=1, max_length=64)
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class Reason(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "时间冲突，无法按时上门"}]}
    )

    reason: str = Text
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class CancelOrder(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"by": "resident", "reason": "老人住院，暂不需要服务"}]}
    )

    by: CancelledBy
    reason: str = Text
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class MarkNoShow(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"party": "resident", "notes": "按约定时间上门，家中无人，电话未接通"}]
        }
    )

    party: NoShowParty
    notes: str | None = Field(default=None, max_length=2000)
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class AtTime(Command):
    model_config = ConfigDict(json_schema_extra={"examples": [{"at": "2026-05-08T09:05:00+08:00"}]})

    at: AwareDatetime | None = Field(default=None, description="defaults to now")


class RateOrder(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"score": 5, "comment": "护理员耐心细致，准时到达"}]}
    )

    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)
    occurred_on: date | None = Field(
        default=None,
        description="the day she rated it, in the programme's time zone (default today); not"
        " in the future, not before the service was completed",
    )


class RecordFollowUp(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"called_on": "2026-05-10", "satisfied": True, "notes": "电话回访，老人对服务满意"}
            ]
        }
    )

    called_on: date
    satisfied: bool
    notes: str | None = Field(default=None, max_length=2000)


class IssueSettlement(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"area_code": "110101001001", "month": "2026-04"}]}
    )

    area_code: CommunityCode
    month: str = Field(pattern=MONTH)


class EarnHours(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "entry_id": "tb-20260508-0031",
                    "hours": 2.5,
                    "activity": "为独居老人助餐送餐",
                    "served_on": "2026-05-08",
                }
            ]
        }
    )

    entry_id: str = Id
    hours: float = Field(gt=0, le=24)
    activity: str = Field(min_length=1, max_length=200)
    served_on: date


class SpendHours(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "entry_id": "tb-20260601-0007",
                    "hours": 2,
                    "purpose": "兑换家政保洁服务",
                    "spent_on": "2026-06-01",
                }
            ]
        }
    )

    entry_id: str = Id
    hours: float = Field(gt=0, le=100)
    purpose: str = Field(min_length=1, max_length=200)
    spent_on: date


MOVE_ATTEMPTS = 3
"""How often a releasing move follows an order reassigned under it before giving up (409)."""


def derived_id(namespace: str, value: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"jinguo:orders:{namespace}:{value}"))


def within(ctx: CommandContext) -> str | None:
    """The area prefix the command may reach (None: the system, everywhere)."""
    return ctx.jurisdiction.prefix if ctx.jurisdiction is not None else None


def covered(ctx: CommandContext, area_code: str) -> bool:
    return ctx.jurisdiction is None or ctx.jurisdiction.covers(area_code)


def tier_for(resident: dict[str, object], on: date) -> PriceTier:
    """The tier the registry last gave, unless it has lapsed by the day of the service."""
    valid_until = resident["valid_until"]
    if isinstance(valid_until, date) and valid_until < on:
        return "market"
    tier = str(resident["price_tier"])
    assert tier in ("free", "low_cost", "market")
    return tier  # type: ignore[return-value]


class OrdersHandlers:
    """Times are recorded in the programme's time zone, so the day of a service, of its
    completion and of the month it is settled in is the programme's, never the server's."""

    def __init__(
        self,
        executor: CommandExecutor,
        queries: OrdersQueries,
        clock: ProgrammeClock,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._executor = executor
        self._queries = queries
        self._clock = clock
        self._now = now

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self._clock.zone)

    def _today(self) -> date:
        return self._local(self._now()).date()

    # catalogue -----------------------------------------------------------------------

    async def offer_service(
        self, code: str, c: OfferService, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        return await self._executor.execute(
            Service,
            code,
            lambda s: s.offer(
                category=c.category,
                name=c.name,
                market_price=c.market_price,
                low_cost_price=c.low_cost_price,
                required_certificates=c.required_certificates,
            ),
            ctx,
            key,
        )

    # orders -----------------------------------------------------------------------

    async def place_order(
        self, c: PlaceOrder, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        service = await self._executor.load_cached(Service, c.service_code)
        if service.state is None:
            raise NotFoundError(
                f"no service {c.service_code} in the catalogue", field="service_code"
            )
        resident = await self._queries.resident(c.resident_id)
        if resident is None or not covered(ctx, resident["area_code"]):
            raise NotFoundError(f"no resident {c.resident_id}", field="resident_id")
        offered = service.state
        start, end, today = self._local(c.window_start), self._local(c.window_end), self._today()
        tier = tier_for(resident, start.date())
        # an order entered after its service window was requested by then at the latest
        requested_on = c.occurred_on or min(today, start.date())
        return await self._executor.execute(
            Order,
            derived_id("order", ctx.command_id),
            lambda o: o.place(
                resident_id=c.resident_id,
                service_code=c.service_code,
                area_code=str(resident["area_code"]),
                address=c.address,
                window_start=start,
                window_end=end,
                notes=c.notes,
                price_tier=tier,
                market_price=offered.market_price,
                low_cost_price=offered.low_cost_price,
                required_certificates=offered.required_certificates,
                requested_on=requested_on,
                today=today,
            ),
            ctx,
            key,
        )

    async def _order(self, order_id: str, ctx: CommandContext) -> Order:
        """The order as last decided on; one outside the caller's jurisdiction does not
        exist for her."""
        order = await self._executor.load_cached(Order, order_id)
        order.require_state()
        if ctx.jurisdiction is not None:
            check_within(ctx.jurisdiction, order)
        return order

    async def dispatch(
        self,
        order_id: str,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
        *,
        occurred_on: date | None = None,
    ) -> CommandResult:
        """Automatic assignment: the best-ranked free, qualified worker of the order's
        district, then of the rest of the caller's jurisdiction (never beyond it); when another
        dispatch books her first, the next one; a provider offering the service when no worker
        is free."""
        order = await self._order(order_id, ctx)
        state = order.require_state()
        on, today = self._on(occurred_on)
        if state.status != "placed":
            # refused with the order's state
            order.assign(worker_id="-", how="auto", on=on, today=today)
        for in_district in (True, False):
            found = await self._queries.candidates(
                state.area_code,
                state.required_certificates,
                state.window_start,
                state.window_end,
                within=within(ctx),
                in_district=in_district,
            )
            for candidate in rank(state.area_code, found)[:20]:
                try:
                    return await self._executor.execute_together(
                        (Order, order_id),
                        (WorkerSchedule, candidate.worker_id),
                        partial(
                            assign_worker,
                            how="auto",
                            worker_area=candidate.area_code,
                            on=on,
                            today=today,
                        ),
                        ctx,
                        key,
                    )
                except WorkerUnavailableError:
                    continue
        service = await self._executor.load_cached(Service, state.service_code)
        kinds = {state.service_code}
        if service.state is not None:
            kinds.add(service.state.category)
        providers = await self._queries.providers_for(kinds, state.area_code, within=within(ctx))
        if providers:
            provider_id = providers[0]
            return await self._executor.execute(
                Order,
                order_id,
                lambda o: o.assign(provider_id=provider_id, how="auto", on=on, today=today),
                ctx,
                key,
            )
        raise RuleViolationError(
            f"no qualified worker or provider is free for order {order_id}", code_hint="no-one-free"
        )

    async def assign(
        self, order_id: str, c: AssignOrder, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        if (c.worker_id is None) == (c.provider_id is None):
            raise InvalidCommandError(
                "name exactly one of worker_id and provider_id", field="worker_id"
            )
        await self._order(order_id, ctx)
        on, today = self._on(c.occurred_on)
        if c.provider_id is not None:
            provider_id = c.provider_id
            found = await self._queries.provider(provider_id)
            if found is None or found["suspended"] or not covered(ctx, found["area_code"]):
                raise NotFoundError(f"no active provider {provider_id}", field="provider_id")
            return await self._executor.execute(
                Order,
                order_id,
                lambda o: o.assign(provider_id=provider_id, how="dispatcher", on=on, today=today),
                ctx,
                key,
            )
        assert c.worker_id is not None
        worker = await self._queries.pool_worker(c.worker_id)
        if worker is None or not covered(ctx, worker["area_code"]):
            raise NotFoundError(f"no worker {c.worker_id}", field="worker_id")
        return await self._executor.execute_together(
            (Order, order_id),
            (WorkerSchedule, c.worker_id),
            partial(
                assign_worker,
                how="dispatcher",
                worker_area=worker["area_code"],
                on=on,
                today=today,
            ),
            ctx,
            key,
        )

    async def _move(
        self,
        order_id: str,
        act: Callable[[Order], None],
        ctx: CommandContext,
        key: IdempotencyKey | None,
        *,
        releases: bool,
    ) -> CommandResult:
        order = await self._order(order_id, ctx)
        worker_id = order.require_state().worker_id
        if not releases:
            return await self._executor.execute(Order, order_id, act, ctx, key)
        for _ in range(MOVE_ATTEMPTS - 1):
            try:
                return await self._release_after(order_id, worker_id, act, ctx, key)
            except AssignmentChangedError as changed:
                worker_id = changed.worker_id
        return await self._release_after(order_id, worker_id, act, ctx, key)

    async def _release_after(
        self,
        order_id: str,
        worker_id: str | None,
        act: Callable[[Order], None],
        ctx: CommandContext,
        key: IdempotencyKey | None,
    ) -> CommandResult:
        """The move and the release of `worker_id`'s window, appended together, provided the
        order is still hers when decided on (the cached order may be stale)."""
        if worker_id is None:

            def alone(o: Order) -> None:
                check_assigned(o, None)
                act(o)

            return await self._executor.execute(Order, order_id, alone, ctx, key)

        def both(o: Order, w: WorkerSchedule) -> None:
            check_assigned(o, w.id)
            act(o)
            release_with(o, w)

        return await self._executor.execute_together(
            (Order, order_id), (WorkerSchedule, worker_id), both, ctx, key
        )

    def _on(self, occurred_on: date | None) -> tuple[date, date]:
        """The day a move happened (today unless the command says) and today."""
        today = self._today()
        return occurred_on or today, today

    async def accept(
        self,
        order_id: str,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
        *,
        occurred_on: date | None = None,
    ) -> CommandResult:
        on, today = self._on(occurred_on)
        return await self._move(
            order_id, lambda o: o.accept(on=on, today=today), ctx, key, releases=False
        )

    async def reject(
        self, order_id: str, c: Reason, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        on, today = self._on(c.occurred_on)
        return await self._move(
            order_id, lambda o: o.reject(c.reason, on=on, today=today), ctx, key, releases=True
        )

    async def start(
        self, order_id: str, c: AtTime, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        at, today = self._local(c.at or self._now()), self._today()
        return await self._move(order_id, lambda o: o.start(at, today), ctx, key, releases=False)

    async def complete(
        self, order_id: str, c: AtTime, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        at, today = self._local(c.at or self._now()), self._today()
        return await self._move(order_id, lambda o: o.complete(at, today), ctx, key, releases=False)

    async def cancel(
        self, order_id: str, c: CancelOrder, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        on, today = self._on(c.occurred_on)
        return await self._move(
            order_id,
            lambda o: o.cancel(by=c.by, reason=c.reason, on=on, today=today),
            ctx,
            key,
            releases=True,
        )

    async def no_show(
        self, order_id: str, c: MarkNoShow, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        on, today = self._on(c.occurred_on)
        return await self._move(
            order_id,
            lambda o: o.no_show(party=c.party, notes=c.notes, on=on, today=today),
            ctx,
            key,
            releases=True,
        )

    async def rate(
        self, order_id: str, c: RateOrder, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        on, today = self._on(c.occurred_on)
        return await self._move(
            order_id,
            lambda o: o.rate(score=c.score, comment=c.comment, on=on, today=today),
            ctx,
            key,
            releases=False,
        )

    async def follow_up(
        self,
        order_id: str,
        c: RecordFollowUp,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._move(
            order_id,
            lambda o: o.record_follow_up(
                called_on=c.called_on, satisfied=c.satisfied, notes=c.notes, today=today
            ),
            ctx,
            key,
            releases=False,
        )

    # settlement -----------------------------------------------------------------------

    async def issue_settlement(
        self, c: IssueSettlement, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        if not covered(ctx, c.area_code):
            raise OutsideJurisdictionError(
                f"area {c.area_code} is outside your agency's jurisdiction", field="area_code"
            )
        lines = statement(await self._queries.delivered(c.area_code, c.month))
        today = self._today()
        return await self._executor.execute(
            Settlement,
            settlement_id(c.area_code, c.month),
            lambda s: s.issue(area_code=c.area_code, month=c.month, lines=lines, today=today),
            ctx,
            key,
        )

    # time bank -----------------------------------------------------------------------

    async def _volunteer_area(self, volunteer_id: str, ctx: CommandContext) -> str:
        volunteer = await self._queries.volunteer(volunteer_id)
        if volunteer is None or not covered(ctx, volunteer["area_code"]):
            raise NotFoundError(f"no volunteer {volunteer_id}", field="volunteer_id")
        return str(volunteer["area_code"])

    async def earn_hours(
        self,
        volunteer_id: str,
        c: EarnHours,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        area, today = await self._volunteer_area(volunteer_id, ctx), self._today()
        return await self._executor.execute(
            TimeBank,
            volunteer_id,
            lambda t: t.earn(
                entry_id=c.entry_id,
                hours=c.hours,
                activity=c.activity,
                served_on=c.served_on,
                area_code=area,
                today=today,
            ),
            ctx,
            key,
        )

    async def spend_hours(
        self,
        volunteer_id: str,
        c: SpendHours,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        area, today = await self._volunteer_area(volunteer_id, ctx), self._today()
        return await self._executor.execute(
            TimeBank,
            volunteer_id,
            lambda t: t.spend(
                entry_id=c.entry_id,
                hours=c.hours,
                purpose=c.purpose,
                spent_on=c.spent_on,
                area_code=area,
                today=today,
            ),
            ctx,
            key,
        )

    # reactions -----------------------------------------------------------------------

    async def qualify_worker(
        self, worker_id: str, occupation_code: str, certificate_no: str, ctx: CommandContext
    ) -> CommandResult:
        return await self._executor.execute(
            WorkerSchedule,
            worker_id,
            lambda w: w.qualify(occupation_code=occupation_code, certificate_no=certificate_no),
            ctx,
        )

    async def record_training(
        self, worker_id: str, trade: str, completed_on: date, ctx: CommandContext
    ) -> CommandResult:
        return await self._executor.execute(
            WorkerSchedule,
            worker_id,
            lambda w: w.record_training(trade=trade, completed_on=completed_on),
            ctx,
        )

    async def take_out_of_dispatch(
        self, worker_id: str, reason: str, placement_id: str, ctx: CommandContext
    ) -> CommandResult:
        return await self._executor.execute(
            WorkerSchedule,
            worker_id,
            lambda w: w.leave_dispatch(reason=reason, placement_id=placement_id),
            ctx,
        )

    async def bring_back_to_dispatch(
        self, worker_id: str, reason: str, placement_id: str, ctx: CommandContext
    ) -> CommandResult:
        return await self._executor.execute(
            WorkerSchedule,
            worker_id,
            lambda w: w.rejoin_dispatch(reason=reason, placement_id=placement_id),
            ctx,
        )
