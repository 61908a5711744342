"""Figures per area and month, rolled up from community to street, district, city, province."""

from __future__ import annotations

import functools
from datetime import date

from sqlalchemy import Column, Integer, String

from jinguo_contracts.employment import (
    CertificateAwardedV1,
    CourseScheduledV1,
    FlexibleEmploymentRecordedV1,
    PlacementEndedV1,
    PlacementFollowedUpV1,
    PostFilledV1,
    PostPublishedV1,
    TrainingCompletedV1,
    TrainingSubsidyGrantedV1,
)
from jinguo_employment.domain.codes import area_ancestors
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch

rollup = functools.lru_cache(maxsize=4096)(area_ancestors)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class EmploymentReports(Projection):
    name = "employment_reports"
    subjects = ("employment.post.>", "employment.worker.>", "employment.course.>")

    def define(self) -> None:
        self.counts = self.table(
            "employment_month_counts",
            Column("area_code", String(12), primary_key=True),
            Column("month", String(7), primary_key=True),
            Column("metric", String(80), primary_key=True),
            Column("count", Integer, nullable=False, default=0),
        )

    def _add(self, b: ProjectionBatch, area: str, day: date, metric: str, amount: int = 1) -> None:
        month = month_of(day)
        for code in rollup(area):
            b.increment(
                self.counts,
                {"area_code": code, "month": month, "metric": metric},
                {"count": amount},
            )

    @handles(PostPublishedV1)
    def _published(self, e: PostPublishedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.published_on, "posts_published")
        self._add(b, e.area_code, e.published_on, "openings", e.openings)

    @handles(PostFilledV1)
    def _filled(self, e: PostFilledV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.start_date, "placements")
        self._add(b, e.area_code, e.start_date, f"placements:{e.kind}")
        if e.override_reason:
            self._add(b, e.area_code, e.start_date, "placements_overriding_priority")
        if e.openings_left == 0:
            self._add(b, e.area_code, e.start_date, "posts_filled")

    @handles(PlacementFollowedUpV1)
    def _followed(self, e: PlacementFollowedUpV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        # counted in the month the placement started: the retention of that month's cohort
        self._add(b, e.area_code, e.start_date, f"followed_up_{e.month}m")
        if e.still_employed:
            self._add(b, e.area_code, e.start_date, f"retained_{e.month}m")

    @handles(PlacementEndedV1)
    def _ended(self, e: PlacementEndedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.ended_on, "placements_ended")

    @handles(FlexibleEmploymentRecordedV1)
    def _flexible(
        self, e: FlexibleEmploymentRecordedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        self._add(b, e.area_code, e.completed_on, "flexible_employment")

    @handles(CourseScheduledV1)
    def _course(self, e: CourseScheduledV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.ends_on, "classes_held")
        self._add(b, e.area_code, e.ends_on, f"classes:{e.kind}")

    @handles(TrainingCompletedV1)
    def _trained(self, e: TrainingCompletedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.completed_on, "trained")
        self._add(b, e.area_code, e.completed_on, f"trained:{e.gender}")
        self._add(b, e.area_code, e.completed_on, f"trade:{e.trade}")
        if e.passed:
            self._add(b, e.area_code, e.completed_on, "passed")

    @handles(CertificateAwardedV1)
    def _certified(self, e: CertificateAwardedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.awarded_on, "certificates")
        self._add(b, e.area_code, e.awarded_on, f"certificates:{e.trade}")

    @handles(TrainingSubsidyGrantedV1)
    def _subsidy(self, e: TrainingSubsidyGrantedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.granted_on, "subsidies_granted")
        self._add(b, e.area_code, e.granted_on, "subsidy_yuan", e.amount)
