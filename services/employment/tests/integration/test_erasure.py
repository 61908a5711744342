"""When the registry erases a worker, nothing employment serves links a remaining fact to her,
the figures stay right, and a replay serves exactly the same."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from jinguo_contracts.registry import CertificateIssuedV1, WorkerErasedV1
from jinguo_employment.bootstrap import handlers_for, queries_for
from jinguo_employment.domain.matching import PostProfile
from jinguo_employment.handlers.commands import (
    AwardCertificate,
    CandidateInput,
    CompleteTraining,
    FillPost,
    FollowUp,
    GrantSubsidy,
    ScheduleCourse,
    Withdraw,
)
from jinguo_employment.projections.pool import SeekerPool
from jinguo_shared.domain import NotFoundError
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import caught_up, publish, publisher

from .conftest import COMMUNITY, context, employer_and_post, register_worker

ERASED, KEPT = "w-erased", "w-kept"


async def readable(employment: ServiceRuntime, ids: dict[str, str]) -> dict[str, Any]:
    """Everything a reader of employment is served about the two workers and their records."""
    queries = queries_for(employment)
    today = employment.clock.today()
    profile = PostProfile("4-10-01-05", COMMUNITY, "part_time", "public_welfare")
    post = await queries.post(ids["post"])
    course = await queries.course(ids["course"])
    assert post is not None
    assert course is not None
    return {
        "seekers": sorted(
            s["worker_id"]
            for s in await queries.seekers(
                area=None, category=None, after_seq=None, limit=200, today=today
            )
        ),
        "erased": await queries.seeker_row(ERASED),
        "kept": (await queries.seeker_row(KEPT) or {}).get("birth_date"),
        "matches": sorted(s.worker_id for s in await queries.candidates(profile, today)),
        "candidates": sorted((c["worker_id"], c["how"]) for c in post["candidates"]),
        "placement": await queries.placement(ids["placement"]),
        "placements": [
            (p["worker_id"], p["placement_id"])
            for p in await queries.placements(area=None, status=None, after_seq=None, limit=200)
        ],
        "due": [
            p["placement_id"] for p in await queries.follow_ups_due(on=today, area=None, limit=200)
        ],
        "trainees": sorted(
            (str(t["worker_id"]), t["area_code"], t["status"], t["certificate_no"] is None)
            for t in course["trainees"]
        ),
        "report": await queries.report("1101", "2000-01", "2999-12"),
    }


async def test_an_erased_worker_is_unlinked_from_every_record_and_a_replay_agrees(
    outside, employment: ServiceRuntime
) -> None:
    handlers = handlers_for(employment)
    registry = await publisher(outside, "registry")
    today = employment.clock.today()
    # two hard-to-employ women, one of whom will ask to be erased
    for worker in (ERASED, KEPT):
        await register_worker(registry, worker, hours=("part_time",), priority=True)
    position = await publish(
        registry,
        "worker",
        ERASED,
        CertificateIssuedV1(
            worker_id=ERASED,
            kind="reemployment_preference",
            number="ZY-0001",
            issued_on=today,
            area_code=COMMUNITY,
        ),
        "certificate",
    )
    # both trained; she is certified and subsidised
    course = await handlers.schedule_course(
        ScheduleCourse(
            title="养老护理员（五级）培训班",
            trade="养老护理",
            occupation_code="4-10-01-05",
            provider="东城区职业技能培训学校",
            area_code="110101",
            seats=5,
            starts_on=today - timedelta(days=30),
            ends_on=today + timedelta(days=30),
            subsidy_per_trainee=1500,
        ),
        context("course"),
    )
    course_id = course.aggregate_id
    await caught_up(employment, position)
    for worker in (ERASED, KEPT):
        await handlers.enrol(course_id, CandidateInput(worker_id=worker), context(f"e-{worker}"))
        await handlers.complete(
            course_id,
            CompleteTraining(worker_id=worker, passed=True, score=88, completed_on=today),
            context(f"c-{worker}"),
        )
    await handlers.award_certificate(
        course_id, AwardCertificate(worker_id=ERASED, awarded_on=today), context("a")
    )
    await handlers.grant_subsidy(
        course_id, GrantSubsidy(worker_id=ERASED, granted_on=today), context("s")
    )
    # both recommended for a public-welfare post, and she is placed in it
    _, post_id, position = await employer_and_post(
        handlers, openings=2, kind="public_welfare", hours_type="part_time"
    )
    await caught_up(employment, position)
    for worker in (ERASED, KEPT):
        await handlers.recommend(post_id, CandidateInput(worker_id=worker), context(f"r-{worker}"))
    result, placement_id = await handlers.fill_post(
        post_id,
        FillPost(worker_id=ERASED, start_date=today - timedelta(days=100)),
        context("fill"),
    )
    await caught_up(employment, result.position)
    ids = {"post": post_id, "course": course_id, "placement": placement_id}
    before = await readable(employment, ids)
    assert before["erased"]["birth_date"] is not None
    assert before["due"] == [placement_id]

    # the registry erases her
    erased = await publish(
        registry, "worker", ERASED, WorkerErasedV1(worker_id=ERASED, reason="本人申请"), "erase"
    )
    await caught_up(employment, erased)
    after = await readable(employment, ids)
    assert after["seekers"] == [KEPT]
    assert after["erased"] is None
    assert after["kept"] == before["kept"]
    assert after["matches"] == [KEPT]
    assert after["candidates"] == [(KEPT, "recommended")]
    assert after["placement"]["worker_id"] is None
    assert after["placement"]["post_id"] == post_id
    assert after["placements"] == [(None, placement_id)]
    assert after["due"] == []
    assert after["trainees"] == [
        ("None", None, "passed", True),
        (KEPT, COMMUNITY, "passed", True),
    ]
    assert after["report"] == before["report"]
    # her birth date, gender, community, skills and statuses are gone from the pool's tables
    pool = employment.projections.active(SeekerPool.name)
    assert isinstance(pool, SeekerPool)
    async with employment.engine.connect() as connection:
        for table in (pool.seekers, pool.categories):
            found = await connection.execute(select(table).where(table.c.worker_id == ERASED))
            assert found.all() == [], table.name

    # commands naming her find nobody
    refusals: list[Callable[[], Awaitable[object]]] = [
        lambda: handlers.enrol(course_id, CandidateInput(worker_id=ERASED), context("again")),
        lambda: handlers.withdraw(course_id, ERASED, Withdraw(reason="x"), context("w")),
        lambda: handlers.complete(
            course_id,
            CompleteTraining(worker_id=ERASED, passed=False, score=1, completed_on=today),
            context("c2"),
        ),
        lambda: handlers.recommend(post_id, CandidateInput(worker_id=ERASED), context("r2")),
        lambda: handlers.receive_application(
            post_id, CandidateInput(worker_id=ERASED), context("ap")
        ),
        lambda: handlers.follow_up(
            placement_id,
            FollowUp(month=3, still_employed=True, followed_up_on=today),
            context("fu"),
        ),
    ]
    for refusal in refusals:
        with pytest.raises(NotFoundError):
            await refusal()

    # a replay reads her erasure from the registry's stream before employment's own events
    rebuilt = await employment.projections.rebuild(*employment.projections.names())
    assert {p.generation for p in rebuilt} == {2}
    assert await readable(employment, ids) == after
