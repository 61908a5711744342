"""A rebuild reads through one of its service's named slots (its NATS user may create no other
consumer): never shared, released at the end, and a clear refusal when all are taken."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client as NatsClient

from jinguo_contracts.access import AgencyRegisteredV1
from jinguo_shared.consumer_names import REBUILD_SLOTS, rebuild_consumers
from jinguo_shared.db import make_engine
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore
from jinguo_shared.natsauth import ADMIN_USER
from jinguo_shared.projections.api_clients import ApiClients
from jinguo_shared.projections.host import ProjectionHost
from jinguo_shared.projections.stream_reader import RebuildSlotsTakenError, StreamReader

SLOTS = rebuild_consumers("registry", "REGISTRY")


@pytest.fixture
async def registry(nats_server: EmbeddedNats) -> AsyncIterator[NatsClient]:
    """The registry's own NATS user, with a few agencies in its stream."""
    nc = await nats.connect(nats_server.url, **nats_server.connect_options("registry"))
    store = EventStore(nc, "registry", vault=None)
    for n in range(3):
        command = str(uuid.uuid4())
        event = AgencyRegisteredV1(
            agency_id=f"a{n}", name=f"agency {n}", kind="womens_federation", area_code="110101"
        )
        context = CommandContext(command_id=command, correlation_id=command, actor="test")
        await store.append("agency", f"a{n}", 0, [event], context)
    yield nc
    await nc.close()


@pytest.fixture
async def consumers(nats_server: EmbeddedNats) -> AsyncIterator[NatsClient]:
    """The admin's view of the consumers on REGISTRY."""
    nc = await nats.connect(nats_server.url, **nats_server.connect_options(ADMIN_USER))
    yield nc
    await nc.close()


async def names_on_registry(admin: NatsClient) -> list[str]:
    return sorted(info.name for info in await admin.jetstream().consumers_info("REGISTRY"))


def reader(nc: NatsClient) -> StreamReader:
    return StreamReader(nc, "REGISTRY", ["registry.>"], 100, last=3, slots=SLOTS)


async def test_readers_never_share_a_slot_and_free_it_at_the_end(
    registry: NatsClient, consumers: NatsClient
) -> None:
    readers = [reader(registry) for _ in range(REBUILD_SLOTS)]
    for each in readers:
        await each.__aenter__()
    try:
        assert await names_on_registry(consumers) == sorted(SLOTS)
        assert [each.matching for each in readers] == [3] * REBUILD_SLOTS
        with pytest.raises(RebuildSlotsTakenError) as taken:
            async with reader(registry):
                pass
        message = str(taken.value)
        assert "every rebuild slot on REGISTRY is taken (registry_rebuild_registry_1," in message
        assert "nats consumer rm REGISTRY <slot>" in message
    finally:
        for each in readers:
            await each.__aexit__(None, None, None)
    assert await names_on_registry(consumers) == []


async def test_a_slot_a_crashed_reader_left_is_skipped_and_expires(
    nats_server: EmbeddedNats, registry: NatsClient, consumers: NatsClient
) -> None:
    crashed = await nats.connect(nats_server.url, **nats_server.connect_options("registry"))
    await reader(crashed).__aenter__()
    await crashed.close()  # never released
    async with reader(registry) as next_one:
        assert await names_on_registry(consumers) == sorted(SLOTS[:2])
        assert next_one.matching == 3
    left = await consumers.jetstream().consumer_info("REGISTRY", SLOTS[0])
    assert left.config.inactive_threshold == StreamReader.INACTIVE_SECONDS


async def test_a_rebuild_with_the_services_own_user_leaves_no_consumer(
    registry: NatsClient, consumers: NatsClient, database_url: str
) -> None:
    engine = make_engine(database_url)
    host = ProjectionHost("registry", engine, registry, [ApiClients])
    try:
        await host.prepare()
        [rebuilt] = await host.rebuild("api_clients")
        assert rebuilt.generation == 2
    finally:
        await engine.dispose()
    assert await names_on_registry(consumers) == []
