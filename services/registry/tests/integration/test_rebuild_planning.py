"""A rebuild's planning process plans exactly as the rebuild would here, and fails loudly."""

from __future__ import annotations

import pickle
from datetime import date

import pytest

from jinguo_contracts.base import CATALOGUE
from jinguo_registry.handlers.commands import RecordHomeVisit
from jinguo_registry.projections.workers import WorkerDirectory
from jinguo_shared.projections.base import Projection
from jinguo_shared.projections.planning import (
    ChunkPlanner,
    InlinePlanning,
    Item,
    PlannerSpec,
    ProcessPlanning,
    planning_for,
)
from jinguo_shared.runtime import ServiceRuntime

from .conftest import context, worker_command


async def raw_events(handlers, registry: ServiceRuntime, workers: int) -> list[Item]:
    for n in range(workers):
        worker = await handlers.register_worker(worker_command(n), context(f"w{n}"))
        result = await handlers.record_home_visit(
            worker.aggregate_id,
            RecordHomeVisit(visited_on=date(2026, 11, 2), visitor="v", notes="n"),
            context(f"v{n}"),
        )
    js = registry.nc.jetstream()
    last = int(result.position.split(":")[1])
    messages = [await js.get_msg("REGISTRY", seq=seq, direct=True) for seq in range(1, last + 1)]
    return [(m.seq, m.subject, m.data) for m in messages if m.subject and m.seq and m.data]


def spec_for(drivername: str) -> PlannerSpec:
    return PlannerSpec([(WorkerDirectory, 7)], "REGISTRY", None, CATALOGUE, drivername)


@pytest.mark.parametrize("drivername", ["sqlite+aiosqlite", "postgresql+asyncpg"])
async def test_the_process_plans_every_chunk_as_this_process_would(
    handlers, registry, drivername: str
) -> None:
    items = await raw_events(handlers, registry, 6)
    chunks = [items[:5], items[5:9], items[9:]]
    spec = spec_for(drivername)
    here = ChunkPlanner(spec)
    expected = [here.plan(chunk) for chunk in chunks]
    async with ProcessPlanning(pickle.dumps(spec)) as process:
        for chunk in chunks:
            await process.submit(chunk)
        planned = [await process.result() for _ in chunks]
    assert planned == expected
    assert sum(len(rows) for plan in planned for _, rows in plan.statements["worker_directory"])


async def test_a_planning_process_that_dies_fails_the_rebuild_with_its_exit_code(
    handlers, registry
) -> None:
    items = await raw_events(handlers, registry, 1)
    async with ProcessPlanning(pickle.dumps(spec_for("sqlite+aiosqlite"))) as process:
        assert process._process is not None
        process._process.kill()

        async def plan() -> object:  # sending fails if the pipe is closed by then, else reading
            await process.submit(items)
            return await process.result()

        with pytest.raises(RuntimeError, match="planning process ended with exit code -9"):
            await plan()


def test_long_rebuilds_into_sqlite_are_planned_in_a_process_if_it_can_import_them() -> None:
    class Local(WorkerDirectory):
        name = "local"

    importable: list[tuple[type[Projection], int]] = [(WorkerDirectory, 1)]
    local: list[tuple[type[Projection], int]] = [(Local, 1)]
    spec = PlannerSpec(importable, "REGISTRY", None, CATALOGUE, "sqlite+aiosqlite")
    assert isinstance(planning_for(spec, 50_000), ProcessPlanning)
    assert isinstance(planning_for(spec, 49_999), InlinePlanning)
    spec.projections = local
    assert isinstance(planning_for(spec, 50_000), InlinePlanning)


def test_rebuilds_into_postgresql_are_planned_here() -> None:
    spec = PlannerSpec([(WorkerDirectory, 1)], "REGISTRY", None, CATALOGUE, "postgresql+asyncpg")
    assert isinstance(planning_for(spec, 1_000_000), InlinePlanning)
