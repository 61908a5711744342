"""A subsidy: one claim for one person, kind and month, applied for, approved against a fund
(its amount committed there), paid, reconciled, or rejected. The claim key, an aggregate of its
own whose id derives from the person, the kind and the month, makes a second claim for them
fail however many agencies try at once: each claim is appended with the key's version."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    Payee,
    SubsidyAppliedV1,
    SubsidyApprovedV1,
    SubsidyClaimedV1,
    SubsidyClaimReleasedV1,
    SubsidyKind,
    SubsidyPaidV1,
    SubsidyReconciledV1,
    SubsidyRejectedV1,
)
from jinguo_employment.domain.fund import Fund
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    InvalidCommandError,
    RuleViolationError,
    check_past_date,
)

CLAIM_NAMESPACE = uuid.UUID("a3c4f1d0-6b2e-4f7a-8c9d-2e1f0a3b4c5d")
SubsidyStatus = Literal["applied", "approved", "rejected", "paid", "reconciled"]


def claim_id(worker_id: str, kind: SubsidyKind, period: str) -> str:
    """The key of one person's claim of one kind for one period (a month, or for training the
    course): the same for every agency that claims it, and telling nothing about her."""
    return str(uuid.uuid5(CLAIM_NAMESPACE, f"{worker_id}/{kind}/{period}"))


def first_day(month: str) -> date:
    year, number = month.split("-")
    return date(int(year), int(number), 1)


class AlreadyClaimedError(RuleViolationError):
    """Another subsidy holds the person, kind and month: the answer names the agency that
    claimed it and the day, nothing about her."""

    code = "already-claimed"


class SubsidyStatusError(RuleViolationError):
    code = "subsidy-status"


class ClaimState(AggregateState):
    subsidy_id: str | None = None
    agency_id: str | None = None
    claimed_in: str | None = None
    """Not `area_code`: a claim belongs to no area, so every agency meets the same key."""
    claimed_on: date | None = None


class SubsidyClaim(Aggregate[ClaimState]):
    aggregate_type = "claim"
    state_type = ClaimState

    @classmethod
    def evolve(cls, state: ClaimState | None, event: EventContract) -> ClaimState:
        match event:
            case SubsidyClaimedV1():
                return ClaimState(
                    subsidy_id=event.subsidy_id,
                    agency_id=event.agency_id,
                    claimed_in=event.claimed_in,
                    claimed_on=event.occurred_on,
                )
            case SubsidyClaimReleasedV1():
                return ClaimState()
        return state or ClaimState()

    def claim(self, *, subsidy_id: str, agency_id: str | None, area_code: str, on: date) -> None:
        held = self.state
        if held is not None and held.subsidy_id is not None:
            if held.subsidy_id == subsidy_id:
                return
            raise AlreadyClaimedError(
                "this person's subsidy of this kind for this period was already claimed",
                claimed_by_agency=held.agency_id,
                claimed_on=held.claimed_on.isoformat() if held.claimed_on else None,
            )
        self.record(
            SubsidyClaimedV1(
                claim_id=self.id,
                subsidy_id=subsidy_id,
                agency_id=agency_id,
                claimed_in=area_code,
                occurred_on=on,
            )
        )

    def release(self, *, subsidy_id: str, on: date) -> None:
        if self.state is None or self.state.subsidy_id != subsidy_id:
            return
        self.record(SubsidyClaimReleasedV1(claim_id=self.id, subsidy_id=subsidy_id, occurred_on=on))


class SubsidyState(AggregateState):
    kind: SubsidyKind
    worker_id: str
    month: str
    amount: int
    area_code: str
    fund_id: str
    claim_id: str
    course_id: str | None = None
    status: SubsidyStatus = "applied"
    applied_on: date
    decided_on: date | None = None
    paid_on: date | None = None


class Subsidy(Aggregate[SubsidyState]):
    aggregate_type = "subsidy"
    state_type = SubsidyState

    @classmethod
    def evolve(cls, state: SubsidyState | None, event: EventContract) -> SubsidyState:
        if isinstance(event, SubsidyAppliedV1):
            period = (
                event.course_id if event.kind == "training" and event.course_id else event.month
            )
            return SubsidyState(
                kind=event.kind,
                worker_id=event.worker_id,
                month=event.month,
                amount=event.amount,
                area_code=event.area_code,
                fund_id=event.fund_id,
                claim_id=claim_id(event.worker_id, event.kind, period),
                course_id=event.course_id,
                applied_on=event.applied_on,
            )
        assert state is not None, f"{event.event_type} before SubsidyApplied"
        match event:
            case SubsidyApprovedV1():
                return state.model_copy(
                    update={"status": "approved", "decided_on": event.approved_on}
                )
            case SubsidyRejectedV1():
                return state.model_copy(
                    update={"status": "rejected", "decided_on": event.rejected_on}
                )
            case SubsidyPaidV1():
                return state.model_copy(update={"status": "paid", "paid_on": event.paid_on})
            case SubsidyReconciledV1():
                return state.model_copy(update={"status": "reconciled"})
        return state

    def require_status(self, *statuses: SubsidyStatus, doing: str) -> SubsidyState:
        state = self.require_state()
        if state.status not in statuses:
            raise SubsidyStatusError(
                f"subsidy {self.id} is {state.status}: it cannot be {doing}",
                current_status=state.status,
            )
        return state

    def pay(self, *, payment_reference: str, on: date, today: date) -> None:
        check_past_date(on, "paid_on", today)
        state = self.require_state()
        if state.status in ("paid", "reconciled"):
            return
        self.require_status("approved", doing="paid")
        _not_before(on, "paid_on", state.decided_on, "it was approved")
        self.record(
            SubsidyPaidV1(
                subsidy_id=self.id,
                worker_id=state.worker_id,
                fund_id=state.fund_id,
                kind=state.kind,
                amount=state.amount,
                area_code=state.area_code,
                payment_reference=payment_reference,
                paid_on=on,
            )
        )

    def reconcile(self, *, statement_reference: str, on: date, today: date) -> None:
        check_past_date(on, "reconciled_on", today)
        state = self.require_state()
        if state.status == "reconciled":
            return
        self.require_status("paid", doing="reconciled")
        _not_before(on, "reconciled_on", state.paid_on, "it was paid")
        self.record(
            SubsidyReconciledV1(
                subsidy_id=self.id,
                worker_id=state.worker_id,
                fund_id=state.fund_id,
                kind=state.kind,
                amount=state.amount,
                area_code=state.area_code,
                statement_reference=statement_reference,
                reconciled_on=on,
            )
        )


def apply_for_subsidy(
    subsidy: Subsidy,
    claim: SubsidyClaim,
    *,
    kind: SubsidyKind,
    worker_id: str,
    month: str,
    amount: int,
    area_code: str,
    fund_id: str,
    payee: Payee,
    payee_id: str | None,
    placement_id: str | None,
    course_id: str | None,
    agency_id: str | None,
    on: date,
    today: date,
) -> None:
    """The application and the claim of its person, kind and period, decided together."""
    check_past_date(on, "applied_on", today)
    if subsidy.exists:
        raise AlreadyExistsError(
            f"subsidy {subsidy.id} was already applied for", existing_id=subsidy.id
        )
    if amount < 1:
        raise InvalidCommandError("a subsidy is at least one yuan", field="amount")
    if on < first_day(month):
        raise InvalidCommandError(
            f"applied_on {on.isoformat()} is before the month {month} it is for",
            field="applied_on",
        )
    subsidy.record(
        SubsidyAppliedV1(
            subsidy_id=subsidy.id,
            kind=kind,
            worker_id=worker_id,
            month=month,
            amount=amount,
            area_code=area_code,
            fund_id=fund_id,
            payee=payee,
            payee_id=payee_id,
            placement_id=placement_id,
            course_id=course_id,
            applied_on=on,
        )
    )
    state = subsidy.require_state()
    if claim.id != state.claim_id:
        raise InvalidCommandError("the claim key does not match the subsidy", field="worker_id")
    claim.claim(subsidy_id=subsidy.id, agency_id=agency_id, area_code=area_code, on=on)


def approve_subsidy(subsidy: Subsidy, fund: Fund, *, on: date, today: date) -> None:
    """Commits the amount against the fund, in the same append: no approval without the money."""
    check_past_date(on, "approved_on", today)
    state = subsidy.require_state()
    if state.status in ("approved", "paid", "reconciled"):
        return
    subsidy.require_status("applied", doing="approved")
    _not_before(on, "approved_on", state.applied_on, "it was applied for")
    fund.commit(
        subsidy_id=subsidy.id,
        kind=state.kind,
        amount=state.amount,
        area_code=state.area_code,
        on=on,
    )
    subsidy.record(
        SubsidyApprovedV1(
            subsidy_id=subsidy.id,
            worker_id=state.worker_id,
            fund_id=state.fund_id,
            kind=state.kind,
            amount=state.amount,
            area_code=state.area_code,
            approved_on=on,
        )
    )


def reject_subsidy(
    subsidy: Subsidy, claim: SubsidyClaim, *, reason: str, on: date, today: date
) -> None:
    """Rejected before approval; the claim is released so a corrected claim may follow."""
    check_past_date(on, "rejected_on", today)
    state = subsidy.require_state()
    if state.status == "rejected":
        return
    subsidy.require_status("applied", doing="rejected")
    _not_before(on, "rejected_on", state.applied_on, "it was applied for")
    subsidy.record(
        SubsidyRejectedV1(
            subsidy_id=subsidy.id,
            worker_id=state.worker_id,
            reason=reason,
            area_code=state.area_code,
            rejected_on=on,
        )
    )
    claim.release(subsidy_id=subsidy.id, on=on)


def _not_before(on: date, field: str, earlier: date | None, what: str) -> None:
    if earlier is not None and on < earlier:
        raise InvalidCommandError(
            f"{field} {on.isoformat()} is before {earlier.isoformat()}, the day {what}",
            field=field,
        )
