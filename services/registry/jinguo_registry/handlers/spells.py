"""Her re-employment spells (再就业, 失业再登记) and her unemployment benefit (领失业金)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from pydantic import ConfigDict, Field

from jinguo_contracts.registry import BusinessStarted, HoursType, SpellKind
from jinguo_registry.domain.worker import Worker
from jinguo_registry.handlers.commands import Command, RecordReemployment, derived_id
from jinguo_shared.commands import CommandExecutor, CommandResult, IdempotencyKey
from jinguo_shared.envelope import CommandContext

Reason = Field(min_length=1, max_length=500)


class StartSpell(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "found_herself",
                    "employer_name": "交道口超市",
                    "started_on": "2026-05-06",
                },
                {
                    "kind": "business",
                    "started_on": "2026-03-01",
                    "business": {
                        "name": "巧手家政服务部",
                        "licence_no": "92110101MA01ABCD3X",
                        "trade": "家政",
                        "jobs_created": 3,
                    },
                },
            ]
        }
    )

    kind: SpellKind
    started_on: date | None = Field(
        default=None, description="her first day of work, programme time zone (default: today)"
    )
    employer_name: str | None = Field(default=None, min_length=1, max_length=100)
    post_id: str | None = Field(default=None, min_length=1, max_length=64)
    placement_id: str | None = Field(default=None, min_length=1, max_length=64)
    hours_type: HoursType | None = None
    business: BusinessStarted | None = None


class EndSpell(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ended_on": "2026-10-31", "reason": "合同期满未续签"}]}
    )

    ended_on: date | None = Field(
        default=None, description="her last day of work, programme time zone (default: today)"
    )
    reason: str = Reason


class GrantBenefit(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"from_on": "2026-09-01", "until": "2027-08-31", "monthly_yuan": 1800}]
        }
    )

    from_on: date = Field(description="the first day she draws it")
    until: date = Field(description="the last day she may draw it")
    monthly_yuan: int = Field(gt=0, le=100_000)


class EndBenefit(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ended_on": "2026-12-15", "reason": "实现再就业"}]}
    )

    ended_on: date | None = Field(default=None, description="default: today")
    reason: str = Reason


class SpellHandlers:
    """One method per command; `today` is the programme's day."""

    def __init__(self, executor: CommandExecutor, today: Callable[[], date]) -> None:
        self._executor = executor
        self._today = today

    @staticmethod
    def spell_id_for(ctx: CommandContext) -> str:
        """The same command (the same Idempotency-Key) names the same spell."""
        return derived_id("spell", ctx.command_id)

    @staticmethod
    def benefit_id_for(ctx: CommandContext) -> str:
        return derived_id("benefit", ctx.command_id)

    async def start_spell(
        self,
        worker_id: str,
        c: StartSpell,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
        *,
        reported_by_employment: bool = False,
    ) -> tuple[CommandResult, str]:
        today = self._today()
        spell_id = c.placement_id if c.kind == "placement" and c.placement_id else None
        spell_id = spell_id or self.spell_id_for(ctx)
        result = await self._executor.execute(
            Worker,
            worker_id,
            lambda w: w.start_spell(
                spell_id=spell_id,
                kind=c.kind,
                started_on=c.started_on or today,
                today=today,
                employer_name=c.employer_name,
                post_id=c.post_id,
                placement_id=c.placement_id,
                hours_type=c.hours_type,
                business=c.business,
                reported_by_employment=reported_by_employment,
            ),
            ctx,
            key,
        )
        return result, spell_id

    async def record_placement(
        self,
        worker_id: str,
        c: RecordReemployment,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
        hours_type: HoursType | None = None,
        *,
        reported_by_employment: bool = False,
    ) -> CommandResult:
        """A post filled through Jinguo: a placement spell named by its placement."""
        start = StartSpell(
            kind="placement",
            started_on=c.started_on,
            employer_name=c.employer_name,
            post_id=c.post_id,
            placement_id=c.placement_id,
            hours_type=hours_type,
        )
        result, _ = await self.start_spell(
            worker_id, start, ctx, key, reported_by_employment=reported_by_employment
        )
        return result

    async def end_spell(
        self,
        worker_id: str,
        spell_id: str,
        c: EndSpell,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Worker,
            worker_id,
            lambda w: w.end_spell(
                spell_id=spell_id, ended_on=c.ended_on or today, reason=c.reason, today=today
            ),
            ctx,
            key,
        )

    async def grant_benefit(
        self,
        worker_id: str,
        c: GrantBenefit,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> tuple[CommandResult, str]:
        today = self._today()
        benefit_id = self.benefit_id_for(ctx)
        result = await self._executor.execute(
            Worker,
            worker_id,
            lambda w: w.grant_benefit(
                benefit_id=benefit_id,
                from_on=c.from_on,
                until=c.until,
                monthly_yuan=c.monthly_yuan,
                today=today,
            ),
            ctx,
            key,
        )
        return result, benefit_id

    async def end_benefit(
        self,
        worker_id: str,
        c: EndBenefit,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Worker,
            worker_id,
            lambda w: w.end_benefit(ended_on=c.ended_on or today, reason=c.reason, today=today),
            ctx,
            key,
        )
