"""The register of areas and stations, and the state of every plan and report, with each
version of a report's figures as it was on file (for "as reported on" a day)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, Integer, String

from jinguo_contracts.areas import (
    AreaPopulationRecordedV1,
    AreaRegisteredV1,
    AreaRenamedV1,
    StationRegisteredV1,
)
from jinguo_contracts.periods import (
    ReportAcceptedV1,
    ReportReturnedV1,
    ReportRevisedV1,
    ReportSubmittedV1,
)
from jinguo_contracts.programme import PlanApprovedV1, PlanReturnedV1, PlanSubmittedV1
from jinguo_registry.projections.figures import recorded_day
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch


class ProgrammeRegister(Projection):
    name = "programme_register"
    subjects = (
        "registry.area.>",
        "registry.station.>",
        "registry.plan.>",
        "registry.report.>",
    )

    def define(self) -> None:
        self.areas = self.table(
            "areas",
            Column("area_code", String(12), primary_key=True),
            Column("name", String(100), nullable=False),
            Column("level", String(10), nullable=False),
            Column("parent_code", String(12), index=True),
            Column("urban", Boolean, nullable=False),
        )
        self.populations = self.table(
            "area_populations",
            Column("area_code", String(12), primary_key=True),
            Column("year", Integer, primary_key=True),
            Column("households", Integer, nullable=False),
            Column("residents", Integer, nullable=False),
            Column("women", Integer, nullable=False),
        )
        self.stations = self.table(
            "stations",
            Column("station_id", String(36), primary_key=True),
            Column("area_code", String(12), nullable=False, index=True),
            Column("kind", String(32), nullable=False),
            Column("name", String(200), nullable=False),
            Column("agency_id", String(36)),
            Column("opened_on", Date, nullable=False),
        )
        self.plans = self.table(
            "plans",
            Column("area_code", String(12), primary_key=True),
            Column("year", Integer, primary_key=True),
            Column("targets", JSON, nullable=False),
            Column("decision", String(10), nullable=False),
            Column("submitted_by", String(36), nullable=False),
            Column("submitted_on", Date, nullable=False),
            Column("decided_by", String(36)),
            Column("decided_on", Date),
            Column("reason", String(2000)),
        )
        self.reports = self.table(
            "reports",
            Column("area_code", String(12), primary_key=True),
            Column("period", String(7), primary_key=True),
            Column("decision", String(10), nullable=False),
            Column("submitted_by", String(36), nullable=False),
            Column("submitted_on", Date, nullable=False),
            Column("decided_by", String(36)),
            Column("decided_on", Date),
            Column("reason", String(2000)),
            Column("revision", Integer, nullable=False),
        )
        self.versions = self.table(
            "report_versions",
            Column("area_code", String(12), primary_key=True),
            Column("period", String(7), primary_key=True),
            Column("version", Integer, primary_key=True),
            Column("kind", String(10), nullable=False),
            Column("filed_on", Date, nullable=False),
            Column("figures", JSON, nullable=False),
            Column("reason", String(2000)),
        )

    # areas and stations ------------------------------------------------------------------------

    @handles(AreaRegisteredV1)
    def _area(self, e: AreaRegisteredV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.areas,
            {
                "area_code": e.area_code,
                "name": e.name,
                "level": e.level,
                "parent_code": e.parent_code,
                "urban": e.urban,
            },
        )

    @handles(AreaRenamedV1)
    def _renamed(self, e: AreaRenamedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(self.areas, {"area_code": e.area_code}, {"name": e.name, "urban": e.urban})

    @handles(AreaPopulationRecordedV1)
    def _population(
        self, e: AreaPopulationRecordedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        b.upsert(
            self.populations,
            {
                "area_code": e.area_code,
                "year": e.year,
                "households": e.households,
                "residents": e.residents,
                "women": e.women,
            },
        )

    @handles(StationRegisteredV1)
    def _station(self, e: StationRegisteredV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.stations,
            {
                "station_id": e.station_id,
                "area_code": e.area_code,
                "kind": e.kind,
                "name": e.name,
                "agency_id": e.agency_id,
                "opened_on": e.opened_on,
            },
        )

    # plans -------------------------------------------------------------------------------------

    @handles(PlanSubmittedV1)
    def _plan(self, e: PlanSubmittedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.plans,
            {
                "area_code": e.area_code,
                "year": e.year,
                "targets": e.targets,
                "decision": "submitted",
                "submitted_by": e.submitted_by,
                "submitted_on": e.submitted_on,
                "decided_by": None,
                "decided_on": None,
                "reason": None,
            },
        )

    @handles(PlanApprovedV1, PlanReturnedV1)
    def _plan_decided(
        self, e: PlanApprovedV1 | PlanReturnedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        b.update(
            self.plans,
            {"area_code": e.area_code, "year": e.year},
            {
                "decision": "approved" if isinstance(e, PlanApprovedV1) else "returned",
                "decided_by": e.decided_by,
                "decided_on": e.decided_on,
                "reason": getattr(e, "reason", None),
            },
        )

    # reports -----------------------------------------------------------------------------------

    def _version(
        self,
        b: ProjectionBatch,
        e: ReportSubmittedV1 | ReportRevisedV1,
        at: RecordedEvent,
        version: int,
    ) -> None:
        b.upsert(
            self.versions,
            {
                "area_code": e.area_code,
                "period": e.period,
                "version": version,
                "kind": "submitted" if isinstance(e, ReportSubmittedV1) else "revised",
                "filed_on": recorded_day(at),
                "figures": e.figures,
                "reason": getattr(e, "reason", None),
            },
        )

    @handles(ReportSubmittedV1)
    def _report(self, e: ReportSubmittedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.reports,
            {
                "area_code": e.area_code,
                "period": e.period,
                "decision": "submitted",
                "submitted_by": e.submitted_by,
                "submitted_on": e.submitted_on,
                "decided_by": None,
                "decided_on": None,
                "reason": None,
                "revision": 0,
            },
        )
        # a resubmission after a return gets its own version, ordered by the log's sequence
        self._version(b, e, at, at.seq)

    @handles(ReportAcceptedV1, ReportReturnedV1)
    def _report_decided(
        self, e: ReportAcceptedV1 | ReportReturnedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        b.update(
            self.reports,
            {"area_code": e.area_code, "period": e.period},
            {
                "decision": "accepted" if isinstance(e, ReportAcceptedV1) else "returned",
                "decided_by": e.decided_by,
                "decided_on": e.decided_on,
                "reason": getattr(e, "reason", None),
            },
        )

    @handles(ReportRevisedV1)
    def _revised(self, e: ReportRevisedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.reports,
            {"area_code": e.area_code, "period": e.period},
            {"revision": e.revision},
        )
        self._version(b, e, at, at.seq)
