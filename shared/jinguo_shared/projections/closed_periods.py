"""Every service learns from the registry's reports which periods are closed in which area: a
period is closed once its report is submitted, until it is returned."""

from __future__ import annotations

from sqlalchemy import Column, Date, String

from jinguo_contracts.periods import ReportAcceptedV1, ReportReturnedV1, ReportSubmittedV1
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch


class ClosedPeriods(Projection):
    name = "closed_periods"
    subjects = (
        "registry.report.*.ReportSubmitted",
        "registry.report.*.ReportAccepted",
        "registry.report.*.ReportReturned",
    )

    def define(self) -> None:
        self.periods = self.table(
            "closed_periods",
            Column("area_code", String(12), primary_key=True),
            Column("period", String(7), primary_key=True),
            Column("submitted_on", Date, nullable=False),
            Column("state", String(10), nullable=False),
        )

    @handles(ReportSubmittedV1)
    def _submitted(self, e: ReportSubmittedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.periods,
            {
                "area_code": e.area_code,
                "period": e.period,
                "submitted_on": e.submitted_on,
                "state": "submitted",
            },
        )

    @handles(ReportAcceptedV1)
    def _accepted(self, e: ReportAcceptedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.periods, {"area_code": e.area_code, "period": e.period}, {"state": "accepted"}
        )

    @handles(ReportReturnedV1)
    def _returned(self, e: ReportReturnedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.delete(self.periods, {"area_code": e.area_code, "period": e.period})
