"""Commands of the programme's year: the register of areas and stations, plans and reports."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jinguo_contracts.areas import AreaCode, StationKind
from jinguo_contracts.periods import Figure
from jinguo_registry.domain.periods import Period
from jinguo_registry.domain.programme import Area, Office, Plan, Report, Station
from jinguo_registry.domain.sheet import figures_of, rolled_up
from jinguo_registry.projections.programme_queries import ProgrammeQueries
from jinguo_shared.commands import CommandExecutor, CommandResult, IdempotencyKey
from jinguo_shared.envelope import CommandContext

Name = Field(min_length=1, max_length=100)
Reason = Field(min_length=1, max_length=2000)
Target = Annotated[float, Field(ge=0, le=10_000_000)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RegisterArea(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"area_code": "430102001001", "name": "韭菜园社区", "urban": True}]
        }
    )

    area_code: AreaCode
    name: str = Name
    urban: bool = Field(default=True, description="社区/街道 (urban) or 村/乡镇 (rural)")


class RenameArea(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "韭菜园社区", "urban": True}]}
    )

    name: str = Name
    urban: bool = True


class RecordPopulation(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"households": 3200, "residents": 9100, "women": 4650}]}
    )

    households: int = Field(ge=0, le=100_000_000)
    residents: int = Field(ge=0, le=2_000_000_000)
    women: int = Field(ge=0, le=1_000_000_000)

    @model_validator(mode="after")
    def _women_among_residents(self) -> RecordPopulation:
        if self.women > self.residents:
            raise ValueError(f"women ({self.women}) outnumber residents ({self.residents})")
        return self


class RegisterStation(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "area_code": "430102001001",
                    "kind": "womens_home",
                    "name": "韭菜园社区妇女之家",
                    "opened_on": "2024-03-08",
                }
            ]
        }
    )

    area_code: AreaCode
    kind: StationKind
    name: str = Field(min_length=1, max_length=200)
    agency_id: str | None = Field(default=None, max_length=64)
    opened_on: date | None = Field(default=None, description="default: today")


class SubmitPlan(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"targets": {"women_reemployed": 120, "volunteer_rate": 10}}]
        }
    )

    targets: dict[Annotated[str, Field(max_length=40)], Target] = Field(max_length=100)


class Decline(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "再就业目标低于上年实绩"}]}
    )

    reason: str = Reason


class ReviseReport(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "补录6月份公益性岗位安置2人"}]}
    )

    reason: str = Reason


def office_of(ctx: CommandContext) -> Office:
    """The caller as an office: her agency and the areas it covers; the system covers all."""
    prefix = "" if ctx.jurisdiction is None else ctx.jurisdiction.prefix
    return Office(agency_id=ctx.agency_id or "system", prefix=prefix)


def plan_id(area_code: str, year: int) -> str:
    return f"{area_code}-{year}"


def report_id(area_code: str, period: str) -> str:
    return f"{area_code}-{period}"


class ProgrammeHandlers:
    def __init__(
        self,
        executor: CommandExecutor,
        queries: ProgrammeQueries,
        today: Callable[[], date],
    ) -> None:
        self._executor = executor
        self._queries = queries
        self._today = today

    # areas and stations ------------------------------------------------------------------------

    async def register_area(
        self, c: RegisterArea, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        return await self._executor.execute(
            Area, c.area_code, lambda a: a.register(name=c.name, urban=c.urban), ctx, key
        )

    async def rename_area(
        self, area_code: str, c: RenameArea, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        return await self._executor.execute(
            Area, area_code, lambda a: a.rename(name=c.name, urban=c.urban), ctx, key
        )

    async def record_population(
        self,
        area_code: str,
        year: int,
        c: RecordPopulation,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Area,
            area_code,
            lambda a: a.record_population(
                year=year,
                households=c.households,
                residents=c.residents,
                women=c.women,
                today=today,
            ),
            ctx,
            key,
        )

    async def register_station(
        self, c: RegisterStation, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        station_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"jinguo:station:{ctx.command_id}"))
        return await self._executor.execute(
            Station,
            station_id,
            lambda s: s.register(
                area_code=c.area_code,
                kind=c.kind,
                name=c.name,
                agency_id=c.agency_id,
                opened_on=c.opened_on or today,
                today=today,
            ),
            ctx,
            key,
        )

    # plans -------------------------------------------------------------------------------------

    async def submit_plan(
        self,
        area_code: str,
        year: int,
        c: SubmitPlan,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Plan,
            plan_id(area_code, year),
            lambda p: p.submit(
                area_code=area_code,
                year=year,
                targets=dict(c.targets),
                by=office_of(ctx),
                today=today,
            ),
            ctx,
            key,
        )

    async def approve_plan(
        self, area_code: str, year: int, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Plan,
            plan_id(area_code, year),
            lambda p: p.approve(by=office_of(ctx), today=today),
            ctx,
            key,
        )

    async def return_plan(
        self,
        area_code: str,
        year: int,
        c: Decline,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Plan,
            plan_id(area_code, year),
            lambda p: p.return_(reason=c.reason, by=office_of(ctx), today=today),
            ctx,
            key,
        )

    # reports -----------------------------------------------------------------------------------

    async def _figures_to_file(
        self, area_code: str, children: list[str], period: Period
    ) -> dict[str, Figure]:
        """A community's figures as known now; an area above, its children's reports rolled
        up with what was recorded at its own level."""
        figures = await self._queries.area_figures([area_code, *children], period)
        now = figures_of(figures[area_code], period)
        if not children:
            return now
        reported = []
        for child in children:
            on_file = await self._queries.reported(child, period.code)
            reported.append({} if on_file is None else on_file[0])
        return rolled_up(
            now,
            [figures_of(figures[child], period) for child in children],
            reported,
            figures[area_code].population,
        )

    async def submit_report(
        self,
        area_code: str,
        period: Period,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        children = [row["area_code"] for row in await self._queries.children(area_code)]
        decisions = await self._queries.report_decisions(children, period.code)
        waiting = [code for code in children if decisions.get(code) != "accepted"]
        figures = await self._figures_to_file(area_code, children, period)
        return await self._executor.execute(
            Report,
            report_id(area_code, period.code),
            lambda r: r.submit(
                area_code=area_code,
                period=period,
                figures=figures,
                children_not_accepted=waiting,
                by=office_of(ctx),
                today=today,
            ),
            ctx,
            key,
        )

    async def accept_report(
        self, area_code: str, period: Period, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Report,
            report_id(area_code, period.code),
            lambda r: r.accept(by=office_of(ctx), today=today),
            ctx,
            key,
        )

    async def return_report(
        self,
        area_code: str,
        period: Period,
        c: Decline,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Report,
            report_id(area_code, period.code),
            lambda r: r.return_(reason=c.reason, by=office_of(ctx), today=today),
            ctx,
            key,
        )

    async def revise_report(
        self,
        area_code: str,
        period: Period,
        c: ReviseReport,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        children = [row["area_code"] for row in await self._queries.children(area_code)]
        figures = await self._figures_to_file(area_code, children, period)
        return await self._executor.execute(
            Report,
            report_id(area_code, period.code),
            lambda r: r.revise(figures=figures, reason=c.reason, by=office_of(ctx), today=today),
            ctx,
            key,
        )
