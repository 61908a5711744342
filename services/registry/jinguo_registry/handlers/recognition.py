"""Commands of inspection and acceptance, commendation and activities."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jinguo_contracts.areas import AreaCode
from jinguo_contracts.programme import (
    ActivityKind,
    AwardLevel,
    AwardTitle,
    InspectionResult,
    NomineeKind,
)
from jinguo_registry.domain.recognition import Activity, AreaInspection, Award
from jinguo_registry.domain.worker import Worker
from jinguo_registry.handlers.programme import office_of
from jinguo_shared.commands import CommandExecutor, CommandResult, IdempotencyKey
from jinguo_shared.domain import InvalidCommandError
from jinguo_shared.envelope import CommandContext

Text = Field(min_length=1, max_length=2000)
Score = Annotated[int, Field(ge=0, le=100)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class InspectArea(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "area_code": "110101001001",
                    "year": 2026,
                    "inspected_on": "2026-12-02",
                    "scores": {"women_reemployed": 92, "home_visits": 70},
                    "findings": "入户走访台账不全，9月份缺记录",
                    "result": "rectification_required",
                }
            ]
        }
    )

    area_code: AreaCode
    year: int = Field(ge=1990, le=2999)
    inspected_on: date | None = Field(default=None, description="default: today")
    scores: dict[Annotated[str, Field(max_length=40)], Score] = Field(max_length=100)
    findings: str = Text
    result: InspectionResult


class AcceptRectification(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"notes": "已补齐9月份入户走访台账", "accepted_on": "2026-12-20"}]
        }
    )

    notes: str = Text
    accepted_on: date | None = Field(default=None, description="default: today")


class Nominate(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "post_star",
                    "level": "district",
                    "year": 2026,
                    "nominee_kind": "worker",
                    "nominee_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                    "nominee_name": "王秀兰",
                    "area_code": "110101001001",
                    "reason": "全年服务居民312人次，满意率100%",
                }
            ]
        }
    )

    title: AwardTitle
    level: AwardLevel
    year: int = Field(ge=1990, le=2999)
    nominee_kind: NomineeKind
    nominee_id: str = Field(min_length=1, max_length=64)
    nominee_name: str = Field(min_length=1, max_length=200)
    area_code: AreaCode
    reason: str = Text
    nominated_on: date | None = Field(default=None, description="default: today")


class GrantAward(Command):
    model_config = ConfigDict(json_schema_extra={"examples": [{"granted_on": "2026-12-28"}]})

    granted_on: date | None = Field(default=None, description="default: today")


class DeclineAward(Command):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "服务年限不足一年"}]})

    reason: str = Text


class HoldActivity(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "job_fair",
                    "title": "春风行动巾帼专场招聘会",
                    "held_on": "2026-03-06",
                    "area_code": "110101",
                    "participants": 420,
                    "referrals": 37,
                    "results": "38家用人单位，提供岗位260个",
                }
            ]
        }
    )

    kind: ActivityKind
    title: str = Field(min_length=1, max_length=200)
    held_on: date | None = Field(default=None, description="default: today")
    area_code: AreaCode
    participants: int = Field(ge=0, le=10_000_000)
    referrals: int = Field(default=0, ge=0, le=10_000_000)
    households_visited: int = Field(default=0, ge=0, le=10_000_000)
    aid_yuan: int = Field(default=0, ge=0, le=1_000_000_000)
    aid_in_kind: str | None = Field(default=None, max_length=500)
    results: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _counted_where_it_applies(self) -> HoldActivity:
        if self.kind == "caring_visit" and not self.households_visited:
            raise ValueError("a caring visit (慰问) says how many households were visited")
        return self


def derived(namespace: str, *parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"jinguo:{namespace}:" + ":".join(map(str, parts))))


class RecognitionHandlers:
    def __init__(self, executor: CommandExecutor, today: Callable[[], date]) -> None:
        self._executor = executor
        self._today = today

    async def inspect_area(
        self, c: InspectArea, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            AreaInspection,
            derived("inspection", c.area_code, c.year, ctx.agency_id),
            lambda i: i.inspect(
                area_code=c.area_code,
                year=c.year,
                on=c.inspected_on or today,
                scores=dict(c.scores),
                findings=c.findings,
                result=c.result,
                by=office_of(ctx),
                today=today,
            ),
            ctx,
            key,
        )

    async def accept_rectification(
        self,
        inspection_id: str,
        c: AcceptRectification,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            AreaInspection,
            inspection_id,
            lambda i: i.accept_rectification(
                notes=c.notes, on=c.accepted_on or today, by=office_of(ctx), today=today
            ),
            ctx,
            key,
        )

    async def nominate(
        self, c: Nominate, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        if c.nominee_kind == "worker":
            worker = await self._executor.load_cached(Worker, c.nominee_id)
            if worker.state is None or worker.state.erased or worker.area_code != c.area_code:
                raise InvalidCommandError(
                    f"no worker {c.nominee_id} lives in area {c.area_code}", field="nominee_id"
                )
        if c.nominee_kind == "area" and c.nominee_id != c.area_code:
            raise InvalidCommandError("an area is nominated by its own code", field="nominee_id")
        today = self._today()
        return await self._executor.execute(
            Award,
            derived("award", c.title, c.level, c.year, c.nominee_kind, c.nominee_id),
            lambda a: a.nominate(
                area_code=c.area_code,
                title=c.title,
                level=c.level,
                year=c.year,
                nominee_kind=c.nominee_kind,
                nominee_id=c.nominee_id,
                nominee_name=c.nominee_name,
                reason=c.reason,
                on=c.nominated_on or today,
                by=office_of(ctx),
                today=today,
            ),
            ctx,
            key,
        )

    async def grant(
        self, award_id: str, c: GrantAward, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Award,
            award_id,
            lambda a: a.grant(on=c.granted_on or today, by=office_of(ctx), today=today),
            ctx,
            key,
        )

    async def decline(
        self,
        award_id: str,
        c: DeclineAward,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        return await self._executor.execute(
            Award, award_id, lambda a: a.decline(reason=c.reason, by=office_of(ctx)), ctx, key
        )

    async def hold_activity(
        self, c: HoldActivity, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Activity,
            derived("activity", ctx.command_id),
            lambda a: a.hold(
                kind=c.kind,
                title=c.title,
                on=c.held_on or today,
                area_code=c.area_code,
                participants=c.participants,
                referrals=c.referrals,
                households_visited=c.households_visited,
                aid_yuan=c.aid_yuan,
                aid_in_kind=c.aid_in_kind,
                results=c.results,
                by=office_of(ctx),
                today=today,
            ),
            ctx,
            key,
        )
