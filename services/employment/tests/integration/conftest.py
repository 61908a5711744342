from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from jinguo_contracts.examples import registered_worker
from jinguo_contracts.registry import HoursType
from jinguo_employment.bootstrap import EmploymentService, handlers_for
from jinguo_employment.handlers.commands import (
    EmploymentHandlers,
    PublishPost,
    RegisterEmployer,
    RequirementsInput,
    WageInput,
)
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import Opener, publish_history, runtimes

COMMUNITY = "110101001001"


@pytest.fixture
def employment_env(
    jinguo_env: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.setenv("JINGUO_EMPLOYMENT_DATABASE_URL", database_url)
    return {**jinguo_env, "JINGUO_EMPLOYMENT_DATABASE_URL": database_url}


@pytest.fixture
async def open_employment(employment_env: dict[str, str]) -> AsyncIterator[Opener]:
    async with runtimes(EmploymentService(), employment_env["JINGUO_NATS_URL"]) as opener:
        yield opener


@pytest.fixture
async def employment(open_employment: Opener) -> ServiceRuntime:
    return await open_employment()


@pytest.fixture
def handlers(employment: ServiceRuntime) -> EmploymentHandlers:
    return handlers_for(employment)


def context(command_id: str) -> CommandContext:
    return CommandContext(command_id=command_id, correlation_id=command_id, actor="test")


async def register_worker(
    registry: EventStore,
    worker_id: str,
    *,
    area: str = COMMUNITY,
    codes: tuple[str, ...] = ("4-10-01-05",),
    hours: tuple[HoursType, ...] = ("full_time",),
    priority: bool = False,
) -> str:
    """A job seeker who wants elderly care work (养老护理) full time."""
    worker = registered_worker(
        worker_id,
        area=area,
        skills=["养老护理"],
        occupation_codes=codes,
        hours_types=hours,
        priority=priority,
    )
    return await publish_history(registry, worker_id, worker, f"register-{worker_id}")


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


async def eventually(check: Callable[[], Coroutine[Any, Any, bool]], seconds: float = 15) -> None:
    """Poll a condition that another process (a policy) makes true."""
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition did not become true in time")
