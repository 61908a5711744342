"""One person across her roles, households and zero-employment households over HTTP."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from jinguo_contracts.registry import Category, EligibilityReason, PriceTier, Relation
from jinguo_registry.domain.validation import NationalId
from jinguo_registry.handlers import households as h
from jinguo_registry.handlers.commands import RegistryHandlers
from jinguo_registry.handlers.households import HouseholdHandlers
from jinguo_registry.projections.people_queries import PeopleQueries, RoleIds
from jinguo_shared.http.commands import Accepted, CommandRequest, command_request
from jinguo_shared.http.conventions import (
    Cursor,
    Limit,
    Page,
    ReadAfter,
    ReadModel,
    page,
    require_scope,
    seq_after,
)
from jinguo_shared.http.security import Caller
from jinguo_shared.runtime import ServiceRuntime

Reader = Annotated[Caller, Depends(require_scope("registry:read"))]
WriteCommand = Annotated[CommandRequest, Depends(command_request(require_scope("registry:write")))]
Id = Annotated[str, Path(min_length=1, max_length=64)]
PEOPLE_VIEWS = ("worker_directory", "community_directory", "people")


class WorkerFacet(ReadModel):
    worker_id: str
    area_code: str
    status: Literal["registered", "reemployed"]
    categories: list[Category] = Field(description="hard-to-employ categories valid today")
    minimum_living_allowance: bool = Field(
        description="低保: assessed on her worker role, or her resident role's eligibility reason"
    )


class ResidentFacet(ReadModel):
    resident_id: str
    area_code: str
    price_tier: PriceTier
    eligibility_reason: EligibilityReason
    valid_until: date | None


class HouseholdLink(ReadModel):
    household_id: str
    relation: Relation
    area_code: str
    recognised_on: date | None = Field(description="recognised as a zero-employment household")
    cleared_on: date | None = Field(description="cleared (清零) on")


class Person(ReadModel):
    person_id: str | None = Field(
        description="null for registrations recorded before a person id was carried"
    )
    name: str | None = Field(description="from the first role the caller may see")
    birth_date: date
    worker: WorkerFacet | None = Field(description="her worker role, if the caller may see it")
    resident: ResidentFacet | None = Field(description="her resident role, if the caller may")
    household: HouseholdLink | None


class PersonLookup(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"national_id": "110101197803141245"}]},
    )

    national_id: NationalId


class Member(ReadModel):
    person_id: str
    relation: Relation
    joined_on: date


class HouseholdView(ReadModel):
    household_id: str
    area_code: str
    address: str | None = Field(description="personal: null once its key is destroyed")
    registered_on: date
    seq: int
    recognised_on: date | None = Field(description="latest recognition as 零就业家庭")
    cleared_on: date | None = Field(description="cleared (清零) after that recognition on")
    cleared_by_person_id: str | None
    cleared_by_spell_id: str | None
    members: list[Member]


class ZeroEmploymentHousehold(ReadModel):
    household_id: str
    area_code: str
    seq: int
    recognised_on: date
    cleared_on: date | None = Field(description="null: not cleared yet")
    cleared_by_person_id: str | None


def add_people_routes(
    router: APIRouter,
    runtime: ServiceRuntime,
    registry: RegistryHandlers,
    handlers: HouseholdHandlers,
    queries: PeopleQueries,
) -> None:
    async def person_view(ids: RoleIds, caller: Caller) -> Person:
        person = await queries.person(ids, caller.sees, runtime.clock.today())
        if person is None:
            raise HTTPException(404, "no such person within your jurisdiction")
        return Person.model_validate(person)

    @router.get(
        "/persons/{person_id}",
        summary="A person across her roles (worker, resident, household), as far as you may see",
    )
    async def get_person(person_id: Id, caller: Reader, after: ReadAfter) -> Person:
        await runtime.visible(after, *PEOPLE_VIEWS)
        return await person_view(await queries.roles_of(person_id), caller)

    @router.post(
        "/persons/lookup",
        summary="Find a person by national ID (in the body: it never goes into a URL)",
    )
    async def look_up_person(body: PersonLookup, caller: Reader, after: ReadAfter) -> Person:
        await runtime.visible(after, *PEOPLE_VIEWS)
        national_id = body.national_id
        person_id = registry.person_id_for(national_id)
        carried = await queries.roles_of(person_id)  # none for registrations made before
        ids = RoleIds(
            person_id if carried.worker_id or carried.resident_id else None,
            registry.worker_id_for(national_id),
            registry.resident_id_for(national_id),
        )
        return await person_view(ids, caller)

    @router.post("/households", status_code=201, summary="Register a household (家庭户)")
    async def register_household(body: h.RegisterHousehold, command: WriteCommand) -> Accepted:
        return command.accept(await handlers.register(body, command.context, command.key))

    @router.post(
        "/households/{household_id}/members",
        status_code=201,
        summary="A person joins a household (one household at a time)",
    )
    async def join_household(
        household_id: Id, body: h.JoinHousehold, command: WriteCommand
    ) -> Accepted:
        result = await handlers.join(household_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/households/{household_id}/members/{person_id}/leave",
        summary="A person leaves a household",
    )
    async def leave_household(
        household_id: Id, person_id: Id, body: h.LeaveHousehold, command: WriteCommand
    ) -> Accepted:
        result = await handlers.leave(household_id, person_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/households/{household_id}/zero-employment",
        summary="Recognise a zero-employment household (零就业家庭): no member of working age"
        " works; cleared (清零) by itself when one starts a re-employment spell",
    )
    async def recognise_zero_employment(
        household_id: Id, body: h.RecogniseZeroEmployment, command: WriteCommand
    ) -> Accepted:
        result = await handlers.recognise_zero_employment(
            household_id, body, command.context, command.key
        )
        return command.accept(result)

    @router.get("/households/{household_id}", summary="A household and its members")
    async def get_household(household_id: Id, caller: Reader, after: ReadAfter) -> HouseholdView:
        await runtime.visible(after, "people")
        household = await queries.household(household_id, caller.sees)
        if household is None:
            raise HTTPException(404, f"no household {household_id}")
        return HouseholdView.model_validate(household)

    @router.get(
        "/zero-employment-households",
        summary="Zero-employment households of an area, cleared or not, with their dates",
    )
    async def list_zero_employment_households(
        caller: Reader,
        after: ReadAfter,
        area: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
        cleared: Annotated[bool | None, Query()] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[ZeroEmploymentHousehold]:
        await runtime.visible(after, "people")
        rows = await queries.zero_employment(
            area=caller.area(area), cleared=cleared, after_seq=seq_after(cursor), limit=limit
        )
        return page(Page[ZeroEmploymentHousehold], rows, limit, lambda r: [r["seq"]])
