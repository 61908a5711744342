"""Posts, placements and courses against a real nats-server and both databases: concurrency,
retries and the rules that must hold under them."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from jinguo_employment.domain.post import PostFullError, PriorityCandidateWaitingError
from jinguo_employment.domain.worker_record import SecondFullTimePlacementError
from jinguo_employment.handlers.commands import (
    AwardCertificate,
    CandidateInput,
    CompleteTraining,
    FillPost,
    GrantSubsidy,
    ScheduleCourse,
)
from jinguo_shared.commands import IdempotencyKey
from jinguo_shared.domain import NotFoundError
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import caught_up, publisher

from .conftest import context, employer_and_post, register_worker

START = date(2026, 11, 2)


async def test_concurrent_fills_of_the_last_opening_place_exactly_one(
    outside, handlers, employment: ServiceRuntime
) -> None:
    registry = await publisher(outside, "registry")
    workers = [f"w-last-{n}" for n in range(6)]
    positions = [await register_worker(registry, w) for w in workers]
    _, post_id, post_position = await employer_and_post(handlers, openings=1)
    await caught_up(employment, positions[-1], post_position)

    outcomes = await asyncio.gather(
        *[
            handlers.fill_post(post_id, FillPost(worker_id=w, start_date=START), context(f"f-{w}"))
            for w in workers
        ],
        return_exceptions=True,
    )
    placed = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(placed) == 1
    assert all(isinstance(o, PostFullError) for o in refused), refused
    history = await employment.store.load("post", post_id)
    assert [e.type for e in history].count("PostFilled") == 1


async def test_concurrent_full_time_placements_of_one_worker_keep_one(
    outside, handlers, employment: ServiceRuntime
) -> None:
    registry = await publisher(outside, "registry")
    position = await register_worker(registry, "w-busy")
    posts = []
    for n in range(4):
        _, post_id, last = await employer_and_post(
            handlers, openings=3, n=n, credit_code=f"91110101MA0123456{n}"
        )
        posts.append(post_id)
    await caught_up(employment, position, last)

    outcomes = await asyncio.gather(
        *[
            handlers.fill_post(
                post_id, FillPost(worker_id="w-busy", start_date=START), context(f"busy-{post_id}")
            )
            for post_id in posts
        ],
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(refused) == 3
    assert all(isinstance(o, SecondFullTimePlacementError) for o in refused), refused
    record = await employment.store.load("worker", "w-busy")
    assert [e.type for e in record] == ["PlacementStarted"]
    filled = [[e.type for e in await employment.store.load("post", p)] for p in posts]
    assert sum(types.count("PostFilled") for types in filled) == 1


async def test_a_retried_fill_appends_once_and_answers_the_same(
    outside, handlers, employment: ServiceRuntime
) -> None:
    registry = await publisher(outside, "registry")
    position = await register_worker(registry, "w-retry")
    _, post_id, last = await employer_and_post(handlers, openings=2)
    await caught_up(employment, position, last)
    key = IdempotencyKey("client", "fill-1", "hash")
    command = FillPost(worker_id="w-retry", start_date=START)
    first, placement = await handlers.fill_post(post_id, command, context("fill-once"), key)
    again, placement_again = await handlers.fill_post(post_id, command, context("fill-once"), key)
    assert (again.seq, again.replayed, placement_again) == (first.seq, True, placement)
    assert [e.type for e in await employment.store.load("post", post_id)].count("PostFilled") == 1


async def test_a_public_welfare_post_waits_for_the_priority_candidate(
    outside, handlers, employment: ServiceRuntime
) -> None:
    registry = await publisher(outside, "registry")
    await register_worker(registry, "w-priority", priority=True)
    position = await register_worker(registry, "w-ordinary")
    _, post_id, last = await employer_and_post(handlers, kind="public_welfare")
    await caught_up(employment, position, last)
    await handlers.recommend(post_id, CandidateInput(worker_id="w-priority"), context("rec"))
    with pytest.raises(PriorityCandidateWaitingError) as refused:
        await handlers.fill_post(
            post_id, FillPost(worker_id="w-ordinary", start_date=START), context("ord")
        )
    assert refused.value.extensions["waiting_candidates"] == ["w-priority"]
    result, _ = await handlers.fill_post(
        post_id,
        FillPost(worker_id="w-ordinary", start_date=START, override_reason="候选人已在别处就业"),
        context("ord-override"),
    )
    filled, started = result.events
    assert started.event_type == "PlacementStarted"
    assert filled.override_reason == "候选人已在别处就业"  # type: ignore[attr-defined]


async def test_a_worker_unknown_to_the_pool_cannot_be_placed(outside, handlers, employment) -> None:
    _, post_id, _ = await employer_and_post(handlers)
    with pytest.raises(NotFoundError):
        await handlers.fill_post(
            post_id, FillPost(worker_id="nobody", start_date=START), context("x")
        )


async def test_the_subsidy_is_granted_once_however_often_it_is_asked(
    outside, handlers, employment: ServiceRuntime
) -> None:
    registry = await publisher(outside, "registry")
    position = await register_worker(registry, "w-trainee")
    course = await handlers.schedule_course(
        ScheduleCourse(
            title="养老护理员（五级）培训班",
            trade="养老护理",
            occupation_code="4-10-01-05",
            provider="东城区职业技能培训学校",
            area_code="110101",
            seats=1,
            starts_on=date(2026, 1, 5),
            ends_on=employment.clock.today() + timedelta(days=60),
            subsidy_per_trainee=1500,
        ),
        context("course"),
    )
    await caught_up(employment, position)
    course_id = course.aggregate_id
    await handlers.enrol(
        course_id,
        CandidateInput(worker_id="w-trainee", occurred_on=date(2026, 1, 4)),
        context("enrol"),
    )
    await handlers.complete(
        course_id,
        CompleteTraining(worker_id="w-trainee", passed=True, score=91, completed_on=START),
        context("done"),
    )
    await handlers.award_certificate(
        course_id, AwardCertificate(worker_id="w-trainee", awarded_on=START), context("cert")
    )
    grants = await asyncio.gather(
        *[
            handlers.grant_subsidy(
                course_id, GrantSubsidy(worker_id="w-trainee", granted_on=START), context(f"s{n}")
            )
            for n in range(4)
        ],
        return_exceptions=True,
    )
    assert not [g for g in grants if isinstance(g, BaseException)]
    history = [e.type for e in await employment.store.load("course", course_id)]
    assert history.count("TrainingSubsidyGranted") == 1
    assert history.count("CertificateAwarded") == 1
