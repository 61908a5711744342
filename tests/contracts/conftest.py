from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.services import discover_services
from jinguo_shared.testing import runtimes


@pytest.fixture
async def service_runtimes(jinguo_env: dict[str, str]) -> AsyncIterator[dict[str, ServiceRuntime]]:
    """Every installed service's runtime, on one NATS, each on its own database."""
    opened: dict[str, ServiceRuntime] = {}
    async with contextlib.AsyncExitStack() as stack:
        for definition in discover_services():
            opener = await stack.enter_async_context(
                runtimes(definition, jinguo_env["JINGUO_NATS_URL"])
            )
            opened[definition.name] = await opener()
        yield opened


@pytest.fixture
def apps(service_runtimes: dict[str, ServiceRuntime]) -> dict[str, FastAPI]:
    return {
        definition.name: definition.create_app(service_runtimes[definition.name])
        for definition in discover_services()
    }


@pytest.fixture
def documents(apps: dict[str, FastAPI]) -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document, as it serves it."""
    return {name: app.openapi() for name, app in apps.items()}


def api_routes(app: FastAPI) -> list[APIRoute]:
    """The operations an app documents, as their routers declared them."""
    routes = [context.original_route for context in iter_route_contexts(app.routes)]
    return [r for r in routes if isinstance(r, APIRoute) and r.include_in_schema]
