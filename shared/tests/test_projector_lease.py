"""One projector lease per service and database: exclusive, released by its holder."""

from __future__ import annotations

from jinguo_shared.db import make_engine
from jinguo_shared.projections.lease import ProjectorLease


async def test_one_holder_at_a_time_per_service(database_url: str) -> None:
    first_engine, second_engine = make_engine(database_url), make_engine(database_url)
    first = ProjectorLease(first_engine, "registry")
    second = ProjectorLease(second_engine, "registry")
    other_service = ProjectorLease(second_engine, "employment")
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert not second.held
        assert await other_service.try_acquire()
        assert await first.still_held()

        await first.release()
        assert not first.held
        assert await second.try_acquire()
        assert not await first.try_acquire()
    finally:
        for lease in (first, second, other_service):
            await lease.release()
        await first_engine.dispose()
        await second_engine.dispose()
