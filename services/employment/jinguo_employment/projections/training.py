"""Training outcomes: who completed which course, and when each woman started work again.

Completions come from employment's courses; starts from the registry's re-employment spells
(and its older `WorkerReemployed`) and from employment's own placements. The two streams arrive
in no fixed order, so nothing is joined while projecting: the report joins them when asked. A
placement through Jinguo usually arrives twice (`PlacementStarted` here, a placement spell from
the registry): counting women, not starts, makes that harmless. An erased worker's rows go.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, String

from jinguo_contracts.employment import (
    CourseScheduledV2,
    PlacementStartedV1,
    TrainingCompletedV1,
)
from jinguo_contracts.registry import (
    ReemploymentSpellStartedV1,
    WorkerErasedV1,
    WorkerReemployedV1,
)
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch


class TrainingOutcomes(Projection):
    name = "training_outcomes"
    subjects = (
        "employment.course.*.CourseScheduled",
        "employment.course.*.TrainingCompleted",
        "employment.worker.*.PlacementStarted",
        "registry.worker.*.ReemploymentSpellStarted",
        "registry.worker.*.WorkerReemployed",
        "registry.worker.*.WorkerErased",
    )

    def define(self) -> None:
        self.courses = self.table(
            "training_courses",
            Column("course_id", String(36), primary_key=True),
            Column("kind", String(12), nullable=False),
            Column("ends_on", Date, nullable=False),
        )
        self.completions = self.table(
            "training_completions",
            Column("course_id", String(36), primary_key=True),
            Column("worker_id", String(36), primary_key=True),
            Column("area_code", String(12), nullable=False),
            Column("passed", Boolean, nullable=False),
            Column("completed_on", Date, nullable=False),
            Column("kind", String(12), doc="None on completions recorded before they carried it"),
        )
        Index(
            f"ix_training_completions_area_g{self.generation}",
            self.completions.c.area_code,
            self.completions.c.completed_on,
        )
        self.starts = self.table(
            "work_starts",
            Column("worker_id", String(36), primary_key=True),
            Column("source_id", String(80), primary_key=True),
            Column("started_on", Date, nullable=False),
        )
        """Each spell or placement she started: the source's id keeps a redelivery single."""

    @handles(CourseScheduledV2)
    def _scheduled(self, e: CourseScheduledV2, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(self.courses, {"course_id": e.course_id, "kind": e.kind, "ends_on": e.ends_on})

    @handles(TrainingCompletedV1)
    def _completed(self, e: TrainingCompletedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.completions,
            {
                "course_id": e.course_id,
                "worker_id": e.worker_id,
                "area_code": e.area_code,
                "passed": e.passed,
                "completed_on": e.completed_on,
                "kind": e.course_kind,
            },
        )

    def _started(self, b: ProjectionBatch, worker_id: str, source_id: str, on: object) -> None:
        b.upsert(self.starts, {"worker_id": worker_id, "source_id": source_id, "started_on": on})

    @handles(PlacementStartedV1)
    def _placed(self, e: PlacementStartedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._started(b, e.worker_id, f"placement:{e.placement_id}", e.start_date)

    @handles(ReemploymentSpellStartedV1)
    def _spell(self, e: ReemploymentSpellStartedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._started(b, e.worker_id, f"spell:{e.spell_id}", e.started_on)

    @handles(WorkerReemployedV1)
    def _reemployed(self, e: WorkerReemployedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._started(b, e.worker_id, f"placement:{e.placement_id}", e.started_on)

    @handles(WorkerErasedV1)
    def _erased(self, e: WorkerErasedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.delete_all(self.starts, "worker_id", e.worker_id)
        b.delete_all(self.completions, "worker_id", e.worker_id)
