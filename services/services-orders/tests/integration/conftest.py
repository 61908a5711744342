from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jinguo_contracts.examples import price_tier_decided, registered_resident, registered_worker
from jinguo_contracts.registry import PriceTier
from jinguo_orders.bootstrap import OrdersService
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import Opener, publish, publish_history, runtimes

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
    worker = registered_worker(worker_id, area=area)
    return await publish_history(registry, worker_id, worker, f"register-{worker_id}")


async def register_resident(
    registry: EventStore, resident_id: str, tier: PriceTier = "free", area: str = COMMUNITY
) -> str:
    resident = registered_resident(resident_id, area=area, tier=tier)
    return await publish_history(registry, resident_id, resident, f"resident-{resident_id}")


async def change_tier(
    registry: EventStore, resident_id: str, tier: PriceTier, n: str, area: str = COMMUNITY
) -> str:
    decided = price_tier_decided(resident_id, tier=tier, area=area)
    return await publish(registry, "resident", resident_id, decided, f"tier-{resident_id}-{n}")
