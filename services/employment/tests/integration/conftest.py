from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import date
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient

from jinguo_contracts.base import EventContract
from jinguo_contracts.registry import DesiredWork, WorkerCategoryAssessedV1, WorkerRegisteredV1
from jinguo_employment.bootstrap import EmploymentService, handlers_for
from jinguo_employment.handlers.commands import (
    EmploymentHandlers,
    PublishPost,
    RegisterEmployer,
    RequirementsInput,
    WageInput,
)
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import SERVICE_STREAMS, EventStore, ensure_stream
from jinguo_shared.runtime import EmbeddedNats, ServiceRuntime, open_runtime
from jinguo_shared.settings import Settings

Opener = Callable[..., Coroutine[Any, Any, ServiceRuntime]]
COMMUNITY = "110101001001"


@pytest.fixture
def employment_env(
    jinguo_env: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.setenv("JINGUO_EMPLOYMENT_DATABASE_URL", database_url)
    return {**jinguo_env, "JINGUO_EMPLOYMENT_DATABASE_URL": database_url}


@pytest.fixture
async def open_employment(employment_env: dict[str, str]) -> AsyncIterator[Opener]:
    """Opens employment runtimes (each like a process of its own); closes them at the end."""
    opened: list[ServiceRuntime] = []

    async def open_one(role: str = "all") -> ServiceRuntime:
        runtime = await open_runtime(
            EmploymentService(),  # type: ignore[arg-type]
            Settings(),
            employment_env["JINGUO_NATS_URL"],
            role,  # type: ignore[arg-type]
        )
        opened.append(runtime)
        return runtime

    yield open_one
    for runtime in opened:
        with contextlib.suppress(Exception):  # a test may have closed it on purpose
            await runtime.close()


@pytest.fixture
async def employment(open_employment: Opener) -> ServiceRuntime:
    return await open_employment()


@pytest.fixture
def handlers(employment: ServiceRuntime) -> EmploymentHandlers:
    return handlers_for(employment)


def context(command_id: str) -> CommandContext:
    return CommandContext(command_id=command_id, correlation_id=command_id, actor="test")


@pytest.fixture
async def outside(nats_server: EmbeddedNats) -> AsyncIterator[NatsClient]:
    """A connection of another service's own, alive while the employment runtimes restart."""
    nc = await nats.connect(nats_server.url, **nats_server.connect_options("admin"))
    yield nc
    await nc.close()


async def publisher(nc: NatsClient, service: str) -> EventStore:
    """Another service's event store, on the same NATS: tests publish its events for real."""
    await ensure_stream(nc.jetstream(), SERVICE_STREAMS[service], 1)
    return EventStore(nc, service, vault=None)


async def publish(
    store: EventStore, aggregate: str, aggregate_id: str, event: EventContract, command_id: str
) -> str:
    history = await store.load(aggregate, aggregate_id)
    expected = history[-1].seq if history else 0
    seq = await store.append(aggregate, aggregate_id, expected, [event], context(command_id))
    return f"{store.stream}:{seq}"


async def register_worker(
    registry: EventStore,
    worker_id: str,
    *,
    area: str = COMMUNITY,
    codes: tuple[str, ...] = ("4-10-01-05",),
    hours: tuple[str, ...] = ("full_time",),
    priority: bool = False,
) -> str:
    position = await publish(
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
            skills=["养老护理"],
            desired_work=DesiredWork(occupation_codes=list(codes), hours_types=list(hours)),  # type: ignore[arg-type]
        ),
        f"register-{worker_id}",
    )
    if priority:
        position = await publish(
            registry,
            "worker",
            worker_id,
            WorkerCategoryAssessedV1(
                worker_id=worker_id,
                category="age_40_50",
                evidence="户口簿",
                valid_until=date(2099, 1, 1),
                area_code=area,
            ),
            f"assess-{worker_id}",
        )
    return position


async def employer_and_post(
    handlers: EmploymentHandlers,
    *,
    openings: int = 1,
    kind: str = "market",
    hours_type: str = "full_time",
    n: int = 0,
    credit_code: str = "91110101MA01234567",
) -> tuple[str, str, str]:
    """(employer id, post id, position)."""
    employer = await handlers.register_employer(
        RegisterEmployer(name="东四社区养老驿站", credit_code=credit_code, area_code="110101001"),
        context(f"employer-{credit_code}"),
    )
    post = await handlers.publish_post(
        PublishPost(
            employer_id=employer.aggregate_id,
            title="养老护理员",
            occupation_code="4-10-01-05",
            area_code=COMMUNITY,
            wage=WageInput(amount=4500, unit="month"),
            hours_type=hours_type,  # type: ignore[arg-type]
            openings=openings,
            requirements=RequirementsInput(skills=["养老护理"]),
            kind=kind,  # type: ignore[arg-type]
        ),
        context(f"post-{credit_code}-{n}"),
    )
    return employer.aggregate_id, post.aggregate_id, post.position


async def caught_up(runtime: ServiceRuntime, *positions: str) -> None:
    names = runtime.projections.names()
    for position in positions:
        await runtime.projections.wait_for(position, names, 15)


async def eventually(check: Callable[[], Coroutine[Any, Any, bool]], seconds: float = 15) -> None:
    """Poll a condition that another process (a policy) makes true."""
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition did not become true in time")
