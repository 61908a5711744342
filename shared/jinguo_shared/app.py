"""The FastAPI application every service serves: conventions, health, tracing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from jinguo_shared.feed import feed_router
from jinguo_shared.http.admission import Admission
from jinguo_shared.http.problems import install_problem_handlers
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.services import discover_services
from jinguo_shared.telemetry import HTTP_TELEMETRY


def service_app(
    runtime: ServiceRuntime, title: str, description: str, router: APIRouter
) -> FastAPI:
    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        telemetry=HTTP_TELEMETRY,
        responses={
            401: {"description": "no or unknown API key (problem+json)"},
            413: {"description": "request body too large (problem+json)"},
            422: {"description": "invalid request; `errors` names each field (problem+json)"},
            503: {"description": "NATS or the database unreachable; retry (problem+json)"},
        },
    )
    app.state.runtime = runtime
    app.add_middleware(
        Admission,
        authenticator=lambda: runtime.authenticator,
        max_body=runtime.settings.http_max_body_bytes,
    )
    install_problem_handlers(app)
    app.include_router(router)
    [definition] = [d for d in discover_services() if d.name == runtime.name]
    app.include_router(feed_router(runtime, definition.feed))

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
