"""Read models of the rights service: case files, the access log, officers, inspections.

PII stays sealed in these tables (the API unseals only the rows it serves, after recording the
read). Overdue and due-soon figures depend on today, so they are computed when asked, from the
due dates the events carry.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, DateTime, Integer, String, Text

from jinguo_contracts.inspections import (
    EmployerViolationFoundV1,
    InspectionRecordedV1,
    ViolationRectifiedV1,
)
from jinguo_contracts.registry import WorkerErasedV1
from jinguo_contracts.rights import (
    CaseActionRecordedV1,
    CaseAssignedV1,
    CaseClosedV1,
    CaseComplainantErasedV1,
    CaseDeadlineExtendedV1,
    CaseEscalatedV1,
    CaseOpenedV1,
    CaseReferralAnsweredV1,
    CaseReferredV1,
    CaseReopenedV1,
    CaseViewedV1,
    OfficerAppointedV1,
)
from jinguo_shared.db import pii_keys
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch

Id = String(64)


class CaseFiles(Projection):
    name = "case_files"
    subjects = ("rights.case.>",)

    def define(self) -> None:
        self.cases = self.table(
            "cases",
            Column("case_id", Id, primary_key=True),
            Column("agency_id", Id, nullable=False, index=True),
            Column("area_code", String(12), nullable=False, index=True),
            Column("channel", String(20), nullable=False),
            Column("category", String(20), nullable=False),
            Column("urgency", String(10), nullable=False),
            Column("complainant_id", Id, nullable=False, index=True),
            Column("complainant_worker_id", Id, nullable=True),
            Column("complainant_name", Text, nullable=True),
            Column("complainant_phone", Text, nullable=True),
            Column("respondent_kind", String(20), nullable=False),
            Column("respondent_name", Text, nullable=True),
            Column("respondent_employer_id", Id, nullable=True),
            Column("summary", Text, nullable=True),
            Column("status", String(12), nullable=False),
            Column("officer_id", String(64), nullable=True),
            Column("opened_on", Date, nullable=False),
            Column("time_limit_days", Integer, nullable=False),
            Column("due_on", Date, nullable=False, index=True),
            Column("escalated_on", Date, nullable=True),
            Column("closed_on", Date, nullable=True),
            Column("outcome", String(24), nullable=True),
            Column("complainant_satisfied", Boolean, nullable=True),
            Column("working_days_taken", Integer, nullable=True),
            Column("on_time", Boolean, nullable=True),
            Column("opened_seq", BigInteger, nullable=False),
        )
        self.counts = self.table(
            "case_counts",
            Column("case_id", Id, primary_key=True),
            Column("actions", Integer, nullable=False, default=0),
            Column("extensions", Integer, nullable=False, default=0),
            Column("escalations", Integer, nullable=False, default=0),
            Column("reopenings", Integer, nullable=False, default=0),
        )
        self.actions = self.table(
            "case_actions",
            Column("case_id", Id, primary_key=True),
            Column("action_id", Id, primary_key=True),
            Column("action", String(20), nullable=False),
            Column("taken_on", Date, nullable=False),
            Column("complainant_id", Id, nullable=False),
            Column("notes", Text, nullable=True),
            Column("seq", BigInteger, nullable=False),
        )
        self.referrals = self.table(
            "referrals",
            Column("referral_id", Id, primary_key=True),
            Column("case_id", Id, nullable=False, index=True),
            Column("from_agency_id", Id, nullable=False),
            Column("to_agency_id", Id, nullable=False, index=True),
            Column("reason", Text, nullable=False),
            Column("referred_on", Date, nullable=False),
            Column("status", String(10), nullable=False),
            Column("answer_reason", Text, nullable=True),
            Column("answered_on", Date, nullable=True),
            Column("seq", BigInteger, nullable=False),
        )

    @handles(CaseOpenedV1)
    def _opened(self, e: CaseOpenedV1, event: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.upsert(
            self.cases,
            {
                "case_id": e.case_id,
                "agency_id": e.agency_id,
                "area_code": e.area_code,
                "channel": e.channel,
                "category": e.category,
                "urgency": e.urgency,
                "complainant_id": e.complainant_id,
                "complainant_worker_id": e.complainant_worker_id,
                "complainant_name": e.complainant_name,
                "complainant_phone": e.complainant_phone,
                "respondent_kind": e.respondent_kind,
                "respondent_name": e.respondent_name,
                "respondent_employer_id": e.respondent_employer_id,
                "summary": e.summary,
                "status": "open",
                "officer_id": None,
                "opened_on": e.opened_on,
                "time_limit_days": e.time_limit_days,
                "due_on": e.due_on,
                "escalated_on": None,
                "closed_on": None,
                "outcome": None,
                "complainant_satisfied": None,
                "working_days_taken": None,
                "on_time": None,
                "opened_seq": event.seq,
            },
        )

    def _count(self, batch: ProjectionBatch, case_id: str, column: str) -> None:
        deltas = {"actions": 0, "extensions": 0, "escalations": 0, "reopenings": 0}
        deltas[column] = 1
        batch.increment(self.counts, {"case_id": case_id}, deltas)

    @handles(CaseAssignedV1)
    def _assigned(self, e: CaseAssignedV1, _: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.update(
            self.cases,
            {"case_id": e.case_id},
            {"officer_id": e.officer_id, "status": "in_progress"},
        )

    @handles(CaseActionRecordedV1)
    def _action(
        self, e: CaseActionRecordedV1, event: RecordedEvent, batch: ProjectionBatch
    ) -> None:
        batch.upsert(
            self.actions,
            {
                "case_id": e.case_id,
                "action_id": e.action_id,
                "action": e.action,
                "taken_on": e.taken_on,
                "complainant_id": e.complainant_id,
                "notes": e.notes,
                "seq": event.seq,
            },
        )
        self._count(batch, e.case_id, "actions")

    @handles(CaseReferredV1)
    def _referred(self, e: CaseReferredV1, event: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.upsert(
            self.referrals,
            {
                "referral_id": e.referral_id,
                "case_id": e.case_id,
                "from_agency_id": e.from_agency_id,
                "to_agency_id": e.to_agency_id,
                "reason": e.reason,
                "referred_on": e.referred_on,
                "status": "pending",
                "answer_reason": None,
                "answered_on": None,
                "seq": event.seq,
            },
        )

    @handles(CaseReferralAnsweredV1)
    def _answered(
        self, e: CaseReferralAnsweredV1, _: RecordedEvent, batch: ProjectionBatch
    ) -> None:
        batch.update(
            self.referrals,
            {"referral_id": e.referral_id},
            {
                "status": "accepted" if e.accepted else "rejected",
                "answer_reason": e.reason,
                "answered_on": e.answered_on,
            },
        )

    @handles(CaseDeadlineExtendedV1)
    def _extended(
        self, e: CaseDeadlineExtendedV1, _: RecordedEvent, batch: ProjectionBatch
    ) -> None:
        batch.update(self.cases, {"case_id": e.case_id}, {"due_on": e.due_on})
        self._count(batch, e.case_id, "extensions")

    @handles(CaseEscalatedV1)
    def _escalated(self, e: CaseEscalatedV1, _: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.update(self.cases, {"case_id": e.case_id}, {"escalated_on": e.escalated_on})
        self._count(batch, e.case_id, "escalations")

    @handles(CaseClosedV1)
    def _closed(self, e: CaseClosedV1, _: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.update(
            self.cases,
            {"case_id": e.case_id},
            {
                "status": "closed",
                "closed_on": e.closed_on,
                "outcome": e.outcome,
                "complainant_satisfied": e.complainant_satisfied,
                "working_days_taken": e.working_days_taken,
                "on_time": e.on_time,
            },
        )

    @handles(CaseReopenedV1)
    def _reopened(self, e: CaseReopenedV1, _: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.update(
            self.cases,
            {"case_id": e.case_id},
            {
                "status": "in_progress" if e.officer_id else "open",
                "due_on": e.due_on,
                "time_limit_days": e.time_limit_days,
                "escalated_on": None,
                "closed_on": None,
                "outcome": None,
                "complainant_satisfied": None,
                "working_days_taken": None,
                "on_time": None,
            },
        )
        self._count(batch, e.case_id, "reopenings")

    @handles(CaseComplainantErasedV1)
    def _complainant_erased(
        self, e: CaseComplainantErasedV1, _: RecordedEvent, batch: ProjectionBatch
    ) -> None:
        """Nothing here names her any more; what was sealed for her goes (her key is gone)."""
        batch.update(
            self.cases,
            {"case_id": e.case_id},
            {
                "complainant_id": e.complainant_id,
                "complainant_worker_id": None,
                "complainant_name": None,
                "complainant_phone": None,
                "respondent_name": None,
                "summary": None,
            },
        )
        for action_id in e.action_ids:
            batch.update(
                self.actions,
                {"case_id": e.case_id, "action_id": action_id},
                {"complainant_id": e.complainant_id, "notes": None},
            )


class CaseViews(Projection):
    """Every read of every case: the history a complainant may ask for. Reads are found by
    case; whose case it is comes from case_files, so erasing her there unlinks them too."""

    name = "case_access_log"
    subjects = ("rights.access.>",)

    def define(self) -> None:
        self.views = self.table(
            "case_reads",
            Column("seq", BigInteger, primary_key=True),
            Column("case_id", Id, nullable=False, index=True),
            Column("case_agency_id", Id, nullable=False),
            Column("viewer_agency_id", Id, nullable=False),
            Column("officer_id", String(64), nullable=False),
            Column("basis", String(20), nullable=False),
            Column("purpose", Text, nullable=False),
            Column("viewed_at", DateTime(timezone=True), nullable=False),
            Column("emergency", Boolean, nullable=False),
        )

    @handles(CaseViewedV1)
    def _viewed(self, e: CaseViewedV1, event: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.upsert(
            self.views,
            {
                "seq": event.seq,
                "case_id": e.case_id,
                "case_agency_id": e.case_agency_id,
                "viewer_agency_id": e.viewer_agency_id,
                "officer_id": e.officer_id,
                "basis": e.basis,
                "purpose": e.purpose,
                "viewed_at": e.viewed_at,
                "emergency": e.emergency,
            },
        )


class OfficerRoster(Projection):
    name = "officer_roster"
    subjects = ("rights.officer.>",)

    def define(self) -> None:
        self.officers = self.table(
            "officers",
            Column("agency_id", Id, primary_key=True),
            Column("officer_id", String(64), primary_key=True),
            Column("role", String(12), nullable=False),
        )

    @handles(OfficerAppointedV1)
    def _appointed(self, e: OfficerAppointedV1, _: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.upsert(
            self.officers, {"agency_id": e.agency_id, "officer_id": e.officer_id, "role": e.role}
        )


class InspectionRegister(Projection):
    """Inspections and what became of their findings (the INSPECTIONS stream, not confidential)."""

    name = "inspection_register"
    subjects = ("inspections.inspection.>",)

    def define(self) -> None:
        self.inspections = self.table(
            "inspections",
            Column("inspection_id", Id, primary_key=True),
            Column("agency_id", Id, nullable=False, index=True),
            Column("employer_id", Id, nullable=False, index=True),
            Column("employer_name", String(200), nullable=False),
            Column("area_code", String(12), nullable=False, index=True),
            Column("inspected_on", Date, nullable=False),
            Column("findings", JSON, nullable=False),
            Column("violations", JSON, nullable=False),
            Column("status", String(12), nullable=False),
            Column("rectified_on", Date, nullable=True),
            Column("seq", BigInteger, nullable=False),
        )

    @handles(InspectionRecordedV1)
    def _recorded(
        self, e: InspectionRecordedV1, event: RecordedEvent, batch: ProjectionBatch
    ) -> None:
        violations = [f.topic for f in e.findings if not f.compliant]
        batch.upsert(
            self.inspections,
            {
                "inspection_id": e.inspection_id,
                "agency_id": e.agency_id,
                "employer_id": e.employer_id,
                "employer_name": e.employer_name,
                "area_code": e.area_code,
                "inspected_on": e.inspected_on,
                "findings": [f.model_dump(mode="json") for f in e.findings],
                "violations": violations,
                "status": "violation" if violations else "compliant",
                "rectified_on": None,
                "seq": event.seq,
            },
        )

    @handles(EmployerViolationFoundV1)
    def _found(self, e: EmployerViolationFoundV1, _: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.update(
            self.inspections,
            {"inspection_id": e.inspection_id},
            {"violations": list(e.violations), "status": "violation"},
        )

    @handles(ViolationRectifiedV1)
    def _rectified(self, e: ViolationRectifiedV1, _: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.update(
            self.inspections,
            {"inspection_id": e.inspection_id},
            {"status": "rectified", "rectified_on": e.rectified_on},
        )


class ComplainantErasure(Projection):
    """A registered worker erased by the registry (`WorkerErased`) is erased here too: her key
    in this service's vault goes, so her cases' personal data becomes unreadable everywhere.
    It keeps no table of its own; a replay deletes the same keys again."""

    name = "complainant_erasure"
    subjects = ("registry.worker.*.WorkerErased",)

    def define(self) -> None:
        pass

    @handles(WorkerErasedV1)
    def _erased(self, e: WorkerErasedV1, _: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.delete(pii_keys, {"subject_id": e.worker_id})


RIGHTS_PROJECTIONS: tuple[type[Projection], ...] = (
    CaseFiles,
    CaseViews,
    OfficerRoster,
    InspectionRegister,
    ComplainantErasure,
)
