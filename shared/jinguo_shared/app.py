"""The FastAPI application every service serves: conventions, health, tracing."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import text

from jinguo_shared.disclosures import disclosures_router
from jinguo_shared.feed import Feed, FeedDeclaration, feed_router
from jinguo_shared.http.admission import Admission
from jinguo_shared.http.problems import (
    document_problems,
    install_problem_handlers,
    problem_schemas,
)
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.telemetry import HTTP_TELEMETRY
from jinguo_shared.webhooks.delivery import WebhookDeliveries
from jinguo_shared.webhooks.router import webhooks_router
from jinguo_shared.webhooks.subscriptions import Subscriptions

Indicators = Mapping[str, tuple[str, str]]
"""A service's report keys: what each counts, and the date that decides its period."""


def service_app(
    runtime: ServiceRuntime,
    title: str,
    description: str,
    router: APIRouter,
    feed: FeedDeclaration,
    indicators: Indicators | None = None,
) -> FastAPI:
    if indicators:
        description += (
            "\n\n## Report indicators\n\nThe keys of this service's reports: what each counts,"
            " and the date that decides the month (or period) it is counted in.\n\n"
            + indicator_table(indicators)
        )
    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        telemetry=HTTP_TELEMETRY,
        generate_unique_id_function=operation_id,
    )
    app.state.runtime = runtime
    app.add_middleware(
        Admission,
        authenticator=lambda: runtime.authenticator,
        max_body=runtime.settings.http_max_body_bytes,
    )
    install_problem_handlers(app)
    published = Feed(runtime, feed)
    subscriptions = Subscriptions(runtime.engine, runtime.vault)
    if runtime.projector and runtime.deliveries is None and _in_event_loop():
        runtime.deliveries = WebhookDeliveries(runtime, published, subscriptions)
        runtime.projections.while_leading(runtime.deliveries)
    for included in (
        router,
        disclosures_router(runtime),
        feed_router(runtime, feed),
        webhooks_router(runtime, published, subscriptions),
    ):
        for route in included.routes:
            if isinstance(route, APIRoute):
                document_problems(route)
        app.include_router(included)
    app.openapi = lambda: _with_problems(app)  # type: ignore[method-assign]

    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        """NATS and the database. Projection lag is shown, never counted: one slow projector
        must not take every API replica, and so every write, out of service."""
        checks: dict[str, Any] = {"nats": runtime.nc.is_connected}
        try:
            async with runtime.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            checks["database"] = True
        except Exception as error:  # readiness reports any failure rather than raising it
            checks["database"] = f"{type(error).__name__}"
        checks["projection_lag"] = {f"{p}:{s}": n for (p, s), n in runtime.projections.lag.items()}
        healthy = checks["nats"] is True and checks["database"] is True
        return JSONResponse(checks, status_code=200 if healthy else 503)

    return app


def _in_event_loop() -> bool:
    """An app made outside an event loop (to read its OpenAPI) serves and delivers nothing."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def indicator_table(indicators: Indicators) -> str:
    """A Markdown table of report indicators, as the OpenAPI description and README show it."""
    rows = [f"| `{key}` | {counts} | {period} |" for key, (counts, period) in indicators.items()]
    return "\n".join(["| key | counts | its period is decided by |", "| --- | --- | --- |", *rows])


def operation_id(route: APIRoute) -> str:
    """The route function's own name in camelCase: renaming it is a visible contract change."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _with_problems(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with the `Problem` schema that every error response refers to."""
    if app.openapi_schema is None:
        document = FastAPI.openapi(app)
        document.setdefault("components", {}).setdefault("schemas", {}).update(problem_schemas())
        app.openapi_schema = document
    return app.openapi_schema
