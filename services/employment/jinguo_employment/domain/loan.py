"""A small guaranteed loan (小额担保贷款), as the seeds describe its path: "村居妇代会出证明、乡镇
妇联机构报材料、县级妇联组织拿意见", then the bank decides, pays out, and is repaid.

Each step belongs to one office: an agency of the right kind at the right level over her area.
A refusal at any step ends the loan, its reason kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import Field

from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    GuaranteeKind,
    Instalment,
    LoanAppliedV1,
    LoanApprovedV1,
    LoanCertifiedV1,
    LoanDisbursedV1,
    LoanFiledV1,
    LoanOpinionGivenV1,
    LoanRefusedV1,
    LoanRepaymentRecordedV1,
    LoanStep,
)
from jinguo_employment.domain.worker_record import add_months
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    DomainError,
    InvalidCommandError,
    RuleViolationError,
    check_past_date,
)

Level = Literal["community", "street", "county", "city", "province", "country"]
LoanStage = Literal[
    "applied", "certified", "filed", "endorsed", "approved", "disbursed", "repaid", "refused"
]
LEVELS_BY_LENGTH: dict[int, Level] = {
    12: "community",
    9: "street",
    6: "county",
    4: "city",
    2: "province",
}


def level_of(jurisdiction_prefix: str) -> Level:
    """An agency's level, from the area prefix it covers (a county's 110101, a city's 1101)."""
    return LEVELS_BY_LENGTH.get(len(jurisdiction_prefix), "country")


@dataclass(frozen=True, slots=True)
class Office:
    """Who acts: the kind of the caller's agency and the level of its jurisdiction."""

    kind: str
    level: Level

    def describe(self) -> str:
        return f"a {self.kind} at {self.level} level"


@dataclass(frozen=True, slots=True)
class StepOffice:
    kind: str
    level: Level | None
    """None: any level (a bank's branch may cover a county or a whole city)."""
    title: str

    def admits(self, office: Office) -> bool:
        return office.kind == self.kind and (self.level is None or office.level == self.level)


WOMENS_CONGRESS = StepOffice("womens_federation", "community", "the community women's congress")
TOWNSHIP_FEDERATION = StepOffice("womens_federation", "street", "the township federation")
COUNTY_FEDERATION = StepOffice("womens_federation", "county", "the county federation")
BANK = StepOffice("bank", None, "the lending bank")

REFUSABLE: dict[LoanStage, LoanStep] = {
    "applied": "certification",
    "certified": "filing",
    "filed": "opinion",
    "endorsed": "decision",
}
"""The step a loan waits for at each stage before the money: the one that may refuse it."""
STEP_OFFICES: dict[LoanStage, tuple[str, StepOffice]] = {
    "applied": ("certification", WOMENS_CONGRESS),
    "certified": ("filing", TOWNSHIP_FEDERATION),
    "filed": ("opinion", COUNTY_FEDERATION),
    "endorsed": ("decision", BANK),
    "approved": ("disbursement", BANK),
}
"""What a loan waits for at each stage, and who takes that step."""


class WrongOfficeError(DomainError):
    """The caller's agency sees the loan but this step is not its to take."""

    code = "wrong-office"
    status = 403


class LoanOutOfOrderError(RuleViolationError):
    code = "loan-step-out-of-order"


class SybTrainingRequiredError(RuleViolationError):
    code = "syb-training-required"


class LoanState(AggregateState):
    worker_id: str
    area_code: str
    gender: Literal["female", "male"]
    amount: int
    term_months: int
    jobs_created: int
    stage: LoanStage = "applied"
    last_step_on: date
    """The day of the latest step: no later step may be dated before it."""
    approved_amount: int | None = None
    approved_term: int | None = None
    disbursed: int = 0
    disbursed_on: date | None = None
    repaid: int = 0
    schedule: list[Instalment] = Field(default_factory=list)
    refused_step: LoanStep | None = None


def repayment_schedule(amount: int, term_months: int, disbursed_on: date) -> list[Instalment]:
    """Equal monthly instalments of principal, the first a month after the money was paid out;
    the last takes what the division leaves over, so they add up to the amount."""
    share, remainder = divmod(amount, term_months)
    return [
        Instalment(
            due_on=add_months(disbursed_on, month),
            amount=share + (remainder if month == term_months else 0),
        )
        for month in range(1, term_months + 1)
    ]


def next_due(schedule: list[Instalment], repaid: int) -> date | None:
    """The due day of the first instalment the repayments do not cover yet: the loan is
    overdue once that day has passed."""
    owed = 0
    for instalment in schedule:
        owed += instalment.amount
        if repaid < owed:
            return instalment.due_on
    return None


class Loan(Aggregate[LoanState]):
    aggregate_type = "loan"
    state_type = LoanState

    @classmethod
    def evolve(cls, state: LoanState | None, event: EventContract) -> LoanState:
        if isinstance(event, LoanAppliedV1):
            return LoanState(
                worker_id=event.worker_id,
                area_code=event.area_code,
                gender=event.gender,
                amount=event.amount,
                term_months=event.term_months,
                jobs_created=event.jobs_created,
                last_step_on=event.applied_on,
            )
        assert state is not None, f"{event.event_type} before LoanApplied"
        match event:
            case LoanCertifiedV1():
                return state.model_copy(
                    update={"stage": "certified", "last_step_on": event.certified_on}
                )
            case LoanFiledV1():
                return state.model_copy(update={"stage": "filed", "last_step_on": event.filed_on})
            case LoanOpinionGivenV1():
                return state.model_copy(
                    update={
                        "stage": "endorsed" if event.favourable else "refused",
                        "refused_step": None if event.favourable else "opinion",
                        "last_step_on": event.given_on,
                    }
                )
            case LoanApprovedV1():
                return state.model_copy(
                    update={
                        "stage": "approved",
                        "approved_amount": event.amount,
                        "approved_term": event.term_months,
                        "last_step_on": event.decided_on,
                    }
                )
            case LoanRefusedV1():
                return state.model_copy(
                    update={
                        "stage": "refused",
                        "refused_step": event.step,
                        "last_step_on": event.refused_on,
                    }
                )
            case LoanDisbursedV1():
                return state.model_copy(
                    update={
                        "stage": "disbursed",
                        "disbursed": event.amount,
                        "disbursed_on": event.disbursed_on,
                        "schedule": event.schedule,
                        "last_step_on": event.disbursed_on,
                    }
                )
            case LoanRepaymentRecordedV1():
                return state.model_copy(
                    update={
                        "stage": "repaid" if event.outstanding == 0 else "disbursed",
                        "repaid": event.repaid,
                        "last_step_on": max(state.last_step_on, event.paid_on),
                    }
                )
        return state

    def _ids(self, state: LoanState) -> dict[str, str]:
        return {"loan_id": self.id, "worker_id": state.worker_id, "area_code": state.area_code}

    def _step(
        self, stage: LoanStage, office: Office, on: date, field: str, today: date
    ) -> LoanState | None:
        """The state when this office may take the step due at `stage` on `on`; None when the
        step was already taken (a repeat changes nothing)."""
        check_past_date(on, field, today)
        state = self.require_state()
        step, due = STEP_OFFICES[stage]
        if not due.admits(office):
            raise WrongOfficeError(
                f"the {step} of a loan is for {due.title}, not {office.describe()}",
                step=step,
            )
        if state.stage != stage:
            if _passed(state, stage):
                return None
            raise LoanOutOfOrderError(
                f"loan {self.id} is {state.stage}: its {step} cannot be taken now",
                stage=state.stage,
                step=step,
            )
        if on < state.last_step_on:
            raise InvalidCommandError(
                f"{field} {on.isoformat()} is before the loan's previous step"
                f" ({state.last_step_on.isoformat()})",
                field=field,
            )
        return state

    def apply(
        self,
        *,
        worker_id: str,
        area_code: str,
        gender: Literal["female", "male"],
        amount: int,
        term_months: int,
        purpose: str,
        business_name: str,
        trade: str,
        licence_no: str | None,
        jobs_created: int,
        guarantee: GuaranteeKind,
        guarantor: str | None,
        syb_course_id: str | None,
        syb_required: bool,
        on: date,
        today: date,
    ) -> None:
        if self.exists:
            raise AlreadyExistsError(f"loan {self.id} was already applied for", existing_id=self.id)
        check_past_date(on, "applied_on", today)
        if syb_required and syb_course_id is None:
            raise SybTrainingRequiredError(
                f"worker {worker_id} has passed no SYB entrepreneurship course (创业培训) by"
                f" {on.isoformat()}: a loan needs one first",
                field="worker_id",
            )
        if guarantee == "guarantor" and not guarantor:
            raise InvalidCommandError("name the guarantor (担保人)", field="guarantor")
        self.record(
            LoanAppliedV1(
                loan_id=self.id,
                worker_id=worker_id,
                area_code=area_code,
                gender=gender,
                amount=amount,
                term_months=term_months,
                purpose=purpose,
                business_name=business_name,
                trade=trade,
                licence_no=licence_no,
                jobs_created=jobs_created,
                guarantee=guarantee,
                guarantor=guarantor,
                syb_course_id=syb_course_id,
                applied_on=on,
            )
        )

    def certify(self, *, office: Office, on: date, today: date) -> None:
        state = self._step("applied", office, on, "certified_on", today)
        if state is not None:
            self.record(LoanCertifiedV1(**self._ids(state), certified_on=on))

    def file(self, *, office: Office, on: date, today: date) -> None:
        state = self._step("certified", office, on, "filed_on", today)
        if state is not None:
            self.record(LoanFiledV1(**self._ids(state), filed_on=on))

    def give_opinion(
        self, *, office: Office, favourable: bool, reason: str | None, on: date, today: date
    ) -> None:
        if not favourable and not reason:
            raise InvalidCommandError("an unfavourable opinion gives its reason", field="reason")
        state = self._step("filed", office, on, "given_on", today)
        if state is not None:
            self.record(
                LoanOpinionGivenV1(
                    **self._ids(state), favourable=favourable, reason=reason, given_on=on
                )
            )

    def refuse(self, *, office: Office, reason: str, on: date, today: date) -> None:
        """By the office whose step the loan waits for; the county refuses by its opinion."""
        state = self.require_state()
        if state.stage == "refused":
            return
        step = REFUSABLE.get(state.stage)
        if step is None:
            raise LoanOutOfOrderError(
                f"loan {self.id} is {state.stage}: it can no longer be refused", stage=state.stage
            )
        if step == "opinion":
            self.give_opinion(office=office, favourable=False, reason=reason, on=on, today=today)
            return
        checked = self._step(state.stage, office, on, "refused_on", today)
        assert checked is not None
        self.record(LoanRefusedV1(**self._ids(state), step=step, reason=reason, refused_on=on))

    def approve(
        self,
        *,
        office: Office,
        amount: int,
        annual_rate_percent: float,
        term_months: int,
        on: date,
        today: date,
    ) -> None:
        state = self._step("endorsed", office, on, "decided_on", today)
        if state is None:
            return
        if amount > state.amount:
            raise InvalidCommandError(
                f"the bank approves at most the {state.amount} yuan she asked for",
                field="amount",
            )
        self.record(
            LoanApprovedV1(
                **self._ids(state),
                amount=amount,
                annual_rate_percent=annual_rate_percent,
                term_months=term_months,
                decided_on=on,
            )
        )

    def disburse(self, *, office: Office, on: date, today: date) -> None:
        """Pays out the amount approved, over the term approved."""
        state = self._step("approved", office, on, "disbursed_on", today)
        if state is None:
            return
        assert state.approved_amount is not None
        assert state.approved_term is not None
        self.record(
            LoanDisbursedV1(
                **self._ids(state),
                amount=state.approved_amount,
                gender=state.gender,
                jobs_created=state.jobs_created,
                schedule=repayment_schedule(state.approved_amount, state.approved_term, on),
                disbursed_on=on,
            )
        )

    def record_repayment(self, *, office: Office, amount: int, on: date, today: date) -> None:
        check_past_date(on, "paid_on", today)
        state = self.require_state()
        if not BANK.admits(office):
            raise WrongOfficeError(f"repayments are recorded by {BANK.title}")
        if state.stage != "disbursed":
            raise LoanOutOfOrderError(
                f"loan {self.id} is {state.stage}: it has nothing to repay", stage=state.stage
            )
        if state.disbursed_on is not None and on < state.disbursed_on:
            raise InvalidCommandError("paid_on is before the loan was paid out", field="paid_on")
        outstanding = state.disbursed - state.repaid
        if amount > outstanding:
            raise InvalidCommandError(
                f"{amount} yuan is more than the {outstanding} yuan still owed", field="amount"
            )
        self.record(
            LoanRepaymentRecordedV1(
                **self._ids(state),
                amount=amount,
                repaid=state.repaid + amount,
                outstanding=outstanding - amount,
                next_due_on=next_due(state.schedule, state.repaid + amount),
                paid_on=on,
            )
        )


STAGE_ORDER: tuple[LoanStage, ...] = (
    "applied",
    "certified",
    "filed",
    "endorsed",
    "approved",
    "disbursed",
    "repaid",
)


def _passed(state: LoanState, stage: LoanStage) -> bool:
    """Whether the loan went through `stage` and on (not refused): a step repeated."""
    if state.stage == "refused":
        return False
    return STAGE_ORDER.index(state.stage) > STAGE_ORDER.index(stage)
