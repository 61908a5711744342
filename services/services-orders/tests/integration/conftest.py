from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import date
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient

from jinguo_contracts.base import EventContract
from jinguo_contracts.registry import (
    ResidentEligibilityChangedV1,
    ResidentRegisteredV1,
    WorkerRegisteredV1,
)
from jinguo_orders.bootstrap import OrdersService
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import SERVICE_STREAMS, EventStore, ensure_stream
from jinguo_shared.runtime import EmbeddedNats, ServiceRuntime, open_runtime
from jinguo_shared.settings import Settings

Opener = Callable[..., Coroutine[Any, Any, ServiceRuntime]]
COMMUNITY = "110101001001"


@pytest.fixture
def orders_env(
    jinguo_env: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.setenv("JINGUO_ORDERS_DATABASE_URL", database_url)
    return {**jinguo_env, "JINGUO_ORDERS_DATABASE_URL": database_url}


@pytest.fixture
async def open_orders(orders_env: dict[str, str]) -> AsyncIterator[Opener]:
    opened: list[ServiceRuntime] = []

    async def open_one(role: str = "all") -> ServiceRuntime:
        runtime = await open_runtime(
            OrdersService(),  # type: ignore[arg-type]
            Settings(),
            orders_env["JINGUO_NATS_URL"],
            role,  # type: ignore[arg-type]
        )
        opened.append(runtime)
        return runtime

    yield open_one
    for runtime in opened:
        with contextlib.suppress(Exception):
            await runtime.close()


@pytest.fixture
async def orders(open_orders: Opener) -> ServiceRuntime:
    return await open_orders()


def context(command_id: str) -> CommandContext:
    return CommandContext(command_id=command_id, correlation_id=command_id, actor="test")


@pytest.fixture
async def outside(nats_server: EmbeddedNats) -> AsyncIterator[NatsClient]:
    nc = await nats.connect(nats_server.url, **nats_server.connect_options("admin"))
    yield nc
    await nc.close()


async def publisher(nc: NatsClient, service: str) -> EventStore:
    await ensure_stream(nc.jetstream(), SERVICE_STREAMS[service], 1)
    return EventStore(nc, service, vault=None)


async def publish(
    store: EventStore, aggregate: str, aggregate_id: str, event: EventContract, command_id: str
) -> str:
    history = await store.load(aggregate, aggregate_id)
    expected = history[-1].seq if history else 0
    seq = await store.append(aggregate, aggregate_id, expected, [event], context(command_id))
    return f"{store.stream}:{seq}"


async def register_worker(registry: EventStore, worker_id: str, area: str = COMMUNITY) -> str:
    return await publish(
        registry,
        "worker",
        worker_id,
        WorkerRegisteredV1(
            worker_id=worker_id,
            name="sealed elsewhere",
            national_id="sealed elsewhere",
            gender="female",
            birth_date=date(1976, 5, 1),
            phone="sealed elsewhere",
            area_code=area,
            hukou="local",
        ),
        f"register-{worker_id}",
    )


async def register_resident(
    registry: EventStore, resident_id: str, tier: str = "free", area: str = COMMUNITY
) -> str:
    await publish(
        registry,
        "resident",
        resident_id,
        ResidentRegisteredV1(
            resident_id=resident_id,
            name="x",
            national_id="x",
            birth_date=date(1940, 1, 1),
            phone="x",
            address="x",
            area_code=area,
        ),
        f"resident-{resident_id}",
    )
    return await change_tier(registry, resident_id, tier, "1", area)


async def change_tier(
    registry: EventStore, resident_id: str, tier: str, n: str, area: str = COMMUNITY
) -> str:
    return await publish(
        registry,
        "resident",
        resident_id,
        ResidentEligibilityChangedV1(
            resident_id=resident_id,
            price_tier=tier,  # type: ignore[arg-type]
            reason="minimum_living_allowance" if tier == "free" else "none",
            area_code=area,
        ),
        f"tier-{resident_id}-{n}",
    )


async def caught_up(runtime: ServiceRuntime, *positions: str) -> None:
    names = runtime.projections.names()
    for position in positions:
        await runtime.projections.wait_for(position, names, 15)
