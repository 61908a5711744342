"""One access-log line per HTTP request: its method, route template, status and duration, with
the trace it belongs to (logger `jinguo.access`)."""

from __future__ import annotations

import logging
import time

from opentelemetry import trace
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("jinguo.access")

UNROUTED_PATH_LIMIT = 200


class AccessLog:
    """Around every route a process serves. The line is written as the response's last part is
    sent, from inside the request's server span (FastAPI's), so the JSON formatter puts the
    span's trace_id and span_id on it. A request that ends otherwise (the client gone, a
    failure before any answer: then as 500) is logged when it ends.

    The route is the template the request matched (`/registry/workers/{worker_id}`), never the
    path with its ids and query; a request no route took (refused before routing, or no such
    resource) shows its path, without the query, cut at 200 characters."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        span: trace.Span = trace.INVALID_SPAN
        logged = False

        def line() -> None:
            nonlocal logged
            logged = True
            milliseconds = round((time.perf_counter() - started) * 1000, 1)
            method = scope["method"]
            route = route_template(scope)
            log.info(
                "%s %s %d %.1f ms",
                method,
                route,
                status,
                milliseconds,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": milliseconds,
                },
            )

        async def sending(message: Message) -> None:
            nonlocal status, span
            if message["type"] == "http.response.start":
                status = message["status"]
                span = trace.get_current_span()
            await send(message)
            if (
                message["type"] == "http.response.body"
                and not message.get("more_body", False)
                and not logged
            ):
                line()

        try:
            await self.app(scope, receive, sending)
        finally:
            if not logged:
                with trace.use_span(span, end_on_exit=False):
                    line()


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path", None)
    if template is None or isinstance(route, Mount):
        path: str = scope["path"]
        return path[:UNROUTED_PATH_LIMIT]
    return f"{scope.get('root_path', '')}{template}"
