"""The HTTP conventions every service shares: idempotency keys, cursors, consistency tokens."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Depends, Header, HTTPException, Query, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel

from jinguo_shared.commands import CommandResult, IdempotencyKey
from jinguo_shared.envelope import CommandContext
from jinguo_shared.http.security import API_KEY, Caller
from jinguo_shared.telemetry import current_traceparent

ItemT = TypeVar("ItemT")
POSITION_HEADER = "Jinguo-Position"


class Accepted(BaseModel):
    """What a command answers: the aggregate and the consistency token for reading it back."""

    id: str
    position: str


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = None


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


CURSOR_MAX_LENGTH = 1000
INT64 = range(-(2**63), 2**63)
"""What a database integer holds: a cursor or position beyond it was never given out."""


def _given_out(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value in INT64
    return (isinstance(value, str) and len(value) <= 200) or value is None


def decode_cursor(cursor: str) -> list[Any]:
    not_ours = HTTPException(400, "the cursor is not one this API gave out")
    if len(cursor) > CURSOR_MAX_LENGTH:
        raise not_ours
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, orjson.JSONDecodeError):
        raise not_ours from None
    if not isinstance(values, list) or not all(_given_out(v) for v in values):
        raise not_ours
    return values


async def idempotency_key(
    key: str | None = Header(
        default=None,
        alias="Idempotency-Key",
        max_length=200,
        description="Repeat a POST safely: the same key and body give the same answer once.",
    ),
) -> str | None:
    return key


def page(
    rows: list[dict[str, Any]], limit: int, cursor_of: Callable[[dict[str, Any]], list[Any]]
) -> Page[dict[str, Any]]:
    """A page of rows; a full page carries the cursor of its last row."""
    next_cursor = encode_cursor(cursor_of(rows[-1])) if len(rows) == limit else None
    return Page[dict[str, Any]](items=rows, next_cursor=next_cursor)


def seq_after(cursor: str | None) -> int | None:
    """The sequence a cursor of one stream sequence points after (lists ordered by it)."""
    if cursor is None:
        return None
    values = decode_cursor(cursor)
    if len(values) != 1 or not isinstance(values[0], int) or values[0] < 0:
        raise HTTPException(400, "the cursor is not one this API gave out")
    return int(values[0])


def accepted(result: CommandResult, response: Response) -> Accepted:
    response.headers[POSITION_HEADER] = result.position
    return Accepted(id=result.aggregate_id, position=result.position)


async def read_after(
    after: str | None = Query(
        default=None,
        description="A position a command returned (e.g. REGISTRY:42): wait until it is visible.",
        pattern=r"^[A-Z_]{1,40}:\d{1,19}$",
    ),
) -> str | None:
    if after is not None and int(after.partition(":")[2]) not in INT64:
        raise HTTPException(400, "the position is not one this API gave out")
    return after


COMMAND_NAMESPACE = uuid.UUID("0b5c2c1e-3c0a-4f7e-9d7e-1f0d8e3b6a21")


async def command_context(
    request: Request, caller: Caller, key: str | None
) -> tuple[CommandContext, IdempotencyKey | None]:
    """A command id derived from the client, the method and full path, and its
    Idempotency-Key, so a retry is the same command; otherwise a fresh one. A key is bound to
    its route: sent again to another path (or with another body) it is refused, never
    answered with the first request's result."""
    if key is None:
        command_id = str(uuid.uuid4())
        idempotency = None
    else:
        route = f"{request.method} {request.url.path}"
        command_id = str(uuid.uuid5(COMMAND_NAMESPACE, f"{caller.client_id}/{route}/{key}"))
        fingerprint = hashlib.sha256(route.encode() + b"\n" + await request.body())
        idempotency = IdempotencyKey(caller.client_id, key, fingerprint.hexdigest())
    correlation = request.headers.get("X-Correlation-Id") or command_id
    context = CommandContext(
        command_id=command_id,
        correlation_id=correlation[:200],
        agency_id=caller.agency_id,
        actor=caller.client_id,
        traceparent=current_traceparent(),
        jurisdiction=caller.jurisdiction,
    )
    return context, idempotency


def require_scope(scope: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency authenticating the bearer key and checking one scope."""

    async def authorised(
        request: Request,
        _declared: Annotated[HTTPAuthorizationCredentials | None, Security(API_KEY)],
    ) -> Caller:
        caller = getattr(request.state, "caller", None)  # authenticated on admission
        if caller is None:
            authenticator = request.app.state.runtime.authenticator
            caller = await authenticator.authenticate(request.headers.get("authorization"))
        assert isinstance(caller, Caller)
        caller.require(scope)
        return caller

    return authorised


IdempotencyKeyHeader = Annotated[str | None, Depends(idempotency_key)]
ReadAfter = Annotated[str | None, Depends(read_after)]


Cursor = Annotated[
    str | None,
    Query(
        description="next_cursor of the previous page",
        # enforced by `decode_cursor`, whose refusal of a cursor it never gave out is a 400
        json_schema_extra={"maxLength": CURSOR_MAX_LENGTH},
    ),
]
Limit = Annotated[int, Query(ge=1, le=200)]
MonthFrom = Annotated[str, Query(alias="from", pattern=r"^\d{4}-\d{2}$")]
MonthTo = Annotated[str, Query(alias="to", pattern=r"^\d{4}-\d{2}$")]


class Report(BaseModel):
    """Counts per month for an area, as projections of (area, month, metric, count) keep them."""

    area_code: str
    month_from: str
    month_to: str
    figures: dict[str, dict[str, int]]
    totals: dict[str, int]


def report(
    area_code: str, month_from: str, month_to: str, rows: Iterable[Mapping[str, Any]]
) -> Report:
    figures: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for row in rows:
        figures.setdefault(row["month"], {})[row["metric"]] = row["count"]
        totals[row["metric"]] = totals.get(row["metric"], 0) + row["count"]
    return Report(
        area_code=area_code,
        month_from=month_from,
        month_to=month_to,
        figures=figures,
        totals=totals,
    )
