"""A replay rebuilds every employment projection to exactly the live state."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from jinguo_contracts.registry import ReemploymentSpellStartedV1
from jinguo_employment.bootstrap import fund_handlers_for, handlers_for
from jinguo_employment.handlers.commands import (
    AwardCertificate,
    CandidateInput,
    CompleteTraining,
    EndPlacement,
    FillPost,
    FollowUp,
    GrantSubsidy,
    ScheduleCourse,
)
from jinguo_employment.handlers.funds import (
    ApplyForSubsidy,
    ApproveSubsidy,
    OpenFund,
    PaySubsidy,
    ReconcileSubsidy,
    RejectSubsidy,
)
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import caught_up, publish_history, publisher

from .conftest import context, employer_and_post, register_worker


async def snapshot(runtime: ServiceRuntime, name: str) -> dict[str, list[tuple[Any, ...]]]:
    projection = runtime.projections.active(name)
    rows = {}
    async with runtime.engine.connect() as connection:
        for table in projection.metadata.sorted_tables:
            result = await connection.execute(select(table))
            rows[table.name.rsplit("_g", 1)[0]] = sorted(tuple(r) for r in result)
    return rows


async def test_a_replay_yields_exactly_the_live_tables(outside, employment: ServiceRuntime) -> None:
    handlers = handlers_for(employment)
    registry = await publisher(outside, "registry")
    workers = [f"w-replay-{n}" for n in range(8)]
    for n, worker in enumerate(workers):
        position = await register_worker(
            registry, worker, priority=n % 3 == 0, area=f"11010100{n % 3 + 1}00{n % 2 + 1}"
        )
    course = await handlers.schedule_course(
        ScheduleCourse(
            title="育婴员培训班",
            trade="育婴",
            occupation_code="4-10-01-05",
            provider="东城区妇联培训中心",
            area_code="110101",
            seats=6,
            starts_on=date(2026, 3, 1),
            ends_on=employment.clock.today() + timedelta(days=60),
            subsidy_per_trainee=1200,
        ),
        context("course"),
    )
    await caught_up(employment, position)
    for n, worker in enumerate(workers[:6]):
        await handlers.enrol(
            course.aggregate_id,
            CandidateInput(worker_id=worker, occurred_on=date(2026, 2, 20)),
            context(f"e{n}"),
        )
        await handlers.complete(
            course.aggregate_id,
            CompleteTraining(
                worker_id=worker, passed=n != 5, score=60 + n * 5, completed_on=date(2026, 4, 30)
            ),
            context(f"c{n}"),
        )
        if n != 5:
            await handlers.award_certificate(
                course.aggregate_id,
                AwardCertificate(worker_id=worker, level=5, awarded_on=date(2026, 5, 3)),
                context(f"a{n}"),
            )
            await handlers.grant_subsidy(
                course.aggregate_id,
                GrantSubsidy(worker_id=worker, granted_on=date(2026, 5, 10)),
                context(f"s{n}"),
            )
    _, post_id, position = await employer_and_post(handlers, openings=3, kind="public_welfare")
    await caught_up(employment, position)
    for worker in workers[:2]:
        await handlers.recommend(post_id, CandidateInput(worker_id=worker), context(f"r-{worker}"))
    placements = []
    for worker in (workers[0], workers[3]):
        _, placement = await handlers.fill_post(
            post_id, FillPost(worker_id=worker, start_date=date(2026, 5, 20)), context(f"f{worker}")
        )
        placements.append(placement)
    result = await handlers.follow_up(
        placements[0],
        FollowUp(month=3, still_employed=True, followed_up_on=date(2026, 8, 21)),
        context("fu"),
    )
    await caught_up(employment, result.position)
    result = await handlers.end_placement(
        placements[1],
        EndPlacement(reason="resigned", ended_on=date(2026, 9, 1)),
        context("end"),
    )
    await caught_up(employment, result.position, position)
    subsidised = await subsidies_through_their_steps(employment, placements[0], workers[1])
    spell = ReemploymentSpellStartedV1(
        worker_id=workers[1],
        spell_id="spell-replay",
        kind="found_herself",
        started_on=date(2026, 6, 1),
        area_code="110101002002",
        gender="female",
    )
    spelled = await publish_history(registry, workers[1], [spell], "spell-replay")
    await caught_up(employment, result.position, position, subsidised, spelled)

    names = employment.projections.names()
    live = {name: await snapshot(employment, name) for name in names}
    assert live["employment_reports"]["employment_month_counts_v2"]
    assert len(live["seeker_pool"]["seekers"]) == 8
    assert len(live["fund_ledger"]["subsidies"]) == 2
    outcomes = live["training_outcomes"]
    assert (len(outcomes["training_completions"]), len(outcomes["work_starts"])) == (6, 3)
    rebuilt = await employment.projections.rebuild(*names)
    assert {p.generation for p in rebuilt} == {2}
    for name in names:
        assert await snapshot(employment, name) == live[name], name


async def subsidies_through_their_steps(
    employment: ServiceRuntime, placement_id: str, worker_id: str
) -> str:
    """A post subsidy applied, approved, paid and reconciled; an assistance claim rejected."""
    funds = fund_handlers_for(employment)
    fund = await funds.open_fund(
        OpenFund(name="就业专项资金", source="county", year=2026, area_code="110101", budget=9000),
        context("fund"),
    )
    post = await funds.apply(
        ApplyForSubsidy(
            kind="post",
            fund_id=fund.aggregate_id,
            month="2026-06",
            amount=600,
            placement_id=placement_id,
            applied_on=date(2026, 7, 2),
        ),
        context("apply-post"),
    )
    day = date(2026, 7, 10)
    await funds.approve(post.aggregate_id, ApproveSubsidy(approved_on=day), context("approve"))
    await funds.pay(
        post.aggregate_id, PaySubsidy(payment_reference="T-1", paid_on=day), context("pay")
    )
    await funds.reconcile(
        post.aggregate_id,
        ReconcileSubsidy(statement_reference="S-1", reconciled_on=day),
        context("reconcile"),
    )
    assistance = await funds.apply(
        ApplyForSubsidy(
            kind="employment_assistance",
            fund_id=fund.aggregate_id,
            month="2026-06",
            amount=300,
            worker_id=worker_id,
            applied_on=date(2026, 7, 2),
        ),
        context("apply-assistance"),
    )
    rejected = await funds.reject(
        assistance.aggregate_id, RejectSubsidy(reason="材料不全", rejected_on=day), context("no")
    )
    return rejected.position
