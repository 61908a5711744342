"""The FastAPI application every service serves: conventions, health, tracing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from jinguo_shared.http.problems import install_problem_handlers
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.telemetry import HTTP_TELEMETRY

READY_LAG_LIMIT = 10_000


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
            422: {"description": "invalid request; `errors` names each field (problem+json)"},
        },
    )
    app.state.runtime = runtime
    install_problem_handlers(app)
    app.include_router(router)

    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        checks: dict[str, Any] = {"nats": runtime.nc.is_connected}
        try:
            async with runtime.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            checks["database"] = True
        except Exception as error:  # readiness reports any failure rather than raising it
            checks["database"] = f"{type(error).__name__}"
        lag = {f"{p}:{s}": n for (p, s), n in runtime.projections.lag.items()}
        checks["projection_lag"] = lag
        healthy = (
            checks["nats"] is True
            and checks["database"] is True
            and all(n <= READY_LAG_LIMIT for n in lag.values())
        )
        return JSONResponse(checks, status_code=200 if healthy else 503)

    return app
