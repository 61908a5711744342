"""Funds and subsidies under /employment: open a fund and adjust its budget, apply for a
subsidy and take it through approval, payment and reconciliation; a fund's statement."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import Field

from jinguo_contracts.employment import BudgetLine, FundSource, Payee, SubsidyKind
from jinguo_employment.entrypoints.dependencies import Area, Id, Reader, WriteCommand
from jinguo_employment.handlers import funds as f
from jinguo_employment.handlers.funds import FundHandlers
from jinguo_employment.projections.funds import FundLedger, FundQueries
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

SubsidyStatus = Literal["applied", "approved", "rejected", "paid", "reconciled"]
LEDGER = FundLedger.name


class Fund(ReadModel):
    fund_id: str
    name: str
    source: FundSource
    year: int
    area_code: str = Field(description="it pays subsidies in this area and below")
    budget: int = Field(description="yuan (元)")
    lines: list[BudgetLine] = Field(description="per-kind budgets, if split")
    opened_on: date
    seq: int


class StatementRow(ReadModel):
    fund_id: str
    area_code: str = Field(description="the subsidies' area (their post's or her community)")
    kind: SubsidyKind
    committed: int = Field(description="yuan approved, set aside from the fund")
    paid: int = Field(description="yuan whose payment was confirmed")
    reconciled: int = Field(description="yuan matched against the bank or treasury statement")
    approved_count: int
    paid_count: int


class KindFigures(ReadModel):
    kind: SubsidyKind
    budget: int | None = Field(description="the kind's budget line; null: capped by the budget")
    committed: int
    paid: int
    reconciled: int
    balance: int | None = Field(description="line minus committed; null without a line")


class Statement(Fund):
    committed: int = Field(description="yuan")
    paid: int
    reconciled: int
    balance: int = Field(description="budget minus committed: what may still be approved")
    kinds: list[KindFigures]
    areas: list[StatementRow] = Field(description="by the subsidies' area and kind")


class Subsidy(ReadModel):
    subsidy_id: str
    kind: SubsidyKind
    worker_id: str
    month: str
    amount: int = Field(description="yuan (元)")
    area_code: str
    fund_id: str
    payee: Payee
    payee_id: str | None = Field(description="the employer (post subsidies) or school paid")
    placement_id: str | None
    course_id: str | None
    status: SubsidyStatus
    applied_on: date
    approved_on: date | None
    rejected_on: date | None
    rejection_reason: str | None
    paid_on: date | None
    payment_reference: str | None
    reconciled_on: date | None
    statement_reference: str | None
    seq: int


def add_fund_routes(
    router: APIRouter, runtime: ServiceRuntime, handlers: FundHandlers, queries: FundQueries
) -> None:
    """On the service's own router, so they are documented and admitted as its others are."""

    @router.post("/funds", status_code=201, summary="Open a fund (专项资金…) with its budget")
    async def open_fund(body: f.OpenFund, command: WriteCommand) -> Accepted:
        return command.accept(await handlers.open_fund(body, command.context, command.key))

    @router.post(
        "/funds/{fund_id}/budget",
        summary="Adjust a fund's budget (追加, 调减): never below what is committed",
    )
    async def adjust_fund_budget(
        fund_id: Id, body: f.AdjustFundBudget, command: WriteCommand
    ) -> Accepted:
        result = await handlers.adjust_budget(fund_id, body, command.context, command.key)
        return command.accept(result)

    @router.get("/funds", summary="Funds by area and year")
    async def list_funds(
        caller: Reader,
        after: ReadAfter,
        area: Area = None,
        year: Annotated[int | None, Query(ge=2000, le=2999)] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[Fund]:
        await runtime.visible(after, LEDGER)
        rows = await queries.funds(
            area=caller.area(area), year=year, after_seq=seq_after(cursor), limit=limit
        )
        return page(Page[Fund], rows, limit, lambda r: [r["seq"]])

    @router.get(
        "/funds/{fund_id}/statement",
        summary="A fund's statement: budget, committed, paid, balance, by area and kind",
    )
    async def fund_statement(fund_id: Id, caller: Reader, after: ReadAfter) -> Statement:
        await runtime.visible(after, LEDGER)
        found = await queries.statement(fund_id)
        if found is None or not caller.sees(found["area_code"]):
            raise HTTPException(404, f"no fund {fund_id}")
        return Statement.model_validate(found)

    @router.post(
        "/subsidies",
        status_code=201,
        summary="Apply for a subsidy (岗位, 社保, 就业援助 or 培训补贴) for one person and month",
    )
    async def apply_for_subsidy(
        body: f.ApplyForSubsidy, command: WriteCommand, after: ReadAfter
    ) -> Accepted:
        await runtime.visible(after, "seeker_pool", "placements")
        return command.accept(await handlers.apply(body, command.context, command.key))

    @router.post(
        "/subsidies/{subsidy_id}/approve",
        summary="Approve a subsidy: its amount is committed against its fund (409 when spent)",
    )
    async def approve_subsidy(
        subsidy_id: Id, body: f.ApproveSubsidy, command: WriteCommand
    ) -> Accepted:
        result = await handlers.approve(subsidy_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/subsidies/{subsidy_id}/reject", summary="Reject a subsidy, with the reason")
    async def reject_subsidy(
        subsidy_id: Id, body: f.RejectSubsidy, command: WriteCommand
    ) -> Accepted:
        result = await handlers.reject(subsidy_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/subsidies/{subsidy_id}/payment", summary="Confirm a subsidy's payment")
    async def pay_subsidy(subsidy_id: Id, body: f.PaySubsidy, command: WriteCommand) -> Accepted:
        result = await handlers.pay(subsidy_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/subsidies/{subsidy_id}/reconciliation",
        summary="Reconcile a paid subsidy against the statement (对账)",
    )
    async def reconcile_subsidy(
        subsidy_id: Id, body: f.ReconcileSubsidy, command: WriteCommand
    ) -> Accepted:
        result = await handlers.reconcile(subsidy_id, body, command.context, command.key)
        return command.accept(result)

    @router.get("/subsidies", summary="Subsidies by area, kind, status, fund and worker")
    async def list_subsidies(
        caller: Reader,
        after: ReadAfter,
        area: Area = None,
        kind: Annotated[SubsidyKind | None, Query()] = None,
        status: Annotated[SubsidyStatus | None, Query()] = None,
        fund_id: Annotated[str | None, Query(max_length=64)] = None,
        worker_id: Annotated[str | None, Query(max_length=64)] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[Subsidy]:
        await runtime.visible(after, LEDGER)
        rows = await queries.subsidies(
            area=caller.area(area),
            kind=kind,
            status=status,
            fund_id=fund_id,
            worker_id=worker_id,
            after_seq=seq_after(cursor),
            limit=limit,
        )
        return page(Page[Subsidy], rows, limit, lambda r: [r["seq"]])

    @router.get("/subsidies/{subsidy_id}", summary="A subsidy and the dates of its steps")
    async def read_subsidy(subsidy_id: Id, caller: Reader, after: ReadAfter) -> Subsidy:
        await runtime.visible(after, LEDGER)
        found = await queries.subsidy(subsidy_id)
        if found is None or not caller.sees(found["area_code"]):
            raise HTTPException(404, f"no subsidy {subsidy_id}")
        return Subsidy.model_validate(found)
