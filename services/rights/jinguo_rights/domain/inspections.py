"""Employer inspections (劳动保障监察): findings, violations, rectification."""

from __future__ import annotations

from datetime import date

from jinguo_contracts.base import EventContract
from jinguo_contracts.inspections import (
    EmployerViolationFoundV1,
    Finding,
    InspectionRecordedV1,
    ViolationRectifiedV1,
)
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    InvalidCommandError,
    NotFoundError,
    RuleViolationError,
    check_past_date,
)


class InspectionState(AggregateState):
    agency_id: str
    area_code: str
    employer_id: str
    inspected_on: date
    violations: list[str]
    rectified: bool = False


class Inspection(Aggregate[InspectionState]):
    aggregate_type = "inspection"
    state_type = InspectionState

    @classmethod
    def evolve(cls, state: InspectionState | None, event: EventContract) -> InspectionState:
        if isinstance(event, InspectionRecordedV1):
            return InspectionState(
                agency_id=event.agency_id,
                area_code=event.area_code,
                employer_id=event.employer_id,
                inspected_on=event.inspected_on,
                violations=[f.topic for f in event.findings if not f.compliant],
            )
        assert state is not None
        if isinstance(event, ViolationRectifiedV1):
            return state.model_copy(update={"rectified": True})
        return state

    def check_agency(self, agency_id: str) -> None:
        """Only the inspecting agency records what follows its inspection."""
        if self.require_state().agency_id != agency_id:
            raise NotFoundError(f"inspection {self.id} not found")

    def record_inspection(
        self,
        *,
        agency_id: str,
        employer_id: str,
        employer_name: str,
        area_code: str,
        inspected_on: date,
        findings: list[Finding],
        today: date,
    ) -> None:
        """A finding of non-compliance is published at once for employment to act on."""
        if self.exists:
            raise AlreadyExistsError(f"inspection {self.id} already exists", existing_id=self.id)
        check_past_date(inspected_on, "inspected_on", today)
        topics = [f.topic for f in findings]
        if len(set(topics)) != len(topics):
            raise InvalidCommandError("each topic is inspected once", field="findings")
        self.record(
            InspectionRecordedV1(
                inspection_id=self.id,
                agency_id=agency_id,
                employer_id=employer_id,
                employer_name=employer_name,
                area_code=area_code,
                inspected_on=inspected_on,
                findings=findings,
            )
        )
        violations = [f.topic for f in findings if not f.compliant]
        if violations:
            self.record(
                EmployerViolationFoundV1(
                    inspection_id=self.id,
                    employer_id=employer_id,
                    violations=violations,
                    found_on=inspected_on,
                )
            )

    def rectify(self, *, rectified_on: date, today: date) -> None:
        state = self.require_state()
        if not state.violations:
            raise RuleViolationError(f"inspection {self.id} found no violation to rectify")
        if state.rectified:
            return
        check_past_date(rectified_on, "rectified_on", today)
        if rectified_on < state.inspected_on:
            raise InvalidCommandError("rectified_on is before the inspection", field="rectified_on")
        self.record(
            ViolationRectifiedV1(
                inspection_id=self.id, employer_id=state.employer_id, rectified_on=rectified_on
            )
        )
