"""What a request must pass before any of its input is read: its key, then its size.

Authentication comes first, so a request without a valid key learns nothing about what the API
would have made of its body (401, never a 422 about the body). Then a body larger than the limit
is refused (413) before it is parsed, however it is sent (with or without Content-Length).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jinguo_shared.http.problems import problem
from jinguo_shared.http.security import Authenticator

PUBLIC_PATHS = frozenset(
    {"/health/live", "/health/ready", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)


class Admission:
    def __init__(
        self, app: ASGIApp, authenticator: Callable[[], Authenticator], max_body: int
    ) -> None:
        self.app = app
        self._authenticator = authenticator
        self._max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _route_path(scope) in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        authorization = None
        length = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                length = value
        try:
            caller = await self._authenticator().authenticate(authorization)
        except HTTPException as refused:
            await _refuse(
                scope,
                receive,
                send,
                refused.status_code,
                str(refused.detail),
                dict(refused.headers or {}),
            )
            return
        scope.setdefault("state", {})["caller"] = caller
        if length is not None and (not length.isdigit() or int(length) > self._max_body):
            await self._too_large(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, self._max_body)
        if body is None:
            await self._too_large(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _refuse(
            scope,
            receive,
            send,
            413,
            f"the request body is larger than {self._max_body:,} bytes",
            {"Connection": "close"},
        )


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is longer than `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, detail: str, headers: dict[str, Any]
) -> None:
    code = {401: "unauthenticated", 413: "request-too-large"}.get(status, "http-error")
    titles = {401: "Not authenticated", 413: "Request body too large"}
    response = problem(status, code, titles.get(status, detail), detail, Request(scope), headers)
    await response(scope, receive, send)
