"""Funds and subsidies: open a fund, adjust its budget; apply for a subsidy (its person, kind
and month claimed once), approve it against a fund, reject, pay and reconcile it."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import Field, model_validator

from jinguo_contracts.areas import AreaCode
from jinguo_contracts.employment import (
    MONTH_PATTERN,
    BudgetLine,
    FundSource,
    Payee,
    SubsidyKind,
)
from jinguo_employment.domain.course import Course
from jinguo_employment.domain.fund import Fund
from jinguo_employment.domain.subsidy import (
    AlreadyClaimedError,
    Subsidy,
    SubsidyClaim,
    apply_for_subsidy,
    approve_subsidy,
    claim_id,
    first_day,
    reject_subsidy,
)
from jinguo_employment.handlers.commands import (
    Command,
    Name,
    OccurredOn,
    Text,
    derived_id,
    sees,
    step,
)
from jinguo_employment.projections.funds import FundQueries
from jinguo_employment.projections.queries import EmploymentQueries
from jinguo_shared.access import Jurisdiction
from jinguo_shared.commands import CommandExecutor, CommandResult, IdempotencyKey
from jinguo_shared.domain import (
    InvalidCommandError,
    NotFoundError,
    RuleViolationError,
    check_past_date,
)
from jinguo_shared.envelope import CommandContext

Yuan = Field(ge=0, le=10_000_000_000, description="yuan (元), whole")
Reference = Field(min_length=1, max_length=200)


class BudgetLineInput(Command):
    kind: SubsidyKind
    amount: int = Yuan


class OpenFund(Command):
    model_config = Command.model_config | {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "2026年东城区就业专项资金",
                    "source": "county",
                    "year": 2026,
                    "area_code": "110101",
                    "budget": 2_400_000,
                    "lines": [{"kind": "post", "amount": 240_000}],
                }
            ]
        }
    }

    name: str = Name
    source: FundSource
    year: int = Field(ge=2000, le=2999)
    area_code: AreaCode
    budget: int = Yuan
    lines: list[BudgetLineInput] = Field(default_factory=list, max_length=4)
    occurred_on: date | None = OccurredOn


class AdjustFundBudget(Command):
    model_config = Command.model_config | {
        "json_schema_extra": {
            "examples": [{"budget": 2_600_000, "lines": [], "reason": "区财政追加预算"}]
        }
    }

    budget: int = Yuan
    lines: list[BudgetLineInput] = Field(default_factory=list, max_length=4)
    reason: str = Text
    occurred_on: date | None = OccurredOn


class ApplyForSubsidy(Command):
    """What each kind needs: `post` a placement in a public-welfare post (paid to its
    employer); `social_insurance` and `employment_assistance` the worker; `training` the
    worker and the course she passed (the amount is the course's, the month her completion's)."""

    model_config = Command.model_config | {
        "json_schema_extra": {
            "examples": [
                {
                    "kind": "post",
                    "fund_id": "3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b",
                    "month": "2026-05",
                    "amount": 600,
                    "placement_id": "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d",
                    "applied_on": "2026-06-03",
                }
            ]
        }
    }

    kind: SubsidyKind
    fund_id: str = Field(min_length=1, max_length=64)
    month: str | None = Field(
        default=None, pattern=MONTH_PATTERN, description="YYYY-MM; not for training"
    )
    amount: int | None = Field(
        default=None, ge=1, le=100_000, description="yuan (元); not for training"
    )
    worker_id: str | None = Field(default=None, min_length=1, max_length=64)
    placement_id: str | None = Field(default=None, min_length=1, max_length=64)
    course_id: str | None = Field(default=None, min_length=1, max_length=64)
    payee: Payee | None = Field(
        default=None,
        description="training only: `person` (she is paid) or `school` (the course's provider)",
    )
    applied_on: date | None = Field(
        default=None, description="the day it was applied for: today when not given"
    )

    @model_validator(mode="after")
    def _fields_of_kind(self) -> ApplyForSubsidy:
        needs: dict[str, tuple[str, ...]] = {
            "post": ("placement_id", "month", "amount"),
            "social_insurance": ("worker_id", "month", "amount"),
            "employment_assistance": ("worker_id", "month", "amount"),
            "training": ("worker_id", "course_id"),
        }
        for name in needs[self.kind]:
            if getattr(self, name) is None:
                raise ValueError(f"a {self.kind} subsidy needs {name}")
        if self.kind == "training" and (self.month or self.amount):
            raise ValueError("a training subsidy takes its month and amount from the course")
        if self.kind != "training" and self.payee is not None:
            raise ValueError("only a training subsidy names its payee")
        return self


class ApproveSubsidy(Command):
    model_config = Command.model_config | {
        "json_schema_extra": {"examples": [{"approved_on": "2026-06-10"}]}
    }

    approved_on: date | None = Field(default=None, description="today when not given")


class RejectSubsidy(Command):
    model_config = Command.model_config | {
        "json_schema_extra": {"examples": [{"reason": "未提供社保缴费凭证"}]}
    }

    reason: str = Text
    rejected_on: date | None = Field(default=None, description="today when not given")


class PaySubsidy(Command):
    model_config = Command.model_config | {
        "json_schema_extra": {
            "examples": [
                {"payment_reference": "国库集中支付 2026-0612-0031", "paid_on": "2026-06-12"}
            ]
        }
    }

    payment_reference: str = Reference
    paid_on: date | None = Field(default=None, description="today when not given")


class ReconcileSubsidy(Command):
    model_config = Command.model_config | {
        "json_schema_extra": {
            "examples": [
                {"statement_reference": "2026年6月银行对账单", "reconciled_on": "2026-07-02"}
            ]
        }
    }

    statement_reference: str = Reference
    reconciled_on: date | None = Field(default=None, description="today when not given")


def last_day(month: str) -> date:
    first = first_day(month)
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


class NotEligibleError(RuleViolationError):
    code = "not-eligible"


class FundHandlers:
    def __init__(
        self,
        executor: CommandExecutor,
        queries: EmploymentQueries,
        funds: FundQueries,
        today: Callable[[], date],
    ) -> None:
        self._executor = executor
        self._queries = queries
        self._funds = funds
        self._today = today

    async def open_fund(
        self, c: OpenFund, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Fund,
            derived_id("fund", ctx.command_id),
            lambda f: f.open(
                name=c.name,
                source=c.source,
                year=c.year,
                area_code=c.area_code,
                budget=c.budget,
                lines=[BudgetLine(kind=line.kind, amount=line.amount) for line in c.lines],
                on=c.occurred_on or today,
                today=today,
            ),
            ctx,
            key,
        )

    async def adjust_budget(
        self,
        fund_id: str,
        c: AdjustFundBudget,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Fund,
            fund_id,
            lambda f: f.adjust_budget(
                budget=c.budget,
                lines=[BudgetLine(kind=line.kind, amount=line.amount) for line in c.lines],
                reason=c.reason,
                on=c.occurred_on or today,
                today=today,
            ),
            ctx,
            key,
        )

    async def _worker(self, worker_id: str, ctx: CommandContext) -> dict[str, Any]:
        seeker = await self._queries.seeker_profile(worker_id)
        if seeker is None or not sees(ctx, seeker["area_code"]):
            raise NotFoundError(f"no worker {worker_id} in the seeker pool", field="worker_id")
        return seeker

    async def _claim_of_kind(self, c: ApplyForSubsidy, ctx: CommandContext) -> dict[str, Any]:
        """Who and what the claim is about, checked against what the kind asks of her."""
        if c.kind == "post":
            assert c.placement_id is not None
            assert c.month is not None
            placement = await self._queries.placement(c.placement_id, settle=True)
            if placement is None or not sees(ctx, placement["area_code"]):
                raise NotFoundError(f"no placement {c.placement_id}", field="placement_id")
            if placement["worker_id"] is None:
                raise NotFoundError(f"the worker placed in {c.placement_id} was erased")
            if placement["kind"] != "public_welfare":
                raise NotEligibleError(
                    "a post subsidy is for public-welfare posts (公益性岗位) only",
                    field="placement_id",
                )
            ended = placement["ended_on"]
            if placement["start_date"] > last_day(c.month) or (
                ended is not None and ended < first_day(c.month)
            ):
                raise NotEligibleError(f"the placement was not held in {c.month}", field="month")
            return {
                "worker_id": placement["worker_id"],
                "area_code": placement["area_code"],
                "month": c.month,
                "amount": c.amount,
                "payee": "employer",
                "payee_id": placement["employer_id"],
                "period": c.month,
            }
        assert c.worker_id is not None
        seeker = await self._worker(c.worker_id, ctx)
        if c.kind == "training":
            return await self._training_claim(c, seeker, ctx)
        assert c.month is not None
        first, last = first_day(c.month), last_day(c.month)
        if c.kind == "social_insurance":
            if not await self._queries.priority_workers([c.worker_id], first):
                raise NotEligibleError(
                    "a social-insurance subsidy is for the hard to employ: she held no"
                    f" priority category in {c.month}",
                    field="worker_id",
                )
            if not await self._funds.in_public_welfare_post_or_flexible_work(
                c.worker_id, first, last
            ):
                raise NotEligibleError(
                    "a social-insurance subsidy is for work in a public-welfare post or"
                    f" flexible work: she had neither in {c.month}",
                    field="month",
                )
        else:
            threshold = 40 if seeker["gender"] == "female" else 50
            if age_on(seeker["birth_date"], first) < threshold:
                raise NotEligibleError(
                    "employment assistance (4050) is for women from 40 and men from 50:"
                    f" she was younger in {c.month}",
                    field="worker_id",
                )
        return {
            "worker_id": c.worker_id,
            "area_code": seeker["area_code"],
            "month": c.month,
            "amount": c.amount,
            "payee": "person",
            "payee_id": None,
            "period": c.month,
        }

    async def _training_claim(
        self, c: ApplyForSubsidy, seeker: dict[str, Any], ctx: CommandContext
    ) -> dict[str, Any]:
        """The course's own rule (passed, once, a subsidy it carries) decides, as it did when
        the course granted subsidies by itself; the fund model adds who is paid and from what."""
        assert c.course_id is not None
        assert c.worker_id is not None
        course = await self._executor.load_cached(Course, c.course_id)
        trainee = course.state.trainees.get(c.worker_id) if course.state else None
        if course.state is None or trainee is None or not sees(ctx, trainee.area_code):
            raise NotFoundError(
                f"worker {c.worker_id} is not enrolled in course {c.course_id}", field="course_id"
            )
        if trainee.status != "passed" or trainee.completed_on is None:
            raise NotEligibleError(
                f"the training subsidy is for trainees who passed; she is {trainee.status}",
                field="worker_id",
            )
        if trainee.subsidy_granted:
            raise NotEligibleError(
                "her training subsidy for this course was already granted", field="course_id"
            )
        if course.state.subsidy_per_trainee == 0:
            raise NotEligibleError(f"course {c.course_id} carries no subsidy", field="course_id")
        completed = trainee.completed_on
        return {
            "worker_id": c.worker_id,
            "area_code": trainee.area_code,
            "month": f"{completed.year:04d}-{completed.month:02d}",
            "amount": course.state.subsidy_per_trainee,
            "payee": c.payee or "person",
            "payee_id": course.state.provider if c.payee == "school" else None,
            "period": c.course_id,
            "completed_on": completed,
        }

    async def apply(
        self, c: ApplyForSubsidy, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        day = check_past_date(c.applied_on or today, "applied_on", today)
        claim = await self._claim_of_kind(c, ctx)
        completed = claim.get("completed_on")
        if completed is not None and day < completed:
            # approval grants it on the course too, which takes no grant before completion
            raise InvalidCommandError(
                f"applied_on {day.isoformat()} is before {completed.isoformat()}, the day she"
                " completed the course",
                field="applied_on",
            )
        fund = await self._executor.load_cached(Fund, c.fund_id)
        if fund.state is None:
            raise NotFoundError(f"no fund {c.fund_id}", field="fund_id")
        if not Jurisdiction.of_area(fund.state.area_code).covers(claim["area_code"]):
            raise InvalidCommandError(
                f"fund {c.fund_id} pays subsidies in {fund.state.area_code}, not in"
                f" {claim['area_code']}",
                field="fund_id",
            )
        if int(claim["month"][:4]) != fund.state.year:
            raise InvalidCommandError(
                f"fund {c.fund_id} is the budget of {fund.state.year}, not of {claim['month']}",
                field="month",
            )
        kind = c.kind
        key_id = claim_id(claim["worker_id"], kind, claim["period"])
        try:
            return await self._executor.execute_together(
                (Subsidy, derived_id("subsidy", ctx.command_id)),
                (SubsidyClaim, key_id),
                lambda subsidy, held: apply_for_subsidy(
                    subsidy,
                    held,
                    kind=kind,
                    worker_id=claim["worker_id"],
                    month=claim["month"],
                    amount=claim["amount"],
                    area_code=claim["area_code"],
                    fund_id=c.fund_id,
                    payee=claim["payee"],
                    payee_id=claim["payee_id"],
                    placement_id=c.placement_id,
                    course_id=c.course_id,
                    agency_id=ctx.agency_id,
                    on=day,
                    today=today,
                ),
                ctx,
                key,
            )
        except AlreadyClaimedError as refused:
            await self._explain(refused, key_id, ctx)
            raise

    async def _explain(
        self, refused: AlreadyClaimedError, key_id: str, ctx: CommandContext
    ) -> None:
        """The first claim's agency and day for anyone; which subsidy, only to those who may
        see it."""
        held = await self._executor.load_cached(SubsidyClaim, key_id)
        agency_id = refused.extensions.get("claimed_by_agency")
        name = await self._funds.agency_name(agency_id)
        refused.extensions["claimed_by_agency_name"] = name
        refused.detail = (
            f"already claimed by {name or agency_id or 'another agency'} on"
            f" {refused.extensions.get('claimed_on')}"
        )
        if held.state is not None and held.state.subsidy_id and sees(ctx, held.state.claimed_in):
            refused.extensions["subsidy_id"] = held.state.subsidy_id

    async def approve(
        self,
        subsidy_id: str,
        c: ApproveSubsidy,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        """Commits against the fund; a training subsidy is then granted on its course too, so
        the course and the year's training figures know it as they always did."""
        subsidy = await self._executor.load_cached(Subsidy, subsidy_id)
        if subsidy.state is None or not sees(ctx, subsidy.state.area_code):
            raise NotFoundError(f"no subsidy {subsidy_id}")
        today = self._today()
        day = c.approved_on or today
        result = await self._executor.execute_together(
            (Subsidy, subsidy_id),
            (Fund, subsidy.state.fund_id),
            lambda s, f: approve_subsidy(s, f, on=day, today=today),
            ctx,
            key,
        )
        course_id, worker_id = subsidy.state.course_id, subsidy.state.worker_id
        if subsidy.state.kind == "training" and course_id is not None:
            await self._executor.execute(
                Course,
                course_id,
                lambda course: course.grant_subsidy(worker_id=worker_id, on=day, today=today),
                step(ctx, f"grant-training-subsidy:{subsidy_id}"),
            )
        return result

    async def reject(
        self,
        subsidy_id: str,
        c: RejectSubsidy,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        subsidy = await self._executor.load_cached(Subsidy, subsidy_id)
        if subsidy.state is None or not sees(ctx, subsidy.state.area_code):
            raise NotFoundError(f"no subsidy {subsidy_id}")
        today = self._today()
        return await self._executor.execute_together(
            (Subsidy, subsidy_id),
            (SubsidyClaim, subsidy.state.claim_id),
            lambda s, held: reject_subsidy(
                s, held, reason=c.reason, on=c.rejected_on or today, today=today
            ),
            ctx,
            key,
        )

    async def pay(
        self, subsidy_id: str, c: PaySubsidy, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Subsidy,
            subsidy_id,
            lambda s: s.pay(
                payment_reference=c.payment_reference, on=c.paid_on or today, today=today
            ),
            ctx,
            key,
        )

    async def reconcile(
        self,
        subsidy_id: str,
        c: ReconcileSubsidy,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Subsidy,
            subsidy_id,
            lambda s: s.reconcile(
                statement_reference=c.statement_reference,
                on=c.reconciled_on or today,
                today=today,
            ),
            ctx,
            key,
        )
