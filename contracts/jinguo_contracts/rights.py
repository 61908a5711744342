"""Events published by the rights service on `rights.>` (stream RIGHTS), confidential.

No other service's NATS user can read this stream. The complainant's personal data, the
respondent's name, the summary and the notes of actions are sealed with the complainant's key
(`complainant_id`): erasing her destroys them everywhere. What other services need (employer
violations) is published on `inspections.>` instead.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import Field

from jinguo_contracts.base import CATALOGUE, EventContract, OptionalPii, Pii

Channel = Literal["hotline_12338", "visit", "letter", "online", "referral"]
"""12338 妇女维权公益服务热线, 来访, 来信, 网上, 转介."""
CaseCategory = Literal["labour", "domestic_violence", "marriage_family", "property", "other"]
"""劳动权益, 家庭暴力, 婚姻家庭, 财产权益, 其他."""
Urgency = Literal["normal", "urgent", "emergency"]
ActionKind = Literal[
    "mediation", "legal_aid", "police_referral", "court", "protection_order", "counselling"
]
"""调解, 法律援助, 报警/转公安, 诉讼, 人身安全保护令, 心理疏导."""
Outcome = Literal[
    "resolved",
    "mediated",
    "violence_stopped",
    "legal_aid_granted",
    "judgment",
    "referred_elsewhere",
    "withdrawn",
    "unfounded",
]
RespondentKind = Literal["employer", "person", "organisation"]
AccessBasis = Literal["assigned_officer", "supervisor", "accepted_referral", "emergency"]
OfficerRole = Literal["officer", "supervisor"]


class _Case(EventContract):
    service: ClassVar[str] = "rights"
    aggregate: ClassVar[str] = "case"
    pii_subject_field: ClassVar[str | None] = "complainant_id"
    case_id: str


class CaseOpenedV1(_Case):
    """Intake (受理): who complains about whom, and by when the case must be handled."""

    event_type: ClassVar[str] = "CaseOpened"
    agency_id: str = Field(description="the agency that took the case in and owns it")
    area_code: str
    channel: Channel
    category: CaseCategory
    urgency: Urgency
    complainant_id: str = Field(description="her worker id if registered, else a rights-only id")
    complainant_worker_id: str | None = None
    complainant_name: Pii
    complainant_phone: OptionalPii
    respondent_kind: RespondentKind
    respondent_name: Pii
    respondent_employer_id: str | None = None
    summary: Pii
    opened_on: date
    station_id: str | None = Field(
        default=None, description="the station of the register that took it, if one did"
    )
    time_limit_days: int = Field(description="working days allowed, by channel and category")
    due_on: date


class CaseAssignedV1(_Case):
    event_type: ClassVar[str] = "CaseAssigned"
    officer_id: str
    assigned_on: date


class CaseActionRecordedV1(_Case):
    event_type: ClassVar[str] = "CaseActionRecorded"
    action_id: str
    action: ActionKind
    taken_on: date
    complainant_id: str
    notes: Pii


class CaseReferredV1(_Case):
    """Sent to another agency (转介), which accepts or rejects it."""

    event_type: ClassVar[str] = "CaseReferred"
    referral_id: str
    from_agency_id: str
    to_agency_id: str
    reason: str
    referred_on: date


class CaseReferralAnsweredV1(_Case):
    event_type: ClassVar[str] = "CaseReferralAnswered"
    referral_id: str
    to_agency_id: str
    accepted: bool
    reason: str
    answered_on: date


class CaseDeadlineExtendedV1(_Case):
    event_type: ClassVar[str] = "CaseDeadlineExtended"
    extra_days: int = Field(description="working days added")
    reason: str
    extended_on: date
    due_on: date = Field(description="the new due date")


class CaseEscalatedV1(_Case):
    """Overdue: raised to the owning agency's supervisors (督办)."""

    event_type: ClassVar[str] = "CaseEscalated"
    due_on: date
    escalated_on: date
    overdue_days: int = Field(description="working days past the due date")


class CaseClosedV1(_Case):
    """Every case ends with an outcome (办结)."""

    event_type: ClassVar[str] = "CaseClosed"
    outcome: Outcome
    complainant_satisfied: bool | None = Field(description="None when she was not asked")
    closed_on: date
    working_days_taken: int
    on_time: bool


class CaseReopenedV1(_Case):
    event_type: ClassVar[str] = "CaseReopened"
    officer_id: str | None = Field(description="the officer still assigned, if any")
    reason: str
    reopened_on: date
    time_limit_days: int
    due_on: date


class CaseComplainantErasedV1(_Case):
    """The complainant was erased (registry `WorkerErased`): the case no longer names her.

    From now on the case's complainant is `complainant_id`, an id derived from the case that
    names no one; what was sealed with her key is gone with it."""

    event_type: ClassVar[str] = "CaseComplainantErased"
    complainant_id: str
    action_ids: list[str] = Field(description="the actions whose notes were sealed for her")


class CaseViewedV1(EventContract):
    """Every read of a case: who, when, why, and on what grounds (an emergency is flagged)."""

    service: ClassVar[str] = "rights"
    aggregate: ClassVar[str] = "access"
    event_type: ClassVar[str] = "CaseViewed"
    case_id: str
    complainant_id: str
    case_agency_id: str
    viewer_agency_id: str
    officer_id: str
    basis: AccessBasis
    purpose: str
    viewed_at: datetime
    emergency: bool


class _Complainant(EventContract):
    """A registered worker as complainant: what keeps erasing her in step with new cases."""

    service: ClassVar[str] = "rights"
    aggregate: ClassVar[str] = "complainant"
    complainant_id: str = Field(description="her registry worker id")


class ComplainantCaseOpenedV1(_Complainant):
    event_type: ClassVar[str] = "ComplainantCaseOpened"
    case_id: str


class ComplainantErasedV1(_Complainant):
    """The registry erased her: no case may name her again, and her cases are unlinked."""

    event_type: ClassVar[str] = "ComplainantErased"


class OfficerAppointedV1(EventContract):
    """An agency names one of its staff as a case officer or a supervisor (or changes the role)."""

    service: ClassVar[str] = "rights"
    aggregate: ClassVar[str] = "officer"
    event_type: ClassVar[str] = "OfficerAppointed"
    officer_key: str
    agency_id: str
    officer_id: str
    role: OfficerRole


CATALOGUE.register(
    CaseOpenedV1,
    CaseAssignedV1,
    CaseActionRecordedV1,
    CaseReferredV1,
    CaseReferralAnsweredV1,
    CaseDeadlineExtendedV1,
    CaseEscalatedV1,
    CaseClosedV1,
    CaseReopenedV1,
    CaseComplainantErasedV1,
    CaseViewedV1,
    ComplainantCaseOpenedV1,
    ComplainantErasedV1,
    OfficerAppointedV1,
)
