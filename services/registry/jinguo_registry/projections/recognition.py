"""Inspections of areas, commendations and activities, as lists by area and year (the worker's
dossier shows the titles she was awarded)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, Integer, String, Text

from jinguo_contracts.programme import (
    ActivityHeldV1,
    AreaInspectedV1,
    AwardDeclinedV1,
    AwardGrantedV1,
    AwardNominatedV1,
    RectificationAcceptedV1,
)
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch


class Recognition(Projection):
    name = "recognition"
    subjects = ("registry.inspection.>", "registry.award.>", "registry.activity.>")

    def define(self) -> None:
        self.inspections = self.table(
            "area_inspections",
            Column("inspection_id", String(36), primary_key=True),
            Column("area_code", String(12), nullable=False, index=True),
            Column("year", Integer, nullable=False),
            Column("inspected_on", Date, nullable=False),
            Column("inspected_by", String(36), nullable=False),
            Column("scores", JSON, nullable=False),
            Column("findings", Text, nullable=False),
            Column("result", String(24), nullable=False),
            Column("rectified_on", Date),
            Column("rectification", Text),
        )
        self.awards = self.table(
            "awards",
            Column("award_id", String(36), primary_key=True),
            Column("area_code", String(12), nullable=False, index=True),
            Column("title", String(24), nullable=False),
            Column("level", String(10), nullable=False),
            Column("year", Integer, nullable=False),
            Column("nominee_kind", String(10), nullable=False),
            Column("nominee_id", String(64), nullable=False, index=True),
            Column("nominee_name", String(200), nullable=False),
            Column("reason", Text, nullable=False),
            Column("nominated_by", String(36), nullable=False),
            Column("nominated_on", Date, nullable=False),
            Column("decision", String(10), nullable=False),
            Column("decided_by", String(36)),
            Column("granted_on", Date),
            Column("declined_reason", Text),
        )
        self.activities = self.table(
            "activities",
            Column("activity_id", String(36), primary_key=True),
            Column("kind", String(20), nullable=False),
            Column("title", String(200), nullable=False),
            Column("held_on", Date, nullable=False),
            Column("area_code", String(12), nullable=False, index=True),
            Column("organised_by", String(36), nullable=False),
            Column("participants", Integer, nullable=False),
            Column("referrals", Integer, nullable=False),
            Column("households_visited", Integer, nullable=False),
            Column("aid_yuan", Integer, nullable=False),
            Column("aid_in_kind", String(500)),
            Column("results", Text),
        )

    @handles(AreaInspectedV1)
    def _inspected(self, e: AreaInspectedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.inspections,
            {
                "inspection_id": e.inspection_id,
                "area_code": e.area_code,
                "year": e.year,
                "inspected_on": e.inspected_on,
                "inspected_by": e.inspected_by,
                "scores": e.scores,
                "findings": e.findings,
                "result": e.result,
                "rectified_on": None,
                "rectification": None,
            },
        )

    @handles(RectificationAcceptedV1)
    def _rectified(self, e: RectificationAcceptedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.inspections,
            {"inspection_id": e.inspection_id},
            {"result": "passed", "rectified_on": e.accepted_on, "rectification": e.notes},
        )

    @handles(AwardNominatedV1)
    def _nominated(self, e: AwardNominatedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.awards,
            {
                "award_id": e.award_id,
                "area_code": e.area_code,
                "title": e.title,
                "level": e.level,
                "year": e.year,
                "nominee_kind": e.nominee_kind,
                "nominee_id": e.nominee_id,
                "nominee_name": e.nominee_name,
                "reason": e.reason,
                "nominated_by": e.nominated_by,
                "nominated_on": e.nominated_on,
                "decision": "nominated",
                "decided_by": None,
                "granted_on": None,
                "declined_reason": None,
            },
        )

    @handles(AwardGrantedV1)
    def _granted(self, e: AwardGrantedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.awards,
            {"award_id": e.award_id},
            {"decision": "granted", "decided_by": e.granted_by, "granted_on": e.granted_on},
        )

    @handles(AwardDeclinedV1)
    def _declined(self, e: AwardDeclinedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.awards,
            {"award_id": e.award_id},
            {"decision": "declined", "decided_by": e.declined_by, "declined_reason": e.reason},
        )

    @handles(ActivityHeldV1)
    def _activity(self, e: ActivityHeldV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(self.activities, e.model_dump(include=set(self.activities.c.keys())))
