"""The programme's year: areas and stations, an area's annual plan, and a period's report that
its agency submits and the level above accepts or returns.

Who acts is an `Office`: an agency and the area prefix it covers. An area's own office (the
agency whose jurisdiction is exactly the area) submits its plan and reports and revises them;
an office strictly above the area decides on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import Field

from jinguo_contracts.areas import (
    AreaPopulationRecordedV1,
    AreaRegisteredV1,
    AreaRenamedV1,
    StationKind,
    StationRegisteredV1,
    area_level,
    area_prefix,
    parent_area,
)
from jinguo_contracts.base import EventContract
from jinguo_contracts.periods import (
    Figure,
    ReportAcceptedV1,
    ReportReturnedV1,
    ReportRevisedV1,
    ReportSubmittedV1,
)
from jinguo_contracts.programme import PlanApprovedV1, PlanReturnedV1, PlanSubmittedV1
from jinguo_registry.domain.indicators import BY_CODE
from jinguo_registry.domain.organisations import NotPermittedError
from jinguo_registry.domain.periods import Period
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    InvalidCommandError,
    RuleViolationError,
    check_past_date,
)

Decision = Literal["submitted", "approved", "accepted", "returned"]


@dataclass(frozen=True, slots=True)
class Office:
    agency_id: str
    prefix: str
    """The area codes it covers start with this; "" covers every area (the platform operator)."""

    def is_own(self, area_code: str) -> bool:
        return self.prefix == area_prefix(area_code)

    def is_above(self, area_code: str) -> bool:
        own = area_prefix(area_code)
        return own.startswith(self.prefix) and own != self.prefix


def _require_own(office: Office, area_code: str, what: str) -> None:
    if not office.is_own(area_code):
        raise NotPermittedError(
            f"only the office of area {area_code} itself {what}", area_code=area_code
        )


def _require_above(office: Office, area_code: str, what: str) -> None:
    if not office.is_above(area_code):
        raise NotPermittedError(
            f"only an office above area {area_code} {what}", area_code=area_code
        )


class AreaState(AggregateState):
    area_code: str
    name: str
    urban: bool = True
    populations: dict[int, tuple[int, int, int]] = Field(default_factory=dict)


class Area(Aggregate[AreaState]):
    aggregate_type = "area"
    state_type = AreaState

    @classmethod
    def evolve(cls, state: AreaState | None, event: EventContract) -> AreaState:
        if isinstance(event, AreaRegisteredV1):
            return AreaState(area_code=event.area_code, name=event.name, urban=event.urban)
        assert state is not None
        if isinstance(event, AreaRenamedV1):
            return state.model_copy(update={"name": event.name, "urban": event.urban})
        if isinstance(event, AreaPopulationRecordedV1):
            counts = (event.households, event.residents, event.women)
            return state.model_copy(
                update={"populations": {**state.populations, event.year: counts}}
            )
        return state

    def register(self, *, name: str, urban: bool) -> None:
        if self.exists:
            raise AlreadyExistsError(f"area {self.id} is already registered", existing_id=self.id)
        self.record(
            AreaRegisteredV1(
                area_code=self.id,
                name=name,
                level=area_level(self.id),
                parent_code=parent_area(self.id),
                urban=urban,
            )
        )

    def rename(self, *, name: str, urban: bool) -> None:
        state = self.require_state()
        if (state.name, state.urban) == (name, urban):
            return
        self.record(AreaRenamedV1(area_code=self.id, name=name, urban=urban))

    def record_population(
        self, *, year: int, households: int, residents: int, women: int, today: date
    ) -> None:
        state = self.require_state()
        if state.populations.get(year) == (households, residents, women):
            return
        if not 1990 <= year <= today.year + 1:
            raise InvalidCommandError(f"year {year} is outside 1990–{today.year + 1}", field="year")
        if women > residents:
            raise InvalidCommandError(
                f"{women} women is more than the {residents} residents", field="women"
            )
        self.record(
            AreaPopulationRecordedV1(
                area_code=self.id,
                year=year,
                households=households,
                residents=residents,
                women=women,
            )
        )


class StationState(AggregateState):
    area_code: str


class Station(Aggregate[StationState]):
    aggregate_type = "station"
    state_type = StationState

    @classmethod
    def evolve(cls, state: StationState | None, event: EventContract) -> StationState:
        if isinstance(event, StationRegisteredV1):
            return StationState(area_code=event.area_code)
        assert state is not None
        return state

    def register(
        self,
        *,
        area_code: str,
        kind: StationKind,
        name: str,
        agency_id: str | None,
        opened_on: date,
        today: date,
    ) -> None:
        if self.exists:
            raise AlreadyExistsError(
                f"this station is already registered: {self.id}", existing_id=self.id
            )
        check_past_date(opened_on, "opened_on", today)
        self.record(
            StationRegisteredV1(
                station_id=self.id,
                area_code=area_code,
                kind=kind,
                name=name,
                agency_id=agency_id,
                opened_on=opened_on,
            )
        )


class PlanState(AggregateState):
    area_code: str
    year: int
    decision: Decision


class Plan(Aggregate[PlanState]):
    """An area's annual plan (年初工作计划), id `<area_code>-<year>`."""

    aggregate_type = "plan"
    state_type = PlanState

    @classmethod
    def evolve(cls, state: PlanState | None, event: EventContract) -> PlanState:
        if isinstance(event, PlanSubmittedV1):
            return PlanState(area_code=event.area_code, year=event.year, decision="submitted")
        assert state is not None
        if isinstance(event, PlanApprovedV1):
            return state.model_copy(update={"decision": "approved"})
        if isinstance(event, PlanReturnedV1):
            return state.model_copy(update={"decision": "returned"})
        return state

    def submit(
        self, *, area_code: str, year: int, targets: dict[str, float], by: Office, today: date
    ) -> None:
        _require_own(by, area_code, "submits its plan")
        if self.state is not None and self.state.decision != "returned":
            raise RuleViolationError(
                f"the plan {self.id} is {self.state.decision}; only a returned plan is submitted"
                " again"
            )
        if not today.year - 1 <= year <= today.year + 1:
            raise InvalidCommandError(
                f"a plan is for last year, this year or next ({today.year - 1}–{today.year + 1})",
                field="year",
            )
        unknown = sorted(set(targets) - set(BY_CODE))
        if unknown:
            raise InvalidCommandError(
                f"unknown indicators: {', '.join(unknown)} (GET /registry/indicators)",
                field="targets",
            )
        if not targets:
            raise InvalidCommandError("a plan sets at least one target", field="targets")
        self.record(
            PlanSubmittedV1(
                plan_id=self.id,
                area_code=area_code,
                year=year,
                targets=targets,
                submitted_by=by.agency_id,
                submitted_on=today,
            )
        )

    def _pending(self, by: Office, what: str) -> PlanState:
        state = self.require_state()
        _require_above(by, state.area_code, what)
        if state.decision != "submitted":
            raise RuleViolationError(f"the plan {self.id} is {state.decision}, not awaiting one")
        return state

    def approve(self, *, by: Office, today: date) -> None:
        state = self._pending(by, "approves its plan")
        self.record(
            PlanApprovedV1(
                plan_id=self.id,
                area_code=state.area_code,
                year=state.year,
                decided_by=by.agency_id,
                decided_on=today,
            )
        )

    def return_(self, *, reason: str, by: Office, today: date) -> None:
        state = self._pending(by, "returns its plan")
        self.record(
            PlanReturnedV1(
                plan_id=self.id,
                area_code=state.area_code,
                year=state.year,
                decided_by=by.agency_id,
                decided_on=today,
                reason=reason,
            )
        )


class ReportState(AggregateState):
    area_code: str
    period: str
    decision: Decision
    revision: int = 0


class Report(Aggregate[ReportState]):
    """A period's report (年终报送工作总结) of one area, id `<area_code>-<period>`."""

    aggregate_type = "report"
    state_type = ReportState

    @classmethod
    def evolve(cls, state: ReportState | None, event: EventContract) -> ReportState:
        if isinstance(event, ReportSubmittedV1):
            return ReportState(area_code=event.area_code, period=event.period, decision="submitted")
        assert state is not None
        if isinstance(event, ReportAcceptedV1):
            return state.model_copy(update={"decision": "accepted"})
        if isinstance(event, ReportReturnedV1):
            return state.model_copy(update={"decision": "returned"})
        if isinstance(event, ReportRevisedV1):
            return state.model_copy(update={"revision": event.revision})
        return state

    def submit(
        self,
        *,
        area_code: str,
        period: Period,
        figures: dict[str, Figure],
        children_not_accepted: list[str],
        by: Office,
        today: date,
    ) -> None:
        _require_own(by, area_code, "submits its report")
        if self.state is not None and self.state.decision != "returned":
            raise RuleViolationError(
                f"the report {self.id} is {self.state.decision}; only a returned report is"
                " submitted again"
            )
        if today <= period.ends_on:
            raise RuleViolationError(
                f"period {period.code} ends on {period.ends_on.isoformat()}: it is submitted"
                " after it has ended"
            )
        if children_not_accepted:
            raise RuleViolationError(
                f"{len(children_not_accepted)} areas below have no accepted report for"
                f" {period.code} yet: {', '.join(children_not_accepted[:10])}",
                areas=children_not_accepted,
            )
        self.record(
            ReportSubmittedV1(
                report_id=self.id,
                area_code=area_code,
                period=period.code,
                figures=figures,
                submitted_by=by.agency_id,
                submitted_on=today,
            )
        )

    def _pending(self, by: Office, what: str) -> ReportState:
        state = self.require_state()
        _require_above(by, state.area_code, what)
        if state.decision != "submitted":
            raise RuleViolationError(
                f"the report {self.id} is {state.decision}, not awaiting a decision"
            )
        return state

    def accept(self, *, by: Office, today: date) -> None:
        state = self._pending(by, "accepts its report")
        self.record(
            ReportAcceptedV1(
                report_id=self.id,
                area_code=state.area_code,
                period=state.period,
                decided_by=by.agency_id,
                decided_on=today,
            )
        )

    def return_(self, *, reason: str, by: Office, today: date) -> None:
        state = self._pending(by, "returns its report")
        self.record(
            ReportReturnedV1(
                report_id=self.id,
                area_code=state.area_code,
                period=state.period,
                decided_by=by.agency_id,
                decided_on=today,
                reason=reason,
            )
        )

    def revise(self, *, figures: dict[str, Figure], reason: str, by: Office, today: date) -> None:
        state = self.require_state()
        _require_own(by, state.area_code, "revises its report")
        if state.decision != "accepted":
            raise RuleViolationError(
                f"the report {self.id} is {state.decision}: only an accepted report is revised;"
                " a submitted one is returned first"
            )
        self.record(
            ReportRevisedV1(
                report_id=self.id,
                area_code=state.area_code,
                period=state.period,
                figures=figures,
                revision=state.revision + 1,
                reason=reason,
                revised_by=by.agency_id,
                revised_on=today,
            )
        )
