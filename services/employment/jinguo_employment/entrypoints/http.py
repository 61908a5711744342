"""The employment service's HTTP API under /employment: commands answer with a position,
reads accept one (`?after=`), and so do commands that need a worker the pool may not know yet."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Path, Query
from pydantic import AfterValidator, BaseModel, Field

from jinguo_contracts.areas import area_prefix, check_area_code
from jinguo_employment.domain.training_results import TrainingResults, training_results
from jinguo_employment.entrypoints.dependencies import Area, Id, Reader, WriteCommand
from jinguo_employment.entrypoints.funds_http import add_fund_routes
from jinguo_employment.entrypoints.responses import (
    Course,
    CourseWithTrainees,
    Employer,
    Placement,
    PlacementDue,
    Post,
    PostWithCandidates,
    Seeker,
    SeekerFile,
)
from jinguo_employment.handlers import commands as c
from jinguo_employment.handlers.commands import EmploymentHandlers
from jinguo_employment.handlers.funds import FundHandlers
from jinguo_employment.projections.funds import FundQueries
from jinguo_employment.projections.queries import EmploymentQueries
from jinguo_employment.projections.reports import INDICATORS
from jinguo_shared.access import OutsideJurisdictionQueryError
from jinguo_shared.domain import check_planned_date
from jinguo_shared.feed import FeedDeclaration
from jinguo_shared.http.commands import Accepted
from jinguo_shared.http.conventions import (
    Cursor,
    Limit,
    MonthFrom,
    MonthTo,
    Page,
    ReadAfter,
    Report,
    page,
    report,
    seq_after,
)
from jinguo_shared.http.security import Caller
from jinguo_shared.runtime import ServiceRuntime

After = ReadAfter
ReportArea = Annotated[
    str,
    Path(
        max_length=24,
        description="the area in any form (43 or 430000): rows use the 6-, 9- or 12-digit code",
    ),
    AfterValidator(check_area_code),
]
SEEKER_PROJECTIONS = ("seeker_pool",)


class Placed(Accepted):
    placement_id: str


class MatchOut(BaseModel):
    worker_id: str
    score: float
    priority: bool
    reasons: list[str]


class Matches(BaseModel):
    post_id: str
    items: list[MatchOut]


class YearSummary(BaseModel):
    area_code: str
    year: int
    totals: dict[str, int]
    trades: int
    pass_rate: float | None
    retention: dict[str, float | None]
    training: dict[str, TrainingResults] = Field(
        description="by course kind (vocational, syb): trained, passed, pass rate, and the"
        " share re-employed within 3 and 6 months of the course's end, among trainees who"
        " completed in the year and live in the area"
    )
    summary: str


class CourseResults(BaseModel):
    course_id: str
    kind: Literal["vocational", "syb"]
    results: TrainingResults = Field(description="of its trainees inside your jurisdiction")


FEED = FeedDeclaration("EMPLOYMENT")
"""What partners read at the feed."""


def create_router(
    runtime: ServiceRuntime, handlers: EmploymentHandlers, queries: EmploymentQueries
) -> APIRouter:
    router = APIRouter()

    # employers -----------------------------------------------------------------------

    @router.post("/employers", status_code=201, summary="Register an employer (用人单位)")
    async def register_employer(body: c.RegisterEmployer, command: WriteCommand) -> Accepted:
        result = await handlers.register_employer(body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/employers/{employer_id}/suspend",
        summary="Suspend an employer: its open posts are suspended, it cannot publish",
    )
    async def suspend_employer(
        employer_id: Id, body: c.SuspendEmployer, command: WriteCommand
    ) -> Accepted:
        result = await handlers.suspend_employer(
            employer_id, body.reason, command.context, command.key
        )
        return command.accept(result)

    @router.post("/employers/{employer_id}/reinstate", summary="Reinstate an employer")
    async def reinstate_employer(
        employer_id: Id, body: c.ReinstateEmployer, command: WriteCommand
    ) -> Accepted:
        result = await handlers.reinstate_employer(
            employer_id, body.reason, command.context, command.key
        )
        return command.accept(result)

    @router.get("/employers", summary="Employers by area and status")
    async def list_employers(
        caller: Reader,
        after: After,
        area: Area = None,
        status: Annotated[Literal["active", "suspended"] | None, Query()] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[Employer]:
        await runtime.visible(after, "post_board")
        rows = await queries.employers(
            area=caller.area(area), status=status, after_seq=seq_after(cursor), limit=limit
        )
        return page(Page[Employer], rows, limit, lambda r: [r["seq"]])

    @router.get("/employers/{employer_id}", summary="An employer")
    async def employer(employer_id: Id, caller: Reader, after: After) -> Employer:
        await runtime.visible(after, "post_board")
        found = await queries.employer(employer_id)
        if found is None or not caller.sees(found["area_code"]):
            raise HTTPException(404, f"no employer {employer_id}")
        return Employer.model_validate(found)

    # posts -----------------------------------------------------------------------

    @router.post("/posts", status_code=201, summary="Publish a post (岗位)")
    async def publish_post(body: c.PublishPost, command: WriteCommand) -> Accepted:
        result = await handlers.publish_post(body, command.context, command.key)
        return command.accept(result)

    @router.post("/posts/{post_id}/close", summary="Close a post")
    async def close_post(post_id: Id, body: c.ClosePost, command: WriteCommand) -> Accepted:
        result = await handlers.close_post(post_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/posts/{post_id}/suspend", summary="Suspend a post")
    async def suspend_post(post_id: Id, body: c.ClosePost, command: WriteCommand) -> Accepted:
        result = await handlers.suspend_post(post_id, body, command.context, command.key)
        return command.accept(result)

    @router.get("/posts", summary="Posts by area, occupation, kind, status and employer")
    async def list_posts(
        caller: Reader,
        after: After,
        area: Area = None,
        occupation: Annotated[str | None, Query(pattern=r"^\d-\d{2}-\d{2}-\d{2}$")] = None,
        kind: Annotated[Literal["public_welfare", "market"] | None, Query()] = None,
        status: Annotated[Literal["open", "suspended", "closed"] | None, Query()] = None,
        employer_id: Annotated[str | None, Query(max_length=64)] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[Post]:
        await runtime.visible(after, "post_board")
        rows = await queries.posts(
            area=caller.area(area),
            occupation=occupation,
            kind=kind,
            status=status,
            employer_id=employer_id,
            after_seq=seq_after(cursor),
            limit=limit,
        )
        return page(Page[Post], rows, limit, lambda r: [r["seq"]])

    @router.get("/posts/{post_id}", summary="A post with its candidates")
    async def post(post_id: Id, caller: Reader, after: After) -> PostWithCandidates:
        await runtime.visible(after, "post_board")
        found = await queries.post(post_id, area=caller.area(None))
        if found is None or not caller.sees(found["area_code"]):
            raise HTTPException(404, f"no post {post_id}")
        return PostWithCandidates.model_validate(found)

    @router.get(
        "/posts/{post_id}/matches",
        summary="Candidates ranked for a post, with the reasons for each score",
    )
    async def matches(post_id: Id, caller: Reader, after: After, limit: Limit = 20) -> Matches:
        await runtime.visible(after, "post_board", *SEEKER_PROJECTIONS)
        ranked = await handlers.matches(post_id, limit, caller.area(None))
        return Matches(
            post_id=post_id,
            items=[
                MatchOut(
                    worker_id=m.worker_id, score=m.score, priority=m.priority, reasons=m.reasons
                )
                for m in ranked
            ],
        )

    @router.post(
        "/posts/{post_id}/recommendations",
        status_code=201,
        summary="Recommend a candidate (records the score and reasons; decides nothing)",
    )
    async def recommend(
        post_id: Id, body: c.CandidateInput, command: WriteCommand, after: After
    ) -> Accepted:
        await runtime.visible(after, "post_board", *SEEKER_PROJECTIONS)
        result = await handlers.recommend(post_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/posts/{post_id}/applications", status_code=201, summary="Record an application")
    async def apply(
        post_id: Id, body: c.CandidateInput, command: WriteCommand, after: After
    ) -> Accepted:
        await runtime.visible(after, *SEEKER_PROJECTIONS)
        result = await handlers.receive_application(post_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/posts/{post_id}/fill",
        status_code=201,
        summary="Fill a post with a worker (就业安置): a person decides",
    )
    async def fill(post_id: Id, body: c.FillPost, command: WriteCommand, after: After) -> Placed:
        await runtime.visible(after, *SEEKER_PROJECTIONS)
        result, placement_id = await handlers.fill_post(post_id, body, command.context, command.key)
        done = command.accept(result)
        return Placed(id=done.id, position=done.position, placement_id=placement_id)

    # placements -----------------------------------------------------------------------

    @router.get("/placements", summary="Placements by area and status")
    async def list_placements(
        caller: Reader,
        after: After,
        area: Area = None,
        status: Annotated[Literal["active", "ended"] | None, Query()] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[Placement]:
        await runtime.visible(after, "placements")
        rows = await queries.placements(
            area=caller.area(area), status=status, after_seq=seq_after(cursor), limit=limit
        )
        return page(Page[Placement], rows, limit, lambda r: [r["seq"]])

    @router.get("/placements/follow-ups-due", summary="Follow-ups (3, 6, 12 months) due by a day")
    async def follow_ups_due(
        caller: Reader,
        after: After,
        on: date | None = None,
        area: Area = None,
        limit: Limit = 100,
    ) -> list[PlacementDue]:
        await runtime.visible(after, "placements")
        today = runtime.clock.today()
        day = today if on is None else check_planned_date(on, "on", today)
        rows = await queries.follow_ups_due(on=day, area=caller.area(area), limit=limit)
        return [PlacementDue.model_validate(row) for row in rows]

    @router.get("/placements/{placement_id}", summary="A placement")
    async def placement(placement_id: Id, caller: Reader, after: After) -> Placement:
        await runtime.visible(after, "placements")
        found = await queries.placement(placement_id)
        if found is None or not caller.sees(found["area_code"]):
            raise HTTPException(404, f"no placement {placement_id}")
        return Placement.model_validate(found)

    @router.post(
        "/placements/{placement_id}/follow-ups",
        status_code=201,
        summary="Record a follow-up at 3, 6 or 12 months (就业稳定性)",
    )
    async def follow_up(
        placement_id: Id, body: c.FollowUp, command: WriteCommand, after: After
    ) -> Accepted:
        await runtime.visible(after, "placements")
        result = await handlers.follow_up(placement_id, body, command.context, command.key)
        return command.accept(result)

    @router.post("/placements/{placement_id}/end", summary="End a placement, with the reason")
    async def end_placement(
        placement_id: Id, body: c.EndPlacement, command: WriteCommand, after: After
    ) -> Accepted:
        await runtime.visible(after, "placements")
        result = await handlers.end_placement(placement_id, body, command.context, command.key)
        return command.accept(result)

    # seekers -----------------------------------------------------------------------

    @router.get("/seekers", summary="The job-seeker pool (from the registry's events)")
    async def list_seekers(
        caller: Reader,
        after: After,
        area: Area = None,
        category: Annotated[
            Literal[
                "age_40_50",
                "disabled",
                "zero_employment_household",
                "minimum_living_allowance",
                "long_term_unemployed",
            ]
            | None,
            Query(),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[Seeker]:
        await runtime.visible(after, *SEEKER_PROJECTIONS)
        rows = await queries.seekers(
            area=caller.area(area),
            category=category,
            after_seq=seq_after(cursor),
            limit=limit,
            today=runtime.clock.today(),
        )
        return page(Page[Seeker], rows, limit, lambda r: [r["seq"]])

    @router.get("/seekers/{worker_id}", summary="A seeker: profile, certificates, placements")
    async def seeker(worker_id: Id, caller: Reader, after: After) -> SeekerFile:
        await runtime.visible(after, *SEEKER_PROJECTIONS, "placements")
        found = await queries.seeker_row(worker_id, caller.area(None))
        if found is None or not caller.sees(found["area_code"]):
            raise HTTPException(404, f"no seeker {worker_id}")
        return SeekerFile.model_validate(found)

    # courses -----------------------------------------------------------------------

    @router.post(
        "/courses", status_code=201, summary="Schedule a course (培训班, vocational or SYB)"
    )
    async def schedule_course(body: c.ScheduleCourse, command: WriteCommand) -> Accepted:
        result = await handlers.schedule_course(body, command.context, command.key)
        return command.accept(result)

    @router.post("/courses/{course_id}/enrolments", status_code=201, summary="Enrol a worker")
    async def enrol(
        course_id: Id, body: c.CandidateInput, command: WriteCommand, after: After
    ) -> Accepted:
        await runtime.visible(after, *SEEKER_PROJECTIONS)
        result = await handlers.enrol(course_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/courses/{course_id}/enrolments/{worker_id}/withdraw", summary="Withdraw a trainee"
    )
    async def withdraw(
        course_id: Id, worker_id: Id, body: c.Withdraw, command: WriteCommand
    ) -> Accepted:
        result = await handlers.withdraw(course_id, worker_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/courses/{course_id}/completions",
        status_code=201,
        summary="Record a trainee's result (pass or fail, score)",
    )
    async def complete(course_id: Id, body: c.CompleteTraining, command: WriteCommand) -> Accepted:
        result = await handlers.complete(course_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/courses/{course_id}/certificates",
        status_code=201,
        summary="Award a certificate to a trainee who passed",
    )
    async def award(course_id: Id, body: c.AwardCertificate, command: WriteCommand) -> Accepted:
        result = await handlers.award_certificate(course_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/courses/{course_id}/subsidies",
        status_code=201,
        summary="Grant the training subsidy (once per trainee and course)",
    )
    async def subsidy(course_id: Id, body: c.GrantSubsidy, command: WriteCommand) -> Accepted:
        result = await handlers.grant_subsidy(course_id, body, command.context, command.key)
        return command.accept(result)

    @router.get("/courses", summary="Courses by area and kind")
    async def list_courses(
        caller: Reader,
        after: After,
        area: Area = None,
        kind: Annotated[Literal["vocational", "syb"] | None, Query()] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[Course]:
        await runtime.visible(after, "courses")
        rows = await queries.courses(
            area=caller.area(area), kind=kind, after_seq=seq_after(cursor), limit=limit
        )
        return page(Page[Course], rows, limit, lambda r: [r["seq"]])

    @router.get("/courses/{course_id}", summary="A course with its trainees")
    async def course(course_id: Id, caller: Reader, after: After) -> CourseWithTrainees:
        await runtime.visible(after, "courses")
        found = await queries.course(course_id, caller.area(None))
        if found is None or not caller.sees(found["area_code"]):
            raise HTTPException(404, f"no course {course_id}")
        return CourseWithTrainees.model_validate(found)

    @router.get(
        "/courses/{course_id}/results",
        summary="A course's results: trained, passed, re-employed within 3 and 6 months",
    )
    async def course_results(course_id: Id, caller: Reader, after: After) -> CourseResults:
        await runtime.visible(after, "courses", "training_outcomes")
        found = await queries.course(course_id, caller.area(None))
        if found is None or not caller.sees(found["area_code"]):
            raise HTTPException(404, f"no course {course_id}")
        completions, starts = await queries.training_outcomes(
            area=caller.area(None), course_id=course_id
        )
        kind = found["kind"]
        results = training_results(completions, starts, runtime.clock.today())
        return CourseResults(course_id=course_id, kind=kind, results=results[kind])

    # reports -----------------------------------------------------------------------

    @router.get("/reports/areas/{area_code}", summary="Figures per month for an area")
    async def area_report(
        area_code: ReportArea,
        caller: Reader,
        after: After,
        month_from: MonthFrom = "2000-01",
        month_to: MonthTo = "2999-12",
    ) -> Report:
        reported(caller, area_code)
        await runtime.visible(after, "employment_reports")
        rows = await queries.report(area_code, month_from, month_to)
        return report(area_code, month_from, month_to, rows)

    @router.get(
        "/reports/areas/{area_code}/years/{year}",
        summary="Year-end figures: 'trained 843 women in 13 trades over 17 classes, 95% passed'",
    )
    async def year_summary(
        area_code: ReportArea,
        year: Annotated[int, Path(ge=2000, le=2999)],
        caller: Reader,
        after: After,
    ) -> YearSummary:
        reported(caller, area_code)
        await runtime.visible(after, "employment_reports", "training_outcomes")
        totals: dict[str, int] = {}
        for row in await queries.report(area_code, f"{year}-01", f"{year}-12"):
            totals[row["metric"]] = totals.get(row["metric"], 0) + row["count"]
        completions, starts = await queries.training_outcomes(
            area=area_prefix(area_code),
            completed_from=date(year, 1, 1),
            completed_to=date(year, 12, 31),
        )
        training = training_results(completions, starts, runtime.clock.today())
        return summarise(area_code, year, totals, training)

    return router


def reported(caller: Caller, area_code: str) -> None:
    """A report covers one area: it must lie inside the caller's jurisdiction, not around it."""
    if not caller.sees(area_code):
        raise OutsideJurisdictionQueryError(
            f"area {area_code} is outside or wider than your agency's jurisdiction",
            jurisdiction=caller.jurisdiction.prefix if caller.jurisdiction else None,
        )


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _by_kind(totals: dict[str, int], prefix: str) -> dict[str, int]:
    return {
        metric.removeprefix(prefix): n
        for metric, n in totals.items()
        if metric.startswith(prefix) and n
    }


def summarise(
    area_code: str,
    year: int,
    totals: dict[str, int],
    training: dict[str, TrainingResults],
) -> YearSummary:
    """The seeds' kind of sentence, from the counters of one year and its trainees' results."""
    trained, passed = totals.get("trained", 0), totals.get("passed", 0)
    women = totals.get("trained:female", 0)
    trades = sum(1 for metric, n in totals.items() if metric.startswith("trade:") and n)
    classes = totals.get("classes_held", 0)
    pass_rate = _rate(passed, trained)
    retention = {
        f"{m}m": _rate(totals.get(f"retained_{m}m", 0), totals.get(f"followed_up_{m}m", 0))
        for m in (3, 6, 12)
    }
    parts = [
        f"trained {women} women ({trained} people) in {trades} trades over {classes} classes"
        + (f", {pass_rate:g}% passed" if pass_rate is not None else ""),
        f"{totals.get('certificates', 0)} certificates awarded",
        f"{totals.get('subsidies_granted', 0)} training subsidies granted"
        f" ({totals.get('subsidy_yuan', 0)} yuan)",
        f"{totals.get('posts_published', 0)} posts published, {totals.get('posts_filled', 0)}"
        f" filled, {totals.get('placements', 0)} placements",
        f"{totals.get('loans_disbursed', 0)} small guaranteed loans paid out"
        f" ({totals.get('loan_yuan', 0)} yuan), supporting"
        f" {totals.get('loans_disbursed:female', 0)} women and creating"
        f" {totals.get('loan_jobs_created', 0)} jobs",
    ]
    syb = training.get("syb")
    if syb is not None and syb.trained:
        parts.insert(1, f"{syb.trained} completed SYB entrepreneurship training")
    approved = _by_kind(totals, "subsidies_approved:")
    if approved:
        approved_yuan = sum(_by_kind(totals, "subsidy_yuan_approved:").values())
        paid_yuan = sum(_by_kind(totals, "subsidy_yuan_paid:").values())
        parts.append(
            f"{sum(approved.values())} subsidies approved against funds ({approved_yuan} yuan: "
            + ", ".join(f"{kind} {n}" for kind, n in sorted(approved.items()))
            + f"), {paid_yuan} yuan paid"
        )
    return YearSummary(
        area_code=area_code,
        year=year,
        totals=totals,
        trades=trades,
        pass_rate=pass_rate,
        retention=retention,
        training=training,
        summary="; ".join(parts),
    )


def create_app(
    runtime: ServiceRuntime,
    handlers: EmploymentHandlers,
    queries: EmploymentQueries,
    fund_handlers: FundHandlers,
    fund_queries: FundQueries,
    *more: APIRouter,
) -> FastAPI:
    """`more`: routers of the service's other parts (its loans), served beside these."""
    from jinguo_shared.app import service_app

    router = create_router(runtime, handlers, queries)
    add_fund_routes(router, runtime, fund_handlers, fund_queries)
    for part in more:
        # its routes themselves, not an included router: the app documents each route's
        # problems, and this FastAPI includes a router lazily, hiding its routes until served
        router.routes.extend(part.routes)
    return service_app(
        runtime,
        "Jinguo employment",
        "就业: employers, posts (岗位), matching, placements (就业安置), training (培训),"
        " certification, funds and subsidies (补贴), small guaranteed loans (小额担保贷款)",
        router,
        FEED,
        indicators=INDICATORS,
    )
