"""Command routes: who asks, the command's id and idempotency key, and the answer's position."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query, Request, Response
from pydantic import BaseModel

from jinguo_shared.commands import CommandResult, IdempotencyKey
from jinguo_shared.envelope import CommandContext
from jinguo_shared.http.security import Caller
from jinguo_shared.telemetry import current_traceparent

POSITION_HEADER = "Jinguo-Position"
COMMAND_NAMESPACE = uuid.UUID("0b5c2c1e-3c0a-4f7e-9d7e-1f0d8e3b6a21")


class Accepted(BaseModel):
    """What a command answers: the aggregate and the consistency token for reading it back."""

    id: str
    position: str


def accepted(result: CommandResult, response: Response) -> Accepted:
    response.headers[POSITION_HEADER] = result.position
    return Accepted(id=result.aggregate_id, position=result.position)


async def idempotency_key(
    key: str | None = Header(
        default=None,
        alias="Idempotency-Key",
        max_length=200,
        description="Repeat a POST safely: the same key and body give the same answer once.",
    ),
) -> str | None:
    return key


IdempotencyKeyHeader = Annotated[str | None, Depends(idempotency_key)]
Correction = Annotated[
    str | None,
    Query(
        min_length=2,
        max_length=500,
        description="why a fact dated in a closed period is recorded now (补录, 更正): without it"
        " such a fact is refused (409 period-closed); the reason travels with its events",
    ),
]


async def command_context(
    request: Request, caller: Caller, key: str | None, correction: str | None = None
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
        correction=correction,
    )
    return context, idempotency


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """One command route's request: its caller, the context and idempotency key to hand the
    handler, and `accept` to answer with the result's position."""

    caller: Caller
    context: CommandContext
    key: IdempotencyKey | None
    response: Response

    def accept(self, result: CommandResult) -> Accepted:
        return accepted(result, self.response)


def command_request(
    authorised: Callable[..., Awaitable[Caller]],
) -> Callable[..., Awaitable[CommandRequest]]:
    """A dependency giving a command route its `CommandRequest`, the caller authorised by
    `authorised` (e.g. `require_scope("registry:write")`)."""

    async def command(
        request: Request,
        response: Response,
        *,
        caller: Caller = Depends(authorised),
        key: IdempotencyKeyHeader,
        correction: Correction = None,
    ) -> CommandRequest:
        context, idempotency = await command_context(request, caller, key, correction)
        return CommandRequest(caller, context, idempotency, response)

    return command
