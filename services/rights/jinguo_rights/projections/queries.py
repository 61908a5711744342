"""Reads over the rights projections. Nothing here decides who may see a case: the HTTP layer
asks `jinguo_rights.domain.cases.access_basis` with the holders read here, records the read,
and only then asks for the case to be presented (unsealed)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_contracts.rights import AccessBasis
from jinguo_rights.domain.cases import CaseHolders, Viewer, access_basis
from jinguo_rights.domain.deadlines import DeadlinePolicy
from jinguo_rights.domain.reports import CaseCounts, case_figures, summary
from jinguo_rights.projections.cases import CaseFiles, CaseViews, InspectionRegister, OfficerRoster
from jinguo_shared.crypto import PiiVault
from jinguo_shared.projections.api_clients import ApiClients
from jinguo_shared.projections.host import ProjectionHost

Row = dict[str, Any]
SEALED_CASE_FIELDS = ("complainant_name", "complainant_phone", "respondent_name", "summary")


class AgencyDirectory:
    """The partner agencies and their areas, as every service learns them (api_clients)."""

    def __init__(self, engine: AsyncEngine, host: ProjectionHost) -> None:
        self._engine = engine
        self._host = host

    async def area_of(self, agency_id: str) -> str | None:
        projection = self._host.active(ApiClients.name)
        assert isinstance(projection, ApiClients)
        agencies = projection.agencies
        async with self._engine.connect() as connection:
            area: str | None = await connection.scalar(
                select(agencies.c.area_code).where(agencies.c.agency_id == agency_id)
            )
        return area


class RightsQueries:
    def __init__(
        self, engine: AsyncEngine, host: ProjectionHost, vault: PiiVault, policy: DeadlinePolicy
    ) -> None:
        self._engine = engine
        self._host = host
        self._vault = vault
        self._policy = policy

    def _projection(self, klass: type[Any]) -> Any:
        projection = self._host.active(klass.name)
        assert isinstance(projection, klass)
        return projection

    async def _rows(self, query: Select[Any]) -> list[Row]:
        async with self._engine.connect() as connection:
            return [dict(row._mapping) for row in await connection.execute(query)]

    # who may see what --------------------------------------------------------------------------

    async def case_holders(self, case_id: str) -> tuple[Row, CaseHolders] | None:
        """The case's row (still sealed) and what decides who may see it."""
        files: CaseFiles = self._projection(CaseFiles)
        rows = await self._rows(select(files.cases).where(files.cases.c.case_id == case_id))
        if not rows:
            return None
        accepted = await self._rows(
            select(files.referrals.c.to_agency_id).where(
                files.referrals.c.case_id == case_id, files.referrals.c.status == "accepted"
            )
        )
        row = rows[0]
        return row, CaseHolders(
            agency_id=row["agency_id"],
            area_code=row["area_code"],
            officer_id=row["officer_id"],
            accepted_referral_agencies=frozenset(r["to_agency_id"] for r in accepted),
        )

    def _visible_to(self, viewer: Viewer) -> ColumnElement[bool]:
        files: CaseFiles = self._projection(CaseFiles)
        cases, referrals = files.cases, files.referrals
        accepted = select(referrals.c.case_id).where(
            referrals.c.to_agency_id == viewer.agency_id, referrals.c.status == "accepted"
        )
        own = cases.c.agency_id == viewer.agency_id
        if not viewer.supervisor:
            own = and_(own, cases.c.officer_id == viewer.officer_id)
        return or_(own, cases.c.case_id.in_(accepted))

    async def visible_cases(
        self,
        viewer: Viewer,
        *,
        status: str | None,
        category: str | None,
        channel: str | None,
        area: str | None,
        deadline: str | None,
        today: date,
        after_seq: int | None,
        limit: int,
    ) -> list[Row]:
        """Cases the viewer may see (never an emergency basis: that is one case at a time)."""
        if viewer.role is None:
            return []
        cases = self._projection(CaseFiles).cases
        query = (
            select(cases).where(self._visible_to(viewer)).order_by(cases.c.opened_seq).limit(limit)
        )
        if status:
            query = query.where(cases.c.status == status)
        if category:
            query = query.where(cases.c.category == category)
        if channel:
            query = query.where(cases.c.channel == channel)
        if area:
            query = query.where(cases.c.area_code.startswith(area))
        if deadline == "overdue":
            query = query.where(cases.c.status != "closed", cases.c.due_on < today)
        elif deadline == "due_soon":
            query = query.where(
                cases.c.status != "closed",
                cases.c.due_on >= today,
                cases.c.due_on <= self._policy.due_soon_until(today),
            )
        if after_seq is not None:
            query = query.where(cases.c.opened_seq > after_seq)
        return await self._rows(query)

    @staticmethod
    def listed_basis(row: Row, viewer: Viewer) -> AccessBasis | None:
        """The grounds for a row `visible_cases` found, checked again by the domain's rule."""
        foreign = row["agency_id"] != viewer.agency_id
        holders = CaseHolders(
            agency_id=row["agency_id"],
            area_code=row["area_code"],
            officer_id=row["officer_id"],
            accepted_referral_agencies=frozenset({viewer.agency_id}) if foreign else frozenset(),
        )
        return access_basis(holders, viewer, emergency=False)

    async def overdue_case_ids(self, agency_id: str, area: str | None, today: date) -> list[str]:
        cases = self._projection(CaseFiles).cases
        query = (
            select(cases.c.case_id)
            .where(
                cases.c.agency_id == agency_id,
                cases.c.status != "closed",
                cases.c.due_on < today,
            )
            .order_by(cases.c.due_on)
        )
        if area:
            query = query.where(cases.c.area_code.startswith(area))
        return [r["case_id"] for r in await self._rows(query)]

    # presenting a case (after its read is recorded) --------------------------------------------

    async def present(self, rows: list[Row], today: date, *, full: bool) -> list[Row]:
        """Unseal the rows; `full` adds actions, referrals and counts (one case's page)."""
        await self._vault.prepare({r["complainant_id"] for r in rows}, create=False, fresh=True)
        files: CaseFiles = self._projection(CaseFiles)
        for row in rows:
            for name in SEALED_CASE_FIELDS:
                row[name] = self._vault.unseal(row["complainant_id"], row[name])
            open_case = row["status"] != "closed"
            counted_to = max(row["due_on"], today) if open_case else row["closed_on"]
            row["deadline"] = {
                "due_on": row["due_on"],
                "working_days_left": (
                    self._policy.working_days_left(row["due_on"], today) if open_case else None
                ),
                "overdue_days": (
                    self._policy.overdue_days(row["due_on"], today) if open_case else 0
                ),
                "escalated_on": row.pop("escalated_on"),
                "years_without_holidays": self._policy.calendar.years_without_holidays(
                    row["opened_on"], counted_to
                ),
            }
            row.pop("opened_seq", None)
            if not full:
                continue
            actions = await self._rows(
                select(files.actions)
                .where(files.actions.c.case_id == row["case_id"])
                .order_by(files.actions.c.seq)
            )
            for action in actions:
                action["notes"] = self._vault.unseal(row["complainant_id"], action["notes"])
                action.pop("complainant_id")
                action.pop("seq")
            row["actions"] = actions
            row["referrals"] = await self._rows(
                select(files.referrals)
                .where(files.referrals.c.case_id == row["case_id"])
                .order_by(files.referrals.c.seq)
            )
            counts = await self._rows(
                select(files.counts).where(files.counts.c.case_id == row["case_id"])
            )
            row["counts"] = (
                {k: v for k, v in counts[0].items() if k != "case_id"}
                if counts
                else {"actions": 0, "extensions": 0, "escalations": 0, "reopenings": 0}
            )
        return rows

    # referrals, access log, officers -------------------------------------------------------------

    async def referrals_to(self, agency_id: str, status: str | None, area: str | None) -> list[Row]:
        """What a receiving agency sees before it accepts: the referral, not the case."""
        files: CaseFiles = self._projection(CaseFiles)
        referrals = files.referrals
        query = (
            select(
                referrals.c.referral_id,
                referrals.c.case_id,
                referrals.c.from_agency_id,
                referrals.c.reason,
                referrals.c.referred_on,
                referrals.c.status,
                referrals.c.answered_on,
            )
            .where(referrals.c.to_agency_id == agency_id)
            .order_by(referrals.c.seq)
        )
        if status:
            query = query.where(referrals.c.status == status)
        if area:
            query = query.where(
                referrals.c.case_id.in_(
                    select(files.cases.c.case_id).where(files.cases.c.area_code.startswith(area))
                )
            )
        return await self._rows(query)

    async def views(
        self,
        *,
        case_id: str | None = None,
        complainant_id: str | None = None,
        case_agency_id: str,
        emergency: bool | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        views = self._projection(CaseViews).views
        query = select(views).where(views.c.case_agency_id == case_agency_id).order_by(views.c.seq)
        if case_id is not None:
            query = query.where(views.c.case_id == case_id)
        if complainant_id is not None:
            cases = self._projection(CaseFiles).cases
            query = query.where(
                views.c.case_id.in_(
                    select(cases.c.case_id).where(cases.c.complainant_id == complainant_id)
                )
            )
        if emergency is not None:
            query = query.where(views.c.emergency == emergency)
        if after_seq is not None:
            query = query.where(views.c.seq > after_seq)
        if limit is not None:
            query = query.limit(limit)
        return await self._rows(query)

    async def cases_of_complainant(self, worker_id: str) -> list[str]:
        """The cases still naming a registered complainant (by her worker id)."""
        cases = self._projection(CaseFiles).cases
        rows = await self._rows(
            select(cases.c.case_id).where(
                or_(cases.c.complainant_id == worker_id, cases.c.complainant_worker_id == worker_id)
            )
        )
        return [r["case_id"] for r in rows]

    async def officers(self, agency_id: str) -> list[Row]:
        officers = self._projection(OfficerRoster).officers
        return await self._rows(
            select(officers.c.officer_id, officers.c.role)
            .where(officers.c.agency_id == agency_id)
            .order_by(officers.c.officer_id)
        )

    # inspections ------------------------------------------------------------------------------

    async def inspections(
        self,
        *,
        employer_id: str | None,
        status: str | None,
        area: str | None,
        after_seq: int | None,
        limit: int,
    ) -> list[Row]:
        table = self._projection(InspectionRegister).inspections
        query = select(table).order_by(table.c.seq).limit(limit)
        if employer_id:
            query = query.where(table.c.employer_id == employer_id)
        if status:
            query = query.where(table.c.status == status)
        if area:
            query = query.where(table.c.area_code.startswith(area))
        if after_seq is not None:
            query = query.where(table.c.seq > after_seq)
        return await self._rows(query)

    # reports ----------------------------------------------------------------------------------

    async def report(
        self,
        *,
        agency_id: str | None,
        area: str | None,
        opened_from: date | None,
        opened_to: date | None,
        today: date,
        shared: bool,
    ) -> Row:
        """Figures as the seeds report them, for cases opened in the period (and inspections
        made in it): every one of them recomputable from the events. `shared` figures (across
        agencies) hide small counts of cases; inspections concern employers and stay exact."""
        files: CaseFiles = self._projection(CaseFiles)
        cases = files.cases
        conditions: list[ColumnElement[bool]] = []
        if agency_id:
            conditions.append(cases.c.agency_id == agency_id)
        if area:
            conditions.append(cases.c.area_code.startswith(area))
        if opened_from:
            conditions.append(cases.c.opened_on >= opened_from)
        if opened_to:
            conditions.append(cases.c.opened_on <= opened_to)
        rows = await self._rows(
            select(
                cases.c.case_id,
                cases.c.channel,
                cases.c.category,
                cases.c.status,
                cases.c.due_on,
                cases.c.outcome,
                cases.c.complainant_satisfied,
                cases.c.working_days_taken,
                cases.c.on_time,
                cases.c.escalated_on,
                cases.c.opened_on,
            ).where(*conditions)
        )
        legal_aid = {
            r["case_id"]
            for r in await self._rows(
                select(files.actions.c.case_id)
                .where(files.actions.c.action == "legal_aid")
                .where(files.actions.c.case_id.in_(select(cases.c.case_id).where(*conditions)))
            )
        }
        closed = [r for r in rows if r["status"] == "closed"]
        asked = [r for r in closed if r["complainant_satisfied"] is not None]
        counts = CaseCounts(
            cases=len(rows),
            by_channel=Counter(r["channel"] for r in rows),
            by_category=Counter(r["category"] for r in rows),
            closed=len(closed),
            closed_on_time=sum(1 for r in closed if r["on_time"]),
            working_days_to_close=sum(r["working_days_taken"] for r in closed),
            overdue=sum(1 for r in rows if r["status"] != "closed" and r["due_on"] < today),
            escalated=sum(1 for r in rows if r["escalated_on"] is not None),
            satisfaction_asked=len(asked),
            satisfied=sum(1 for r in asked if r["complainant_satisfied"]),
            domestic_violence_stopped=sum(1 for r in closed if r["outcome"] == "violence_stopped"),
            legal_aid_cases=len(legal_aid),
        )
        figures = case_figures(counts, shared=shared)
        figures.update(await self._inspection_figures(agency_id, area, opened_from, opened_to))
        figures["summary"] = summary(figures)
        first = min((r["opened_on"] for r in rows), default=today)
        figures["years_without_holidays"] = self._policy.calendar.years_without_holidays(
            first, today
        )
        if shared:
            figures["small_counts"] = (
                'counts of 1 to 4 cases are shown as "<5"; "withheld" marks a figure from which'
                " one of them could be worked out"
            )
        return figures

    async def _inspection_figures(
        self, agency_id: str | None, area: str | None, start: date | None, end: date | None
    ) -> Row:
        table = self._projection(InspectionRegister).inspections
        query = select(table.c.status, table.c.violations)
        if agency_id:
            query = query.where(table.c.agency_id == agency_id)
        if area:
            query = query.where(table.c.area_code.startswith(area))
        if start:
            query = query.where(table.c.inspected_on >= start)
        if end:
            query = query.where(table.c.inspected_on <= end)
        rows = await self._rows(query)
        topics = Counter(topic for r in rows for topic in r["violations"])
        return {
            "inspections": len(rows),
            "violations_found": sum(1 for r in rows if r["violations"]),
            "violations_by_topic": dict(sorted(topics.items())),
            "violations_rectified": sum(1 for r in rows if r["status"] == "rectified"),
        }
