"""Residents (with their price tier), service providers and volunteers, for lists by area."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, Integer, String

from jinguo_contracts.registry import (
    ProviderGradedV1,
    ProviderRegisteredV1,
    ProviderReinstatedV1,
    ProviderSuspendedV1,
    ResidentEligibilityChangedV1,
    ResidentErasedV1,
    ResidentRegisteredV1,
    VolunteerRegisteredV1,
)
from jinguo_registry.projections.workers import Sealed
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch


class CommunityDirectory(Projection):
    name = "community_directory"
    subjects = ("registry.resident.>", "registry.provider.>", "registry.volunteer.>")

    def define(self) -> None:
        self.residents = self.table(
            "residents",
            Column("resident_id", String(36), primary_key=True),
            Column("name", Sealed),
            Column("phone", Sealed),
            Column("address", Sealed),
            Column("birth_date", Date, nullable=False),
            Column("area_code", String(12), nullable=False, index=True),
            Column("price_tier", String(10), nullable=False),
            Column("eligibility_reason", String(32), nullable=False),
            Column("valid_until", Date),
            Column("status", String(12), nullable=False),
            Column("seq", BigInteger, nullable=False),
        )
        self.providers = self.table(
            "providers",
            Column("provider_id", String(36), primary_key=True),
            Column("name", String(200), nullable=False),
            Column("credit_code", String(18), nullable=False),
            Column("area_code", String(12), nullable=False, index=True),
            Column("services", JSON, nullable=False),
            Column("women_led", Boolean, nullable=False),
            Column("grade", Integer),
            Column("graded_on", Date),
            Column("status", String(12), nullable=False),
            Column("seq", BigInteger, nullable=False),
        )
        self.volunteers = self.table(
            "volunteers",
            Column("volunteer_id", String(36), primary_key=True),
            Column("name", Sealed),
            Column("phone", Sealed),
            Column("area_code", String(12), nullable=False, index=True),
            Column("skills", JSON, nullable=False),
            Column("team", String(100)),
            Column("seq", BigInteger, nullable=False),
        )

    @handles(ResidentRegisteredV1)
    def _resident(self, e: ResidentRegisteredV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.residents,
            {
                "resident_id": e.resident_id,
                "name": e.name,
                "phone": e.phone,
                "address": e.address,
                "birth_date": e.birth_date,
                "area_code": e.area_code,
                "price_tier": "market",
                "eligibility_reason": "none",
                "valid_until": None,
                "status": "registered",
                "seq": at.seq,
            },
        )

    @handles(ResidentEligibilityChangedV1)
    def _eligibility(
        self, e: ResidentEligibilityChangedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        b.update(
            self.residents,
            {"resident_id": e.resident_id},
            {
                "price_tier": e.price_tier,
                "eligibility_reason": e.reason,
                "valid_until": e.valid_until,
            },
        )

    @handles(ResidentErasedV1)
    def _resident_erased(self, e: ResidentErasedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        """Her birth date, community and 低保/特困 status would stay linked to her id."""
        b.delete(self.residents, {"resident_id": e.resident_id})

    @handles(ProviderRegisteredV1)
    def _provider(self, e: ProviderRegisteredV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.providers,
            {
                "provider_id": e.provider_id,
                "name": e.name,
                "credit_code": e.credit_code,
                "area_code": e.area_code,
                "services": e.services,
                "women_led": e.women_led,
                "grade": None,
                "graded_on": None,
                "status": "active",
                "seq": at.seq,
            },
        )

    @handles(ProviderGradedV1)
    def _graded(self, e: ProviderGradedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.providers,
            {"provider_id": e.provider_id},
            {"grade": e.grade, "graded_on": e.graded_on},
        )

    @handles(ProviderSuspendedV1)
    def _suspended(self, e: ProviderSuspendedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(self.providers, {"provider_id": e.provider_id}, {"status": "suspended"})

    @handles(ProviderReinstatedV1)
    def _reinstated(self, e: ProviderReinstatedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(self.providers, {"provider_id": e.provider_id}, {"status": "active"})

    @handles(VolunteerRegisteredV1)
    def _volunteer(self, e: VolunteerRegisteredV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.volunteers,
            {
                "volunteer_id": e.volunteer_id,
                "name": e.name,
                "phone": e.phone,
                "area_code": e.area_code,
                "skills": e.skills,
                "team": e.team,
                "seq": at.seq,
            },
        )
