"""Training results by course kind: trained, passed, pass rate, and the share of trainees who
worked again within 3 and 6 months of their course's end.

"Worked again" is a re-employment spell of any kind (the registry's spells, its older
`WorkerReemployed`, or a placement through employment itself) that started on or after the
course's last day and no later than N months after it. A woman counts once per course, however
many spells she started. A trainee whose N months have not all passed by today is not yet in
that share's denominator: a course that ended last week has no 6-month figure yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import get_args

from pydantic import BaseModel, Field

from jinguo_contracts.employment import CourseKind
from jinguo_employment.domain.worker_record import add_months

WINDOWS = (3, 6)
"""Months after the course's end within which a new spell counts."""


@dataclass(frozen=True, slots=True)
class Completion:
    course_id: str
    worker_id: str
    kind: CourseKind
    passed: bool
    course_ended_on: date


class Reemployed(BaseModel):
    trainees: int = Field(description="trainees whose months after the course have all passed")
    reemployed: int = Field(description="of those, women who started work within the months")
    share: float | None = Field(description="percent, one decimal; null when no trainee is due")


class TrainingResults(BaseModel):
    trained: int = Field(description="trainees who completed a course of this kind")
    passed: int
    pass_rate: float | None = Field(description="percent, one decimal")
    reemployed: dict[str, Reemployed] = Field(
        description="`3m`, `6m`: re-employed within 3 and 6 months of the course's end"
    )


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def started_within(ended_on: date, months: int, starts: Iterable[date]) -> bool:
    until = add_months(ended_on, months)
    return any(ended_on <= started <= until for started in starts)


def training_results(
    completions: Sequence[Completion], starts: Mapping[str, Sequence[date]], today: date
) -> dict[str, TrainingResults]:
    """Per course kind (every kind, zeros included): `starts` holds each worker's spell and
    placement start days."""
    results: dict[str, TrainingResults] = {}
    for kind in get_args(CourseKind):
        mine = [c for c in completions if c.kind == kind]
        passed = sum(1 for c in mine if c.passed)
        reemployed = {}
        for months in WINDOWS:
            due = [c for c in mine if add_months(c.course_ended_on, months) <= today]
            worked = sum(
                1
                for c in due
                if started_within(c.course_ended_on, months, starts.get(c.worker_id, ()))
            )
            reemployed[f"{months}m"] = Reemployed(
                trainees=len(due), reemployed=worked, share=_rate(worked, len(due))
            )
        results[kind] = TrainingResults(
            trained=len(mine),
            passed=passed,
            pass_rate=_rate(passed, len(mine)),
            reemployed=reemployed,
        )
    return results
