"""The registry reacts to the employment service's PostFilled and PlacementEnded: her placement
spell starts, and ends, and she is unemployed again (失业再登记)."""

from __future__ import annotations

import asyncio
from datetime import date

import nats
from sqlalchemy import select

from jinguo_contracts.employment import CertificateAwardedV1, PlacementEndedV1, PostFilledV1
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.eventstore import EventStore
from jinguo_shared.runtime import ServiceRuntime

from .conftest import context, worker_command


def filled(worker_id: str, placement_id: str) -> PostFilledV1:
    return PostFilledV1(
        post_id="post-1",
        worker_id=worker_id,
        placement_id=placement_id,
        start_date=date(2026, 11, 2),
        employer_id="e1",
        employer_name="东四社区养老驿站",
        area_code="110101001001",
        occupation_code="4-10-01-05",
        hours_type="full_time",
        kind="public_welfare",
        openings_left=0,
    )


async def test_a_filled_post_records_the_reemployment_once(
    handlers, registry: ServiceRuntime, nats_server: EmbeddedNats
) -> None:
    worker = await handlers.register_worker(worker_command(1), context("w1"))
    # the employment service's own connection: the registry's user may not write its stream
    nc = await nats.connect(nats_server.url, **nats_server.connect_options("employment"))
    employment = EventStore(nc, "employment", vault=None)
    await employment.append("post", "post-0", 0, [filled("nobody", "pl-0")], context("refused"))
    await employment.append(
        "post", "post-1", 0, [filled(worker.aggregate_id, "pl-1")], context("fill-1")
    )
    for _ in range(300):
        history = await registry.store.load("worker", worker.aggregate_id)
        if len(history) > 1:
            break
        await asyncio.sleep(0.05)
    assert [e.type for e in history] == ["WorkerRegistered", "ReemploymentSpellStarted"]
    assert history[1].payload.model_dump(include={"spell_id", "kind", "hours_type"}) == {
        "spell_id": "pl-1",
        "kind": "placement",
        "hours_type": "full_time",
    }
    assert history[1].envelope.causationid is not None

    # redelivered: the same event again gives the same command, which changes nothing
    runner = registry.reactions
    assert runner is not None
    [policy] = [p for p in runner.policies if p.name == "reemployment_spells"]
    reaction = policy.reaction("PostFilled")
    assert reaction is not None
    [event] = await employment.load("post", "post-1")
    await runner._react(policy, reaction, event)
    assert len(await registry.store.load("worker", worker.aggregate_id)) == 2
    await nc.close()


async def test_a_certificate_a_course_awards_reaches_her_register_once(
    handlers, registry: ServiceRuntime, nats_server: EmbeddedNats
) -> None:
    worker = await handlers.register_worker(worker_command(2), context("w2"))
    nc = await nats.connect(nats_server.url, **nats_server.connect_options("employment"))
    employment = EventStore(nc, "employment", vault=None)
    awarded = CertificateAwardedV1(
        course_id="course-1",
        worker_id=worker.aggregate_id,
        certificate_no="ZJ0123456789ABCD",
        occupation_code="4-10-01-05",
        code_system="GB/T 6565-2015",
        level=4,
        trade="养老护理",
        area_code="110101001001",
        awarded_on=date(2026, 7, 10),
    )
    await employment.append("course", "course-1", 0, [awarded], context("award"))
    for _ in range(300):
        history = await registry.store.load("worker", worker.aggregate_id)
        if len(history) > 1:
            break
        await asyncio.sleep(0.05)
    [_, issued] = history
    assert issued.type == "CertificateIssued"
    assert issued.payload.model_dump(include={"kind", "number", "issued_on", "level"}) == {
        "kind": "vocational",
        "number": "ZJ0123456789ABCD",
        "issued_on": date(2026, 7, 10),
        "level": 4,
    }
    # the same award published again (another event id): registered once, nothing refused
    await employment.append("course", "course-1", 1, [awarded], context("award-again"))
    runner = registry.reactions
    assert runner is not None
    [policy] = [p for p in runner.policies if p.name == "course_certificates"]
    reaction = policy.reaction("CertificateAwarded")
    assert reaction is not None
    for event in await employment.load("course", "course-1"):
        await runner._react(policy, reaction, event)
    assert len(await registry.store.load("worker", worker.aggregate_id)) == 2
    await nc.close()


async def history_of(registry: ServiceRuntime, worker_id: str, length: int) -> list[str]:
    for _ in range(300):
        history = await registry.store.load("worker", worker_id)
        if len(history) >= length:
            break
        await asyncio.sleep(0.05)
    return [e.type for e in history]


async def test_a_placement_that_ends_makes_her_unemployed_again_once(
    handlers, registry: ServiceRuntime, nats_server: EmbeddedNats
) -> None:
    worker = await handlers.register_worker(worker_command(3), context("w3"))
    worker_id = worker.aggregate_id
    nc = await nats.connect(nats_server.url, **nats_server.connect_options("employment"))
    employment = EventStore(nc, "employment", vault=None)
    await employment.append("post", "post-3", 0, [filled(worker_id, "pl-3")], context("fill-3"))
    assert await history_of(registry, worker_id, 2) == [
        "WorkerRegistered",
        "ReemploymentSpellStarted",
    ]
    ended = PlacementEndedV1(
        worker_id=worker_id,
        placement_id="pl-3",
        reason="contract_ended",
        ended_on=date(2026, 11, 30),
        hours_type="full_time",
        area_code="110101001001",
    )
    last = await employment.append("worker", worker_id, 0, [ended], context("end-3"))
    assert await history_of(registry, worker_id, 4) == [
        "WorkerRegistered",
        "ReemploymentSpellStarted",
        "ReemploymentSpellEnded",
        "UnemploymentReregistered",
    ]
    # delivered twice more (once as the same message, once published again): one end
    await employment.append("worker", worker_id, last, [ended], context("end-3-again"))
    runner = registry.reactions
    assert runner is not None
    [policy] = [p for p in runner.policies if p.name == "reemployment_spells"]
    reaction = policy.reaction("PlacementEnded")
    assert reaction is not None
    for event in await employment.load("worker", worker_id):
        await runner._react(policy, reaction, event)
    history = await registry.store.load("worker", worker_id)
    assert len(history) == 4
    position = f"{history[-1].stream}:{history[-1].seq}"
    await registry.projections.wait_for(position, ["worker_directory", "area_reports"], 10)
    directory = registry.projections.active("worker_directory")
    async with registry.engine.connect() as connection:
        [row] = (
            await connection.execute(
                select(directory.workers.c.status, directory.workers.c.unemployed_again_on).where(
                    directory.workers.c.worker_id == worker_id
                )
            )
        ).all()
    assert tuple(row) == ("unemployed_again", date(2026, 11, 30))
    await nc.close()
