"""Reads over the programme's register and figures: an area, its children, their counts by
month, plans and reports, shaped for the year-end sheet."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_contracts.periods import Figure
from jinguo_registry.domain.indicators import CATALOGUE
from jinguo_registry.domain.periods import Period
from jinguo_registry.domain.sheet import AreaFigures, sheet
from jinguo_registry.projections.figures import ProgrammeFigures
from jinguo_registry.projections.programme import ProgrammeRegister
from jinguo_registry.projections.recognition import Recognition
from jinguo_shared.projections.host import ProjectionHost

Row = dict[str, Any]
CUMULATIVE = sorted({i.numerator or i.code for i in CATALOGUE if i.cumulative})
"""The counts some indicator reads as a stock, from the start of the records."""


class ProgrammeQueries:
    def __init__(self, engine: AsyncEngine, host: ProjectionHost) -> None:
        self._engine = engine
        self._host = host

    @property
    def register(self) -> ProgrammeRegister:
        projection = self._host.active(ProgrammeRegister.name)
        assert isinstance(projection, ProgrammeRegister)
        return projection

    @property
    def figures(self) -> ProgrammeFigures:
        projection = self._host.active(ProgrammeFigures.name)
        assert isinstance(projection, ProgrammeFigures)
        return projection

    async def _rows(self, query: Select[Any]) -> list[Row]:
        async with self._engine.connect() as connection:
            return [dict(row._mapping) for row in await connection.execute(query)]

    async def area(self, area_code: str) -> Row | None:
        areas = self.register.areas
        rows = await self._rows(select(areas).where(areas.c.area_code == area_code))
        return rows[0] if rows else None

    async def areas(self, *, parent: str | None, prefix: str, limit: int) -> list[Row]:
        areas = self.register.areas
        query = select(areas).where(areas.c.area_code.startswith(prefix))
        if parent is not None:
            query = query.where(areas.c.parent_code == parent)
        return await self._rows(query.order_by(areas.c.area_code).limit(limit))

    async def stations(self, prefix: str) -> list[Row]:
        stations = self.register.stations
        query = select(stations).where(stations.c.area_code.startswith(prefix))
        return await self._rows(query.order_by(stations.c.area_code, stations.c.name))

    async def children(self, area_code: str) -> list[Row]:
        areas = self.register.areas
        query = select(areas).where(areas.c.parent_code == area_code)
        return await self._rows(query.order_by(areas.c.area_code))

    async def area_figures(self, codes: list[str], period: Period) -> dict[str, AreaFigures]:
        counts = self.figures.counts
        register = self.register
        monthly: dict[str, dict[str, dict[str, int]]] = {code: {} for code in codes}
        cumulative: dict[str, dict[str, int]] = {code: {} for code in codes}
        in_period = select(counts).where(
            counts.c.area_code.in_(codes),
            counts.c.month.between(period.months[0], period.months[-1]),
        )
        for row in await self._rows(in_period):
            by_indicator = monthly[row["area_code"]].setdefault(row["indicator"], {})
            by_indicator[row["month"]] = row["count"]
        if CUMULATIVE:
            up_to_end = (
                select(counts.c.area_code, counts.c.indicator, func.sum(counts.c.count).label("n"))
                .where(
                    counts.c.area_code.in_(codes),
                    counts.c.indicator.in_(CUMULATIVE),
                    counts.c.month <= period.months[-1],
                )
                .group_by(counts.c.area_code, counts.c.indicator)
            )
            for row in await self._rows(up_to_end):
                cumulative[row["area_code"]][row["indicator"]] = int(row["n"])
        populations = register.populations
        population = {
            row["area_code"]: row
            for row in await self._rows(
                select(populations).where(
                    populations.c.area_code.in_(codes), populations.c.year == period.year
                )
            )
        }
        rights = self.figures.rights
        published = {
            row["area_code"]: row["figures"]
            for row in await self._rows(
                select(rights).where(rights.c.area_code.in_(codes), rights.c.year == period.year)
            )
        }
        plans = register.plans
        targets = {
            row["area_code"]: row["targets"]
            for row in await self._rows(
                select(plans.c.area_code, plans.c.targets).where(
                    plans.c.area_code.in_(codes),
                    plans.c.year == period.year,
                    plans.c.decision == "approved",
                )
            )
        }
        return {
            code: AreaFigures(
                monthly=monthly[code],
                cumulative=cumulative[code],
                population=population.get(code),
                targets=targets.get(code, {}),
                rights=published.get(code, {}),
            )
            for code in codes
        }

    async def sheet(
        self, area_code: str, period: Period, today: date, as_reported_on: date | None = None
    ) -> dict[str, Any] | None:
        """The year-end sheet of a registered area (None if it is not in the register), with
        the report's figures as filed on `as_reported_on` (the latest when None)."""
        area = await self.area(area_code)
        if area is None:
            return None
        children = await self.children(area_code)
        codes = [area_code, *(child["area_code"] for child in children)]
        figures = await self.area_figures(codes, period)
        status = await self.report(area_code, period.code)
        on_file = await self.reported(area_code, period.code, as_reported_on)
        report = None
        if status is not None:
            report = {
                "decision": status["decision"],
                "submitted_on": status["submitted_on"],
                "decided_on": status["decided_on"],
                "reason": status["reason"],
                "revision": status["revision"],
                "as_reported_on": None if on_file is None else on_file[1]["filed_on"],
            }
        return sheet(
            area=area,
            period=period,
            today=today,
            figures=figures[area_code],
            children=[(child, figures[child["area_code"]]) for child in children],
            reported=None if on_file is None else on_file[0],
            report=report,
        )

    async def plan(self, area_code: str, year: int) -> Row | None:
        plans = self.register.plans
        query = select(plans).where(and_(plans.c.area_code == area_code, plans.c.year == year))
        rows = await self._rows(query)
        return rows[0] if rows else None

    async def report(self, area_code: str, period: str) -> Row | None:
        reports = self.register.reports
        query = select(reports).where(
            and_(reports.c.area_code == area_code, reports.c.period == period)
        )
        rows = await self._rows(query)
        return rows[0] if rows else None

    async def reported(
        self, area_code: str, period: str, on: date | None = None
    ) -> tuple[dict[str, Figure], Row] | None:
        """The figures on file for the period: the latest submission or revision, or the
        latest one filed on or before `on`."""
        versions = self.register.versions
        query = (
            select(versions)
            .where(and_(versions.c.area_code == area_code, versions.c.period == period))
            .order_by(versions.c.version.desc())
            .limit(1)
        )
        if on is not None:
            query = query.where(versions.c.filed_on <= on)
        rows = await self._rows(query)
        if not rows:
            return None
        return rows[0]["figures"], rows[0]

    async def report_decisions(self, codes: Iterable[str], period: str) -> dict[str, str]:
        reports = self.register.reports
        query = select(reports.c.area_code, reports.c.decision).where(
            reports.c.area_code.in_(list(codes)), reports.c.period == period
        )
        return {row["area_code"]: row["decision"] for row in await self._rows(query)}


class RecognitionQueries:
    """Inspections, awards and activities within an area prefix, by year."""

    def __init__(self, engine: AsyncEngine, host: ProjectionHost) -> None:
        self._engine = engine
        self._host = host

    @property
    def _recognition(self) -> Recognition:
        projection = self._host.active(Recognition.name)
        assert isinstance(projection, Recognition)
        return projection

    async def _rows(self, query: Select[Any]) -> list[Row]:
        async with self._engine.connect() as connection:
            return [dict(row._mapping) for row in await connection.execute(query)]

    async def inspections(self, prefix: str, year: int | None) -> list[Row]:
        table = self._recognition.inspections
        query = select(table).where(table.c.area_code.startswith(prefix))
        if year is not None:
            query = query.where(table.c.year == year)
        return await self._rows(query.order_by(table.c.inspected_on, table.c.area_code))

    async def awards(self, prefix: str, year: int | None, decision: str | None) -> list[Row]:
        table = self._recognition.awards
        query = select(table).where(table.c.area_code.startswith(prefix))
        if year is not None:
            query = query.where(table.c.year == year)
        if decision is not None:
            query = query.where(table.c.decision == decision)
        return await self._rows(query.order_by(table.c.nominated_on, table.c.award_id))

    async def activities(self, prefix: str, year: int | None, kind: str | None) -> list[Row]:
        table = self._recognition.activities
        query = select(table).where(table.c.area_code.startswith(prefix))
        if year is not None:
            query = query.where(table.c.held_on.between(date(year, 1, 1), date(year, 12, 31)))
        if kind is not None:
            query = query.where(table.c.kind == kind)
        return await self._rows(query.order_by(table.c.held_on, table.c.activity_id))
