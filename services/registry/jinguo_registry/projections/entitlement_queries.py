"""Reads of the certificate rules: who is entitled without a certificate (应发未发), and which
certificates are due for their annual review (年审). The rules themselves are the domain's
(`domain/entitlement.py`); this reads the facts of an area and applies them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_registry.domain.entitlement import (
    Applicant,
    EntitlementKind,
    HeldCertificate,
    holds,
    preference_categories,
    qualifies,
)
from jinguo_registry.domain.worker import REVIEWED_KINDS
from jinguo_registry.projections.entitlement import CertificateEntitlement
from jinguo_shared.projections.host import ProjectionHost

Row = dict[str, Any]


class CertificateQueries:
    def __init__(self, engine: AsyncEngine, host: ProjectionHost) -> None:
        self._engine = engine
        self._host = host

    def _projection(self) -> CertificateEntitlement:
        projection = self._host.active(CertificateEntitlement.name)
        assert isinstance(projection, CertificateEntitlement)
        return projection

    async def _rows(self, query: Select[Any]) -> list[Row]:
        async with self._engine.connect() as connection:
            return [dict(row._mapping) for row in await connection.execute(query)]

    async def entitled_without(
        self, kind: EntitlementKind, area: str | None, today: date
    ) -> dict[str, Any]:
        """Everyone of the area who qualifies on `today`, and those of them holding no valid
        certificate of the kind, oldest registration first."""
        p = self._projection()
        people = p.people
        in_area = select(people.c.worker_id)
        if area:
            in_area = in_area.where(people.c.area_code.startswith(area))
        persons = await self._rows(
            select(people).where(people.c.worker_id.in_(in_area)).order_by(people.c.registered_seq)
        )
        employed = {
            row["worker_id"]
            for row in await self._rows(
                select(p.open_spells.c.worker_id).where(p.open_spells.c.worker_id.in_(in_area))
            )
        }
        categories: dict[str, dict[str, date]] = defaultdict(dict)
        for row in await self._rows(
            select(p.categories).where(p.categories.c.worker_id.in_(in_area))
        ):
            categories[row["worker_id"]][row["category"]] = row["valid_until"]
        certificates: dict[str, list[HeldCertificate]] = defaultdict(list)
        for row in await self._rows(
            select(p.certificates).where(
                p.certificates.c.worker_id.in_(in_area), p.certificates.c.kind == kind
            )
        ):
            certificates[row["worker_id"]].append(
                HeldCertificate(
                    kind=row["kind"],
                    number=row["number"],
                    valid_until=row["valid_until"],
                    in_force=row["status"] == "active",
                )
            )
        qualifying = holding = 0
        listed = []
        for person in persons:
            worker_id = person["worker_id"]
            applicant = Applicant(
                gender=person["gender"],
                birth_date=person["birth_date"],
                hukou=person["hukou"],
                employed=worker_id in employed,
                categories=categories.get(worker_id, {}),
                certificates=certificates.get(worker_id, []),
            )
            if not qualifies(applicant, kind, today):
                continue
            qualifying += 1
            if holds(applicant, kind, today):
                holding += 1
                continue
            listed.append(
                {
                    "worker_id": worker_id,
                    "area_code": person["area_code"],
                    "registered_on": person["registered_on"],
                    "categories": preference_categories(applicant, today)
                    if kind == "reemployment_preference"
                    else [],
                    "lapsed_certificates": sorted(c.number for c in applicant.certificates),
                }
            )
        return {
            "kind": kind,
            "area": area,
            "on": today,
            "qualifying": qualifying,
            "holding": holding,
            "without": len(listed),
            "people": listed,
        }

    async def reviews(self, kind: str | None, area: str | None, today: date) -> dict[str, Any]:
        """Certificates reviewed every year: how many were issued and reviewed, and those past
        their `valid_until`, in force and not reviewed since (due), the longest overdue first."""
        p = self._projection()
        certificates, people = p.certificates, p.people
        kinds = [kind] if kind else sorted(REVIEWED_KINDS)
        query = (
            select(certificates, people.c.area_code)
            .join(people, people.c.worker_id == certificates.c.worker_id)
            .where(certificates.c.kind.in_(kinds))
        )
        if area:
            query = query.where(people.c.area_code.startswith(area))
        rows = await self._rows(query)
        due = sorted(
            (
                row
                for row in rows
                if row["status"] == "active"
                and row["valid_until"] is not None
                and row["valid_until"] < today
            ),
            key=lambda row: (row["valid_until"], row["worker_id"], row["number"]),
        )
        return {
            "kind": kind,
            "area": area,
            "on": today,
            "issued": len(rows),
            "reviewed": sum(row["reviewed_on"] is not None for row in rows),
            "withdrawn": sum(row["status"] == "withdrawn" for row in rows),
            "due": len(due),
            "certificates": [
                {name: value for name, value in row.items() if name != "status"} for row in due
            ],
        }
