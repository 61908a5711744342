"""Projections against a real nats-server and both databases: faults, poison, replay."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from jinguo_registry.bootstrap import handlers_for
from jinguo_registry.domain.worker import Worker
from jinguo_registry.handlers.commands import IssueCertificate, RecordHomeVisit
from jinguo_shared.consumer_names import projections_consumer
from jinguo_shared.db import parked_to_retry, pii_keys
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections import host, planning, rebuild
from jinguo_shared.projections.batch import ProjectionBatch
from jinguo_shared.runtime import ServiceRuntime

from .conftest import context, worker_command


def plan_in_a_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """However small the stream, and with either database."""
    monkeypatch.setattr(planning, "PROCESS_FROM_EVENTS", 0)
    monkeypatch.setattr(planning, "PROCESS_FOR_DATABASES", {"sqlite", "postgresql"})


async def snapshot(runtime: ServiceRuntime, name: str) -> dict[str, list[tuple[Any, ...]]]:
    projection = runtime.projections.active(name)
    rows = {}
    async with runtime.engine.connect() as connection:
        for table in projection.metadata.sorted_tables:
            result = await connection.execute(select(table))
            rows[table.name.rsplit("_g", 1)[0]] = sorted(tuple(r) for r in result)
    return rows


async def register_some(handlers: Any, start: int, count: int) -> str:
    position = ""
    for n in range(start, start + count):
        worker = await handlers.register_worker(worker_command(n), context(f"r{n}"))
        position = worker.position
        if n % 3 == 0:
            result = await handlers.issue_certificate(
                worker.aggregate_id,
                IssueCertificate(
                    kind="reemployment_preference", number=f"R-{n}", issued_on=date(2026, 10, 1)
                ),
                context(f"cert{n}"),
            )
            position = result.position
    return position


async def test_a_read_after_a_position_sees_the_write(handlers, registry) -> None:
    position = await register_some(handlers, 0, 5)
    await registry.projections.wait_for(position, ["worker_directory", "certificates"], 10)
    rows = await snapshot(registry, "worker_directory")
    assert len(rows["workers"]) == 5
    assert len((await snapshot(registry, "certificates"))["certificates"]) == 2


async def test_the_projector_reads_its_own_stream_whole_and_routes_each_event_itself(
    handlers, registry
) -> None:
    """Its projections take 14 filters of REGISTRY; so many, wildcards inside, make nats-server
    search its subject index for every message of a long stream."""
    position = await register_some(handlers, 0, 4)
    await registry.projections.wait_for(position, ["worker_directory", "certificates"], 10)
    consumer = await registry.nc.jetstream().consumer_info(
        "REGISTRY", projections_consumer("registry", "REGISTRY")
    )
    assert (consumer.config.filter_subjects or [consumer.config.filter_subject]) == ["registry.>"]
    assert len((await snapshot(registry, "worker_directory"))["workers"]) == 4
    assert len((await snapshot(registry, "certificates"))["certificates"]) == 2


async def indexes(runtime: ServiceRuntime, name: str) -> set[str]:
    projection = runtime.projections.active(name)

    def found(connection: Any) -> set[str]:
        inspector = inspect(connection)
        return {
            str(index["name"])
            for table in projection.metadata.tables
            for index in inspector.get_indexes(table)
        }

    async with runtime.engine.connect() as connection:
        return await connection.run_sync(found)


@pytest.mark.parametrize(
    "reading",
    [
        "one request",
        "small requests and chunks",
        "small chunks, each committed alone",
        "small chunks, planned by a helper process",
    ],
)
async def test_a_replay_yields_exactly_the_live_tables(
    handlers, registry, reading: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if reading != "one request":
        monkeypatch.setattr(rebuild, "REBUILD_READ_BATCH", 3)
        monkeypatch.setattr(rebuild, "REBUILD_CHUNK", 7)
    if reading.endswith("alone"):
        monkeypatch.setattr(rebuild, "REBUILD_COMMIT_SECONDS", 0)
    if reading.endswith("process"):
        plan_in_a_process(monkeypatch)
    position = await register_some(handlers, 0, 30)
    names = ["worker_directory", "certificates", "area_reports", "community_directory"]
    await registry.projections.wait_for(position, names, 10)
    live = {name: await snapshot(registry, name) for name in names}
    live_indexes = {name: await indexes(registry, name) for name in names}
    rebuilt = await registry.projections.rebuild(*names)
    assert [p.generation for p in rebuilt] == [2, 2, 2, 2]
    for name in names:
        assert await snapshot(registry, name) == live[name]
        # built after the rows went in, under the new generation's names
        assert await indexes(registry, name) == {
            index.replace("_g1", "_g2") for index in live_indexes[name]
        }
    assert "ix_workers_area_g2" in await indexes(registry, "worker_directory")
    [again] = await registry.projections.rebuild("area_reports")
    assert again.generation == 3
    assert await snapshot(registry, "area_reports") == live["area_reports"]


async def test_a_replay_that_fails_midway_changes_nothing_and_releases_the_database(
    handlers, registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rebuild, "REBUILD_READ_BATCH", 3)
    monkeypatch.setattr(rebuild, "REBUILD_CHUNK", 5)
    position = await register_some(handlers, 0, 20)
    await registry.projections.wait_for(position, ["worker_directory"], 10)
    live = await snapshot(registry, "worker_directory")
    write = rebuild.Rebuilder._write_plan
    writes = 0

    async def fail_on_the_third(*args: Any, **kwargs: Any) -> None:
        nonlocal writes
        writes += 1
        if writes == 3:
            raise RuntimeError("disk full")
        await write(*args, **kwargs)

    monkeypatch.setattr(rebuild.Rebuilder, "_write_plan", fail_on_the_third)
    with pytest.raises(RuntimeError, match="disk full"):
        await registry.projections.rebuild("worker_directory")
    assert registry.projections.active("worker_directory").generation == 1
    assert await snapshot(registry, "worker_directory") == live

    monkeypatch.setattr(rebuild.Rebuilder, "_write_plan", write)
    # the failed rebuild's transaction is gone: live writes and the next rebuild go through
    later = await register_some(handlers, 20, 1)
    await registry.projections.wait_for(later, ["worker_directory"], 10)
    [rebuilt] = await registry.projections.rebuild("worker_directory")
    assert rebuilt.generation == 3
    assert len((await snapshot(registry, "worker_directory"))["workers"]) == 21


@pytest.mark.parametrize("planned", ["here", "by a helper process"])
async def test_a_replay_until_a_time_keeps_an_as_of_copy_aside(
    handlers, registry, planned: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if planned != "here":
        plan_in_a_process(monkeypatch)
        monkeypatch.setattr(rebuild, "REBUILD_CHUNK", 3)
    await register_some(handlers, 0, 4)
    cut = (
        await registry.store.load(
            "worker",
            (await handlers.register_worker(worker_command(50), context("cut"))).aggregate_id,
        )
    )[0].envelope.time
    position = await register_some(handlers, 60, 3)
    await registry.projections.wait_for(position, ["worker_directory"], 10)
    [as_of] = await registry.projections.rebuild("worker_directory", until=cut)
    async with registry.engine.connect() as connection:
        copied = (await connection.execute(select(as_of.workers))).all()
    assert len(copied) == 5
    assert registry.projections.active("worker_directory").generation == 1


async def test_a_poison_event_is_parked_and_the_projection_goes_on(
    handlers, registry, monkeypatch
) -> None:
    directory = registry.projections.active("worker_directory")
    original = type(directory)._handlers["HomeVisitRecorded"]

    def explode(self: Any, event: Any, at: RecordedEvent, batch: ProjectionBatch) -> None:
        if event.visitor == "poison":
            raise ValueError("cannot project this visit")
        original(self, event, at, batch)

    monkeypatch.setitem(type(directory)._handlers, "HomeVisitRecorded", explode)
    worker = await handlers.register_worker(worker_command(1), context("w"))
    for visitor in ("before", "poison", "after"):
        result = await handlers.record_home_visit(
            worker.aggregate_id,
            RecordHomeVisit(visited_on=date(2026, 11, 1), visitor=visitor, notes="n"),
            context(f"visit-{visitor}"),
        )
    await registry.projections.wait_for(result.position, ["worker_directory"], 15)
    visits = (await snapshot(registry, "worker_directory"))["home_visits"]
    assert sorted(v[3] for v in visits) == ["after", "before"]
    [parked] = await registry.projections.parked("worker_directory")
    assert parked["event_type"] == "HomeVisitRecorded"
    assert "cannot project this visit" in parked["error"]

    monkeypatch.setitem(type(directory)._handlers, "HomeVisitRecorded", original)
    await registry.projections.retry_parked(await parked_to_retry(registry.engine, parked["id"]))
    visits = (await snapshot(registry, "worker_directory"))["home_visits"]
    assert sorted(v[3] for v in visits) == ["after", "before", "poison"]


async def test_a_rebuild_parks_a_poison_event_and_keeps_none_of_its_writes(
    handlers, registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    position = await register_some(handlers, 0, 6)
    worker = await handlers.register_worker(worker_command(40), context("w40"))
    for visitor in ("before", "poison", "after"):
        result = await handlers.record_home_visit(
            worker.aggregate_id,
            RecordHomeVisit(visited_on=date(2026, 11, 1), visitor=visitor, notes="n"),
            context(f"visit-{visitor}"),
        )
    position = result.position
    await registry.projections.wait_for(position, ["worker_directory"], 10)
    live = await snapshot(registry, "worker_directory")
    directory = type(registry.projections.active("worker_directory"))
    original = directory._handlers["HomeVisitRecorded"]

    def half_then_explode(self: Any, event: Any, at: RecordedEvent, batch: ProjectionBatch) -> None:
        original(self, event, at, batch)  # stages the visit row ...
        if event.visitor == "poison":
            raise ValueError("cannot project this visit")  # ... then fails

    monkeypatch.setitem(directory._handlers, "HomeVisitRecorded", half_then_explode)
    monkeypatch.setattr(registry.projections, "backoff_base", 0.01)
    await registry.projections.rebuild("worker_directory", "certificates")
    rebuilt = await snapshot(registry, "worker_directory")
    assert sorted(v[3] for v in rebuilt["home_visits"]) == ["after", "before"]
    assert rebuilt["workers"] == live["workers"]
    [parked] = await registry.projections.parked("worker_directory")
    assert (parked["event_type"], parked["seq"]) == (
        "HomeVisitRecorded",
        int(position.split(":")[1]) - 1,
    )
    assert await registry.projections.parked("certificates") == []


async def test_a_rebuild_planned_by_a_helper_process_parks_a_malformed_event(
    handlers, registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_in_a_process(monkeypatch)
    monkeypatch.setattr(rebuild, "REBUILD_CHUNK", 4)
    monkeypatch.setattr(registry.projections, "backoff_base", 0.01)
    await register_some(handlers, 0, 5)
    worker = await handlers.register_worker(worker_command(30), context("w30"))
    ack = await registry.nc.jetstream().publish(
        f"registry.worker.{worker.aggregate_id}.HomeVisitRecorded", b'{"not": "an event"}'
    )
    position = await register_some(handlers, 10, 3)
    await registry.projections.wait_for(position, ["worker_directory"], 10)
    live = await snapshot(registry, "worker_directory")

    [rebuilt] = await registry.projections.rebuild("worker_directory")
    assert rebuilt.generation == 2
    assert await snapshot(registry, "worker_directory") == live
    parked = await registry.projections.parked("worker_directory")
    assert {p["seq"] for p in parked} == {ack.seq}


async def test_a_projector_killed_between_commit_and_ack_applies_nothing_twice(
    open_registry, handlers, registry
) -> None:
    """Commit lands, the ack never leaves: the next projector starts from the checkpoint,
    and a redelivered batch is skipped by sequence."""
    position = await register_some(handlers, 0, 6)
    await registry.projections.wait_for(position, ["area_reports"], 10)
    before = await snapshot(registry, "area_reports")
    stream_messages = []
    js = registry.nc.jetstream()
    for seq in range(1, int(position.split(":")[1]) + 1):
        stream_messages.append(await js.get_msg("REGISTRY", seq=seq, direct=True))

    class Redelivered:
        def __init__(self, message: Any) -> None:
            self.subject, self.data, self.headers = message.subject, message.data, None
            self.metadata = type("M", (), {"sequence": type("S", (), {"stream": message.seq})})

    await registry.projections.apply_messages(
        "REGISTRY",
        [Redelivered(m) for m in stream_messages],  # type: ignore[misc]
    )
    await registry.close()
    restarted = await open_registry("all")
    position = await register_some(handlers_for(restarted), 100, 1)
    await restarted.projections.wait_for(position, ["area_reports"], 10)
    after = await snapshot(restarted, "area_reports")
    registered = {row[:3]: row[3] for row in after["area_month_counts"]}
    expected = {row[:3]: row[3] for row in before["area_month_counts"]}
    for key, count in expected.items():
        if key[2] == "registered":
            assert registered[key] == count + 1
        else:
            assert registered[key] == count


async def test_nats_restarting_under_load_loses_and_duplicates_nothing(
    handlers, registry, nats_server: EmbeddedNats
) -> None:
    accepted: list[str] = []
    refused = 0

    async def keep_registering() -> None:
        nonlocal refused
        for n in range(200, 260):
            try:
                worker = await handlers.register_worker(worker_command(n), context(f"load{n}"))
                accepted.append(worker.aggregate_id)
            except Exception:
                refused += 1  # the client saw an error while NATS was down: it may retry
            await asyncio.sleep(0.01)

    load = asyncio.create_task(keep_registering())
    await asyncio.sleep(0.2)
    nats_server.stop()
    await asyncio.sleep(1.0)
    await nats_server.start()
    await load
    retried = [
        await handlers.register_worker(worker_command(n), context(f"load{n}"))
        for n in range(200, 260)
    ]
    # a retry that was already in the log answers with its original position: wait for the last
    last = max(retried, key=lambda result: result.seq)
    await registry.projections.wait_for(last.position, ["worker_directory"], 20)
    workers = (await snapshot(registry, "worker_directory"))["workers"]
    assert len(workers) == 60
    assert set(accepted) <= {w[0] for w in workers}
    info = await registry.nc.jetstream().stream_info("REGISTRY")
    assert info.state.messages == 60  # every registration exactly once in the log


async def test_a_second_projector_stands_by_and_takes_over_when_the_first_stops(
    open_registry, handlers, registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two projectors would split the durable consumer and skip what lies below each other's
    checkpoints: the second waits, and goes on from where the first stopped."""
    monkeypatch.setattr(host.ProjectionHost, "lease_check_seconds", 0.1)
    standby = await open_registry("projector")
    assert registry.projections.leading
    assert not standby.projections.leading

    first = await register_some(handlers, 0, 9)
    await registry.projections.wait_for(first, ["worker_directory", "area_reports"], 10)
    await registry.close()
    second = await register_some(handlers_for(standby), 100, 9)
    await standby.projections.wait_for(second, ["worker_directory", "area_reports"], 10)

    assert standby.projections.leading
    assert len((await snapshot(standby, "worker_directory"))["workers"]) == 18
    counts = (await snapshot(standby, "area_reports"))["area_month_counts"]
    community = worker_command(0).area_code
    assert sum(row[3] for row in counts if row[0] == community and row[2] == "registered") == 18


async def test_a_projector_that_loses_its_lease_stops_then_goes_on_when_it_has_it_again(
    handlers, registry, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL ends the lease's session (a restart, a failover, an operator): the lock is
    free for another projector, so this one stops following until it holds the lease again."""
    monkeypatch.setattr(host.ProjectionHost, "lease_check_seconds", 0.1)
    caplog.set_level(logging.INFO, logger=host.__name__)
    if registry.engine.dialect.name != "postgresql":
        pytest.skip("a SQLite lease is a file lock: it lasts as long as the process")
    first = await register_some(handlers, 0, 4)
    await registry.projections.wait_for(first, ["worker_directory"], 10)
    async with registry.engine.connect() as connection:
        ended = await connection.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
                " WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
    assert ended == 1
    deadline = asyncio.get_running_loop().time() + 10
    while "took the projector lease" not in caplog.text:
        assert asyncio.get_running_loop().time() < deadline, caplog.text
        await asyncio.sleep(0.05)
    assert "lost the projector lease" in caplog.text

    second = await register_some(handlers, 100, 4)
    await registry.projections.wait_for(second, ["worker_directory", "area_reports"], 10)
    assert len((await snapshot(registry, "worker_directory"))["workers"]) == 8
    counts = (await snapshot(registry, "area_reports"))["area_month_counts"]
    community = worker_command(0).area_code
    assert sum(row[3] for row in counts if row[0] == community and row[2] == "registered") == 8


async def test_the_projector_deletes_a_key_that_an_erasure_left_behind(
    handlers, registry: ServiceRuntime
) -> None:
    """The process that erased her died after appending WorkerErased and before deleting her
    key (or the database came back from a backup taken before): the projector deletes it."""
    worker = await handlers.register_worker(worker_command(40), context("r40"))
    await handlers._executor.execute(
        Worker, worker.aggregate_id, lambda w: w.erase(reason="her request"), context("e40")
    )

    async def key_left() -> bool:
        async with registry.engine.connect() as connection:
            found = await connection.scalar(
                select(pii_keys.c.subject_id).where(pii_keys.c.subject_id == worker.aggregate_id)
            )
        return found is not None

    for _ in range(200):  # until the projector has applied the erasure (bounded: 10 s)
        if not await key_left():
            break
        await asyncio.sleep(0.05)
    assert not await key_left()
