from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from jinguo_registry.bootstrap import RegistryService, handlers_for
from jinguo_registry.domain.validation import make_national_id
from jinguo_registry.handlers.commands import RegisterWorker, RegistryHandlers
from jinguo_shared.envelope import CommandContext
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import Opener, runtimes


@pytest.fixture
async def open_registry(jinguo_env: dict[str, str]) -> AsyncIterator[Opener]:
    async with runtimes(RegistryService(), jinguo_env["JINGUO_NATS_URL"]) as opener:
        yield opener


@pytest.fixture
async def registry(open_registry: Opener) -> ServiceRuntime:
    return await open_registry()


@pytest.fixture
def handlers(registry: ServiceRuntime) -> RegistryHandlers:
    return handlers_for(registry)


def context(command_id: str) -> CommandContext:
    return CommandContext(command_id=command_id, correlation_id=command_id, actor="test")


def worker_command(n: int) -> RegisterWorker:
    return RegisterWorker(
        name=f"测试{n}",
        national_id=make_national_id("110101", date(1975, 1, 1 + n % 28), n, female=True),
        phone=f"138{n:08d}",
        area_code="110101001001",
    )
