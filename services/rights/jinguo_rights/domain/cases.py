"""The rights case (维权案件), who may see it (need to know), and the record of every read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, Field

from jinguo_contracts.base import EventContract
from jinguo_contracts.rights import (
    AccessBasis,
    ActionKind,
    CaseActionRecordedV1,
    CaseAssignedV1,
    CaseCategory,
    CaseClosedV1,
    CaseComplainantErasedV1,
    CaseDeadlineExtendedV1,
    CaseEscalatedV1,
    CaseOpenedV1,
    CaseReferralAnsweredV1,
    CaseReferredV1,
    CaseReopenedV1,
    CaseViewedV1,
    Channel,
    ComplainantCaseOpenedV1,
    ComplainantErasedV1,
    OfficerAppointedV1,
    OfficerRole,
    Outcome,
    RespondentKind,
    Urgency,
)
from jinguo_rights.domain.deadlines import DeadlinePolicy
from jinguo_shared.access import Jurisdiction
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    DomainError,
    InvalidCommandError,
    NotFoundError,
    RuleViolationError,
    check_past_date,
)


class ForbiddenError(DomainError):
    """The caller may see the case but not do this to it (a case it may not see is a 404)."""

    code = "forbidden"
    status = 403


class ReferralState(BaseModel):
    to_agency_id: str
    status: str = "pending"


class CaseState(AggregateState):
    agency_id: str
    area_code: str
    """Who may act on the case follows from it (the executor checks the caller's jurisdiction)."""
    complainant_id: str
    channel: Channel
    category: CaseCategory
    urgency: Urgency
    status: str = "open"
    """open (not assigned yet), in_progress, closed."""
    officer_id: str | None = None
    opened_on: date
    due_on: date
    time_limit_days: int
    escalated_for: list[date] = Field(default_factory=list)
    referrals: dict[str, ReferralState] = Field(default_factory=dict)
    action_ids: list[str] = Field(default_factory=list)
    closed_on: date | None = None


@dataclass(frozen=True, slots=True)
class NewCase:
    agency_id: str
    area_code: str
    channel: Channel
    category: CaseCategory
    urgency: Urgency
    complainant_id: str
    complainant_worker_id: str | None
    complainant_name: str
    complainant_phone: str | None
    respondent_kind: RespondentKind
    respondent_name: str
    respondent_employer_id: str | None
    summary: str
    opened_on: date
    station_id: str | None = None


class Case(Aggregate[CaseState]):
    aggregate_type = "case"
    state_type = CaseState

    @classmethod
    def evolve(cls, state: CaseState | None, event: EventContract) -> CaseState:
        if isinstance(event, CaseOpenedV1):
            return CaseState(
                agency_id=event.agency_id,
                area_code=event.area_code,
                complainant_id=event.complainant_id,
                channel=event.channel,
                category=event.category,
                urgency=event.urgency,
                opened_on=event.opened_on,
                due_on=event.due_on,
                time_limit_days=event.time_limit_days,
            )
        assert state is not None
        if isinstance(event, CaseAssignedV1):
            return state.model_copy(
                update={"officer_id": event.officer_id, "status": "in_progress"}
            )
        if isinstance(event, CaseActionRecordedV1):
            return state.model_copy(update={"action_ids": [*state.action_ids, event.action_id]})
        if isinstance(event, CaseReferredV1):
            referrals = {
                **state.referrals,
                event.referral_id: ReferralState(to_agency_id=event.to_agency_id),
            }
            return state.model_copy(update={"referrals": referrals})
        if isinstance(event, CaseReferralAnsweredV1):
            answered = ReferralState(
                to_agency_id=event.to_agency_id,
                status="accepted" if event.accepted else "rejected",
            )
            return state.model_copy(
                update={"referrals": {**state.referrals, event.referral_id: answered}}
            )
        if isinstance(event, CaseDeadlineExtendedV1):
            return state.model_copy(update={"due_on": event.due_on})
        if isinstance(event, CaseEscalatedV1):
            return state.model_copy(update={"escalated_for": [*state.escalated_for, event.due_on]})
        if isinstance(event, CaseClosedV1):
            return state.model_copy(update={"status": "closed", "closed_on": event.closed_on})
        if isinstance(event, CaseReopenedV1):
            return state.model_copy(
                update={
                    "status": "in_progress" if state.officer_id else "open",
                    "closed_on": None,
                    "due_on": event.due_on,
                    "time_limit_days": event.time_limit_days,
                }
            )
        if isinstance(event, CaseComplainantErasedV1):
            return state.model_copy(update={"complainant_id": event.complainant_id})
        return state

    def holders(self) -> CaseHolders:
        state = self.require_state()
        return CaseHolders(
            agency_id=state.agency_id,
            area_code=state.area_code,
            officer_id=state.officer_id,
            accepted_referral_agencies=frozenset(
                r.to_agency_id for r in state.referrals.values() if r.status == "accepted"
            ),
        )

    def check_access(self, viewer: Viewer, allowed: frozenset[AccessBasis]) -> AccessBasis:
        """A case the viewer may not see does not exist for her (404); one she may see but not
        act on this way is a 403."""
        if self.state is None:
            raise NotFoundError(f"case {self.id} not found")
        basis = access_basis(self.holders(), viewer, emergency=False)
        if basis is None:
            raise NotFoundError(f"case {self.id} not found")
        if basis not in allowed:
            raise ForbiddenError(f"as {basis.replace('_', ' ')} you cannot do this to the case")
        return basis

    # commands ----------------------------------------------------------------------------------

    def open(self, new: NewCase, *, policy: DeadlinePolicy, today: date) -> None:
        if self.exists:
            raise AlreadyExistsError(f"case {self.id} already exists", existing_id=self.id)
        check_past_date(new.opened_on, "opened_on", today)
        if new.respondent_kind != "employer" and new.respondent_employer_id is not None:
            raise InvalidCommandError(
                "respondent_employer_id is for employers only", field="respondent_employer_id"
            )
        limit = policy.time_limit(new.channel, new.category, new.urgency)
        self.record(
            CaseOpenedV1(
                case_id=self.id,
                agency_id=new.agency_id,
                area_code=new.area_code,
                channel=new.channel,
                category=new.category,
                urgency=new.urgency,
                complainant_id=new.complainant_id,
                complainant_worker_id=new.complainant_worker_id,
                complainant_name=new.complainant_name,
                complainant_phone=new.complainant_phone,
                respondent_kind=new.respondent_kind,
                respondent_name=new.respondent_name,
                respondent_employer_id=new.respondent_employer_id,
                summary=new.summary,
                opened_on=new.opened_on,
                station_id=new.station_id,
                time_limit_days=limit,
                due_on=policy.due_on(new.opened_on, limit),
            )
        )

    def _open_state(self) -> CaseState:
        state = self.require_state()
        if state.status == "closed":
            raise RuleViolationError(f"case {self.id} is closed; reopen it first")
        return state

    def _check_on_or_after_opening(self, day: date, today: date, name: str) -> None:
        state = self.require_state()
        check_past_date(day, name, today)
        if day < state.opened_on:
            raise InvalidCommandError(f"{name} is before the case was opened", field=name)

    def assign(self, *, officer_id: str, assigned_on: date, today: date) -> None:
        state = self._open_state()
        self._check_on_or_after_opening(assigned_on, today, "occurred_on")
        if state.officer_id == officer_id:
            return
        self.record(CaseAssignedV1(case_id=self.id, officer_id=officer_id, assigned_on=assigned_on))

    def record_action(
        self, *, action_id: str, action: ActionKind, taken_on: date, notes: str, today: date
    ) -> None:
        state = self._open_state()
        if action_id in state.action_ids:
            return
        self._check_on_or_after_opening(taken_on, today, "taken_on")
        self.record(
            CaseActionRecordedV1(
                case_id=self.id,
                action_id=action_id,
                action=action,
                taken_on=taken_on,
                complainant_id=state.complainant_id,
                notes=notes,
            )
        )

    def refer(
        self,
        *,
        referral_id: str,
        to_agency_id: str,
        to_agency_area: str | None,
        reason: str,
        referred_on: date,
        today: date,
    ) -> None:
        """Only to an agency whose jurisdiction covers the case's area (`to_agency_area` is
        that agency's area code, None when there is no such agency)."""
        state = self._open_state()
        if referral_id in state.referrals:
            return
        if to_agency_id == state.agency_id:
            raise InvalidCommandError(
                "a case cannot be referred to the agency that owns it", field="to_agency_id"
            )
        if to_agency_area is None:
            raise InvalidCommandError(f"there is no agency {to_agency_id}", field="to_agency_id")
        if not Jurisdiction.of_area(to_agency_area).covers(state.area_code):
            raise InvalidCommandError(
                f"agency {to_agency_id} ({to_agency_area}) does not cover the case's area",
                field="to_agency_id",
            )
        if any(
            r.to_agency_id == to_agency_id and r.status != "rejected"
            for r in state.referrals.values()
        ):
            raise RuleViolationError(f"case {self.id} is already referred to that agency")
        self._check_on_or_after_opening(referred_on, today, "occurred_on")
        self.record(
            CaseReferredV1(
                case_id=self.id,
                referral_id=referral_id,
                from_agency_id=state.agency_id,
                to_agency_id=to_agency_id,
                reason=reason,
                referred_on=referred_on,
            )
        )

    def answer_referral(
        self,
        *,
        referral_id: str,
        by_agency_id: str,
        accepted: bool,
        reason: str,
        answered_on: date,
        today: date,
    ) -> None:
        state = self.require_state()
        referral = state.referrals.get(referral_id)
        if referral is None or referral.to_agency_id != by_agency_id:
            raise NotFoundError(f"no referral {referral_id} to your agency")
        if referral.status != "pending":
            wanted = "accepted" if accepted else "rejected"
            if referral.status == wanted:
                return
            raise RuleViolationError(f"referral {referral_id} was already {referral.status}")
        self._check_on_or_after_opening(answered_on, today, "occurred_on")
        self.record(
            CaseReferralAnsweredV1(
                case_id=self.id,
                referral_id=referral_id,
                to_agency_id=by_agency_id,
                accepted=accepted,
                reason=reason,
                answered_on=answered_on,
            )
        )

    def extend_deadline(
        self,
        *,
        extra_days: int,
        reason: str,
        extended_on: date,
        policy: DeadlinePolicy,
        today: date,
    ) -> None:
        state = self._open_state()
        self._check_on_or_after_opening(extended_on, today, "occurred_on")
        if not 1 <= extra_days <= policy.max_extension_days:
            raise InvalidCommandError(
                f"an extension is 1 to {policy.max_extension_days} working days",
                field="extra_days",
            )
        self.record(
            CaseDeadlineExtendedV1(
                case_id=self.id,
                extra_days=extra_days,
                reason=reason,
                extended_on=extended_on,
                due_on=policy.due_on(state.due_on, extra_days),
            )
        )

    def escalate_if_overdue(self, *, policy: DeadlinePolicy, today: date) -> bool:
        """Raise the case to the supervisors once per due date it has missed."""
        state = self.require_state()
        if state.status == "closed" or state.due_on >= today or state.due_on in state.escalated_for:
            return False
        self.record(
            CaseEscalatedV1(
                case_id=self.id,
                due_on=state.due_on,
                escalated_on=today,
                overdue_days=policy.overdue_days(state.due_on, today),
            )
        )
        return True

    def close(
        self,
        *,
        outcome: Outcome,
        complainant_satisfied: bool | None,
        closed_on: date,
        policy: DeadlinePolicy,
        today: date,
    ) -> None:
        state = self._open_state()
        self._check_on_or_after_opening(closed_on, today, "closed_on")
        if outcome == "violence_stopped" and state.category != "domestic_violence":
            raise InvalidCommandError(
                "violence_stopped is an outcome of domestic-violence cases", field="outcome"
            )
        self.record(
            CaseClosedV1(
                case_id=self.id,
                outcome=outcome,
                complainant_satisfied=complainant_satisfied,
                closed_on=closed_on,
                working_days_taken=policy.calendar.working_days_between(state.opened_on, closed_on),
                on_time=closed_on <= state.due_on,
            )
        )

    def erase_complainant(self, *, stand_in: str) -> None:
        """Unlink the case from its erased complainant: `stand_in` (derived from the case, naming
        no one) becomes its complainant; the case, its facts and its figures stay."""
        state = self.require_state()
        if state.complainant_id == stand_in:
            return
        self.record(
            CaseComplainantErasedV1(
                case_id=self.id, complainant_id=stand_in, action_ids=list(state.action_ids)
            )
        )

    def reopen(
        self, *, reason: str, reopened_on: date, policy: DeadlinePolicy, today: date
    ) -> None:
        state = self.require_state()
        if state.status != "closed":
            raise RuleViolationError(f"case {self.id} is not closed")
        self._check_on_or_after_opening(reopened_on, today, "occurred_on")
        if state.closed_on is not None and reopened_on < state.closed_on:
            raise InvalidCommandError("a case is reopened after it was closed", field="occurred_on")
        limit = policy.time_limit(state.channel, state.category, state.urgency)
        self.record(
            CaseReopenedV1(
                case_id=self.id,
                officer_id=state.officer_id,
                reason=reason,
                reopened_on=reopened_on,
                time_limit_days=limit,
                due_on=policy.due_on(reopened_on, limit),
            )
        )


class ComplainantState(AggregateState):
    erased: bool = False


class RegisteredComplainant(Aggregate[ComplainantState]):
    """A registered worker as complainant. Opening a case for her and erasing her both pass
    here, so no case can name her once she is erased, and none opened before escapes."""

    aggregate_type = "complainant"
    state_type = ComplainantState

    @classmethod
    def evolve(cls, state: ComplainantState | None, event: EventContract) -> ComplainantState:
        return ComplainantState(erased=isinstance(event, ComplainantErasedV1))

    def record_case(self, case_id: str) -> None:
        if self.state is not None and self.state.erased:
            raise InvalidCommandError(
                f"worker {self.id} was erased: a case cannot name her as complainant again",
                field="complainant.worker_id",
            )
        self.record(ComplainantCaseOpenedV1(complainant_id=self.id, case_id=case_id))

    def erase(self) -> None:
        if self.state is None or not self.state.erased:
            self.record(ComplainantErasedV1(complainant_id=self.id))


# need to know ------------------------------------------------------------------------------------

HANDLERS: frozenset[AccessBasis] = frozenset({"assigned_officer", "supervisor"})
CONTRIBUTORS: frozenset[AccessBasis] = HANDLERS | {"accepted_referral"}
SUPERVISORS: frozenset[AccessBasis] = frozenset({"supervisor"})


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: the officer and her agency, both from the officer's own API key."""

    agency_id: str
    officer_id: str
    role: OfficerRole | None
    """None when the agency has not appointed this officer in the rights service."""
    jurisdiction: Jurisdiction | None = None
    """Where her agency works: a case outside it does not exist for her. None: the system."""

    @property
    def supervisor(self) -> bool:
        return self.role == "supervisor"


@dataclass(frozen=True, slots=True)
class CaseHolders:
    """What decides who may see a case."""

    agency_id: str
    area_code: str
    officer_id: str | None
    accepted_referral_agencies: frozenset[str]


def access_basis(case: CaseHolders, viewer: Viewer, *, emergency: bool) -> AccessBasis | None:
    """The grounds on which `viewer` may see the case, or None: everyone else gets a 404.

    Its assigned officer, that agency's supervisors, and any agency that accepted a referral.
    In an emergency (always flagged) any officer of the owning agency, and a supervisor of
    another agency: an officer elsewhere must ask her supervisor. Never outside the viewer's
    jurisdiction.
    """
    if viewer.role is None:
        return None
    if viewer.jurisdiction is not None and not viewer.jurisdiction.covers(case.area_code):
        return None
    own_agency = viewer.agency_id == case.agency_id
    if own_agency:
        if case.officer_id == viewer.officer_id:
            return "assigned_officer"
        if viewer.supervisor:
            return "supervisor"
    if viewer.agency_id in case.accepted_referral_agencies:
        return "accepted_referral"
    if emergency and (own_agency or viewer.supervisor):
        return "emergency"
    return None


class AccessLogState(AggregateState):
    views: int = 0


class CaseAccessLog(Aggregate[AccessLogState]):
    """The reads of one case, apart from the case so that reading never contends with work."""

    aggregate_type = "access"
    state_type = AccessLogState

    @classmethod
    def evolve(cls, state: AccessLogState | None, event: EventContract) -> AccessLogState:
        views = state.views if state is not None else 0
        return AccessLogState(views=views + 1)

    def record_view(
        self,
        *,
        complainant_id: str,
        case_agency_id: str,
        viewer: Viewer,
        basis: AccessBasis,
        purpose: str,
        at: datetime,
    ) -> None:
        if basis == "emergency" and len(purpose.strip()) < 10:
            raise InvalidCommandError(
                "an emergency access needs its reason stated (at least 10 characters)",
                field="purpose",
            )
        self.record(
            CaseViewedV1(
                case_id=self.id,
                complainant_id=complainant_id,
                case_agency_id=case_agency_id,
                viewer_agency_id=viewer.agency_id,
                officer_id=viewer.officer_id,
                basis=basis,
                purpose=purpose,
                viewed_at=at,
                emergency=basis == "emergency",
            )
        )


class OfficerState(AggregateState):
    agency_id: str
    officer_id: str
    role: str


class Officer(Aggregate[OfficerState]):
    aggregate_type = "officer"
    state_type = OfficerState

    @classmethod
    def evolve(cls, state: OfficerState | None, event: EventContract) -> OfficerState:
        assert isinstance(event, OfficerAppointedV1)
        return OfficerState(agency_id=event.agency_id, officer_id=event.officer_id, role=event.role)

    def appoint(self, *, agency_id: str, officer_id: str, role: OfficerRole) -> None:
        if self.state is not None and self.state.role == role:
            return
        self.record(
            OfficerAppointedV1(
                officer_key=self.id, agency_id=agency_id, officer_id=officer_id, role=role
            )
        )
