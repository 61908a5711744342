"""The rights service's commands: validated input, and one handler per command."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jinguo_contracts.areas import AreaCode
from jinguo_contracts.inspections import Finding, ViolationTopic
from jinguo_contracts.rights import (
    AccessBasis,
    ActionKind,
    CaseCategory,
    Channel,
    OfficerRole,
    Outcome,
    RespondentKind,
    Urgency,
)
from jinguo_rights.domain.cases import (
    CONTRIBUTORS,
    HANDLERS,
    SUPERVISORS,
    Case,
    CaseAccessLog,
    ForbiddenError,
    NewCase,
    Officer,
    OfficerState,
    RegisteredComplainant,
    Viewer,
)
from jinguo_rights.domain.deadlines import DeadlinePolicy
from jinguo_rights.domain.inspections import Inspection
from jinguo_shared.access import Jurisdiction
from jinguo_shared.commands import CommandExecutor, CommandResult, IdempotencyKey
from jinguo_shared.envelope import CommandContext

Text = Field(min_length=2, max_length=4000)
Reason = Field(min_length=2, max_length=1000)
OccurredOn = Field(
    default=None,
    description="the day it happened (business date, not in the future); today if omitted",
)
OfficerId = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
ID_NAMESPACE = uuid.UUID("8f6b3c52-1d0e-4c35-9a57-2f4e0b6d7a19")


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Complainant(Command):
    worker_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="her registry worker id, if she is registered",
    )
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, pattern=r"^1[3-9]\d{9}$")


class Respondent(Command):
    kind: RespondentKind
    name: str = Field(min_length=1, max_length=200)
    employer_id: str | None = Field(default=None, max_length=64)


class OpenCase(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "channel": "hotline_12338",
                    "category": "labour",
                    "urgency": "normal",
                    "area_code": "110101001001",
                    "complainant": {
                        "worker_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                        "name": "王秀兰",
                        "phone": "13812345678",
                    },
                    "respondent": {
                        "kind": "employer",
                        "name": "北京某家政服务有限公司",
                        "employer_id": "3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b",
                    },
                    "summary": "怀孕后被公司以岗位调整为由辞退，未支付经济补偿",
                    "opened_on": "2026-05-11",
                }
            ]
        }
    )

    channel: Channel
    category: CaseCategory
    urgency: Urgency = "normal"
    area_code: AreaCode
    complainant: Complainant
    respondent: Respondent
    summary: str = Text
    opened_on: date | None = Field(
        default=None,
        description="the day the case was taken in (受理); today if omitted; may be back-dated,"
        " never in the future",
    )
    station_id: str | None = Field(
        default=None,
        max_length=64,
        description="the station that took it (GET /registry/stations): of its area or above",
    )


class AssignCase(Command):
    model_config = ConfigDict(json_schema_extra={"examples": [{"officer_id": "chen.li"}]})

    officer_id: str = OfficerId
    occurred_on: date | None = OccurredOn


class RecordAction(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "mediation",
                    "taken_on": "2026-05-13",
                    "notes": "约谈用人单位，双方同意调解",
                }
            ]
        }
    )

    action: ActionKind
    taken_on: date | None = Field(
        default=None, description="the day it was taken; today if omitted"
    )
    notes: str = Text


class ReferCase(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "to_agency_id": "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d",
                    "reason": "需提起劳动仲裁，转介区法律援助中心",
                }
            ]
        }
    )

    to_agency_id: str = Field(min_length=1, max_length=64)
    reason: str = Reason
    occurred_on: date | None = OccurredOn


class AnswerReferral(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"accepted": True, "reason": "符合法律援助条件，已受理"}]}
    )

    accepted: bool
    reason: str = Reason
    occurred_on: date | None = OccurredOn


class ExtendDeadline(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"extra_days": 10, "reason": "等待劳动保障监察调查结果"}]}
    )

    extra_days: int = Field(ge=1, le=60, description="working days")
    reason: str = Reason
    occurred_on: date | None = OccurredOn


class CloseCase(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"outcome": "mediated", "complainant_satisfied": True, "closed_on": "2026-05-29"}
            ]
        }
    )

    outcome: Outcome
    complainant_satisfied: bool | None
    closed_on: date | None = Field(
        default=None,
        description="the day the case was closed (办结); today if omitted; whether it was on time"
        " is judged from it and the day the case was taken in",
    )


class ReopenCase(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "用人单位未按调解协议支付补偿"}]}
    )

    reason: str = Reason
    occurred_on: date | None = OccurredOn


class AppointOfficer(Command):
    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "officer"}]})

    role: OfficerRole


class InspectionFinding(Command):
    topic: ViolationTopic
    compliant: bool
    note: str = Field(default="", max_length=500, description="what was checked; no personal data")


class RecordInspection(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "employer_id": "3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b",
                    "employer_name": "北京某家政服务有限公司",
                    "area_code": "110101001",
                    "inspected_on": "2026-05-20",
                    "findings": [
                        {
                            "topic": "labour_contract",
                            "compliant": True,
                            "note": "抽查劳动合同12份，均已签订",
                        },
                        {
                            "topic": "protected_periods",
                            "compliant": False,
                            "note": "孕期女职工被安排夜班",
                        },
                    ],
                }
            ]
        }
    )

    employer_id: str = Field(min_length=1, max_length=64)
    employer_name: str = Field(min_length=1, max_length=200)
    area_code: AreaCode
    inspected_on: date | None = Field(default=None, description="today if omitted")
    findings: list[InspectionFinding] = Field(min_length=1, max_length=5)

    @model_validator(mode="after")
    def _distinct_topics(self) -> RecordInspection:
        topics = [f.topic for f in self.findings]
        if len(set(topics)) != len(topics):
            raise ValueError("each topic appears once in findings")
        return self


class RectifyViolation(Command):
    model_config = ConfigDict(json_schema_extra={"examples": [{"rectified_on": "2026-06-10"}]})

    rectified_on: date | None = Field(default=None, description="today if omitted")


def derived_id(*parts: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(parts)))


class RightsHandlers:
    """One method per command. Every command on a case checks, inside the decision, that the
    caller may see the case (else 404) and may do this to it (else 403)."""

    def __init__(
        self,
        cases: CommandExecutor,
        inspections: CommandExecutor,
        policy: DeadlinePolicy,
        today: Callable[[], date],
        agency_area: Callable[[str], Awaitable[str | None]],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._cases = cases
        self._inspections = inspections
        self.figures = inspections
        """The figures are published on INSPECTIONS too (by the figures policy)."""
        self.policy = policy
        self.today = today
        self._agency_area = agency_area
        self._now = now

    # officers and viewers ----------------------------------------------------------------------

    @staticmethod
    def officer_key(agency_id: str, officer_id: str) -> str:
        return derived_id("officer", agency_id, officer_id)

    async def viewer(
        self, agency_id: str, officer_id: str, jurisdiction: Jurisdiction | None = None
    ) -> Viewer:
        officer = await self._cases.load_cached(Officer, self.officer_key(agency_id, officer_id))
        state: OfficerState | None = officer.state
        role: OfficerRole | None = None
        if state is not None:
            role = "supervisor" if state.role == "supervisor" else "officer"
        return Viewer(agency_id, officer_id, role, jurisdiction)

    async def appoint_officer(
        self,
        agency_id: str,
        officer_id: str,
        c: AppointOfficer,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        return await self._cases.execute(
            Officer,
            self.officer_key(agency_id, officer_id),
            lambda o: o.appoint(agency_id=agency_id, officer_id=officer_id, role=c.role),
            ctx,
            key,
        )

    # cases -------------------------------------------------------------------------------------

    def complainant_id(self, c: OpenCase, case_id: str) -> str:
        return c.complainant.worker_id or derived_id("complainant", case_id)

    async def open_case(
        self, viewer: Viewer, c: OpenCase, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        """A case opened by an officer is assigned to her; a supervisor assigns it later."""
        if viewer.role is None:
            raise ForbiddenError("only an appointed officer of the agency may open a case")
        case_id = derived_id("case", ctx.command_id)
        today = self.today()
        new = NewCase(
            agency_id=viewer.agency_id,
            area_code=c.area_code,
            channel=c.channel,
            category=c.category,
            urgency=c.urgency,
            complainant_id=self.complainant_id(c, case_id),
            complainant_worker_id=c.complainant.worker_id,
            complainant_name=c.complainant.name,
            complainant_phone=c.complainant.phone,
            respondent_kind=c.respondent.kind,
            respondent_name=c.respondent.name,
            respondent_employer_id=c.respondent.employer_id,
            summary=c.summary,
            opened_on=c.opened_on or today,
            station_id=c.station_id,
        )

        def decide(case: Case) -> None:
            case.open(new, policy=self.policy, today=today)
            if viewer.role == "officer":
                case.assign(officer_id=viewer.officer_id, assigned_on=new.opened_on, today=today)

        worker_id = c.complainant.worker_id
        if worker_id is None:
            return await self._cases.execute(Case, case_id, decide, ctx, key)

        def decide_for_worker(case: Case, complainant: RegisteredComplainant) -> None:
            complainant.record_case(case_id)
            decide(case)

        return await self._cases.execute_together(
            (Case, case_id), (RegisteredComplainant, worker_id), decide_for_worker, ctx, key
        )

    async def assign(
        self,
        viewer: Viewer,
        case_id: str,
        c: AssignCase,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        assignee = await self.viewer(viewer.agency_id, c.officer_id)
        today = self.today()

        def decide(case: Case) -> None:
            case.check_access(viewer, SUPERVISORS)
            if assignee.role is None:
                raise ForbiddenError(
                    f"{c.officer_id} is not an appointed officer of your agency",
                    field="officer_id",
                )
            case.assign(officer_id=c.officer_id, assigned_on=c.occurred_on or today, today=today)

        return await self._cases.execute(Case, case_id, decide, ctx, key)

    async def record_action(
        self,
        viewer: Viewer,
        case_id: str,
        c: RecordAction,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        def decide(case: Case) -> None:
            case.check_access(viewer, CONTRIBUTORS)
            today = self.today()
            case.record_action(
                action_id=derived_id("action", ctx.command_id),
                action=c.action,
                taken_on=c.taken_on or today,
                notes=c.notes,
                today=today,
            )

        return await self._cases.execute(Case, case_id, decide, ctx, key)

    async def refer(
        self,
        viewer: Viewer,
        case_id: str,
        c: ReferCase,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        to_agency_area = await self._agency_area(c.to_agency_id)

        def decide(case: Case) -> None:
            case.check_access(viewer, HANDLERS)
            today = self.today()
            case.refer(
                referral_id=derived_id("referral", ctx.command_id),
                to_agency_id=c.to_agency_id,
                to_agency_area=to_agency_area,
                reason=c.reason,
                referred_on=c.occurred_on or today,
                today=today,
            )

        return await self._cases.execute(Case, case_id, decide, ctx, key)

    async def answer_referral(
        self,
        viewer: Viewer,
        case_id: str,
        referral_id: str,
        c: AnswerReferral,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        if viewer.role is None:
            raise ForbiddenError("only an appointed officer of the agency may answer a referral")

        def decide(case: Case) -> None:
            today = self.today()
            case.answer_referral(
                referral_id=referral_id,
                by_agency_id=viewer.agency_id,
                accepted=c.accepted,
                reason=c.reason,
                answered_on=c.occurred_on or today,
                today=today,
            )

        return await self._cases.execute(Case, case_id, decide, ctx, key)

    async def extend_deadline(
        self,
        viewer: Viewer,
        case_id: str,
        c: ExtendDeadline,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        def decide(case: Case) -> None:
            case.check_access(viewer, HANDLERS)
            today = self.today()
            case.extend_deadline(
                extra_days=c.extra_days,
                reason=c.reason,
                extended_on=c.occurred_on or today,
                policy=self.policy,
                today=today,
            )

        return await self._cases.execute(Case, case_id, decide, ctx, key)

    async def escalate(
        self, viewer: Viewer, case_id: str, ctx: CommandContext
    ) -> CommandResult | None:
        """Escalate an overdue case once per due date missed; None if nothing was to do."""

        def decide(case: Case) -> None:
            case.check_access(viewer, SUPERVISORS)
            case.escalate_if_overdue(policy=self.policy, today=self.today())

        result = await self._cases.execute(Case, case_id, decide, ctx)
        return result if result.events or result.replayed else None

    async def close(
        self,
        viewer: Viewer,
        case_id: str,
        c: CloseCase,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        def decide(case: Case) -> None:
            case.check_access(viewer, HANDLERS)
            today = self.today()
            case.close(
                outcome=c.outcome,
                complainant_satisfied=c.complainant_satisfied,
                closed_on=c.closed_on or today,
                policy=self.policy,
                today=today,
            )

        return await self._cases.execute(Case, case_id, decide, ctx, key)

    async def reopen(
        self,
        viewer: Viewer,
        case_id: str,
        c: ReopenCase,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        def decide(case: Case) -> None:
            case.check_access(viewer, SUPERVISORS)
            today = self.today()
            case.reopen(
                reason=c.reason,
                reopened_on=c.occurred_on or today,
                policy=self.policy,
                today=today,
            )

        return await self._cases.execute(Case, case_id, decide, ctx, key)

    async def erase_complainant(self, worker_id: str, ctx: CommandContext) -> CommandResult:
        """The registry erased her: from this command on, no case can name her."""
        return await self._cases.execute(
            RegisteredComplainant, worker_id, RegisteredComplainant.erase, ctx
        )

    async def unlink_complainant(self, case_id: str, ctx: CommandContext) -> CommandResult:
        """A case of an erased complainant stops naming her (see `Case.erase_complainant`)."""
        stand_in = derived_id("erased-complainant", case_id)
        return await self._cases.execute(
            Case, case_id, lambda case: case.erase_complainant(stand_in=stand_in), ctx
        )

    async def record_view(
        self,
        viewer: Viewer,
        case_id: str,
        *,
        complainant_id: str,
        case_agency_id: str,
        basis: AccessBasis,
        purpose: str,
        ctx: CommandContext,
    ) -> CommandResult:
        """Written before the case is shown: a read that cannot be recorded does not happen."""
        return await self._cases.execute(
            CaseAccessLog,
            case_id,
            lambda log: log.record_view(
                complainant_id=complainant_id,
                case_agency_id=case_agency_id,
                viewer=viewer,
                basis=basis,
                purpose=purpose,
                at=self._now(),
            ),
            ctx,
        )

    # inspections -------------------------------------------------------------------------------

    async def record_inspection(
        self,
        viewer: Viewer,
        c: RecordInspection,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        if viewer.role is None:
            raise ForbiddenError("only an appointed officer of the agency may record inspections")
        today = self.today()
        return await self._inspections.execute(
            Inspection,
            derived_id("inspection", ctx.command_id),
            lambda i: i.record_inspection(
                agency_id=viewer.agency_id,
                employer_id=c.employer_id,
                employer_name=c.employer_name,
                area_code=c.area_code,
                inspected_on=c.inspected_on or today,
                findings=[Finding(**f.model_dump()) for f in c.findings],
                today=today,
            ),
            ctx,
            key,
        )

    async def rectify(
        self,
        viewer: Viewer,
        inspection_id: str,
        c: RectifyViolation,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        if viewer.role is None:
            raise ForbiddenError("only an appointed officer of the agency may record this")

        def decide(inspection: Inspection) -> None:
            inspection.check_agency(viewer.agency_id)
            today = self.today()
            inspection.rectify(rectified_on=c.rectified_on or today, today=today)

        return await self._inspections.execute(Inspection, inspection_id, decide, ctx, key)
