"""Funds and their subsidies: each fund's budget, what is committed, paid and reconciled, by
the subsidy's area and kind; and each subsidy with the dates of its steps."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Date, Index, Integer, String, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_contracts.employment import (
    FundBudgetAdjustedV1,
    FundOpenedV1,
    SubsidyAppliedV1,
    SubsidyApprovedV1,
    SubsidyPaidV1,
    SubsidyReconciledV1,
    SubsidyRejectedV1,
)
from jinguo_employment.projections.board import PlacementRegister
from jinguo_employment.projections.queries import within
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.api_clients import ApiClients
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch
from jinguo_shared.projections.host import ProjectionHost

Row = dict[str, Any]
FIGURES = ("committed", "paid", "reconciled")


class FundLedger(Projection):
    name = "fund_ledger"
    subjects = ("employment.fund.>", "employment.subsidy.>")

    def define(self) -> None:
        self.funds = self.table(
            "funds",
            Column("fund_id", String(36), primary_key=True),
            Column("name", String(200), nullable=False),
            Column("source", String(12), nullable=False),
            Column("year", Integer, nullable=False),
            Column("area_code", String(12), nullable=False),
            Column("budget", BigInteger, nullable=False),
            Column("lines", JSON, nullable=False),
            Column("opened_on", Date, nullable=False),
            Column("seq", BigInteger, nullable=False),
        )
        Index(f"ix_funds_area_g{self.generation}", self.funds.c.area_code, self.funds.c.seq)
        self.figures = self.table(
            "fund_figures",
            Column("fund_id", String(36), primary_key=True),
            Column("area_code", String(12), primary_key=True),
            Column("kind", String(24), primary_key=True),
            Column("committed", BigInteger, nullable=False, default=0),
            Column("paid", BigInteger, nullable=False, default=0),
            Column("reconciled", BigInteger, nullable=False, default=0),
            Column("approved_count", Integer, nullable=False, default=0),
            Column("paid_count", Integer, nullable=False, default=0),
        )
        """Yuan per fund, subsidy area and kind: a statement adds them up."""
        self.subsidies = self.table(
            "subsidies",
            Column("subsidy_id", String(36), primary_key=True),
            Column("kind", String(24), nullable=False),
            Column("worker_id", String(36), nullable=False, index=True),
            Column("month", String(7), nullable=False),
            Column("amount", Integer, nullable=False),
            Column("area_code", String(12), nullable=False),
            Column("fund_id", String(36), nullable=False, index=True),
            Column("payee", String(12), nullable=False),
            Column("payee_id", String(200)),
            Column("placement_id", String(36)),
            Column("course_id", String(36)),
            Column("status", String(12), nullable=False),
            Column("applied_on", Date, nullable=False),
            Column("approved_on", Date),
            Column("rejected_on", Date),
            Column("rejection_reason", String(2000)),
            Column("paid_on", Date),
            Column("payment_reference", String(200)),
            Column("reconciled_on", Date),
            Column("statement_reference", String(200)),
            Column("seq", BigInteger, nullable=False),
        )
        Index(
            f"ix_subsidies_area_g{self.generation}",
            self.subsidies.c.area_code,
            self.subsidies.c.seq,
        )

    @handles(FundOpenedV1)
    def _opened(self, e: FundOpenedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.funds,
            {
                "fund_id": e.fund_id,
                "name": e.name,
                "source": e.source,
                "year": e.year,
                "area_code": e.area_code,
                "budget": e.budget,
                "lines": [line.model_dump() for line in e.lines],
                "opened_on": e.occurred_on,
                "seq": at.seq,
            },
        )

    @handles(FundBudgetAdjustedV1)
    def _adjusted(self, e: FundBudgetAdjustedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.funds,
            {"fund_id": e.fund_id},
            {"budget": e.budget, "lines": [line.model_dump() for line in e.lines]},
        )

    @handles(SubsidyAppliedV1)
    def _applied(self, e: SubsidyAppliedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.subsidies,
            {
                "subsidy_id": e.subsidy_id,
                "kind": e.kind,
                "worker_id": e.worker_id,
                "month": e.month,
                "amount": e.amount,
                "area_code": e.area_code,
                "fund_id": e.fund_id,
                "payee": e.payee,
                "payee_id": e.payee_id,
                "placement_id": e.placement_id,
                "course_id": e.course_id,
                "status": "applied",
                "applied_on": e.applied_on,
                "approved_on": None,
                "rejected_on": None,
                "rejection_reason": None,
                "paid_on": None,
                "payment_reference": None,
                "reconciled_on": None,
                "statement_reference": None,
                "seq": at.seq,
            },
        )

    def _add(self, b: ProjectionBatch, fund_id: str, area: str, kind: str, **deltas: int) -> None:
        b.increment(self.figures, {"fund_id": fund_id, "area_code": area, "kind": kind}, deltas)

    @handles(SubsidyApprovedV1)
    def _approved(self, e: SubsidyApprovedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.subsidies,
            {"subsidy_id": e.subsidy_id},
            {"status": "approved", "approved_on": e.approved_on},
        )
        self._add(b, e.fund_id, e.area_code, e.kind, committed=e.amount, approved_count=1)

    @handles(SubsidyRejectedV1)
    def _rejected(self, e: SubsidyRejectedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.subsidies,
            {"subsidy_id": e.subsidy_id},
            {"status": "rejected", "rejected_on": e.rejected_on, "rejection_reason": e.reason},
        )

    @handles(SubsidyPaidV1)
    def _paid(self, e: SubsidyPaidV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.subsidies,
            {"subsidy_id": e.subsidy_id},
            {"status": "paid", "paid_on": e.paid_on, "payment_reference": e.payment_reference},
        )
        self._add(b, e.fund_id, e.area_code, e.kind, paid=e.amount, paid_count=1)

    @handles(SubsidyReconciledV1)
    def _reconciled(self, e: SubsidyReconciledV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.subsidies,
            {"subsidy_id": e.subsidy_id},
            {
                "status": "reconciled",
                "reconciled_on": e.reconciled_on,
                "statement_reference": e.statement_reference,
            },
        )
        self._add(b, e.fund_id, e.area_code, e.kind, reconciled=e.amount)


class FundQueries:
    """Reads over the fund ledger, and the facts a subsidy's eligibility rests on."""

    def __init__(self, engine: AsyncEngine, host: ProjectionHost) -> None:
        self._engine = engine
        self._host = host

    def _ledger(self) -> FundLedger:
        projection = self._host.active(FundLedger.name)
        assert isinstance(projection, FundLedger)
        return projection

    async def _rows(self, query: Any) -> list[Row]:
        async with self._engine.connect() as connection:
            return [dict(row._mapping) for row in await connection.execute(query)]

    async def fund(self, fund_id: str) -> Row | None:
        funds = self._ledger().funds
        rows = await self._rows(select(funds).where(funds.c.fund_id == fund_id))
        return rows[0] if rows else None

    async def funds(
        self, *, area: str | None, year: int | None, after_seq: int | None, limit: int
    ) -> list[Row]:
        funds = self._ledger().funds
        query = select(funds).where(within(funds.c.area_code, area)).order_by(funds.c.seq)
        if year is not None:
            query = query.where(funds.c.year == year)
        if after_seq is not None:
            query = query.where(funds.c.seq > after_seq)
        return await self._rows(query.limit(limit))

    async def statement(self, fund_id: str) -> Row | None:
        """Budget, committed, paid, reconciled and balance, in all and by area and kind."""
        fund = await self.fund(fund_id)
        if fund is None:
            return None
        figures = self._ledger().figures
        rows = await self._rows(
            select(figures)
            .where(figures.c.fund_id == fund_id)
            .order_by(figures.c.area_code, figures.c.kind)
        )
        totals = {name: sum(int(row[name]) for row in rows) for name in FIGURES}
        by_kind: dict[str, dict[str, int]] = {}
        for row in rows:
            kind = by_kind.setdefault(row["kind"], dict.fromkeys(FIGURES, 0))
            for name in FIGURES:
                kind[name] += int(row[name])
        lines = {line["kind"]: line["amount"] for line in fund["lines"]}
        return {
            **fund,
            **totals,
            "balance": int(fund["budget"]) - totals["committed"],
            "kinds": [
                {
                    "kind": kind,
                    "budget": lines.get(kind),
                    **figures_of_kind,
                    "balance": None
                    if lines.get(kind) is None
                    else lines[kind] - figures_of_kind["committed"],
                }
                for kind, figures_of_kind in sorted(by_kind.items())
            ],
            "areas": rows,
        }

    async def subsidy(self, subsidy_id: str) -> Row | None:
        subsidies = self._ledger().subsidies
        rows = await self._rows(select(subsidies).where(subsidies.c.subsidy_id == subsidy_id))
        return rows[0] if rows else None

    async def subsidies(
        self,
        *,
        area: str | None,
        kind: str | None,
        status: str | None,
        fund_id: str | None,
        worker_id: str | None,
        after_seq: int | None,
        limit: int,
    ) -> list[Row]:
        subsidies = self._ledger().subsidies
        query = select(subsidies).where(within(subsidies.c.area_code, area))
        for column, value in (
            (subsidies.c.kind, kind),
            (subsidies.c.status, status),
            (subsidies.c.fund_id, fund_id),
            (subsidies.c.worker_id, worker_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if after_seq is not None:
            query = query.where(subsidies.c.seq > after_seq)
        return await self._rows(query.order_by(subsidies.c.seq).limit(limit))

    async def agency_name(self, agency_id: str | None) -> str | None:
        if agency_id is None:
            return None
        clients = self._host.active(ApiClients.name)
        assert isinstance(clients, ApiClients)
        rows = await self._rows(
            select(clients.agencies.c.name).where(clients.agencies.c.agency_id == agency_id)
        )
        return str(rows[0]["name"]) if rows else None

    async def in_public_welfare_post_or_flexible_work(
        self, worker_id: str, first: date, last: date
    ) -> bool:
        """Whether she held a public-welfare post, or did flexible work, in those days."""
        register = self._host.active(PlacementRegister.name)
        assert isinstance(register, PlacementRegister)
        placements, flexible = register.placements, register.flexible
        posts = await self._rows(
            select(placements.c.placement_id)
            .where(
                placements.c.worker_id == worker_id,
                placements.c.kind == "public_welfare",
                placements.c.start_date <= last,
                or_(placements.c.ended_on.is_(None), placements.c.ended_on >= first),
            )
            .limit(1)
        )
        if posts:
            return True
        work = await self._rows(
            select(flexible.c.order_id)
            .where(
                and_(
                    flexible.c.worker_id == worker_id,
                    flexible.c.completed_on >= first,
                    flexible.c.completed_on <= last,
                )
            )
            .limit(1)
        )
        return bool(work)
