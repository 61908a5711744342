"""Small guaranteed loans (小额担保贷款) under /employment/loans: her application, the community
women's congress's certificate, the township federation's filing, the county federation's
opinion, the bank's decision, the money paid out and repaid, and the overdue ones listed."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import Field

from jinguo_contracts.employment import GuaranteeKind, Instalment, LoanStep
from jinguo_employment.domain.loan import LoanStage
from jinguo_employment.entrypoints.dependencies import Area, Id, Reader, WriteCommand
from jinguo_employment.handlers import loans as c
from jinguo_employment.handlers.loans import LoanHandlers
from jinguo_employment.projections.loans import LoanQueries, LoanStatus
from jinguo_shared.http.commands import Accepted
from jinguo_shared.http.conventions import (
    Cursor,
    Limit,
    Page,
    ReadAfter,
    ReadModel,
    page,
    seq_after,
)
from jinguo_shared.runtime import ServiceRuntime

LOANS = "loans"


class Loan(ReadModel):
    """A loan as the loan book holds it; `worker_id`, `guarantor` and `refusal_reason` are null
    once the registry erased her."""

    loan_id: str
    worker_id: str | None
    area_code: str = Field(description="her community")
    stage: LoanStage
    amount: int = Field(description="yuan (元) asked for")
    term_months: int
    purpose: str
    business_name: str
    trade: str
    licence_no: str | None
    jobs_created: int
    guarantee: GuaranteeKind
    guarantor: str | None
    syb_course_id: str | None = Field(description="the SYB course she passed (创业培训)")
    applied_on: date
    certified_on: date | None
    filed_on: date | None
    opinion_favourable: bool | None
    opinion_on: date | None
    decided_on: date | None
    approved_amount: int | None
    annual_rate_percent: float | None
    approved_term_months: int | None
    refused_step: LoanStep | None
    refusal_reason: str | None
    refused_on: date | None
    disbursed_on: date | None
    disbursed_amount: int | None
    schedule: list[Instalment] | None = Field(description="instalments of principal, monthly")
    repaid: int
    outstanding: int
    last_paid_on: date | None
    next_due_on: date | None = Field(
        description="the first instalment not yet covered: overdue once this day has passed"
    )
    seq: int


def loans_router(
    runtime: ServiceRuntime, handlers: LoanHandlers, queries: LoanQueries
) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/loans",
        status_code=201,
        summary="Apply for a small guaranteed loan (小额担保贷款); an SYB course passed first",
    )
    async def apply_for_loan(
        body: c.ApplyForLoan, command: WriteCommand, after: ReadAfter
    ) -> Accepted:
        await runtime.visible(after, "seeker_pool")
        result = await handlers.apply(body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/loans/{loan_id}/certify",
        summary="Certify her (村居妇代会出证明): the community women's congress",
    )
    async def certify_loan(loan_id: Id, body: c.TakeStep, command: WriteCommand) -> Accepted:
        return command.accept(await handlers.certify(loan_id, body, command.context, command.key))

    @router.post(
        "/loans/{loan_id}/file",
        summary="File her papers (乡镇妇联报材料): the township or street federation",
    )
    async def file_loan(loan_id: Id, body: c.TakeStep, command: WriteCommand) -> Accepted:
        return command.accept(await handlers.file(loan_id, body, command.context, command.key))

    @router.post(
        "/loans/{loan_id}/opinion",
        summary="The county federation's opinion (县级妇联拿意见); unfavourable ends the loan",
    )
    async def give_loan_opinion(
        loan_id: Id, body: c.GiveOpinion, command: WriteCommand
    ) -> Accepted:
        result = await handlers.give_opinion(loan_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/loans/{loan_id}/refuse",
        summary="Refuse it at the step it waits for, by the office of that step; it ends there",
    )
    async def refuse_loan(loan_id: Id, body: c.RefuseLoan, command: WriteCommand) -> Accepted:
        return command.accept(await handlers.refuse(loan_id, body, command.context, command.key))

    @router.post("/loans/{loan_id}/approve", summary="The bank approves: amount, rate, term")
    async def approve_loan(loan_id: Id, body: c.ApproveLoan, command: WriteCommand) -> Accepted:
        return command.accept(await handlers.approve(loan_id, body, command.context, command.key))

    @router.post(
        "/loans/{loan_id}/disburse",
        summary="The bank pays it out; the repayment schedule follows from the term",
    )
    async def disburse_loan(loan_id: Id, body: c.TakeStep, command: WriteCommand) -> Accepted:
        return command.accept(await handlers.disburse(loan_id, body, command.context, command.key))

    @router.post(
        "/loans/{loan_id}/repayments", status_code=201, summary="Record a repayment (the bank)"
    )
    async def record_loan_repayment(
        loan_id: Id, body: c.RecordRepayment, command: WriteCommand
    ) -> Accepted:
        result = await handlers.record_repayment(loan_id, body, command.context, command.key)
        return command.accept(result)

    @router.get(
        "/loans",
        summary="Loans by area and stage; `overdue`: an instalment unpaid past its due day",
    )
    async def list_loans(
        caller: Reader,
        after: ReadAfter,
        area: Area = None,
        status: Annotated[LoanStatus | None, Query()] = None,
        on: Annotated[
            date | None, Query(description="overdue as of this day: today when not given")
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[Loan]:
        await runtime.visible(after, LOANS)
        rows = await queries.loans(
            area=caller.area(area),
            status=status,
            today=on or runtime.clock.today(),
            after_seq=seq_after(cursor),
            limit=limit,
        )
        return page(Page[Loan], rows, limit, lambda r: [r["seq"]])

    @router.get("/loans/{loan_id}", summary="A loan, its steps and its repayment schedule")
    async def loan(loan_id: Id, caller: Reader, after: ReadAfter) -> Loan:
        await runtime.visible(after, LOANS)
        found = await queries.loan(loan_id)
        if found is None or not caller.sees(found["area_code"]):
            raise HTTPException(404, f"no loan {loan_id}")
        return Loan.model_validate(found)

    return router
