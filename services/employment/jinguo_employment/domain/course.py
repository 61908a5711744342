"""The course (培训班): scheduled with its seats, trainees enrol and withdraw, complete with a
pass or a fail, the passed are certified, and each trainee's subsidy is granted once."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    BusinessPlan,
    CertificateAwardedV1,
    CourseKind,
    CourseScheduledV1,
    CourseScheduledV2,
    TraineeEnrolledV1,
    TraineeWithdrewV1,
    TrainingCompletedV1,
    TrainingSubsidyGrantedV1,
)
from jinguo_employment.domain.codes import OCCUPATION_CODE_SYSTEM
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    InvalidCommandError,
    NotFoundError,
    RuleViolationError,
    check_past_date,
    check_planned_date,
)


class CourseFullError(RuleViolationError):
    code = "course-full"


class SybAwardsNoCertificateError(RuleViolationError):
    code = "syb-awards-no-certificate"


class Trainee(BaseModel):
    gender: Literal["female", "male"]
    area_code: str
    status: Literal["enrolled", "withdrawn", "passed", "failed"] = "enrolled"
    certificate_no: str | None = None
    subsidy_granted: bool = False
    enrolled_on: date | None = Field(
        default=None, description="None when recorded before enrolments carried their day"
    )
    completed_on: date | None = None


class CourseState(AggregateState):
    area_code: str
    trade: str
    occupation_code: str | None
    provider: str = ""
    seats: int
    starts_on: date
    ends_on: date
    subsidy_per_trainee: int
    kind: CourseKind = "vocational"
    trainees: dict[str, Trainee] = Field(default_factory=dict)

    @property
    def seats_taken(self) -> int:
        return sum(1 for t in self.trainees.values() if t.status != "withdrawn")


class Course(Aggregate[CourseState]):
    aggregate_type = "course"
    state_type = CourseState

    @classmethod
    def evolve(cls, state: CourseState | None, event: EventContract) -> CourseState:
        if isinstance(event, CourseScheduledV1 | CourseScheduledV2):
            return CourseState(
                area_code=event.area_code,
                trade=event.trade,
                occupation_code=event.occupation_code,
                provider=event.provider,
                seats=event.seats,
                starts_on=event.starts_on,
                ends_on=event.ends_on,
                subsidy_per_trainee=event.subsidy_per_trainee,
                kind=event.kind,
            )
        assert state is not None, f"{event.event_type} before CourseScheduled"
        match event:
            case TraineeEnrolledV1():
                trainee = Trainee(
                    gender=event.gender, area_code=event.area_code, enrolled_on=event.occurred_on
                )
                return _with(state, event.worker_id, trainee)
            case TraineeWithdrewV1():
                return _change(state, event.worker_id, status="withdrawn")
            case TrainingCompletedV1():
                return _change(
                    state,
                    event.worker_id,
                    status="passed" if event.passed else "failed",
                    completed_on=event.completed_on,
                )
            case CertificateAwardedV1():
                return _change(state, event.worker_id, certificate_no=event.certificate_no)
            case TrainingSubsidyGrantedV1():
                return _change(state, event.worker_id, subsidy_granted=True)
        return state

    def _trainee(self, worker_id: str) -> tuple[CourseState, Trainee]:
        state = self.require_state()
        trainee = state.trainees.get(worker_id)
        if trainee is None:
            raise NotFoundError(f"worker {worker_id} is not enrolled in course {self.id}")
        return state, trainee

    def schedule(
        self,
        *,
        title: str,
        trade: str,
        occupation_code: str | None,
        provider: str,
        area_code: str,
        seats: int,
        starts_on: date,
        ends_on: date,
        subsidy_per_trainee: int,
        kind: CourseKind,
        on: date,
        today: date,
        station_id: str | None = None,
    ) -> None:
        """A course may lie in the past: a past year's classes are entered after the fact."""
        if self.exists:
            raise AlreadyExistsError(f"course {self.id} was already scheduled", existing_id=self.id)
        check_past_date(on, "occurred_on", today)
        check_planned_date(starts_on, "starts_on", today)
        check_planned_date(ends_on, "ends_on", today)
        if ends_on < starts_on:
            raise InvalidCommandError("ends_on is before starts_on", field="ends_on")
        if seats < 1:
            raise InvalidCommandError("a course has at least one seat", field="seats")
        if kind == "syb" and occupation_code is not None:
            raise InvalidCommandError(
                "SYB entrepreneurship training trains for no occupation and awards no"
                " occupational certificate: give no occupation_code",
                field="occupation_code",
            )
        if kind == "vocational" and occupation_code is None:
            raise InvalidCommandError(
                "a vocational course trains for one occupation: give its occupation_code",
                field="occupation_code",
            )
        self.record(
            CourseScheduledV2(
                course_id=self.id,
                title=title,
                trade=trade,
                occupation_code=occupation_code,
                code_system=OCCUPATION_CODE_SYSTEM if occupation_code else None,
                provider=provider,
                area_code=area_code,
                seats=seats,
                starts_on=starts_on,
                ends_on=ends_on,
                subsidy_per_trainee=subsidy_per_trainee,
                kind=kind,
                occurred_on=on,
                station_id=station_id,
            )
        )

    def enrol(
        self,
        *,
        worker_id: str,
        gender: Literal["female", "male"],
        area_code: str,
        on: date,
        today: date,
    ) -> None:
        """An enrolment may be recorded after the course ended, dated when it happened: on or
        before the course's last day."""
        check_past_date(on, "occurred_on", today)
        state = self.require_state()
        current = state.trainees.get(worker_id)
        if current is not None and current.status != "withdrawn":
            return
        if on > state.ends_on:
            raise InvalidCommandError(
                f"an enrolment on {on.isoformat()} is after course {self.id} ended on"
                f" {state.ends_on.isoformat()}: give the day she enrolled (occurred_on)",
                field="occurred_on",
            )
        if state.seats_taken >= state.seats:
            raise CourseFullError(
                f"course {self.id} is full ({state.seats} seats)", seats=state.seats
            )
        self.record(
            TraineeEnrolledV1(
                course_id=self.id,
                worker_id=worker_id,
                seats_taken=state.seats_taken + 1,
                gender=gender,
                area_code=area_code,
                occurred_on=on,
                course_kind=state.kind,
            )
        )

    def withdraw(self, *, worker_id: str, reason: str, on: date, today: date) -> None:
        check_past_date(on, "occurred_on", today)
        state, trainee = self._trainee(worker_id)
        if trainee.status == "withdrawn":
            return
        if trainee.status != "enrolled":
            raise RuleViolationError(f"worker {worker_id} already completed the course")
        _not_before(on, "occurred_on", trainee.enrolled_on, "she enrolled")
        self.record(
            TraineeWithdrewV1(
                course_id=self.id,
                worker_id=worker_id,
                reason=reason,
                seats_taken=state.seats_taken - 1,
                occurred_on=on,
            )
        )

    def complete(
        self,
        *,
        worker_id: str,
        passed: bool,
        score: int,
        on: date,
        today: date,
        business_plan: BusinessPlan | None = None,
    ) -> None:
        """SYB leads to a business plan, which she may bring to her completion (and a loan
        application reads); a vocational course leads to a certificate instead."""
        check_past_date(on, "completed_on", today)
        state, trainee = self._trainee(worker_id)
        if business_plan is not None and state.kind != "syb":
            raise InvalidCommandError(
                "a business plan completes SYB training, not a vocational course",
                field="business_plan",
            )
        if trainee.status in ("passed", "failed"):
            if (trainee.status == "passed") == passed:
                return
            raise RuleViolationError(
                f"worker {worker_id} already completed the course ({trainee.status})"
            )
        if trainee.status == "withdrawn":
            raise RuleViolationError(f"worker {worker_id} withdrew from the course")
        if on < state.starts_on:
            raise InvalidCommandError("the course has not started yet", field="completed_on")
        _not_before(on, "completed_on", trainee.enrolled_on, "she enrolled")
        self.record(
            TrainingCompletedV1(
                course_id=self.id,
                worker_id=worker_id,
                passed=passed,
                score=score,
                trade=state.trade,
                area_code=trainee.area_code,
                gender=trainee.gender,
                completed_on=on,
                course_kind=state.kind,
                business_plan=business_plan,
            )
        )

    def award_certificate(
        self, *, worker_id: str, certificate_no: str, level: int, on: date, today: date
    ) -> None:
        check_past_date(on, "awarded_on", today)
        state, trainee = self._trainee(worker_id)
        if trainee.certificate_no is not None:
            return
        if state.kind == "syb" or state.occupation_code is None:
            raise SybAwardsNoCertificateError(
                f"course {self.id} is SYB entrepreneurship training: it awards no occupational"
                " certificate"
            )
        if trainee.status != "passed":
            raise RuleViolationError(
                f"only a trainee who passed is certified; worker {worker_id} is {trainee.status}"
            )
        _not_before(on, "awarded_on", trainee.completed_on, "she completed the course")
        self.record(
            CertificateAwardedV1(
                course_id=self.id,
                worker_id=worker_id,
                certificate_no=certificate_no,
                occupation_code=state.occupation_code,
                code_system=OCCUPATION_CODE_SYSTEM,
                level=level,
                trade=state.trade,
                area_code=trainee.area_code,
                awarded_on=on,
            )
        )

    def grant_subsidy(self, *, worker_id: str, on: date, today: date) -> None:
        """Once per trainee and course, for those who passed."""
        check_past_date(on, "granted_on", today)
        state, trainee = self._trainee(worker_id)
        if trainee.subsidy_granted:
            return
        if trainee.status != "passed":
            raise RuleViolationError(
                f"the training subsidy is for trainees who passed; worker {worker_id} is"
                f" {trainee.status}"
            )
        if state.subsidy_per_trainee == 0:
            raise RuleViolationError(f"course {self.id} carries no subsidy")
        _not_before(on, "granted_on", trainee.completed_on, "she completed the course")
        self.record(
            TrainingSubsidyGrantedV1(
                course_id=self.id,
                worker_id=worker_id,
                amount=state.subsidy_per_trainee,
                area_code=trainee.area_code,
                granted_on=on,
            )
        )


def _not_before(on: date, field: str, earlier: date | None, what: str) -> None:
    if earlier is not None and on < earlier:
        raise InvalidCommandError(
            f"{field} {on.isoformat()} is before {earlier.isoformat()}, the day {what}",
            field=field,
        )


def _with(state: CourseState, worker_id: str, trainee: Trainee) -> CourseState:
    return state.model_copy(update={"trainees": {**state.trainees, worker_id: trainee}})


def _change(state: CourseState, worker_id: str, **changes: object) -> CourseState:
    return _with(state, worker_id, state.trainees[worker_id].model_copy(update=changes))
