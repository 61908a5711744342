"""Commands against a real nats-server and both databases: concurrency, retries, idempotency."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
from sqlalchemy import delete

from jinguo_registry.bootstrap import handlers_for
from jinguo_registry.domain.worker import Worker
from jinguo_registry.handlers.commands import AssessCategory, Erase, RecordHomeVisit
from jinguo_shared.clock import ProgrammeClock
from jinguo_shared.commands import ContentionError, IdempotencyKey, IdempotencyKeyReusedError
from jinguo_shared.db import aggregate_states
from jinguo_shared.domain import AlreadyExistsError, InvalidCommandError
from jinguo_shared.runtime import ServiceRuntime

from .conftest import context, worker_command


async def test_a_national_id_registers_once(handlers, registry: ServiceRuntime) -> None:
    first = await handlers.register_worker(worker_command(1), context("c1"))
    with pytest.raises(AlreadyExistsError) as refused:
        await handlers.register_worker(worker_command(1), context("c2"))
    assert refused.value.extensions["existing_id"] == first.aggregate_id
    history = await registry.store.load("worker", first.aggregate_id)
    assert [e.type for e in history] == ["WorkerRegistered"]


async def test_pii_is_sealed_in_the_log(handlers, registry: ServiceRuntime) -> None:
    command = worker_command(2)
    result = await handlers.register_worker(command, context("c1"))
    message = await registry.nc.jetstream().get_msg("REGISTRY", seq=result.seq, direct=True)
    assert message.data is not None
    assert command.national_id.encode() not in message.data
    assert command.name.encode() not in message.data
    assert b"pii:v1:" in message.data


async def test_two_concurrent_commands_on_one_worker_both_land(handlers, registry) -> None:
    worker = await handlers.register_worker(worker_command(13), context("c0"))
    await asyncio.gather(
        *[
            handlers.assess_category(
                worker.aggregate_id,
                AssessCategory(category=category, evidence="证", valid_until=date(2030, 1, 1)),
                context(f"assess-{category}"),
            )
            for category in ("disabled", "age_40_50")
        ]
    )
    history = await registry.store.load("worker", worker.aggregate_id)
    assert sorted(e.payload.category for e in history[1:]) == ["age_40_50", "disabled"]


async def test_heavy_contention_ends_in_success_or_a_409_never_a_lost_event(
    handlers, registry
) -> None:
    worker = await handlers.register_worker(worker_command(3), context("c0"))
    visits = [
        handlers.record_home_visit(
            worker.aggregate_id,
            RecordHomeVisit(visited_on=date(2026, 11, 1), visitor=f"社工{n}", notes="ok"),
            context(f"visit-{n}"),
        )
        for n in range(8)
    ]
    outcomes = await asyncio.gather(*visits, return_exceptions=True)
    landed = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(o, ContentionError) for o in refused)
    assert all(o.status == 409 for o in refused)
    history = await registry.store.load("worker", worker.aggregate_id)
    assert sorted(e.seq for e in history[1:]) == sorted(r.seq for r in landed)


async def test_two_processes_deciding_on_stale_state_do_not_lose_an_event(
    open_registry, registry: ServiceRuntime, handlers
) -> None:
    from jinguo_registry.bootstrap import handlers_for

    other = handlers_for(await open_registry("api"))
    worker = await handlers.register_worker(worker_command(4), context("c0"))
    await handlers.assess_category(
        worker.aggregate_id,
        AssessCategory(category="disabled", evidence="证", valid_until=date(2030, 1, 1)),
        context("c1"),
    )
    async with registry.engine.begin() as connection:  # the cache now lags behind the log
        await connection.execute(delete(aggregate_states))
    await other.assess_category(
        worker.aggregate_id,
        AssessCategory(category="age_40_50", evidence="户口", valid_until=date(2030, 1, 1)),
        context("c2"),
    )
    history = await registry.store.load("worker", worker.aggregate_id)
    assert [e.type for e in history] == [
        "WorkerRegistered",
        "WorkerCategoryAssessed",
        "WorkerCategoryAssessed",
    ]


async def test_a_retried_command_with_the_same_idempotency_key_appends_once(
    handlers, registry: ServiceRuntime
) -> None:
    key = IdempotencyKey("client", "key-1", "hash")
    first = await handlers.register_worker(worker_command(5), context("same"), key)
    again = await handlers.register_worker(worker_command(5), context("same"), key)
    assert (again.aggregate_id, again.seq, again.replayed) == (first.aggregate_id, first.seq, True)
    with pytest.raises(IdempotencyKeyReusedError):
        await handlers.register_worker(
            worker_command(6), context("same"), IdempotencyKey("client", "key-1", "other")
        )
    assert len(await registry.store.load("worker", first.aggregate_id)) == 1


async def test_a_command_whose_answer_was_lost_is_answered_from_the_log(
    handlers, registry: ServiceRuntime
) -> None:
    """The append reached NATS but the process died before recording it: the retry must find
    its own events in the log instead of failing or appending twice."""
    first = await handlers.register_worker(worker_command(7), context("lost"))
    async with registry.engine.begin() as connection:
        await connection.execute(delete(aggregate_states))
    retried = await handlers.register_worker(worker_command(7), context("lost"))
    assert (retried.aggregate_id, retried.seq, retried.replayed) == (
        first.aggregate_id,
        first.seq,
        True,
    )
    assert len(await registry.store.load("worker", first.aggregate_id)) == 1


async def test_erasing_a_worker_makes_her_pii_unreadable(handlers, registry) -> None:
    worker = await handlers.register_worker(worker_command(8), context("c1"))
    await handlers.erase_worker(worker.aggregate_id, Erase(reason="her request"), context("c2"))
    [registered, _erased] = await registry.store.load("worker", worker.aggregate_id)
    await registry.vault.prepare([worker.aggregate_id], create=False, fresh=True)
    assert registry.vault.unseal(worker.aggregate_id, registered.payload.name) is None


async def test_the_decision_state_cache_never_goes_back(handlers, registry) -> None:
    worker = await handlers.register_worker(worker_command(9), context(str(uuid.uuid4())))
    visit = await handlers.record_home_visit(
        worker.aggregate_id,
        RecordHomeVisit(visited_on=date(2026, 11, 1), visitor="社工", notes="ok"),
        context(str(uuid.uuid4())),
    )
    stale = await handlers._executor.load_cached(Worker, worker.aggregate_id)
    assert stale.version == visit.seq
    stale.version = worker.seq
    await handlers._executor._save(stale, None, worker)
    assert (await handlers._executor.load_cached(Worker, worker.aggregate_id)).version == visit.seq


async def test_commands_take_the_programmes_day_from_the_runtimes_clock(registry) -> None:
    """Found: "today" was the server's UTC date, so at 06:00 in Beijing a visit made that day
    was refused as being in the future. The handlers ask the runtime's programme clock."""

    class FarAhead(ProgrammeClock):
        def today(self) -> date:
            return date(2031, 3, 1)

    registry.clock = FarAhead()
    handlers = handlers_for(registry)
    worker = await handlers.register_worker(worker_command(21), context("c1"))
    visit = RecordHomeVisit(visited_on=date(2031, 2, 28), visitor="社工", notes="ok")
    await handlers.record_home_visit(worker.aggregate_id, visit, context("c2"))
    with pytest.raises(InvalidCommandError, match="visited_on"):
        await handlers.record_home_visit(
            worker.aggregate_id,
            RecordHomeVisit(visited_on=date(2031, 3, 2), visitor="社工", notes="ok"),
            context("c3"),
        )
