"""The employment service's commands: validated input, and one handler per command."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from jinguo_contracts.areas import AreaCode
from jinguo_contracts.employment import (
    BusinessPlan,
    CourseKind,
    PostKind,
    Requirements,
    Wage,
    WageUnit,
)
from jinguo_contracts.registry import HoursType
from jinguo_employment.domain.codes import CreditCode, OccupationCode
from jinguo_employment.domain.course import Course
from jinguo_employment.domain.employer import Employer
from jinguo_employment.domain.matching import Match, PostProfile, assess, rank
from jinguo_employment.domain.post import Post, PriorityCandidateWaitingError, fill_post
from jinguo_employment.domain.worker_record import WorkerRecord
from jinguo_employment.projections.queries import EmploymentQueries
from jinguo_shared.commands import CommandExecutor, CommandResult, IdempotencyKey
from jinguo_shared.domain import AlreadyExistsError, NotFoundError
from jinguo_shared.envelope import CommandContext

Name = Field(min_length=1, max_length=200)
Text = Field(min_length=1, max_length=2000)
Skill = Annotated[str, StringConstraints(min_length=1, max_length=60)]
OccurredOn = Field(
    default=None,
    description="the day it happened, in the programme's time zone: today when not given, never"
    " in the future; a past year's records are entered with their own dates",
)


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RegisterEmployer(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "东四社区养老驿站",
                    "credit_code": "91110101MA01234567",
                    "area_code": "110101001",
                }
            ]
        }
    )

    name: str = Name
    credit_code: CreditCode
    area_code: AreaCode
    occurred_on: date | None = OccurredOn


class SuspendEmployer(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "拖欠劳动者工资，经劳动保障监察查实"}]}
    )

    reason: str = Text
    occurred_on: date | None = OccurredOn


class ReinstateEmployer(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "已足额支付拖欠工资并完成整改"}]}
    )

    reason: str = Text
    occurred_on: date | None = OccurredOn


class WageInput(Command):
    amount: int = Field(ge=0, le=1_000_000, description="yuan (元)")
    unit: WageUnit


class RequirementsInput(Command):
    skills: list[Skill] = Field(default_factory=list, max_length=20)
    vocational_certificate: bool = False
    min_level: int | None = Field(default=None, ge=1, le=5)
    notes: str | None = Field(default=None, max_length=2000)


class PublishPost(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "employer_id": "3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b",
                    "title": "养老护理员",
                    "occupation_code": "4-10-01-05",
                    "area_code": "110101001001",
                    "wage": {"amount": 4500, "unit": "month"},
                    "hours_type": "full_time",
                    "openings": 3,
                    "requirements": {
                        "skills": ["养老护理"],
                        "vocational_certificate": True,
                        "min_level": 5,
                    },
                    "kind": "public_welfare",
                }
            ]
        }
    )

    employer_id: str = Field(min_length=1, max_length=64)
    title: str = Name
    occupation_code: OccupationCode
    area_code: AreaCode
    wage: WageInput
    hours_type: HoursType
    openings: int = Field(ge=1, le=1000)
    requirements: RequirementsInput = Field(default_factory=RequirementsInput)
    kind: PostKind = "market"
    published_on: date | None = Field(
        default=None,
        description="the day the post was published (programme's time zone): today when not"
        " given, never in the future",
    )


class ClosePost(Command):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "用人单位调整用工计划"}]})

    reason: str = Text
    occurred_on: date | None = OccurredOn


class CandidateInput(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"worker_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7"}]}
    )

    worker_id: str = Field(min_length=1, max_length=64)
    occurred_on: date | None = OccurredOn


class FillPost(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"worker_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "start_date": "2026-05-06"}
            ]
        }
    )

    worker_id: str = Field(min_length=1, max_length=64)
    start_date: date
    override_reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="needed to place a worker outside the priority groups in a public-welfare"
        " post while a priority candidate waits",
    )


class FollowUp(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"month": 3, "still_employed": True, "followed_up_on": "2026-08-06"}]
        }
    )

    month: Literal[3, 6, 12]
    still_employed: bool
    followed_up_on: date


class EndPlacement(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reason": "contract_ended",
                    "ended_on": "2026-11-05",
                    "notes": "合同期满，本人不再续签",
                }
            ]
        }
    )

    reason: Literal["resigned", "dismissed", "contract_ended", "post_closed", "other"]
    ended_on: date
    notes: str | None = Field(default=None, max_length=2000)


class ScheduleCourse(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "2026年第二期养老护理员（五级）培训班",
                    "trade": "养老护理",
                    "occupation_code": "4-10-01-05",
                    "provider": "东城区职业技能培训学校",
                    "area_code": "110101",
                    "seats": 40,
                    "starts_on": "2026-06-01",
                    "ends_on": "2026-06-26",
                    "subsidy_per_trainee": 1800,
                    "kind": "vocational",
                }
            ]
        }
    )

    title: str = Name
    trade: str = Field(min_length=1, max_length=60)
    occupation_code: OccupationCode | None = Field(
        default=None,
        description="GB/T 6565 code: required for a vocational course, refused for SYB",
    )
    provider: str = Name
    area_code: AreaCode
    seats: int = Field(ge=1, le=500)
    starts_on: date
    ends_on: date
    subsidy_per_trainee: int = Field(ge=0, le=100_000, description="yuan (元)")
    kind: CourseKind = "vocational"
    station_id: str | None = Field(
        default=None,
        max_length=64,
        description="the station that took it (GET /registry/stations): of its area or above",
    )
    occurred_on: date | None = Field(
        default=None,
        description="the day the course was scheduled: today when not given, never in the"
        " future (the course itself may lie in the past)",
    )

    @model_validator(mode="after")
    def _dates(self) -> ScheduleCourse:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class Withdraw(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "本人已实现就业，无法继续参训"}]}
    )

    reason: str = Text
    occurred_on: date | None = OccurredOn


class CompleteTraining(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "worker_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                    "passed": True,
                    "score": 86,
                    "completed_on": "2026-06-26",
                }
            ]
        }
    )

    worker_id: str = Field(min_length=1, max_length=64)
    passed: bool
    score: int = Field(ge=0, le=100)
    completed_on: date
    business_plan: BusinessPlan | None = Field(
        default=None, description="SYB only: the business plan (创业计划书) she completed with"
    )


class AwardCertificate(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "worker_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                    "level": 5,
                    "awarded_on": "2026-07-10",
                }
            ]
        }
    )

    worker_id: str = Field(min_length=1, max_length=64)
    level: int = Field(default=5, ge=1, le=5)
    awarded_on: date


class GrantSubsidy(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"worker_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "granted_on": "2026-07-20"}
            ]
        }
    )

    worker_id: str = Field(min_length=1, max_length=64)
    granted_on: date


def derived_id(namespace: str, value: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"jinguo:employment:{namespace}:{value}"))


def step(context: CommandContext, purpose: str) -> CommandContext:
    """A follow-on command of this one: its id derives from the first, so a retry repeats it
    exactly (and the executor recognises what was already appended). It runs as the system:
    the rule decides which records follow (an employer's posts, wherever they are), not the
    caller, whose jurisdiction the first command was checked against."""
    return replace(
        context,
        command_id=derived_id(purpose, context.command_id),
        causation_id=context.causation_id or context.command_id,
        jurisdiction=None,
    )


def sees(context: CommandContext, area_code: str | None) -> bool:
    """Whether the caller may know of a record in this area; for the others, it does not exist."""
    return context.jurisdiction is None or context.jurisdiction.covers(area_code)


def unknown_seeker(worker_id: str) -> NotFoundError:
    return NotFoundError(
        f"worker {worker_id} is not in the seeker pool (registered in the registry? pass"
        " ?after=REGISTRY:<seq> to wait for it)",
        field="worker_id",
    )


def profile_of(post: dict[str, object]) -> PostProfile:
    requirements = post["requirements"]
    assert isinstance(requirements, dict)
    return PostProfile(
        occupation_code=str(post["occupation_code"]),
        area_code=str(post["area_code"]),
        hours_type=str(post["hours_type"]),
        kind=str(post["kind"]),
        skills=tuple(requirements.get("skills") or ()),
        vocational_certificate=bool(requirements.get("vocational_certificate")),
        min_level=requirements.get("min_level"),
    )


class EmploymentHandlers:
    """One method per command; `today` (the programme's business date) is injected so that
    rules about dates stay testable."""

    def __init__(
        self,
        executor: CommandExecutor,
        queries: EmploymentQueries,
        today: Callable[[], date],
    ) -> None:
        self._executor = executor
        self._queries = queries
        self._today = today

    # employers -----------------------------------------------------------------------

    async def register_employer(
        self, c: RegisterEmployer, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        employer_id = derived_id("employer", c.credit_code)
        known = await self._executor.load_cached(Employer, employer_id)
        if known.exists and not sees(ctx, known.area_code):
            # one credit code, one employer: say so, but not where or under which id
            raise AlreadyExistsError(
                "an employer with this credit code is already registered outside your"
                " jurisdiction; an agency covering both areas can publish its posts here"
            )
        today = self._today()
        return await self._executor.execute(
            Employer,
            employer_id,
            lambda e: e.register(
                name=c.name,
                credit_code=c.credit_code,
                area_code=c.area_code,
                on=c.occurred_on or today,
                today=today,
            ),
            ctx,
            key,
        )

    async def suspend_employer(
        self,
        employer_id: str,
        reason: str,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
        inspection_id: str | None = None,
        on: date | None = None,
    ) -> CommandResult:
        """Suspends the employer, then each of its open posts (each a command of its own,
        derived from this one, so a retry or a redelivered violation finishes the job), all on
        the day the employer was suspended."""
        today = self._today()
        day = on or today
        result = await self._executor.execute(
            Employer,
            employer_id,
            lambda e: e.suspend(reason=reason, inspection_id=inspection_id, on=day, today=today),
            ctx,
            key,
        )
        await self._queries.posts_seen(result.position)
        for post_id in await self._queries.employer_post_ids(employer_id, "open"):
            await self._executor.execute(
                Post,
                post_id,
                lambda p: p.suspend(
                    reason=f"employer suspended: {reason}",
                    employer_suspended=True,
                    on=day,
                    today=today,
                ),
                step(ctx, f"suspend-post:{post_id}"),
            )
        return result

    async def reinstate_employer(
        self,
        employer_id: str,
        reason: str,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
        inspection_id: str | None = None,
        on: date | None = None,
    ) -> CommandResult:
        today = self._today()
        day = on or today
        result = await self._executor.execute(
            Employer,
            employer_id,
            lambda e: e.reinstate(reason=reason, inspection_id=inspection_id, on=day, today=today),
            ctx,
            key,
        )
        employer = await self._executor.load_cached(Employer, employer_id)
        if employer.state is not None and not employer.state.suspended:
            await self._queries.posts_seen(result.position)
            for post_id in await self._queries.employer_post_ids(employer_id, "suspended"):
                await self._executor.execute(
                    Post,
                    post_id,
                    lambda p: p.reopen(
                        reason=f"employer reinstated: {reason}",
                        only_if_suspended_with_employer=True,
                        on=day,
                        today=today,
                    ),
                    step(ctx, f"reopen-post:{post_id}"),
                )
        return result

    # posts -----------------------------------------------------------------------

    async def publish_post(
        self, c: PublishPost, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        employer = await self._executor.load_cached(Employer, c.employer_id)
        if employer.state is None or not sees(ctx, employer.state.area_code):
            raise NotFoundError(f"no employer {c.employer_id}", field="employer_id")
        state = employer.state
        today = self._today()
        return await self._executor.execute(
            Post,
            derived_id("post", ctx.command_id),
            lambda p: p.publish(
                employer_id=c.employer_id,
                employer_name=state.name,
                employer_suspended=state.suspended,
                title=c.title,
                occupation_code=c.occupation_code,
                area_code=c.area_code,
                wage=Wage(amount=c.wage.amount, unit=c.wage.unit),
                hours_type=c.hours_type,
                openings=c.openings,
                requirements=Requirements(**c.requirements.model_dump()),
                kind=c.kind,
                published_on=c.published_on or today,
                today=today,
            ),
            ctx,
            key,
        )

    async def close_post(
        self, post_id: str, c: ClosePost, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Post,
            post_id,
            lambda p: p.close(reason=c.reason, on=c.occurred_on or today, today=today),
            ctx,
            key,
        )

    async def suspend_post(
        self, post_id: str, c: ClosePost, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Post,
            post_id,
            lambda p: p.suspend(reason=c.reason, on=c.occurred_on or today, today=today),
            ctx,
            key,
        )

    async def matches(self, post_id: str, limit: int, area: str | None = None) -> list[Match]:
        """The best seekers for a post, among those living inside `area` (the reader's)."""
        post = await self._queries.post(post_id, area=area)
        if post is None or not post["area_code"].startswith(area or ""):
            raise NotFoundError(f"no post {post_id}")
        profile = profile_of(post)
        today = self._today()
        placed = frozenset(c["worker_id"] for c in post["candidates"] if c["how"] == "placed")
        seekers = await self._queries.candidates(profile, today, area, best=limit, excluded=placed)
        return rank(profile, seekers, today, limit)

    async def _seeker(self, worker_id: str, ctx: CommandContext) -> dict[str, Any]:
        """The seeker a command names; one outside the caller's jurisdiction does not exist."""
        seeker = await self._queries.seeker_profile(worker_id)
        if seeker is None or not sees(ctx, seeker["area_code"]):
            raise unknown_seeker(worker_id)
        return seeker

    async def recommend(
        self,
        post_id: str,
        c: CandidateInput,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        post = await self._queries.post(post_id, settle=True)
        if post is None or not sees(ctx, post["area_code"]):
            raise NotFoundError(f"no post {post_id}")
        today = self._today()
        seeker = await self._queries.seeker(c.worker_id, today)
        if seeker is None or not sees(ctx, seeker.area_code):
            raise unknown_seeker(c.worker_id)
        score, reasons = assess(profile_of(post), seeker, today, explain=True)
        return await self._executor.execute(
            Post,
            post_id,
            lambda p: p.recommend(
                worker_id=c.worker_id,
                score=score,
                reasons=reasons,
                on=c.occurred_on or today,
                today=today,
            ),
            ctx,
            key,
        )

    async def receive_application(
        self,
        post_id: str,
        c: CandidateInput,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        await self._seeker(c.worker_id, ctx)
        today = self._today()
        return await self._executor.execute(
            Post,
            post_id,
            lambda p: p.receive_application(
                worker_id=c.worker_id, on=c.occurred_on or today, today=today
            ),
            ctx,
            key,
        )

    async def fill_post(
        self, post_id: str, c: FillPost, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> tuple[CommandResult, str]:
        """Returns the result and the placement id. The caller must see both the post and the
        worker: a placement relates two records, and neither may lie outside her jurisdiction."""
        await self._seeker(c.worker_id, ctx)
        today = self._today()
        post = await self._executor.load_cached(Post, post_id)
        if post.state is None:
            raise NotFoundError(f"no post {post_id}")
        employer = await self._executor.load_cached(Employer, post.state.employer_id)
        employer_suspended = employer.state is not None and employer.state.suspended
        waiting = [w for w in post.state.candidates if w not in post.state.placed]
        priority = await self._queries.priority_workers([*waiting, c.worker_id], today)
        busy = await self._queries.employed_full_time(waiting)
        waiting_priority = [w for w in waiting if w in priority and w not in busy]
        placement_id = derived_id("placement", ctx.command_id)
        try:
            result = await self._executor.execute_together(
                (Post, post_id),
                (WorkerRecord, c.worker_id),
                lambda p, r: fill_post(
                    p,
                    r,
                    placement_id=placement_id,
                    start_date=c.start_date,
                    today=today,
                    employer_suspended=employer_suspended,
                    worker_is_priority=c.worker_id in priority,
                    waiting_priority_candidates=waiting_priority,
                    override_reason=c.override_reason,
                ),
                ctx,
                key,
            )
        except PriorityCandidateWaitingError as refused:
            # the rule counts every waiting candidate; the answer names only those she may see
            areas = await self._queries.seeker_areas(waiting_priority)
            refused.extensions["waiting_candidates"] = [
                w for w in waiting_priority if sees(ctx, areas.get(w))
            ]
            raise
        return result, placement_id

    async def _placement_worker(self, placement_id: str, ctx: CommandContext) -> str:
        """The worker placed; a placement belongs to its post's area."""
        placement = await self._queries.placement(placement_id, settle=True)
        if placement is None or not sees(ctx, placement["area_code"]):
            raise NotFoundError(f"no placement {placement_id}")
        if placement["worker_id"] is None:
            raise NotFoundError(f"the worker placed in {placement_id} was erased")
        return str(placement["worker_id"])

    async def follow_up(
        self, placement_id: str, c: FollowUp, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        worker_id = await self._placement_worker(placement_id, ctx)
        today = self._today()
        return await self._executor.execute(
            WorkerRecord,
            worker_id,
            lambda r: r.follow_up(
                placement_id=placement_id,
                month=c.month,
                still_employed=c.still_employed,
                on=c.followed_up_on,
                today=today,
            ),
            ctx,
            key,
        )

    async def end_placement(
        self,
        placement_id: str,
        c: EndPlacement,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        worker_id = await self._placement_worker(placement_id, ctx)
        today = self._today()
        return await self._executor.execute(
            WorkerRecord,
            worker_id,
            lambda r: r.end_placement(
                placement_id=placement_id,
                reason=c.reason,
                ended_on=c.ended_on,
                notes=c.notes,
                today=today,
            ),
            ctx,
            key,
        )

    async def record_flexible_employment(
        self,
        worker_id: str,
        *,
        order_id: str,
        service_code: str,
        area_code: str,
        completed_on: date,
        hours: float,
        ctx: CommandContext,
    ) -> CommandResult:
        return await self._executor.execute(
            WorkerRecord,
            worker_id,
            lambda r: r.record_flexible_employment(
                order_id=order_id,
                service_code=service_code,
                area_code=area_code,
                completed_on=completed_on,
                hours=hours,
            ),
            ctx,
        )

    # courses -----------------------------------------------------------------------

    async def schedule_course(
        self, c: ScheduleCourse, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Course,
            derived_id("course", ctx.command_id),
            lambda course: course.schedule(
                title=c.title,
                trade=c.trade,
                occupation_code=c.occupation_code,
                provider=c.provider,
                area_code=c.area_code,
                seats=c.seats,
                starts_on=c.starts_on,
                ends_on=c.ends_on,
                subsidy_per_trainee=c.subsidy_per_trainee,
                kind=c.kind,
                on=c.occurred_on or today,
                today=today,
                station_id=c.station_id,
            ),
            ctx,
            key,
        )

    async def enrol(
        self,
        course_id: str,
        c: CandidateInput,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        seeker = await self._seeker(c.worker_id, ctx)
        today = self._today()
        return await self._executor.execute(
            Course,
            course_id,
            lambda course: course.enrol(
                worker_id=c.worker_id,
                gender=seeker["gender"],
                area_code=seeker["area_code"],
                on=c.occurred_on or today,
                today=today,
            ),
            ctx,
            key,
        )

    async def _on_trainee(
        self,
        course_id: str,
        worker_id: str,
        decide: Callable[[Course], None],
        ctx: CommandContext,
        key: IdempotencyKey | None,
    ) -> CommandResult:
        """A command about one trainee: one living outside the caller's jurisdiction is not
        enrolled, as far as the caller can tell (her withdrawal records no area to check), and
        an erased one is not enrolled for anyone."""
        if await self._queries.is_erased(worker_id):
            raise NotFoundError(f"worker {worker_id} was erased", field="worker_id")

        def guarded(course: Course) -> None:
            trainee = course.state.trainees.get(worker_id) if course.state else None
            if trainee is not None and not sees(ctx, trainee.area_code):
                raise NotFoundError(f"worker {worker_id} is not enrolled in course {course.id}")
            decide(course)

        return await self._executor.execute(Course, course_id, guarded, ctx, key)

    async def withdraw(
        self,
        course_id: str,
        worker_id: str,
        c: Withdraw,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._on_trainee(
            course_id,
            worker_id,
            lambda course: course.withdraw(
                worker_id=worker_id, reason=c.reason, on=c.occurred_on or today, today=today
            ),
            ctx,
            key,
        )

    async def complete(
        self,
        course_id: str,
        c: CompleteTraining,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._on_trainee(
            course_id,
            c.worker_id,
            lambda course: course.complete(
                worker_id=c.worker_id,
                passed=c.passed,
                score=c.score,
                on=c.completed_on,
                today=today,
                business_plan=c.business_plan,
            ),
            ctx,
            key,
        )

    async def award_certificate(
        self,
        course_id: str,
        c: AwardCertificate,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        number = (
            "ZJ"
            + uuid.UUID(derived_id("certificate", f"{course_id}/{c.worker_id}")).hex[:14].upper()
        )
        today = self._today()
        return await self._on_trainee(
            course_id,
            c.worker_id,
            lambda course: course.award_certificate(
                worker_id=c.worker_id,
                certificate_no=number,
                level=c.level,
                on=c.awarded_on,
                today=today,
            ),
            ctx,
            key,
        )

    async def grant_subsidy(
        self,
        course_id: str,
        c: GrantSubsidy,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._on_trainee(
            course_id,
            c.worker_id,
            lambda course: course.grant_subsidy(
                worker_id=c.worker_id, on=c.granted_on, today=today
            ),
            ctx,
            key,
        )
