"""RFC 9457 problem details for every error a client can meet."""

from __future__ import annotations

import logging
from typing import Any

import nats.errors
import nats.js.errors
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException

from jinguo_shared.domain import DomainError
from jinguo_shared.projections.consistency import ConsistencyTimeoutError

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://jinguo.dev/problems/"
PROBLEM_JSON = "application/problem+json"
UNAVAILABLE: tuple[type[Exception], ...] = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.NoServersError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.NoStreamResponseError,  # no stream leader: one being elected
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    ConnectionError,
    TimeoutError,
)
"""Failures of NATS or the database, not of the request: the client should try again (with the
same Idempotency-Key, so that a command the log did take is not taken twice)."""
RETRY_AFTER_SECONDS = 2


class FieldError(BaseModel):
    field: str = Field(description="The field, dotted for a nested one (`wage.amount`)")
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (`application/problem+json`). Some problems add
    members of their own, such as `position` on a 503 of a read not yet consistent."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description=f"A URI naming the kind of problem, under {PROBLEM_BASE}")
    title: str
    status: int
    detail: str
    instance: str = Field(description="The path of the request")
    errors: list[FieldError] | None = Field(
        default=None, description="On a 422 of invalid input: each invalid field"
    )


PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "A cursor, position or header this API never gave out",
    401: "No API key, or one that is unknown or revoked",
    403: "The key lacks the scope, or the record or area lies outside its jurisdiction",
    404: "No such record, or one the key may not see",
    409: "The record's state refuses the command, or the Idempotency-Key was used for another"
    " request",
    413: "The request body is over the size limit",
    422: "Invalid input: `errors` names each field",
    503: "The event log or the database is unreachable, or `?after=` was not reached in time:"
    " retry after Retry-After seconds (a command with the same Idempotency-Key)",
}


def _dependants(dependant: Dependant) -> list[Dependant]:
    return [dependant, *(d for sub in dependant.dependencies for d in _dependants(sub))]


def possible_problems(route: APIRoute) -> list[int]:
    """The problem statuses an operation can answer with, from what it declares."""
    dependants = _dependants(route.dependant)
    guarded = any(isinstance(d.call, SecurityBase) for d in dependants)
    has_path = any(d.path_params for d in dependants)
    has_input = route.body_field is not None or any(
        d.path_params or d.query_params or d.header_params for d in dependants
    )
    command = any(method not in ("GET", "HEAD") for method in route.methods or ())
    statuses = [
        (400, has_input),
        (401, guarded),
        (403, guarded),
        (404, has_path),
        (409, command),
        (413, route.body_field is not None),
        (422, has_input),
        (503, True),
    ]
    return [status for status, possible in statuses if possible]


def document_problems(route: APIRoute) -> None:
    """Documents the problems `route` can answer with, leaving those it documents itself."""
    schema = {"$ref": "#/components/schemas/Problem"}
    for status in possible_problems(route):
        route.responses.setdefault(
            status,
            {
                "description": PROBLEM_DESCRIPTIONS[status],
                "content": {PROBLEM_JSON: {"schema": schema}},
            },
        )


def problem_schemas() -> dict[str, Any]:
    """`Problem` and what it refers to, for an OpenAPI document's components."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    return {**schema.pop("$defs"), "Problem": schema}


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    request: Request,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body = Problem(
        type=PROBLEM_BASE + code,
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        **extensions,
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_unset=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _field(tuple(e["loc"])),
                "message": str(e["msg"]).removeprefix("Value error, "),
            }
            for e in error.errors()
        ]
        fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
        return problem(
            422,
            "invalid-request",
            "The request is not valid",
            f"check these fields: {fields}",
            request,
            errors=errors,
        )

    @app.exception_handler(DomainError)
    async def refused(request: Request, error: DomainError) -> JSONResponse:
        return problem(
            error.status,
            error.code,
            "The request was refused",
            error.detail,
            request,
            **error.extensions,
        )

    @app.exception_handler(ConsistencyTimeoutError)
    async def lagging(request: Request, error: ConsistencyTimeoutError) -> JSONResponse:
        return problem(
            503,
            "not-yet-consistent",
            "The read model is catching up",
            f"projections have not reached {error.position} yet; retry shortly",
            request,
            headers={"Retry-After": "1"},
            position=error.position,
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        code = {
            401: "unauthenticated",
            400: "bad-request",
            403: "forbidden",
            404: "not-found",
            405: "method-not-allowed",
            413: "request-too-large",
        }.get(error.status_code, "http-error")
        return problem(
            error.status_code,
            code,
            str(error.detail),
            str(error.detail),
            request,
            headers=dict(error.headers or {}),
        )

    async def unavailable(request: Request, error: Exception) -> JSONResponse:
        log.warning("%s on %s: %s", type(error).__name__, request.url.path, error)
        return problem(
            503,
            "unavailable",
            "Service temporarily unavailable",
            "the event log or the database cannot be reached; retry with the same Idempotency-Key",
            request,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, unavailable)

    @app.exception_handler(Exception)
    async def crashed(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(500, "internal", "Internal error", "the error was logged", request)
