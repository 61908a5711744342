"""The job-seeker pool (求职人员库), learned from the registry's events and the employment
service's own: who wants what work, where, with which certificates and priority status.

Employment never calls the registry. Tables fed by different streams are kept apart, so the
pool is the same whichever stream a consumer reads first. It holds ids, no sealed personal data;
when the registry erases a worker, her row and her hard-to-employ status go, and she is listed
among the erased, which every read of employment's other tables consults (those rows are keyed
by posts, courses and placements, so a replay may write them after her erasure).
"""

from __future__ import annotations

from typing import get_args

from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, Index, Integer, String

from jinguo_contracts.employment import CertificateAwardedV1, PlacementEndedV1, PlacementStartedV1
from jinguo_contracts.registry import (
    Category,
    CertificateIssuedV1,
    CertificateRevokedV1,
    WorkerCategoryAssessedV1,
    WorkerErasedV1,
    WorkerProfileUpdatedV1,
    WorkerRegisteredV1,
)
from jinguo_shared.db import pii_keys
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch


class SeekerPool(Projection):
    name = "seeker_pool"
    subjects = (
        "registry.worker.>",
        "employment.worker.*.PlacementStarted",
        "employment.worker.*.PlacementEnded",
        "employment.course.*.CertificateAwarded",
    )

    def define(self) -> None:
        self.seekers = self.table(
            "seekers",
            Column("worker_id", String(36), primary_key=True),
            Column("area_code", String(12), nullable=False),
            Column("gender", String(6), nullable=False),
            Column("birth_date", Date, nullable=False),
            Column("occupation_codes", JSON, nullable=False),
            Column("hours_types", JSON, nullable=False),
            Column("skills", JSON, nullable=False),
            Column("registered_on", Date, nullable=False),
            Column("status", String(12), nullable=False),
            Column("seq", BigInteger, nullable=False),
        )
        Index(f"ix_seekers_area_g{self.generation}", self.seekers.c.area_code)
        Index(f"ix_seekers_seq_g{self.generation}", self.seekers.c.seq)
        self.occupations = self.table(
            "seeker_occupations",
            Column("occupation_code", String(12), primary_key=True),
            Column("worker_id", String(36), primary_key=True),
        )
        """Who may want an occupation (wanted, or certified in it): a superset that matching
        narrows with each seeker's current profile."""
        self.categories = self.table(
            "seeker_categories",
            Column("worker_id", String(36), primary_key=True),
            Column("category", String(32), primary_key=True),
            Column("valid_until", Date, nullable=False),
        )
        self.certificates = self.table(
            "seeker_certificates",
            Column("worker_id", String(36), primary_key=True),
            Column("number", String(40), primary_key=True),
            Column("kind", String(32), nullable=False),
            Column("occupation_code", String(12)),
            Column("level", Integer),
            Column("active", Boolean, nullable=False),
        )
        self.placements = self.table(
            "seeker_placements",
            Column("placement_id", String(64), primary_key=True),
            Column("worker_id", String(36), nullable=False, index=True),
            Column("hours_type", String(12), nullable=False),
            Column("start_date", Date, nullable=False),
            Column("ended_on", Date),
        )
        self.erased = self.table(
            "erased_workers", Column("worker_id", String(36), primary_key=True)
        )

    @handles(WorkerRegisteredV1)
    def _registered(self, e: WorkerRegisteredV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        codes = list(e.desired_work.occupation_codes)
        b.upsert(
            self.seekers,
            {
                "worker_id": e.worker_id,
                "area_code": e.area_code,
                "gender": e.gender,
                "birth_date": e.birth_date,
                "occupation_codes": codes,
                "hours_types": list(e.desired_work.hours_types),
                "skills": list(e.skills),
                "registered_on": at.envelope.time.date(),
                "status": "registered",
                "seq": at.seq,
            },
        )
        for code in codes:
            b.upsert(self.occupations, {"occupation_code": code, "worker_id": e.worker_id})

    @handles(WorkerProfileUpdatedV1)
    def _updated(self, e: WorkerProfileUpdatedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        changes: dict[str, object] = {}
        if e.area_code is not None:
            changes["area_code"] = e.area_code
        if e.skills is not None:
            changes["skills"] = list(e.skills)
        if e.desired_work is not None:
            changes["occupation_codes"] = list(e.desired_work.occupation_codes)
            changes["hours_types"] = list(e.desired_work.hours_types)
            for code in e.desired_work.occupation_codes:
                b.upsert(self.occupations, {"occupation_code": code, "worker_id": e.worker_id})
        if changes:
            b.update(self.seekers, {"worker_id": e.worker_id}, changes)

    @handles(WorkerCategoryAssessedV1)
    def _assessed(self, e: WorkerCategoryAssessedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.categories,
            {"worker_id": e.worker_id, "category": e.category, "valid_until": e.valid_until},
        )

    @handles(CertificateIssuedV1)
    def _issued(self, e: CertificateIssuedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._certificate(b, e.worker_id, e.number, e.kind, e.occupation_code, e.level)

    @handles(CertificateAwardedV1)
    def _awarded(self, e: CertificateAwardedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._certificate(
            b, e.worker_id, e.certificate_no, "vocational", e.occupation_code, e.level
        )

    def _certificate(
        self,
        b: ProjectionBatch,
        worker_id: str,
        number: str,
        kind: str,
        occupation_code: str | None,
        level: int | None,
    ) -> None:
        b.upsert(
            self.certificates,
            {
                "worker_id": worker_id,
                "number": number,
                "kind": kind,
                "occupation_code": occupation_code,
                "level": level,
                "active": True,
            },
        )
        if occupation_code:
            b.upsert(self.occupations, {"occupation_code": occupation_code, "worker_id": worker_id})

    @handles(CertificateRevokedV1)
    def _revoked(self, e: CertificateRevokedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.certificates, {"worker_id": e.worker_id, "number": e.number}, {"active": False}
        )

    @handles(WorkerErasedV1)
    def _erased(self, e: WorkerErasedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        """Her birth date, gender, community, skills and statuses go with her row, and her key
        with them."""
        b.delete(self.seekers, {"worker_id": e.worker_id})
        for category in get_args(Category):
            b.delete(self.categories, {"worker_id": e.worker_id, "category": category})
        b.upsert(self.erased, {"worker_id": e.worker_id})
        # her key in this service: what it sealed (a loan's guarantor) becomes unreadable
        b.delete(pii_keys, {"subject_id": e.worker_id})

    @handles(PlacementStartedV1)
    def _placed(self, e: PlacementStartedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.placements,
            {
                "placement_id": e.placement_id,
                "worker_id": e.worker_id,
                "hours_type": e.hours_type,
                "start_date": e.start_date,
                "ended_on": None,
            },
        )

    @handles(PlacementEndedV1)
    def _ended(self, e: PlacementEndedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(self.placements, {"placement_id": e.placement_id}, {"ended_on": e.ended_on})
