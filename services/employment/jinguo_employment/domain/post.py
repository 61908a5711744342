"""The post (岗位): published, recommended for, applied to, filled by a person, closed,
suspended. Filling decides on the post and the worker's record together."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    ApplicationReceivedV1,
    CandidateRecommendedV1,
    PostClosedV1,
    PostFilledV1,
    PostKind,
    PostPublishedV1,
    PostReopenedV1,
    PostSuspendedV1,
    Requirements,
    Wage,
)
from jinguo_contracts.registry import HoursType
from jinguo_employment.domain.codes import OCCUPATION_CODE_SYSTEM
from jinguo_employment.domain.worker_record import WorkerRecord
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    InvalidCommandError,
    RuleViolationError,
    check_past_date,
)

PostStatus = Literal["open", "suspended", "closed"]


class EmployerSuspendedError(RuleViolationError):
    code = "employer-suspended"


class PostFullError(RuleViolationError):
    code = "post-full"


class PriorityCandidateWaitingError(RuleViolationError):
    code = "priority-candidate-waiting"


class PostState(AggregateState):
    employer_id: str
    employer_name: str
    kind: PostKind
    hours_type: HoursType
    area_code: str
    occupation_code: str
    openings: int
    filled: int = 0
    status: PostStatus = "open"
    suspended_with_employer: bool = False
    candidates: list[str] = Field(default_factory=list, description="recommended or applied")
    placed: list[str] = Field(default_factory=list, description="worker ids placed here")


class Post(Aggregate[PostState]):
    aggregate_type = "post"
    state_type = PostState

    @classmethod
    def evolve(cls, state: PostState | None, event: EventContract) -> PostState:
        if isinstance(event, PostPublishedV1):
            return PostState(
                employer_id=event.employer_id,
                employer_name=event.employer_name,
                kind=event.kind,
                hours_type=event.hours_type,
                area_code=event.area_code,
                occupation_code=event.occupation_code,
                openings=event.openings,
            )
        assert state is not None, f"{event.event_type} before PostPublished"
        match event:
            case CandidateRecommendedV1() | ApplicationReceivedV1():
                if event.worker_id in state.candidates:
                    return state
                return state.model_copy(update={"candidates": [*state.candidates, event.worker_id]})
            case PostFilledV1():
                return state.model_copy(
                    update={"filled": state.filled + 1, "placed": [*state.placed, event.worker_id]}
                )
            case PostClosedV1():
                return state.model_copy(update={"status": "closed"})
            case PostSuspendedV1():
                return state.model_copy(
                    update={
                        "status": "suspended",
                        "suspended_with_employer": event.employer_suspended,
                    }
                )
            case PostReopenedV1():
                return state.model_copy(update={"status": "open", "suspended_with_employer": False})
        return state

    def _open(self) -> PostState:
        state = self.require_state()
        if state.status != "open":
            raise RuleViolationError(f"post {self.id} is {state.status}", status=state.status)
        return state

    def publish(
        self,
        *,
        employer_id: str,
        employer_name: str,
        employer_suspended: bool,
        title: str,
        occupation_code: str,
        area_code: str,
        wage: Wage,
        hours_type: HoursType,
        openings: int,
        requirements: Requirements,
        kind: PostKind,
        published_on: date,
        today: date,
    ) -> None:
        check_past_date(published_on, "published_on", today)
        if self.exists:
            raise AlreadyExistsError(f"post {self.id} was already published", existing_id=self.id)
        if employer_suspended:
            raise EmployerSuspendedError(
                f"employer {employer_id} is suspended and cannot publish posts",
                employer_id=employer_id,
            )
        if openings < 1:
            raise InvalidCommandError("a post has at least one opening", field="openings")
        self.record(
            PostPublishedV1(
                post_id=self.id,
                employer_id=employer_id,
                employer_name=employer_name,
                title=title,
                occupation_code=occupation_code,
                code_system=OCCUPATION_CODE_SYSTEM,
                area_code=area_code,
                wage=wage,
                hours_type=hours_type,
                openings=openings,
                requirements=requirements,
                kind=kind,
                published_on=published_on,
            )
        )

    def recommend(
        self, *, worker_id: str, score: float, reasons: list[str], on: date, today: date
    ) -> None:
        """Recording a recommendation decides nothing: a person still fills the post."""
        check_past_date(on, "occurred_on", today)
        state = self._open()
        if worker_id in state.placed:
            raise RuleViolationError(f"worker {worker_id} already holds this post")
        self.record(
            CandidateRecommendedV1(
                post_id=self.id, worker_id=worker_id, score=score, reasons=reasons, occurred_on=on
            )
        )

    def receive_application(self, *, worker_id: str, on: date, today: date) -> None:
        check_past_date(on, "occurred_on", today)
        state = self._open()
        if worker_id in state.candidates:
            return
        self.record(ApplicationReceivedV1(post_id=self.id, worker_id=worker_id, occurred_on=on))

    def close(self, *, reason: str, on: date, today: date) -> None:
        check_past_date(on, "occurred_on", today)
        state = self.require_state()
        if state.status == "closed":
            return
        self.record(PostClosedV1(post_id=self.id, reason=reason, occurred_on=on))

    def suspend(
        self, *, reason: str, on: date, today: date, employer_suspended: bool = False
    ) -> None:
        check_past_date(on, "occurred_on", today)
        state = self.require_state()
        if state.status != "open":
            return
        self.record(
            PostSuspendedV1(
                post_id=self.id,
                reason=reason,
                employer_suspended=employer_suspended,
                occurred_on=on,
            )
        )

    def reopen(
        self,
        *,
        reason: str,
        on: date,
        today: date,
        only_if_suspended_with_employer: bool = False,
    ) -> None:
        check_past_date(on, "occurred_on", today)
        state = self.require_state()
        if state.status != "suspended":
            return
        if only_if_suspended_with_employer and not state.suspended_with_employer:
            return
        self.record(PostReopenedV1(post_id=self.id, reason=reason, occurred_on=on))


def fill_post(
    post: Post,
    record: WorkerRecord,
    *,
    placement_id: str,
    start_date: date,
    today: date,
    employer_suspended: bool,
    worker_is_priority: bool,
    waiting_priority_candidates: list[str],
    override_reason: str | None,
) -> None:
    """A person places a worker: never more placements than openings, never two full-time
    placements for one worker, and public-welfare posts go first to the hard to employ."""
    check_past_date(start_date, "start_date", today)
    state = post._open()
    worker_id = record.id
    if employer_suspended:
        raise EmployerSuspendedError(
            f"employer {state.employer_id} is suspended", employer_id=state.employer_id
        )
    if worker_id in state.placed:
        raise AlreadyExistsError(f"worker {worker_id} was already placed in post {post.id}")
    if state.filled >= state.openings:
        raise PostFullError(
            f"post {post.id} has no opening left ({state.openings} filled)",
            openings=state.openings,
        )
    waiting = [w for w in waiting_priority_candidates if w != worker_id]
    if state.kind == "public_welfare" and not worker_is_priority and waiting:
        if not override_reason:
            raise PriorityCandidateWaitingError(
                "a public-welfare post goes first to the hard to employ: priority candidates"
                " are waiting; give override_reason to fill it anyway",
                waiting_candidates=waiting,
            )
    else:
        override_reason = None
    record.start_placement(
        placement_id=placement_id,
        post_id=post.id,
        employer_id=state.employer_id,
        area_code=state.area_code,
        hours_type=state.hours_type,
        kind=state.kind,
        start_date=start_date,
    )
    post.record(
        PostFilledV1(
            post_id=post.id,
            worker_id=worker_id,
            placement_id=placement_id,
            start_date=start_date,
            employer_id=state.employer_id,
            employer_name=state.employer_name,
            area_code=state.area_code,
            occupation_code=state.occupation_code,
            hours_type=state.hours_type,
            kind=state.kind,
            openings_left=state.openings - state.filled - 1,
            override_reason=override_reason,
        )
    )
