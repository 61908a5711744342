"""Small guaranteed loans (小额担保贷款): the commands, and one handler per step.

Who may take a step follows from the caller's agency: its kind and the level of its
jurisdiction (a community, a street, a county), as the registry published them. A loan outside
her jurisdiction does not exist for the caller (404); one she sees but whose step is another
office's is refused (403).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import ConfigDict, Field

from jinguo_contracts.employment import GuaranteeKind
from jinguo_employment.domain.course import Course
from jinguo_employment.domain.loan import Loan, Office, level_of
from jinguo_employment.handlers.commands import Command, derived_id, sees, unknown_seeker
from jinguo_employment.projections.loans import LoanQueries
from jinguo_employment.projections.queries import EmploymentQueries
from jinguo_shared.access import EVERYWHERE, Jurisdiction, within
from jinguo_shared.commands import CommandExecutor, CommandResult, IdempotencyKey
from jinguo_shared.envelope import CommandContext

Reason = Field(min_length=1, max_length=2000)


def _day(description: str) -> Any:
    return Field(
        default=None,
        description=f"the day {description}, in the programme's time zone: today when not"
        " given, never in the future, never before the loan's previous step",
    )


class ApplyForLoan(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "worker_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                    "amount": 50000,
                    "term_months": 24,
                    "purpose": "开办社区家政服务店：租赁门面、购置保洁设备",
                    "business_name": "巾帼家政服务店",
                    "trade": "家政服务",
                    "licence_no": "92110101MA01ABCD2X",
                    "jobs_created": 5,
                    "guarantee": "guarantor",
                    "guarantor": "李秀兰（公务员）",
                    "applied_on": "2026-03-02",
                }
            ]
        }
    )

    worker_id: str = Field(min_length=1, max_length=64)
    amount: int = Field(ge=1000, le=500_000, description="yuan (元)")
    term_months: int = Field(ge=1, le=60)
    purpose: str = Reason
    business_name: str = Field(min_length=1, max_length=200)
    trade: str = Field(min_length=1, max_length=60)
    licence_no: str | None = Field(default=None, min_length=1, max_length=40)
    jobs_created: int = Field(ge=1, le=10_000, description="jobs the business creates, hers too")
    guarantee: GuaranteeKind
    guarantor: str | None = Field(
        default=None, min_length=1, max_length=200, description="needed for a guarantor"
    )
    applied_on: date | None = _day("she applied")


class TakeStep(Command):
    """Certify (出证明), file (报材料) or pay out: the step and its day."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"occurred_on": "2026-03-09"}]})

    occurred_on: date | None = _day("the step was taken")


class GiveOpinion(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"favourable": True, "occurred_on": "2026-03-20"}],
        }
    )

    favourable: bool
    reason: str | None = Field(
        default=None, min_length=1, max_length=2000, description="needed when unfavourable"
    )
    occurred_on: date | None = _day("the opinion was given")


class RefuseLoan(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "经营项目不符合贷款扶持范围"}]}
    )

    reason: str = Reason
    occurred_on: date | None = _day("it was refused")


class ApproveLoan(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "amount": 50000,
                    "annual_rate_percent": 4.35,
                    "term_months": 24,
                    "occurred_on": "2026-04-01",
                }
            ]
        }
    )

    amount: int = Field(ge=1000, le=500_000, description="yuan (元) approved")
    annual_rate_percent: float = Field(ge=0, le=24)
    term_months: int = Field(ge=1, le=60)
    occurred_on: date | None = _day("the bank decided")


class RecordRepayment(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"amount": 2084, "paid_on": "2026-05-10"}]}
    )

    amount: int = Field(ge=1, le=500_000, description="yuan (元)")
    paid_on: date


class LoanHandlers:
    """`syb_required`: whether a loan needs a passed SYB course first (the setting
    `JINGUO_EMPLOYMENT_LOANS_REQUIRE_SYB`, on by default)."""

    def __init__(
        self,
        executor: CommandExecutor,
        queries: EmploymentQueries,
        loans: LoanQueries,
        today: Callable[[], date],
        *,
        syb_required: bool = True,
    ) -> None:
        self._executor = executor
        self._queries = queries
        self._loans = loans
        self._today = today
        self.syb_required = syb_required

    async def _office(self, ctx: CommandContext) -> Office:
        known = await self._loans.office_of(ctx.agency_id)
        if known is None:
            return Office("system" if ctx.jurisdiction is None else "unknown", "country")
        kind, area = known
        return Office(kind, level_of(Jurisdiction.of_area(area).prefix))

    async def _syb_course(self, worker_id: str, applied_on: date) -> str | None:
        """The first SYB course she passed by the day she applied."""
        for course_id in await self._loans.syb_courses_passed(worker_id):
            course = await self._executor.load_cached(Course, course_id)
            trainee = course.state.trainees.get(worker_id) if course.state else None
            if trainee and trainee.completed_on is not None and trainee.completed_on <= applied_on:
                return course_id
        return None

    async def apply(
        self, c: ApplyForLoan, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        seeker = await self._queries.seeker_profile(c.worker_id)
        if seeker is None or not sees(ctx, seeker["area_code"]):
            raise unknown_seeker(c.worker_id)
        today = self._today()
        applied_on = c.applied_on or today
        syb_course = await self._syb_course(c.worker_id, applied_on)
        return await self._executor.execute(
            Loan,
            derived_id("loan", ctx.command_id),
            lambda loan: loan.apply(
                worker_id=c.worker_id,
                area_code=seeker["area_code"],
                gender=seeker["gender"],
                amount=c.amount,
                term_months=c.term_months,
                purpose=c.purpose,
                business_name=c.business_name,
                trade=c.trade,
                licence_no=c.licence_no,
                jobs_created=c.jobs_created,
                guarantee=c.guarantee,
                guarantor=c.guarantor,
                syb_course_id=syb_course,
                syb_required=self.syb_required,
                on=applied_on,
                today=today,
            ),
            ctx,
            key,
        )

    async def _on_loan(
        self,
        loan_id: str,
        decide: Callable[[Loan, Office, date], None],
        ctx: CommandContext,
        key: IdempotencyKey | None,
    ) -> CommandResult:
        office = await self._office(ctx)
        today = self._today()

        def decided(loan: Loan) -> None:
            decide(loan, office, today)

        guarded = within(ctx.jurisdiction or EVERYWHERE, decided)
        return await self._executor.execute(Loan, loan_id, guarded, ctx, key)

    async def certify(
        self, loan_id: str, c: TakeStep, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        return await self._on_loan(
            loan_id,
            lambda loan, office, today: loan.certify(
                office=office, on=c.occurred_on or today, today=today
            ),
            ctx,
            key,
        )

    async def file(
        self, loan_id: str, c: TakeStep, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        return await self._on_loan(
            loan_id,
            lambda loan, office, today: loan.file(
                office=office, on=c.occurred_on or today, today=today
            ),
            ctx,
            key,
        )

    async def give_opinion(
        self, loan_id: str, c: GiveOpinion, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        return await self._on_loan(
            loan_id,
            lambda loan, office, today: loan.give_opinion(
                office=office,
                favourable=c.favourable,
                reason=c.reason,
                on=c.occurred_on or today,
                today=today,
            ),
            ctx,
            key,
        )

    async def refuse(
        self, loan_id: str, c: RefuseLoan, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        return await self._on_loan(
            loan_id,
            lambda loan, office, today: loan.refuse(
                office=office, reason=c.reason, on=c.occurred_on or today, today=today
            ),
            ctx,
            key,
        )

    async def approve(
        self, loan_id: str, c: ApproveLoan, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        return await self._on_loan(
            loan_id,
            lambda loan, office, today: loan.approve(
                office=office,
                amount=c.amount,
                annual_rate_percent=c.annual_rate_percent,
                term_months=c.term_months,
                on=c.occurred_on or today,
                today=today,
            ),
            ctx,
            key,
        )

    async def disburse(
        self, loan_id: str, c: TakeStep, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        return await self._on_loan(
            loan_id,
            lambda loan, office, today: loan.disburse(
                office=office, on=c.occurred_on or today, today=today
            ),
            ctx,
            key,
        )

    async def record_repayment(
        self,
        loan_id: str,
        c: RecordRepayment,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        return await self._on_loan(
            loan_id,
            lambda loan, office, today: loan.record_repayment(
                office=office, amount=c.amount, on=c.paid_on, today=today
            ),
            ctx,
            key,
        )
