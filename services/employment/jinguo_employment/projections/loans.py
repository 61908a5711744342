"""The loan book: each small guaranteed loan at its stage, with what is repaid and when the next
instalment falls due, so overdue loans are one indexed range; and the reads over it."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, Float, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_contracts.employment import (
    LoanAppliedV1,
    LoanApprovedV1,
    LoanCertifiedV1,
    LoanDisbursedV1,
    LoanFiledV1,
    LoanOpinionGivenV1,
    LoanRefusedV1,
    LoanRepaymentRecordedV1,
)
from jinguo_employment.projections.board import CourseRegister
from jinguo_employment.projections.pool import SeekerPool
from jinguo_employment.projections.queries import within
from jinguo_shared.crypto import PiiVault
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.eventstore import SERVICE_STREAMS
from jinguo_shared.projections.api_clients import ApiClients
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch
from jinguo_shared.projections.host import ProjectionHost

Row = dict[str, Any]
LoanStatus = Literal[
    "applied",
    "certified",
    "filed",
    "endorsed",
    "approved",
    "disbursed",
    "repaid",
    "refused",
    "overdue",
]
LOAN_PERSONAL = ("guarantor", "refusal_reason")
"""Sealed with the borrower's key: unread once she is erased."""


class LoanBook(Projection):
    name = "loans"
    subjects = ("employment.loan.>",)

    def define(self) -> None:
        self.loans = self.table(
            "loans",
            Column("loan_id", String(36), primary_key=True),
            Column("worker_id", String(36), nullable=False, index=True),
            Column("area_code", String(12), nullable=False),
            Column("stage", String(10), nullable=False),
            Column("amount", Integer, nullable=False),
            Column("term_months", Integer, nullable=False),
            Column("purpose", String(2000), nullable=False),
            Column("business_name", String(200), nullable=False),
            Column("trade", String(60), nullable=False),
            Column("licence_no", String(40)),
            Column("jobs_created", Integer, nullable=False),
            Column("guarantee", String(20), nullable=False),
            Column("guarantor", String(2000)),
            Column("syb_course_id", String(36)),
            Column("applied_on", Date, nullable=False),
            Column("certified_on", Date),
            Column("filed_on", Date),
            Column("opinion_favourable", Boolean),
            Column("opinion_on", Date),
            Column("decided_on", Date),
            Column("approved_amount", Integer),
            Column("annual_rate_percent", Float),
            Column("approved_term_months", Integer),
            Column("refused_step", String(16)),
            Column("refusal_reason", String(4000)),
            Column("refused_on", Date),
            Column("disbursed_on", Date),
            Column("disbursed_amount", Integer),
            Column("schedule", JSON),
            Column("repaid", Integer, nullable=False),
            Column("outstanding", Integer, nullable=False),
            Column("last_paid_on", Date),
            Column("next_due_on", Date, index=True),
            Column("seq", BigInteger, nullable=False, index=True),
        )

    @handles(LoanAppliedV1)
    def _applied(self, e: LoanAppliedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.loans,
            {
                "loan_id": e.loan_id,
                "worker_id": e.worker_id,
                "area_code": e.area_code,
                "stage": "applied",
                "amount": e.amount,
                "term_months": e.term_months,
                "purpose": e.purpose,
                "business_name": e.business_name,
                "trade": e.trade,
                "licence_no": e.licence_no,
                "jobs_created": e.jobs_created,
                "guarantee": e.guarantee,
                "guarantor": e.guarantor,
                "syb_course_id": e.syb_course_id,
                "applied_on": e.applied_on,
                "certified_on": None,
                "filed_on": None,
                "opinion_favourable": None,
                "opinion_on": None,
                "decided_on": None,
                "approved_amount": None,
                "annual_rate_percent": None,
                "approved_term_months": None,
                "refused_step": None,
                "refusal_reason": None,
                "refused_on": None,
                "disbursed_on": None,
                "disbursed_amount": None,
                "schedule": None,
                "repaid": 0,
                "outstanding": 0,
                "last_paid_on": None,
                "next_due_on": None,
                "seq": at.seq,
            },
        )

    def _set(self, b: ProjectionBatch, loan_id: str, **values: Any) -> None:
        b.update(self.loans, {"loan_id": loan_id}, values)

    @handles(LoanCertifiedV1)
    def _certified(self, e: LoanCertifiedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._set(b, e.loan_id, stage="certified", certified_on=e.certified_on)

    @handles(LoanFiledV1)
    def _filed(self, e: LoanFiledV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._set(b, e.loan_id, stage="filed", filed_on=e.filed_on)

    @handles(LoanOpinionGivenV1)
    def _opinion(self, e: LoanOpinionGivenV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        if e.favourable:
            self._set(
                b, e.loan_id, stage="endorsed", opinion_favourable=True, opinion_on=e.given_on
            )
        else:
            self._set(
                b,
                e.loan_id,
                stage="refused",
                opinion_favourable=False,
                opinion_on=e.given_on,
                refused_step="opinion",
                refusal_reason=e.reason,
                refused_on=e.given_on,
            )

    @handles(LoanApprovedV1)
    def _approved(self, e: LoanApprovedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._set(
            b,
            e.loan_id,
            stage="approved",
            decided_on=e.decided_on,
            approved_amount=e.amount,
            annual_rate_percent=e.annual_rate_percent,
            approved_term_months=e.term_months,
        )

    @handles(LoanRefusedV1)
    def _refused(self, e: LoanRefusedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._set(
            b,
            e.loan_id,
            stage="refused",
            refused_step=e.step,
            refusal_reason=e.reason,
            refused_on=e.refused_on,
            decided_on=e.refused_on if e.step == "decision" else None,
        )

    @handles(LoanDisbursedV1)
    def _disbursed(self, e: LoanDisbursedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._set(
            b,
            e.loan_id,
            stage="disbursed",
            disbursed_on=e.disbursed_on,
            disbursed_amount=e.amount,
            schedule=[i.model_dump(mode="json") for i in e.schedule],
            outstanding=e.amount,
            next_due_on=e.schedule[0].due_on if e.schedule else None,
        )

    @handles(LoanRepaymentRecordedV1)
    def _repaid(self, e: LoanRepaymentRecordedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._set(
            b,
            e.loan_id,
            stage="repaid" if e.outstanding == 0 else "disbursed",
            repaid=e.repaid,
            outstanding=e.outstanding,
            last_paid_on=e.paid_on,
            next_due_on=e.next_due_on,
        )


class LoanQueries:
    def __init__(self, engine: AsyncEngine, host: ProjectionHost, vault: PiiVault) -> None:
        self._engine = engine
        self._host = host
        self._vault = vault

    def _projection(self, klass: type[Any]) -> Any:
        projection = self._host.active(klass.name)
        assert isinstance(projection, klass)
        return projection

    async def _rows(self, query: Any) -> list[Row]:
        async with self._engine.connect() as connection:
            return [dict(row._mapping) for row in await connection.execute(query)]

    async def office_of(self, agency_id: str | None) -> tuple[str, str] | None:
        """The kind and area of the caller's agency, as the registry published it."""
        if agency_id is None:
            return None
        agencies = self._projection(ApiClients).agencies
        rows = await self._rows(
            select(agencies.c.kind, agencies.c.area_code).where(agencies.c.agency_id == agency_id)
        )
        return (rows[0]["kind"], rows[0]["area_code"]) if rows else None

    async def syb_courses_passed(self, worker_id: str) -> list[str]:
        """The SYB courses she passed, once the course register has applied all the log holds."""
        await self._host.wait_for_head(
            SERVICE_STREAMS["employment"].name, [CourseRegister.name], 10.0
        )
        register: CourseRegister = self._projection(CourseRegister)
        courses, trainees = register.courses, register.trainees
        rows = await self._rows(
            select(trainees.c.course_id)
            .join(courses, courses.c.course_id == trainees.c.course_id)
            .where(
                trainees.c.worker_id == worker_id,
                trainees.c.status == "passed",
                courses.c.kind == "syb",
            )
            .order_by(courses.c.ends_on)
        )
        return [row["course_id"] for row in rows]

    async def _present(self, rows: list[Row]) -> list[Row]:
        """Loans as served: personal fields unsealed with the borrower's key, and an erased
        borrower named nowhere (the loan's facts stay: the figures count them)."""
        ids = {row["worker_id"] for row in rows}
        if not ids:
            return rows
        erased = self._projection(SeekerPool).erased
        gone = {
            row["worker_id"]
            for row in await self._rows(
                select(erased.c.worker_id).where(erased.c.worker_id.in_(ids))
            )
        }
        await self._vault.prepare(ids - gone, create=False, fresh=True)
        for row in rows:
            if row["worker_id"] in gone:
                row.update(dict.fromkeys(("worker_id", *LOAN_PERSONAL)))
                continue
            for name in LOAN_PERSONAL:
                row[name] = self._vault.unseal(row["worker_id"], row[name])
        return rows

    async def loan(self, loan_id: str) -> Row | None:
        table = self._projection(LoanBook).loans
        rows = await self._present(
            await self._rows(select(table).where(table.c.loan_id == loan_id))
        )
        return rows[0] if rows else None

    async def loans(
        self,
        *,
        area: str | None,
        status: LoanStatus | None,
        today: date,
        after_seq: int | None,
        limit: int,
    ) -> list[Row]:
        """`overdue`: paid out, and an instalment unpaid past its due day."""
        table = self._projection(LoanBook).loans
        query = (
            select(table).where(within(table.c.area_code, area)).order_by(table.c.seq).limit(limit)
        )
        if status == "overdue":
            query = query.where(table.c.stage == "disbursed", table.c.next_due_on < today)
        elif status is not None:
            query = query.where(table.c.stage == status)
        if after_seq is not None:
            query = query.where(table.c.seq > after_seq)
        return await self._present(await self._rows(query))
