"""What the certificate rules read (应发尽发, 年审): each worker's registration, open spells of
work, categories and certificates with their reviews. No personal field is kept: the lists it serves
name her by id."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, String

from jinguo_contracts.registry import (
    CertificateIssuedV1,
    CertificateReviewedV1,
    CertificateRevokedV1,
    ReemploymentSpellEndedV1,
    ReemploymentSpellStartedV1,
    WorkerCategoryAssessedV1,
    WorkerErasedV1,
    WorkerProfileUpdatedV1,
    WorkerReemployedV1,
    WorkerRegisteredV1,
)
from jinguo_shared.clock import business_day
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch


class CertificateEntitlement(Projection):
    name = "certificate_entitlement"
    subjects = ("registry.worker.>",)

    def define(self) -> None:
        self.people = self.table(
            "entitlement_people",
            Column("worker_id", String(36), primary_key=True),
            Column("area_code", String(12), nullable=False, index=True),
            Column("gender", String(6), nullable=False),
            Column("birth_date", Date, nullable=False),
            Column("hukou", String(8), nullable=False),
            Column("registered_on", Date, nullable=False),
            Column("registered_seq", BigInteger, nullable=False),
        )
        self.open_spells = self.table(
            "entitlement_open_spells",
            Column("worker_id", String(36), primary_key=True),
            Column("spell_id", String(64), primary_key=True),
        )
        self.categories = self.table(
            "entitlement_categories",
            Column("worker_id", String(36), primary_key=True),
            Column("category", String(32), primary_key=True),
            Column("valid_until", Date, nullable=False),
        )
        self.certificates = self.table(
            "entitlement_certificates",
            Column("worker_id", String(36), primary_key=True),
            Column("number", String(40), primary_key=True),
            Column("kind", String(32), nullable=False),
            Column("issued_on", Date, nullable=False),
            Column("valid_until", Date),
            Column("status", String(9), nullable=False, doc="active, revoked or withdrawn"),
            Column("reviewed_on", Date, doc="its latest review"),
        )

    @handles(WorkerRegisteredV1)
    def _registered(self, e: WorkerRegisteredV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.people,
            {
                "worker_id": e.worker_id,
                "area_code": e.area_code,
                "gender": e.gender,
                "birth_date": e.birth_date,
                "hukou": e.hukou,
                "registered_on": business_day(e.occurred_on, at.envelope.time),
                "registered_seq": at.seq,
            },
        )

    @handles(WorkerProfileUpdatedV1)
    def _moved(self, e: WorkerProfileUpdatedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        if e.area_code is not None:
            b.update(self.people, {"worker_id": e.worker_id}, {"area_code": e.area_code})

    @handles(WorkerCategoryAssessedV1)
    def _assessed(self, e: WorkerCategoryAssessedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.categories,
            {"worker_id": e.worker_id, "category": e.category, "valid_until": e.valid_until},
        )

    @handles(WorkerReemployedV1)
    def _placed(self, e: WorkerReemployedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        """Recorded before spells: a placement spell whose id is the placement's."""
        b.upsert(self.open_spells, {"worker_id": e.worker_id, "spell_id": e.placement_id})

    @handles(ReemploymentSpellStartedV1)
    def _working(self, e: ReemploymentSpellStartedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(self.open_spells, {"worker_id": e.worker_id, "spell_id": e.spell_id})

    @handles(ReemploymentSpellEndedV1)
    def _unemployed(
        self, e: ReemploymentSpellEndedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        b.delete(self.open_spells, {"worker_id": e.worker_id, "spell_id": e.spell_id})

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
                "status": "active",
                "reviewed_on": None,
            },
        )

    @handles(CertificateRevokedV1)
    def _revoked(self, e: CertificateRevokedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.certificates, {"worker_id": e.worker_id, "number": e.number}, {"status": "revoked"}
        )

    @handles(CertificateReviewedV1)
    def _reviewed(self, e: CertificateReviewedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        key = {"worker_id": e.worker_id, "number": e.number}
        if e.outcome == "renewed":
            b.update(
                self.certificates, key, {"reviewed_on": e.reviewed_on, "valid_until": e.valid_until}
            )
        else:
            b.update(self.certificates, key, {"reviewed_on": e.reviewed_on, "status": "withdrawn"})

    @handles(WorkerErasedV1)
    def _erased(self, e: WorkerErasedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        """Nothing of hers stays; her certificates leave the lists and their counts."""
        b.delete(self.people, {"worker_id": e.worker_id})
        for table in (self.open_spells, self.categories, self.certificates):
            b.delete_all(table, "worker_id", e.worker_id)
