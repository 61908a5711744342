"""What the rights figures count, read from the case files: per case, the business dates of the
facts that count (`jinguo_rights.domain.figures.CaseFacts`), never the case itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_contracts.areas import area_prefix
from jinguo_rights.domain.figures import CaseFacts
from jinguo_rights.projections.cases import CaseFiles
from jinguo_shared.projections.host import ProjectionHost


@dataclass(frozen=True, slots=True)
class CountedCase:
    area_code: str
    agency_id: str
    opened_on: date


class FigureFacts:
    def __init__(self, engine: AsyncEngine, host: ProjectionHost) -> None:
        self._engine = engine
        self._host = host

    def _files(self) -> CaseFiles:
        projection = self._host.active(CaseFiles.name)
        assert isinstance(projection, CaseFiles)
        return projection

    async def case(self, case_id: str) -> CountedCase | None:
        cases = self._files().cases
        query = select(cases.c.area_code, cases.c.agency_id, cases.c.opened_on).where(
            cases.c.case_id == case_id
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return CountedCase(*row) if row is not None else None

    async def of_area(self, area_code: str, year: int) -> list[CaseFacts]:
        """The cases of the area and every area inside it that count in `year`."""
        cases = self._files().cases
        return await self._facts(cases.c.area_code.startswith(area_prefix(area_code)), year)

    async def of_agency(self, agency_id: str, year: int) -> list[CaseFacts]:
        return await self._facts(self._files().cases.c.agency_id == agency_id, year)

    async def _facts(self, where: ColumnElement[bool], year: int) -> list[CaseFacts]:
        """A case counts in `year` if it was opened then, or is open or was closed since its
        start (a legal-aid action lies between its opening and its closing)."""
        files = self._files()
        cases, actions = files.cases, files.actions
        first, last = date(year, 1, 1), date(year, 12, 31)
        legal_aid = (
            select(actions.c.case_id, func.min(actions.c.taken_on).label("first_legal_aid_on"))
            .where(actions.c.action == "legal_aid")
            .group_by(actions.c.case_id)
            .subquery()
        )
        query = (
            select(
                cases.c.opened_on,
                cases.c.category,
                cases.c.channel,
                cases.c.closed_on,
                cases.c.on_time,
                cases.c.outcome,
                cases.c.complainant_satisfied,
                legal_aid.c.first_legal_aid_on,
            )
            .outerjoin(legal_aid, legal_aid.c.case_id == cases.c.case_id)
            .where(
                where,
                cases.c.opened_on <= last,
                or_(
                    cases.c.opened_on >= first,
                    cases.c.closed_on.is_(None),
                    cases.c.closed_on >= first,
                ),
            )
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [CaseFacts(*row) for row in rows]
