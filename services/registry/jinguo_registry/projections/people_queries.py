"""Reads of a person across her roles and of households; PII unsealed for the rows served."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_registry.domain.person import of_working_age
from jinguo_registry.projections.community import CommunityDirectory
from jinguo_registry.projections.people import People
from jinguo_registry.projections.workers import WorkerDirectory
from jinguo_shared.crypto import PiiVault
from jinguo_shared.projections.host import ProjectionHost

Row = dict[str, Any]
ALLOWANCE = "minimum_living_allowance"


@dataclass(frozen=True, slots=True)
class RoleIds:
    """Her roles' ids: from the people projection, or derived from her national ID."""

    person_id: str | None
    worker_id: str | None
    resident_id: str | None


class PeopleQueries:
    def __init__(self, engine: AsyncEngine, host: ProjectionHost, vault: PiiVault) -> None:
        self._engine = engine
        self._host = host
        self._vault = vault

    def _active(self, klass: type[Any]) -> Any:
        projection = self._host.active(klass.name)
        assert isinstance(projection, klass)
        return projection

    @property
    def people(self) -> People:
        projection: People = self._active(People)
        return projection

    async def _rows(self, query: Select[Any]) -> list[Row]:
        async with self._engine.connect() as connection:
            return [dict(row._mapping) for row in await connection.execute(query)]

    async def roles_of(self, person_id: str) -> RoleIds:
        roles = self.people.roles
        rows = await self._rows(
            select(roles.c.role_id, roles.c.role).where(roles.c.person_id == person_id)
        )
        by_role = {row["role"]: row["role_id"] for row in rows}
        return RoleIds(person_id, by_role.get("worker"), by_role.get("resident"))

    async def person_of_worker(self, worker_id: str) -> str | None:
        roles = self.people.roles
        rows = await self._rows(select(roles.c.person_id).where(roles.c.role_id == worker_id))
        return rows[0]["person_id"] if rows else None

    async def person(self, ids: RoleIds, sees: Callable[[str], bool], today: date) -> Row | None:
        """Her facets the caller may see (each by its own area); None if she sees none."""
        workers: WorkerDirectory = self._active(WorkerDirectory)
        residents = self._active(CommunityDirectory).residents
        worker = resident = None
        if ids.worker_id is not None:
            rows = await self._rows(
                select(workers.workers).where(workers.workers.c.worker_id == ids.worker_id)
            )
            worker = rows[0] if rows and sees(rows[0]["area_code"]) else None
        if ids.resident_id is not None:
            rows = await self._rows(
                select(residents).where(residents.c.resident_id == ids.resident_id)
            )
            resident = rows[0] if rows and sees(rows[0]["area_code"]) else None
        if worker is None and resident is None:
            return None
        holder, id_field = (resident, "resident_id") if worker is None else (worker, "worker_id")
        assert holder is not None
        await self._vault.prepare([holder[id_field]], create=False, fresh=True)
        person: Row = {
            "person_id": ids.person_id,
            "name": self._vault.unseal(holder[id_field], holder["name"]),
            "birth_date": holder["birth_date"],
            "worker": None,
            "resident": None,
            "household": None,
        }
        resident_allowance = await self._resident_allowance(ids.resident_id, today)
        if worker is not None:
            categories = await self._rows(
                select(workers.categories.c.category).where(
                    workers.categories.c.worker_id == worker["worker_id"],
                    workers.categories.c.valid_until >= today,
                )
            )
            held = sorted(row["category"] for row in categories)
            person["worker"] = {
                "worker_id": worker["worker_id"],
                "area_code": worker["area_code"],
                "status": worker["status"],
                "categories": held,
                "minimum_living_allowance": ALLOWANCE in held or resident_allowance,
            }
        if resident is not None:
            person["resident"] = {
                key: resident[key]
                for key in (
                    "resident_id",
                    "area_code",
                    "price_tier",
                    "eligibility_reason",
                    "valid_until",
                )
            }
        if ids.person_id is not None:
            person["household"] = await self._household_link(ids.person_id, sees)
        return person

    async def _resident_allowance(self, resident_id: str | None, today: date) -> bool:
        if resident_id is None:
            return False
        residents = self._active(CommunityDirectory).residents
        rows = await self._rows(
            select(residents.c.eligibility_reason, residents.c.valid_until).where(
                residents.c.resident_id == resident_id
            )
        )
        return bool(rows) and (
            rows[0]["eligibility_reason"] == ALLOWANCE
            and (rows[0]["valid_until"] is None or rows[0]["valid_until"] >= today)
        )

    async def minimum_living_allowance(
        self, worker_id: str, today: date
    ) -> tuple[str | None, bool]:
        """Her person id and whether her resident role holds 低保 (for her worker dossier)."""
        person_id = await self.person_of_worker(worker_id)
        if person_id is None:
            return None, False
        return person_id, await self._resident_allowance(
            (await self.roles_of(person_id)).resident_id, today
        )

    async def _household_link(self, person_id: str, sees: Callable[[str], bool]) -> Row | None:
        members, households = self.people.members, self.people.households
        rows = await self._rows(
            select(
                members.c.household_id,
                members.c.relation,
                households.c.area_code,
                households.c.recognised_on,
                households.c.cleared_on,
            )
            .join(households, households.c.household_id == members.c.household_id)
            .where(members.c.person_id == person_id)
        )
        if not rows or not sees(rows[0]["area_code"]):
            return None
        return rows[0]

    async def household_of(self, person_id: str) -> str | None:
        members = self.people.members
        rows = await self._rows(
            select(members.c.household_id).where(members.c.person_id == person_id)
        )
        return rows[0]["household_id"] if rows else None

    async def areas_of(self, person_id: str) -> list[str]:
        """Where her roles are registered (none: no person of this id, or all erased)."""
        ids = await self.roles_of(person_id)
        workers = self._active(WorkerDirectory).workers
        residents = self._active(CommunityDirectory).residents
        areas = await self._rows(
            select(workers.c.area_code).where(workers.c.worker_id == (ids.worker_id or ""))
        )
        areas += await self._rows(
            select(residents.c.area_code).where(residents.c.resident_id == (ids.resident_id or ""))
        )
        return [row["area_code"] for row in areas]

    async def work_status(self, person_ids: Iterable[str], day: date) -> tuple[set[str], set[str]]:
        """Of these people: those of working age on `day`, and those with an open spell."""
        roles, spells = self.people.roles, self.people.open_spells
        wanted = sorted(set(person_ids))
        if not wanted:
            return set(), set()
        rows = await self._rows(
            select(roles.c.person_id, roles.c.role_id, roles.c.birth_date, roles.c.gender).where(
                roles.c.person_id.in_(wanted)
            )
        )
        working_age = {
            row["person_id"]
            for row in rows
            if of_working_age(row["birth_date"], row["gender"], day)
        }
        worker_ids = {row["role_id"]: row["person_id"] for row in rows}
        open_rows = await self._rows(
            select(spells.c.worker_id).where(
                spells.c.worker_id.in_(sorted(worker_ids)), spells.c.started_on <= day
            )
        )
        return working_age, {worker_ids[row["worker_id"]] for row in open_rows}

    async def household(self, household_id: str, sees: Callable[[str], bool]) -> Row | None:
        households, members = self.people.households, self.people.members
        rows = await self._rows(select(households).where(households.c.household_id == household_id))
        if not rows or not sees(rows[0]["area_code"]):
            return None
        household = rows[0]
        await self._vault.prepare([household_id], create=False, fresh=True)
        household["address"] = self._vault.unseal(household_id, household["address"])
        household["members"] = await self._rows(
            select(members.c.person_id, members.c.relation, members.c.joined_on)
            .where(members.c.household_id == household_id)
            .order_by(members.c.joined_on, members.c.person_id)
        )
        return household

    async def zero_employment(
        self, *, area: str | None, cleared: bool | None, after_seq: int | None, limit: int
    ) -> list[Row]:
        households = self.people.households
        query = (
            select(
                households.c.household_id,
                households.c.area_code,
                households.c.seq,
                households.c.recognised_on,
                households.c.cleared_on,
                households.c.cleared_by_person_id,
            )
            .where(households.c.recognised_on.is_not(None))
            .order_by(households.c.seq)
            .limit(limit)
        )
        if area:
            query = query.where(households.c.area_code.startswith(area))
        if cleared is not None:
            column = households.c.cleared_on
            query = query.where(column.is_not(None) if cleared else column.is_(None))
        if after_seq is not None:
            query = query.where(households.c.seq > after_seq)
        return await self._rows(query)
