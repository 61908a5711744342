"""The HTTP conventions every service shares: scopes, cursors, consistency tokens, reports."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Depends, HTTPException, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from jinguo_shared.http.security import API_KEY, Caller

ItemT = TypeVar("ItemT")


class ReadModel(BaseModel):
    """What a read returns: a field the query gives and the model does not name fails the
    response (a 500 in tests), so the published schema cannot silently drop or hide one."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[ItemT]):
    """One page of a list, in the list's order."""

    items: list[ItemT]
    next_cursor: str | None = Field(
        default=None, description="pass as ?cursor= for the next page; null on the last page"
    )


PageT = TypeVar("PageT", bound=Page[Any])


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


def page(
    of: type[PageT],
    rows: list[dict[str, Any]],
    limit: int,
    cursor_of: Callable[[dict[str, Any]], list[Any]],
) -> PageT:
    """A page of rows as the typed page `of` (e.g. `Page[Worker]`) says they read; a full page
    carries the cursor of its last row."""
    next_cursor = encode_cursor(cursor_of(rows[-1])) if len(rows) == limit else None
    return of.model_validate({"items": rows, "next_cursor": next_cursor})


def seq_after(cursor: str | None) -> int | None:
    """The sequence a cursor of one stream sequence points after (lists ordered by it)."""
    if cursor is None:
        return None
    values = decode_cursor(cursor)
    if len(values) != 1 or not isinstance(values[0], int) or values[0] < 0:
        raise HTTPException(400, "the cursor is not one this API gave out")
    return int(values[0])


POSITION_NOT_GIVEN_OUT = "the position is not one this API gave out"


async def read_after(
    after: str | None = Query(
        default=None,
        description="A position a command returned (e.g. REGISTRY:42): wait until it is visible.",
        pattern=r"^[A-Z_]{1,40}:\d{1,19}$",
    ),
) -> str | None:
    if after is not None and int(after.partition(":")[2]) not in INT64:
        raise HTTPException(400, POSITION_NOT_GIVEN_OUT)
    return after


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
    """Counts per month for an area, as projections of (area, month, metric, count) keep them.
    Each count is keyed by its indicator; the service's description lists them ("Report
    indicators"), with what each counts and the date that decides its month."""

    area_code: str
    month_from: str
    month_to: str
    figures: dict[str, dict[str, int]] = Field(
        description="for each month (YYYY-MM) with a count, each indicator's count"
    )
    totals: dict[str, int] = Field(description="each indicator's count over the months")


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
