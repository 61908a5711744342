"""Counts per area and month, rolled up from community to street, district, city and province."""

from __future__ import annotations

import functools
from datetime import date
from typing import Final

from sqlalchemy import Column, Integer, String

from jinguo_contracts.areas import area_ancestors
from jinguo_contracts.registry import (
    CertificateIssuedV1,
    CertificateReviewedV1,
    CertificateRevokedV1,
    ReemploymentSpellStartedV1,
    ResidentEligibilityChangedV1,
    UnemploymentBenefitGrantedV1,
    UnemploymentReregisteredV1,
    WorkerCategoryAssessedV1,
    WorkerReemployedV1,
    WorkerRegisteredV1,
)
from jinguo_registry.projections.figures import occurred
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch

rollup = functools.lru_cache(maxsize=4096)(area_ancestors)
BUSINESS = "`occurred_on`, the day it happened (before it was carried: the day it was recorded)"
INDICATORS: Final[dict[str, tuple[str, str]]] = {
    "registered": ("workers registered (登记)", BUSINESS),
    "category:{category}": (
        "workers assessed into a hardship category (困难群体认定): age_40_50, disabled,"
        " zero_employment_household, minimum_living_allowance, long_term_unemployed",
        BUSINESS,
    ),
    "certified": ("certificates issued, of every kind", "`issued_on`, the certificate's date"),
    "certificate:{kind}": (
        "certificates issued of one kind: employment_unemployment (就业失业登记证),"
        " reemployment_preference, tax_relief, vocational",
        "`issued_on`, the certificate's date",
    ),
    "certificate_revoked": ("certificates revoked", BUSINESS),
    "certificate_reviewed:{outcome}": (
        "certificates reviewed (年审), by outcome: renewed, withdrawn",
        "`reviewed_on`, the day of the review",
    ),
    "reemployed": (
        "re-employment spells started (再就业), of every kind: once per spell",
        "`started_on`, the first day of the work",
    ),
    "reemployed:{kind}": (
        "re-employment spells started of one kind: placement, found_herself, flexible,"
        " self_employed, business",
        "`started_on`, the first day of the work",
    ),
    "unemployed_again": (
        "workers unemployed again when their last spell ended (失业再登记)",
        "`occurred_on`, the day her last spell ended",
    ),
    "benefit_granted": (
        "workers who began drawing unemployment benefit (领失业金)",
        "`from_on`, the first day she draws it",
    ),
    "eligibility:{price_tier}": (
        "residents' eligibility changed to a price tier: free, low_cost, market",
        BUSINESS,
    ),
}
"""Each key an area report counts (`{…}` stands for each value it takes): what it counts, and
the date that decides the month it is counted in."""


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class AreaReports(Projection):
    name = "area_reports"
    subjects = ("registry.worker.>", "registry.resident.*.ResidentEligibilityChanged")

    def define(self) -> None:
        self.counts = self.table(
            "area_month_counts",
            Column("area_code", String(12), primary_key=True),
            Column("month", String(7), primary_key=True),
            Column("metric", String(48), primary_key=True),
            Column("count", Integer, nullable=False, default=0),
        )

    def _count(self, b: ProjectionBatch, area_code: str, day: date, metric: str) -> None:
        month = month_of(day)
        for area in rollup(area_code):
            b.increment(
                self.counts, {"area_code": area, "month": month, "metric": metric}, {"count": 1}
            )

    @handles(WorkerRegisteredV1)
    def _registered(self, e: WorkerRegisteredV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, occurred(e.occurred_on, at), "registered")

    @handles(WorkerCategoryAssessedV1)
    def _assessed(self, e: WorkerCategoryAssessedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, occurred(e.occurred_on, at), f"category:{e.category}")

    @handles(CertificateIssuedV1)
    def _certified(self, e: CertificateIssuedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, e.issued_on, "certified")
        self._count(b, e.area_code, e.issued_on, f"certificate:{e.kind}")

    @handles(CertificateRevokedV1)
    def _revoked(self, e: CertificateRevokedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, occurred(e.occurred_on, at), "certificate_revoked")

    @handles(CertificateReviewedV1)
    def _reviewed(self, e: CertificateReviewedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, e.reviewed_on, f"certificate_reviewed:{e.outcome}")

    @handles(WorkerReemployedV1)
    def _reemployed(self, e: WorkerReemployedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        """Recorded before spells: a placement spell."""
        self._count(b, e.area_code, e.started_on, "reemployed")
        self._count(b, e.area_code, e.started_on, "reemployed:placement")

    @handles(ReemploymentSpellStartedV1)
    def _spell(self, e: ReemploymentSpellStartedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._count(b, e.area_code, e.started_on, "reemployed")
        self._count(b, e.area_code, e.started_on, f"reemployed:{e.kind}")

    @handles(UnemploymentReregisteredV1)
    def _unemployed_again(
        self, e: UnemploymentReregisteredV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        self._count(b, e.area_code, e.occurred_on, "unemployed_again")

    @handles(UnemploymentBenefitGrantedV1)
    def _benefit(
        self, e: UnemploymentBenefitGrantedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        self._count(b, e.area_code, e.from_on, "benefit_granted")

    @handles(ResidentEligibilityChangedV1)
    def _eligibility(
        self, e: ResidentEligibilityChangedV1, at: RecordedEvent, b: ProjectionBatch
    ) -> None:
        self._count(
            b,
            e.area_code,
            occurred(e.occurred_on, at),
            f"eligibility:{e.price_tier}",
        )
