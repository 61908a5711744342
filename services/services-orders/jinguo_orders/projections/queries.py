"""Reads over the services-orders projections, including dispatch's candidate search."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, Select, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_contracts.base import CATALOGUE
from jinguo_orders.domain.dispatch import Candidate
from jinguo_orders.domain.settlement import Delivered
from jinguo_orders.projections.reports import OrdersReports
from jinguo_orders.projections.views import (
    Community,
    DispatchPool,
    OrderBoard,
    Quality,
    Settlements,
    TimeBankLedger,
)
from jinguo_shared.crypto import PiiVault
from jinguo_shared.projections.host import ProjectionHost

Row = dict[str, Any]
WORKERS_WORDS: dict[str, tuple[str, ...]] = {"OrderRejected": ("reason",)}
"""What the assigned worker said, by event type: unread once the registry erases her."""


def under(column: Column[Any], prefix: str) -> ColumnElement[bool]:
    """Area codes starting with `prefix` (area codes are digits, and "~" sorts after them)."""
    return column.between(prefix, prefix + "~")


class OrdersQueries:
    def __init__(self, engine: AsyncEngine, host: ProjectionHost, vault: PiiVault) -> None:
        self._engine = engine
        self._host = host
        self._vault = vault

    async def _erased(
        self, residents: Iterable[str | None], workers: Iterable[str | None]
    ) -> tuple[set[str], set[str]]:
        """Which of these residents and workers the registry has erased."""
        marks: list[set[str]] = []
        for table, ids in (
            (self._projection(Community).erased, {i for i in residents if i is not None}),
            (self._projection(DispatchPool).erased, {i for i in workers if i is not None}),
        ):
            (column,) = table.primary_key.columns
            found = await self._rows(select(column).where(column.in_(ids))) if ids else []
            marks.append({row[column.name] for row in found})
        return marks[0], marks[1]

    async def _present(self, rows: list[Row]) -> list[Row]:
        """Orders as served: address and notes unsealed with the resident's key (gone once she
        is erased), and no resident or worker the registry erased named in them."""
        residents, workers = await self._erased(
            (r["resident_id"] for r in rows), (r["worker_id"] for r in rows)
        )
        await self._vault.prepare({r["resident_id"] for r in rows}, create=False, fresh=True)
        for row in rows:
            for name in ("address", "notes"):
                row[name] = self._vault.unseal(row["resident_id"], row[name])
            if row["resident_id"] in residents:
                row["resident_id"] = None
            if row["worker_id"] in workers:
                row["worker_id"] = None
        return rows

    def _projection(self, klass: type[Any]) -> Any:
        projection = self._host.active(klass.name)
        assert isinstance(projection, klass)
        return projection

    async def _rows(self, query: Select[Any]) -> list[Row]:
        async with self._engine.connect() as connection:
            return [dict(row._mapping) for row in await connection.execute(query)]

    async def wait_for(self, position: str, *names: str, timeout: float = 10.0) -> None:
        await self._host.wait_for(position, list(names), timeout)

    async def resident(self, resident_id: str) -> Row | None:
        table = self._projection(Community).residents
        rows = await self._rows(select(table).where(table.c.resident_id == resident_id))
        return rows[0] if rows else None

    async def residents(
        self, *, tier: str | None, within: str | None, after_id: str | None, limit: int
    ) -> list[Row]:
        table = self._projection(Community).residents
        query = select(table).order_by(table.c.resident_id).limit(limit)
        if within is not None:
            query = query.where(under(table.c.area_code, within))
        if tier is not None:
            query = query.where(table.c.price_tier == tier)
        if after_id is not None:
            query = query.where(table.c.resident_id > after_id)
        return await self._rows(query)

    async def volunteers(self, *, within: str | None, limit: int) -> list[Row]:
        table = self._projection(Community).volunteers
        query = select(table).order_by(table.c.volunteer_id).limit(limit)
        if within is not None:
            query = query.where(under(table.c.area_code, within))
        return await self._rows(query)

    async def volunteer(self, volunteer_id: str) -> Row | None:
        table = self._projection(Community).volunteers
        rows = await self._rows(select(table).where(table.c.volunteer_id == volunteer_id))
        return rows[0] if rows else None

    async def services(self) -> list[Row]:
        table = self._projection(OrderBoard).services
        return await self._rows(select(table).order_by(table.c.service_code))

    async def order(self, order_id: str) -> Row | None:
        table = self._projection(OrderBoard).orders
        rows = await self._rows(select(table).where(table.c.order_id == order_id))
        return (await self._present(rows))[0] if rows else None

    async def orders(
        self,
        *,
        status: str | None,
        within: str | None,
        worker_id: str | None,
        after_seq: int | None,
        limit: int,
    ) -> list[Row]:
        table = self._projection(OrderBoard).orders
        query = select(table).order_by(table.c.seq).limit(limit)
        if status is not None:
            query = query.where(table.c.status == status)
        if within is not None:
            query = query.where(under(table.c.area_code, within))
        if worker_id is not None:
            erased = self._projection(DispatchPool).erased
            query = query.where(
                table.c.worker_id == worker_id, ~exists().where(erased.c.worker_id == worker_id)
            )
        if after_seq is not None:
            query = query.where(table.c.seq > after_seq)
        return await self._present(await self._rows(query))

    async def history(self, order_id: str) -> list[Row]:
        """Who did what to the order; what the resident said is unsealed with her key, and
        a resident or worker the registry erased is named nowhere, nor are her words."""
        board: OrderBoard = self._projection(OrderBoard)
        rows = await self._rows(
            select(board.history)
            .where(board.history.c.order_id == order_id)
            .order_by(board.history.c.seq)
        )
        owner = await self._rows(
            select(board.orders.c.resident_id).where(board.orders.c.order_id == order_id)
        )
        resident_id: str | None = owner[0]["resident_id"] if owner else None
        residents, workers = await self._erased(
            [resident_id], (r["detail"].get("worker_id") for r in rows)
        )
        if resident_id in residents:
            resident_id = None
        if resident_id is not None:
            await self._vault.prepare({resident_id}, create=False, fresh=True)
        for row in rows:
            detail = row["detail"]
            # words recorded before they were sealed are in clear: hidden all the same
            for name in CATALOGUE.latest(row["event_type"]).pii_fields() & detail.keys():
                sealed = detail[name]
                detail[name] = (
                    None if resident_id is None else self._vault.unseal(resident_id, sealed)
                )
            if resident_id is None and "resident_id" in detail:
                detail["resident_id"] = None
            if detail.get("worker_id") in workers:
                detail["worker_id"] = None
                for name in WORKERS_WORDS.get(row["event_type"], ()):
                    detail[name] = None
        return rows

    async def candidates(
        self,
        area_code: str,
        required: list[str],
        start: datetime,
        end: datetime,
        *,
        within: str | None,
        in_district: bool,
    ) -> list[Candidate]:
        """Registered workers living `within` the area prefix (None: anywhere), in the order's
        district or outside it, still in dispatch, holding the required certificates and free
        in the window as far as the pool knows; the booking itself re-checks all of it."""
        pool: DispatchPool = self._projection(DispatchPool)
        quality: Quality = self._projection(Quality)
        w, p = pool.workers, quality.performers
        query = (
            select(w.c.worker_id, w.c.area_code, p.c.rating_sum, p.c.ratings, p.c.completed)
            .outerjoin(p, and_(p.c.kind == "worker", p.c.performer_id == w.c.worker_id))
            .where(
                ~exists().where(pool.departures.c.worker_id == w.c.worker_id),
                ~exists().where(
                    pool.bookings.c.worker_id == w.c.worker_id,
                    pool.bookings.c.window_start < end,
                    pool.bookings.c.window_end > start,
                ),
            )
        )
        district = area_code[:6]
        query = query.where(w.c.district == district if in_district else w.c.district != district)
        if within is not None:
            query = query.where(under(w.c.area_code, within))
        for code in required:
            q = pool.qualifications.alias()
            query = query.where(
                exists().where(q.c.worker_id == w.c.worker_id, q.c.occupation_code == code)
            )
        return [
            Candidate(
                r["worker_id"],
                r["area_code"],
                r["rating_sum"] or 0,
                r["ratings"] or 0,
                r["completed"] or 0,
            )
            for r in await self._rows(query)
        ]

    async def providers_for(
        self, kinds: set[str], area_code: str, *, within: str | None
    ) -> list[str]:
        """Active providers offering the ordered service: by its kind (what the registry
        checks providers against), or by its code (providers registered before that check)."""
        table = self._projection(DispatchPool).providers
        query = (
            select(table.c.provider_id, table.c.area_code, table.c.services)
            .where(table.c.suspended.is_(False))
            .order_by(table.c.provider_id)
        )
        if within is not None:
            query = query.where(under(table.c.area_code, within))
        rows = await self._rows(query)
        offering = [r for r in rows if kinds & set(r["services"] or [])]
        offering.sort(key=lambda r: r["area_code"][:6] != area_code[:6])
        return [r["provider_id"] for r in offering]

    async def pool_worker(self, worker_id: str) -> Row | None:
        table = self._projection(DispatchPool).workers
        rows = await self._rows(select(table).where(table.c.worker_id == worker_id))
        return rows[0] if rows else None

    async def provider(self, provider_id: str) -> Row | None:
        table = self._projection(DispatchPool).providers
        rows = await self._rows(select(table).where(table.c.provider_id == provider_id))
        return rows[0] if rows else None

    async def delivered(self, area_code: str, month: str) -> list[Delivered]:
        table = self._projection(Settlements).deliveries
        rows = await self._rows(
            select(table).where(table.c.area_code == area_code, table.c.month == month)
        )
        return [
            Delivered(
                r["order_id"],
                r["service_code"],
                r["price_tier"],
                r["completed_on"],
                r["market_price"],
                r["price"],
            )
            for r in rows
        ]

    async def settlement(self, area_code: str, month: str) -> Row | None:
        table = self._projection(Settlements).issued
        rows = await self._rows(
            select(table).where(table.c.area_code == area_code, table.c.month == month)
        )
        return rows[0] if rows else None

    async def rankings(self, kind: str, *, within: str | None, limit: int) -> list[Row]:
        """Performers living (workers) or based (providers) within the area prefix."""
        table = self._projection(Quality).performers
        pool: DispatchPool = self._projection(DispatchPool)
        home = pool.workers if kind == "worker" else pool.providers
        home_id = home.c.worker_id if kind == "worker" else home.c.provider_id
        query = (
            select(table, home.c.area_code)
            .join(home, home_id == table.c.performer_id)
            .where(table.c.kind == kind)
        )
        if within is not None:
            query = query.where(under(home.c.area_code, within))
        rows = await self._rows(query)
        for row in rows:
            row["satisfaction"] = (
                round(row["rating_sum"] / row["ratings"], 2) if row["ratings"] else None
            )
        rows.sort(key=lambda r: (-(r["satisfaction"] or 0), -r["completed"], r["performer_id"]))
        return rows[:limit]

    async def report(self, area: str, month_from: str, month_to: str) -> list[Row]:
        counts = self._projection(OrdersReports).counts
        return await self._rows(
            select(counts.c.month, counts.c.metric, counts.c.count)
            .where(
                counts.c.area_code == area, counts.c.month >= month_from, counts.c.month <= month_to
            )
            .order_by(counts.c.month, counts.c.metric)
        )

    async def time_bank(self, volunteer_id: str) -> tuple[float, list[Row]]:
        ledger: TimeBankLedger = self._projection(TimeBankLedger)
        balances = await self._rows(
            select(ledger.balances).where(ledger.balances.c.volunteer_id == volunteer_id)
        )
        entries = await self._rows(
            select(ledger.entries)
            .where(ledger.entries.c.volunteer_id == volunteer_id)
            .order_by(ledger.entries.c.seq)
        )
        balance = balances[0]["centihours"] / 100 if balances else 0.0
        return balance, entries
