"""Worker directory (with categories, visits, re-employment spells, benefit) and the
certificates register."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Date, Index, Integer, String

from jinguo_contracts.registry import (
    CertificateIssuedV1,
    CertificateReviewedV1,
    CertificateRevokedV1,
    HomeVisitRecordedV1,
    ReemploymentSpellEndedV1,
    ReemploymentSpellStartedV1,
    ResidentErasedV1,
    UnemploymentBenefitEndedV1,
    UnemploymentBenefitGrantedV1,
    UnemploymentReregisteredV1,
    WorkerCategoryAssessedV1,
    WorkerErasedV1,
    WorkerProfileUpdatedV1,
    WorkerReemployedV1,
    WorkerRegisteredV1,
)
from jinguo_shared.clock import business_day
from jinguo_shared.db import pii_keys
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch

Sealed = String(400)
"""PII columns hold the sealed value from the event; the API unseals only what it serves."""


class WorkerDirectory(Projection):
    name = "worker_directory"
    subjects = ("registry.worker.>",)

    def define(self) -> None:
        self.workers = self.table(
            "workers",
            Column("worker_id", String(36), primary_key=True),
            Column("name", Sealed),
            Column("national_id", Sealed),
            Column("phone", Sealed),
            Column("gender", String(6), nullable=False),
            Column("birth_date", Date, nullable=False),
            Column("area_code", String(12), nullable=False),
            Column("hukou", String(8), nullable=False),
            Column("skills", JSON, nullable=False),
            Column("desired_work", JSON, nullable=False),
            Column("status", String(16), nullable=False),
            Column("registered_seq", BigInteger, nullable=False),
            Column("registered_on", Date, nullable=False),
            Column("reemployed_on", Date),
            Column("station_id", String(36)),
            Column("unemployed_again_on", Date),
            Column("benefit_from", Date),
            Column("benefit_until", Date),
            Column("benefit_monthly_yuan", Integer),
        )
        Index(
            f"ix_workers_area_g{self.generation}",
            self.workers.c.area_code,
            self.workers.c.registered_seq,
        )
        self.categories = self.table(
            "worker_categories",
            Column("worker_id", String(36), primary_key=True),
            Column("category", String(32), primary_key=True),
            Column("evidence", Sealed),
            Column("valid_until", Date, nullable=False),
            Column("assessed_on", Date, nullable=False),
        )
        self.visits = self.table(
            "home_visits",
            Column("visit_id", String(36), primary_key=True),
            Column("worker_id", String(36), nullable=False, index=True),
            Column("visited_on", Date, nullable=False),
            Column("visitor", String(100), nullable=False),
            Column("notes", Sealed),
        )
        self.reemployments = self.table(
            "reemployments",
            Column("placement_id", String(64), primary_key=True),
            Column("worker_id", String(36), nullable=False, index=True),
            Column("post_id", String(64), nullable=False),
            Column("employer_name", String(100), nullable=False),
            Column("started_on", Date, nullable=False),
        )
        self.spells = self.table(
            "reemployment_spells",
            Column("spell_id", String(64), primary_key=True),
            Column("worker_id", String(36), nullable=False, index=True),
            Column("kind", String(16), nullable=False),
            Column("started_on", Date, nullable=False),
            Column("ended_on", Date),
            Column("end_reason", String(500)),
            Column("employer_name", String(100)),
            Column("post_id", String(64)),
            Column("placement_id", String(64)),
            Column("hours_type", String(12)),
            Column("business", JSON),
        )

    @handles(WorkerRegisteredV1)
    def _registered(self, e: WorkerRegisteredV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.workers,
            {
                "worker_id": e.worker_id,
                "name": e.name,
                "national_id": e.national_id,
                "phone": e.phone,
                "gender": e.gender,
                "birth_date": e.birth_date,
                "area_code": e.area_code,
                "hukou": e.hukou,
                "skills": e.skills,
                "desired_work": e.desired_work.model_dump(),
                "status": "registered",
                "registered_seq": at.seq,
                "registered_on": business_day(e.occurred_on, at.envelope.time),
                "reemployed_on": None,
                "station_id": e.station_id,
                "unemployed_again_on": None,
                "benefit_from": None,
                "benefit_until": None,
                "benefit_monthly_yuan": None,
            },
        )

    @handles(WorkerProfileUpdatedV1)
    def _updated(self, e: WorkerProfileUpdatedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        changes = {
            "phone": e.phone,
            "area_code": e.area_code,
            "skills": e.skills,
            "desired_work": e.desired_work.model_dump() if e.desired_work else None,
        }
        b.update(
            self.workers,
            {"worker_id": e.worker_id},
            {k: v for k, v in changes.items() if v is not None},
        )

    @handles(WorkerCategoryAssessedV1)
    def _assessed(self, e: WorkerCategoryAssessedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.categories,
            {
                "worker_id": e.worker_id,
                "category": e.category,
                "evidence": e.evidence,
                "valid_until": e.valid_until,
                "assessed_on": business_day(e.occurred_on, at.envelope.time),
            },
        )

    @handles(HomeVisitRecordedV1)
    def _visited(self, e: HomeVisitRecordedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.visits,
            {
                "visit_id": e.visit_id,
                "worker_id": e.worker_id,
                "visited_on": e.visited_on,
                "visitor": e.visitor,
                "notes": e.notes,
            },
        )

    @handles(WorkerReemployedV1)
    def _reemployed(self, e: WorkerReemployedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        """Recorded before spells: a placement spell started."""
        self._placement(e.worker_id, e.placement_id, e.post_id, e.employer_name, e.started_on, b)
        self._spell_started(
            b,
            {
                "spell_id": e.placement_id,
                "worker_id": e.worker_id,
                "kind": "placement",
                "started_on": e.started_on,
                "employer_name": e.employer_name,
                "post_id": e.post_id,
                "placement_id": e.placement_id,
            },
        )

    @handles(ReemploymentSpellStartedV1)
    def _started(self, e: ReemploymentSpellStartedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        if e.placement_id is not None and e.post_id is not None and e.employer_name is not None:
            self._placement(
                e.worker_id, e.placement_id, e.post_id, e.employer_name, e.started_on, b
            )
        self._spell_started(
            b,
            {
                "spell_id": e.spell_id,
                "worker_id": e.worker_id,
                "kind": e.kind,
                "started_on": e.started_on,
                "employer_name": e.employer_name,
                "post_id": e.post_id,
                "placement_id": e.placement_id,
                "hours_type": e.hours_type,
                "business": e.business.model_dump() if e.business else None,
            },
        )

    def _placement(
        self,
        worker_id: str,
        placement_id: str,
        post_id: str,
        employer_name: str,
        started_on: date,
        b: ProjectionBatch,
    ) -> None:
        b.upsert(
            self.reemployments,
            {
                "placement_id": placement_id,
                "worker_id": worker_id,
                "post_id": post_id,
                "employer_name": employer_name,
                "started_on": started_on,
            },
        )

    def _spell_started(self, b: ProjectionBatch, spell: dict[str, Any]) -> None:
        b.upsert(
            self.spells,
            {
                "ended_on": None,
                "end_reason": None,
                "hours_type": None,
                "business": None,
                **spell,
            },
        )
        b.update(
            self.workers,
            {"worker_id": spell["worker_id"]},
            {"status": "reemployed", "reemployed_on": spell["started_on"]},
        )

    @handles(ReemploymentSpellEndedV1)
    def _ended(self, e: ReemploymentSpellEndedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.spells, {"spell_id": e.spell_id}, {"ended_on": e.ended_on, "end_reason": e.reason}
        )

    @handles(UnemploymentReregisteredV1)
    def _unemployed_again(
        self, e: UnemploymentReregisteredV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        b.update(
            self.workers,
            {"worker_id": e.worker_id},
            {"status": "unemployed_again", "unemployed_again_on": e.occurred_on},
        )

    @handles(UnemploymentBenefitGrantedV1)
    def _benefit(
        self, e: UnemploymentBenefitGrantedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        b.update(
            self.workers,
            {"worker_id": e.worker_id},
            {
                "benefit_from": e.from_on,
                "benefit_until": e.until,
                "benefit_monthly_yuan": e.monthly_yuan,
            },
        )

    @handles(UnemploymentBenefitEndedV1)
    def _benefit_ended(
        self, e: UnemploymentBenefitEndedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        b.update(self.workers, {"worker_id": e.worker_id}, {"benefit_until": e.ended_on})

    @handles(WorkerErasedV1)
    def _erased(self, e: WorkerErasedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        """Nothing of hers stays: her birth date, gender and community would still single her
        out, her categories (低保…) and visits still describe her. Counts stay in AreaReports."""
        b.delete(self.workers, {"worker_id": e.worker_id})
        for table in (self.categories, self.visits, self.reemployments, self.spells):
            b.delete_all(table, "worker_id", e.worker_id)


class CertificateRegister(Projection):
    name = "certificates"
    subjects = (
        "registry.worker.*.CertificateIssued",
        "registry.worker.*.CertificateRevoked",
        "registry.worker.*.CertificateReviewed",
        "registry.worker.*.WorkerErased",
    )

    def define(self) -> None:
        self.certificates = self.table(
            "certificates",
            Column("worker_id", String(36), primary_key=True),
            Column("number", String(40), primary_key=True),
            Column("kind", String(32), nullable=False, index=True),
            Column("issued_on", Date, nullable=False),
            Column("valid_until", Date),
            Column("occupation_code", String(12)),
            Column("code_system", String(20)),
            Column("level", Integer),
            Column("area_code", String(12), nullable=False, index=True),
            Column("status", String(9), nullable=False),
            Column("revoked_reason", String(2000)),
            Column("reviewed_on", Date),
            Column("relief", JSON),
        )

    @handles(CertificateIssuedV1)
    def _issued(self, e: CertificateIssuedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.certificates,
            {
                "worker_id": e.worker_id,
                "number": e.number,
                "kind": e.kind,
                "issued_on": e.issued_on,
                "valid_until": e.valid_until,
                "occupation_code": e.occupation_code,
                "code_system": e.code_system,
                "level": e.level,
                "area_code": e.area_code,
                "status": "active",
                "revoked_reason": None,
                "reviewed_on": None,
                "relief": e.relief.model_dump() if e.relief else None,
            },
        )

    @handles(CertificateRevokedV1)
    def _revoked(self, e: CertificateRevokedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.certificates,
            {"worker_id": e.worker_id, "number": e.number},
            {"status": "revoked", "revoked_reason": e.reason},
        )

    @handles(CertificateReviewedV1)
    def _reviewed(self, e: CertificateReviewedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        key = {"worker_id": e.worker_id, "number": e.number}
        if e.outcome == "renewed":
            b.update(
                self.certificates, key, {"reviewed_on": e.reviewed_on, "valid_until": e.valid_until}
            )
        else:
            b.update(
                self.certificates,
                key,
                {"reviewed_on": e.reviewed_on, "status": "withdrawn", "revoked_reason": e.reason},
            )

    @handles(WorkerErasedV1)
    def _erased(self, e: WorkerErasedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        """A certificate's number and dates under her id say who she is and what she holds."""
        b.delete_all(self.certificates, "worker_id", e.worker_id)


class ErasedKeys(Projection):
    """Deletes the key of every person erased, again: the command that erases her deletes it
    at once, but a process that died between the event and the deletion would leave it, and
    a database restored from a backup brings it back (with the checkpoint of that day, so the
    erasures made since are applied again). It keeps no table of its own."""

    name = "erased_keys"
    subjects = ("registry.worker.*.WorkerErased", "registry.resident.*.ResidentErased")

    def define(self) -> None:
        pass

    @handles(WorkerErasedV1, ResidentErasedV1)
    def _erased(
        self, e: WorkerErasedV1 | ResidentErasedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        subject_id = e.worker_id if isinstance(e, WorkerErasedV1) else e.resident_id
        b.delete(pii_keys, {"subject_id": subject_id})
