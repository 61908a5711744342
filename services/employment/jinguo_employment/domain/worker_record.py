"""A worker's employment record: her placements, their follow-ups, and flexible employment."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    FlexibleEmploymentRecordedV1,
    PlacementEndedV1,
    PlacementFollowedUpV1,
    PlacementStartedV1,
    PostKind,
)
from jinguo_contracts.registry import HoursType
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    InvalidCommandError,
    NotFoundError,
    RuleViolationError,
    check_past_date,
)

FOLLOW_UP_MONTHS = (3, 6, 12)


class SecondFullTimePlacementError(RuleViolationError):
    code = "already-employed-full-time"


class Placement(BaseModel):
    post_id: str
    hours_type: HoursType
    area_code: str
    start_date: date
    followed_up: list[int] = Field(default_factory=list)
    ended_on: date | None = None


class WorkerRecordState(AggregateState):
    placements: dict[str, Placement] = Field(default_factory=dict)
    flexible_orders: list[str] = Field(default_factory=list)

    def active_full_time(self) -> list[str]:
        return [
            placement_id
            for placement_id, p in self.placements.items()
            if p.hours_type == "full_time" and p.ended_on is None
        ]


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    days = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28]
    days += [31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return date(year, month, min(day.day, days[month - 1]))


class WorkerRecord(Aggregate[WorkerRecordState]):
    aggregate_type = "worker"
    state_type = WorkerRecordState

    @classmethod
    def evolve(cls, state: WorkerRecordState | None, event: EventContract) -> WorkerRecordState:
        state = state or WorkerRecordState()
        match event:
            case PlacementStartedV1():
                placement = Placement(
                    post_id=event.post_id,
                    hours_type=event.hours_type,
                    area_code=event.area_code,
                    start_date=event.start_date,
                )
                return state.model_copy(
                    update={"placements": {**state.placements, event.placement_id: placement}}
                )
            case PlacementFollowedUpV1():
                old = state.placements[event.placement_id]
                new = old.model_copy(update={"followed_up": [*old.followed_up, event.month]})
                return state.model_copy(
                    update={"placements": {**state.placements, event.placement_id: new}}
                )
            case PlacementEndedV1():
                old = state.placements[event.placement_id]
                new = old.model_copy(update={"ended_on": event.ended_on})
                return state.model_copy(
                    update={"placements": {**state.placements, event.placement_id: new}}
                )
            case FlexibleEmploymentRecordedV1():
                return state.model_copy(
                    update={"flexible_orders": [*state.flexible_orders, event.order_id]}
                )
        return state

    def _placement(self, placement_id: str) -> Placement:
        state = self.state or WorkerRecordState()
        placement = state.placements.get(placement_id)
        if placement is None:
            raise NotFoundError(f"worker {self.id} has no placement {placement_id}")
        return placement

    def start_placement(
        self,
        *,
        placement_id: str,
        post_id: str,
        employer_id: str,
        area_code: str,
        hours_type: HoursType,
        kind: PostKind,
        start_date: date,
    ) -> None:
        state = self.state or WorkerRecordState()
        if placement_id in state.placements:
            raise RuleViolationError(f"placement {placement_id} already exists")
        held = state.active_full_time()
        if hours_type == "full_time" and held:
            raise SecondFullTimePlacementError(
                f"worker {self.id} already holds a full-time placement",
                placement_id=held[0],
            )
        self.record(
            PlacementStartedV1(
                worker_id=self.id,
                placement_id=placement_id,
                post_id=post_id,
                employer_id=employer_id,
                area_code=area_code,
                hours_type=hours_type,
                kind=kind,
                start_date=start_date,
            )
        )

    def follow_up(
        self, *, placement_id: str, month: int, still_employed: bool, on: date, today: date
    ) -> None:
        check_past_date(on, "followed_up_on", today)
        placement = self._placement(placement_id)
        if month not in FOLLOW_UP_MONTHS:
            raise InvalidCommandError("follow-ups are at 3, 6 or 12 months", field="month")
        if month in placement.followed_up:
            return
        due = add_months(placement.start_date, month)
        if on < due:
            raise InvalidCommandError(
                f"the {month}-month follow-up is due on {due.isoformat()}", field="month"
            )
        if still_employed and placement.ended_on is not None and placement.ended_on < due:
            raise InvalidCommandError(
                f"the placement ended on {placement.ended_on.isoformat()}",
                field="still_employed",
            )
        self.record(
            PlacementFollowedUpV1(
                worker_id=self.id,
                placement_id=placement_id,
                month=month,
                still_employed=still_employed,
                followed_up_on=on,
                area_code=placement.area_code,
                start_date=placement.start_date,
            )
        )

    def end_placement(
        self, *, placement_id: str, reason: str, ended_on: date, notes: str | None, today: date
    ) -> None:
        check_past_date(ended_on, "ended_on", today)
        placement = self._placement(placement_id)
        if placement.ended_on is not None:
            return
        if ended_on < placement.start_date:
            raise InvalidCommandError("ended_on is before the start date", field="ended_on")
        self.record(
            PlacementEndedV1(
                worker_id=self.id,
                placement_id=placement_id,
                reason=reason,
                ended_on=ended_on,
                hours_type=placement.hours_type,
                area_code=placement.area_code,
                notes=notes,
            )
        )

    def record_flexible_employment(
        self, *, order_id: str, service_code: str, area_code: str, completed_on: date, hours: float
    ) -> None:
        state = self.state or WorkerRecordState()
        if order_id in state.flexible_orders:
            return
        self.record(
            FlexibleEmploymentRecordedV1(
                worker_id=self.id,
                order_id=order_id,
                service_code=service_code,
                area_code=area_code,
                completed_on=completed_on,
                hours=hours,
            )
        )
