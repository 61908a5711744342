from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jinguo_contracts.registry import PriceTier
from jinguo_orders.bootstrap import OrdersService
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import (
    Opener,
    publish_resident,
    publish_tier,
    publish_worker,
    runtimes,
)

COMMUNITY = "110101001001"


@pytest.fixture
def orders_env(
    jinguo_env: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.setenv("JINGUO_ORDERS_DATABASE_URL", database_url)
    return {**jinguo_env, "JINGUO_ORDERS_DATABASE_URL": database_url}


@pytest.fixture
async def open_orders(orders_env: dict[str, str]) -> AsyncIterator[Opener]:
    async with runtimes(OrdersService(), orders_env["JINGUO_NATS_URL"]) as opener:
        yield opener


@pytest.fixture
async def orders(open_orders: Opener) -> ServiceRuntime:
    return await open_orders()


def context(command_id: str) -> CommandContext:
    return CommandContext(command_id=command_id, correlation_id=command_id, actor="test")


async def register_worker(registry: EventStore, worker_id: str, area: str = COMMUNITY) -> str:
    return await publish_worker(registry, worker_id, area=area)


async def register_resident(
    registry: EventStore, resident_id: str, tier: PriceTier = "free", area: str = COMMUNITY
) -> str:
    return await publish_resident(registry, resident_id, area=area, tier=tier)


async def change_tier(
    registry: EventStore, resident_id: str, tier: PriceTier, n: str, area: str = COMMUNITY
) -> str:
    return await publish_tier(registry, resident_id, tier=tier, area=area, change=int(n))
