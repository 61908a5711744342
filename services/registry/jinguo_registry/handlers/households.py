"""Commands of households and zero-employment households (零就业家庭), and the clearing (清零)
a member's re-employment spell brings."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from jinguo_contracts.registry import Relation
from jinguo_registry.domain.household import Household
from jinguo_registry.domain.validation import AreaCode
from jinguo_registry.projections.people_queries import PeopleQueries
from jinguo_shared.commands import CommandExecutor, CommandResult, IdempotencyKey
from jinguo_shared.domain import NotFoundError, RuleViolationError
from jinguo_shared.envelope import CommandContext

PersonId = Field(min_length=1, max_length=64)
OnDay = Field(default=None, description="the day, in the programme's time zone (default: today)")


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RegisterHousehold(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "area_code": "110101001001",
                    "address": "北京市东城区东四街道东四六条12号",
                    "occurred_on": "2026-03-02",
                }
            ]
        }
    )

    area_code: AreaCode
    address: str = Field(min_length=2, max_length=300)
    occurred_on: date | None = OnDay


class JoinHousehold(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person_id": "5b0c1f52-8d0e-4e39-9f7a-2b1a3c4d5e6f",
                    "relation": "spouse",
                    "occurred_on": "2026-03-02",
                }
            ]
        }
    )

    person_id: str = PersonId
    relation: Relation
    occurred_on: date | None = OnDay


class LeaveHousehold(Command):
    model_config = ConfigDict(json_schema_extra={"examples": [{"occurred_on": "2026-09-30"}]})

    occurred_on: date | None = OnDay


class RecogniseZeroEmployment(Command):
    model_config = ConfigDict(json_schema_extra={"examples": [{"recognised_on": "2026-03-10"}]})

    recognised_on: date | None = OnDay


def derived(namespace: str, value: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"jinguo:{namespace}:{value}"))


class HouseholdHandlers:
    """`settled` waits until the people projection holds every event of the registry recorded
    so far: who is in which household and who works are read from it before deciding."""

    def __init__(
        self,
        executor: CommandExecutor,
        people: PeopleQueries,
        settled: Callable[[], Awaitable[None]],
        today: Callable[[], date],
    ) -> None:
        self._executor = executor
        self._people = people
        self._settled = settled
        self._today = today

    async def register(
        self, c: RegisterHousehold, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Household,
            derived("household", ctx.command_id),
            lambda h: h.register(
                area_code=c.area_code, address=c.address, on=c.occurred_on or today, today=today
            ),
            ctx,
            key,
        )

    async def join(
        self,
        household_id: str,
        c: JoinHousehold,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        await self._settled()
        areas = await self._people.areas_of(c.person_id)
        if not any(ctx.jurisdiction is None or ctx.jurisdiction.covers(a) for a in areas):
            raise NotFoundError(f"no person {c.person_id} is registered (as worker or resident)")
        elsewhere = await self._people.household_of(c.person_id)
        if elsewhere is not None and elsewhere != household_id:
            # which household, and where, is not the caller's to learn if it is not hers
            raise RuleViolationError(
                f"person {c.person_id} is a member of another household: she leaves it first"
            )
        today = self._today()
        return await self._executor.execute(
            Household,
            household_id,
            lambda h: h.join(
                person_id=c.person_id,
                relation=c.relation,
                on=c.occurred_on or today,
                today=today,
            ),
            ctx,
            key,
        )

    async def leave(
        self,
        household_id: str,
        person_id: str,
        c: LeaveHousehold,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Household,
            household_id,
            lambda h: h.leave(person_id=person_id, on=c.occurred_on or today, today=today),
            ctx,
            key,
        )

    async def recognise_zero_employment(
        self,
        household_id: str,
        c: RecogniseZeroEmployment,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        await self._settled()
        today = self._today()
        on = c.recognised_on or today
        household = await self._executor.load_cached(Household, household_id)
        members = household.state.members if household.state is not None else {}
        working_age, working = await self._people.work_status(members, on)
        return await self._executor.execute(
            Household,
            household_id,
            lambda h: h.recognise_zero_employment(
                on=on, working_age=working_age, working=working, today=today
            ),
            ctx,
            key,
        )

    async def clear_for_spell(
        self, worker_id: str, spell_id: str, started_on: date, ctx: CommandContext
    ) -> CommandResult | None:
        """The household of the woman whose spell started is cleared, if it was recognised;
        None when she has no person id or no household."""
        await self._settled()
        person_id = await self._people.person_of_worker(worker_id)
        household_id = person_id and await self._people.household_of(person_id)
        if person_id is None or household_id is None:
            return None
        return await self._executor.execute(
            Household,
            household_id,
            lambda h: h.clear(by_person_id=person_id, spell_id=spell_id, started_on=started_on),
            ctx,
        )
