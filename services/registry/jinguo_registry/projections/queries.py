"""Reads over the registry's projections; PII is unsealed here, for the rows served only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_registry.domain.validation import mask_national_id
from jinguo_registry.projections.community import CommunityDirectory
from jinguo_registry.projections.path import WorkerPath, microseconds, moment
from jinguo_registry.projections.recognition import Recognition
from jinguo_registry.projections.reports import AreaReports
from jinguo_registry.projections.workers import CertificateRegister, WorkerDirectory
from jinguo_shared.crypto import PiiVault
from jinguo_shared.projections.api_clients import ApiClients
from jinguo_shared.projections.host import ProjectionHost

Row = dict[str, Any]
PathPosition = tuple[date, datetime, str]
"""Where a page of her path ends: the last line's business date, recording time and fact."""


class RegistryQueries:
    def __init__(self, engine: AsyncEngine, host: ProjectionHost, vault: PiiVault) -> None:
        self._engine = engine
        self._host = host
        self._vault = vault

    def _projection(self, klass: type[Any]) -> Any:
        projection = self._host.active(klass.name)
        assert isinstance(projection, klass)
        return projection

    async def _rows(self, query: Select[Any]) -> list[Row]:
        async with self._engine.connect() as connection:
            return [dict(row._mapping) for row in await connection.execute(query)]

    async def _unseal(self, rows: list[Row], id_field: str, fields: tuple[str, ...]) -> None:
        await self._vault.prepare({row[id_field] for row in rows}, create=False, fresh=True)
        for row in rows:
            for name in fields:
                if name in row:
                    row[name] = self._vault.unseal(row[id_field], row[name])

    async def workers(
        self,
        *,
        area: str | None,
        category: str | None,
        status: str | None,
        after_seq: int | None,
        limit: int,
        today: date,
        draws_benefit: bool | None = None,
    ) -> list[Row]:
        directory: WorkerDirectory = self._projection(WorkerDirectory)
        workers = directory.workers
        query = select(workers).order_by(workers.c.registered_seq).limit(limit)
        if area:
            query = query.where(workers.c.area_code.startswith(area))
        if status:
            query = query.where(workers.c.status == status)
        if draws_benefit is not None:
            drawing = and_(workers.c.benefit_from <= today, workers.c.benefit_until >= today)
            query = query.where(
                drawing if draws_benefit else ~drawing | workers.c.benefit_from.is_(None)
            )
        if category:
            categories = directory.categories
            query = query.where(
                exists().where(
                    and_(
                        categories.c.worker_id == workers.c.worker_id,
                        categories.c.category == category,
                        categories.c.valid_until >= today,
                    )
                )
            )
        if after_seq is not None:
            query = query.where(workers.c.registered_seq > after_seq)
        rows = await self._rows(query)
        await self._present_workers(rows, today)
        return rows

    async def _present_workers(self, rows: list[Row], today: date) -> None:
        await self._unseal(rows, "worker_id", ("name", "national_id", "phone"))
        for row in rows:
            if row["national_id"]:
                row["national_id"] = mask_national_id(row["national_id"])
            since, until = row["benefit_from"], row["benefit_until"]
            row["draws_benefit"] = since is not None and since <= today <= until

    async def dossier(self, worker_id: str, sees: Callable[[str], bool], today: date) -> Row | None:
        """None also when `sees` says her area is out of the caller's sight."""
        directory: WorkerDirectory = self._projection(WorkerDirectory)
        register: CertificateRegister = self._projection(CertificateRegister)
        rows = await self._rows(
            select(directory.workers).where(directory.workers.c.worker_id == worker_id)
        )
        if not rows or not sees(rows[0]["area_code"]):
            return None
        worker = rows[0]
        await self._present_workers(rows, today)
        categories = await self._rows(
            select(directory.categories).where(directory.categories.c.worker_id == worker_id)
        )
        visits = await self._rows(
            select(directory.visits)
            .where(directory.visits.c.worker_id == worker_id)
            .order_by(directory.visits.c.visited_on)
        )
        await self._unseal(categories, "worker_id", ("evidence",))
        await self._unseal(visits, "worker_id", ("notes",))
        worker["categories"] = categories
        worker["home_visits"] = visits
        worker["certificates"] = await self._rows(
            select(register.certificates)
            .where(register.certificates.c.worker_id == worker_id)
            .order_by(register.certificates.c.issued_on)
        )
        worker["reemployments"] = await self._rows(
            select(directory.reemployments).where(directory.reemployments.c.worker_id == worker_id)
        )
        worker["spells"] = await self._rows(
            select(directory.spells)
            .where(directory.spells.c.worker_id == worker_id)
            .order_by(directory.spells.c.started_on, directory.spells.c.spell_id)
        )
        awards = self._projection(Recognition).awards
        worker["awards"] = await self._rows(
            select(
                awards.c.award_id,
                awards.c.title,
                awards.c.level,
                awards.c.year,
                awards.c.granted_on,
            )
            .where(
                awards.c.nominee_kind == "worker",
                awards.c.nominee_id == worker_id,
                awards.c.decision == "granted",
            )
            .order_by(awards.c.granted_on)
        )
        return worker

    async def path(
        self,
        worker_id: str,
        sees: Callable[[str], bool],
        *,
        after: PathPosition | None,
        limit: int,
    ) -> list[Row] | None:
        """Her facts by business date, then as recorded; None where `dossier` gives None."""
        workers = self._projection(WorkerDirectory).workers
        lines = self._projection(WorkerPath).lines
        async with self._engine.connect() as connection:
            area = await connection.scalar(
                select(workers.c.area_code).where(workers.c.worker_id == worker_id)
            )
            if area is None or not sees(area):
                return None
            query = (
                select(lines)
                .where(lines.c.worker_id == worker_id)
                .order_by(lines.c.happened_on, lines.c.recorded_at_us, lines.c.fact_id)
                .limit(limit)
            )
            if after is not None:
                day, recorded_at, fact = after
                recorded = microseconds(recorded_at)
                query = query.where(
                    or_(
                        lines.c.happened_on > day,
                        and_(lines.c.happened_on == day, lines.c.recorded_at_us > recorded),
                        and_(
                            lines.c.happened_on == day,
                            lines.c.recorded_at_us == recorded,
                            lines.c.fact_id > fact,
                        ),
                    )
                )
            rows = [dict(row._mapping) for row in await connection.execute(query)]
        for row in rows:
            row["recorded_at"] = moment(row.pop("recorded_at_us"))
        return rows

    async def certificates(
        self,
        *,
        area: str | None,
        kind: str | None,
        status: str | None,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[Row]:
        table = self._projection(CertificateRegister).certificates
        query = select(table).order_by(table.c.worker_id, table.c.number).limit(limit)
        if area:
            query = query.where(table.c.area_code.startswith(area))
        if kind:
            query = query.where(table.c.kind == kind)
        if status:
            query = query.where(table.c.status == status)
        if after is not None:
            query = query.where(
                (table.c.worker_id > after[0])
                | and_(table.c.worker_id == after[0], table.c.number > after[1])
            )
        return await self._rows(query)

    async def report(self, area: str, month_from: str, month_to: str) -> list[Row]:
        counts = self._projection(AreaReports).counts
        return await self._rows(
            select(counts.c.month, counts.c.metric, counts.c.count)
            .where(
                counts.c.area_code == area, counts.c.month >= month_from, counts.c.month <= month_to
            )
            .order_by(counts.c.month, counts.c.metric)
        )

    async def community(
        self,
        kind: str,
        *,
        area: str | None,
        status: str | None,
        tier: str | None,
        after_seq: int | None,
        limit: int,
    ) -> list[Row]:
        directory: CommunityDirectory = self._projection(CommunityDirectory)
        table = {
            "residents": directory.residents,
            "providers": directory.providers,
            "volunteers": directory.volunteers,
        }[kind]
        query = select(table).order_by(table.c.seq).limit(limit)
        if area:
            query = query.where(table.c.area_code.startswith(area))
        if status and "status" in table.c:
            query = query.where(table.c.status == status)
        if tier and "price_tier" in table.c:
            query = query.where(table.c.price_tier == tier)
        if after_seq is not None:
            query = query.where(table.c.seq > after_seq)
        rows = await self._rows(query)
        id_field = {
            "residents": "resident_id",
            "providers": "provider_id",
            "volunteers": "volunteer_id",
        }[kind]
        await self._unseal(rows, id_field, ("name", "phone", "address"))
        return rows

    async def agencies(self) -> list[Row]:
        agencies = self._projection(ApiClients).agencies
        return await self._rows(select(agencies).order_by(agencies.c.name))
