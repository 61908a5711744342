from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from jinguo_contracts.registry import (
    ResidentEligibilityChangedV1,
    ResidentRegisteredV1,
    WorkerRegisteredV1,
)
from jinguo_orders.bootstrap import OrdersService
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import Opener, publish, runtimes

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
