"""Serving HTTP for services in one process, its child processes, and stopping in order:
`jinguo up` and `jinguo serve` alike."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence

import orjson
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from jinguo_contracts.base import CATALOGUE
from jinguo_shared.asyncapi import asyncapi_document
from jinguo_shared.http.access_log import AccessLog
from jinguo_shared.http.problems import problem
from jinguo_shared.runtime import Role, ServiceRuntime, open_runtime
from jinguo_shared.services import ServiceDefinition
from jinguo_shared.settings import Settings

log = logging.getLogger(__name__)

Served = Sequence[tuple[ServiceDefinition, ServiceRuntime]]
OnServing = Callable[[uvicorn.Server, Served, list[str]], Awaitable[None]]
"""Run by `jinguo up`'s first process once it serves, with the lines seeding printed."""

STOP_LIMIT = 20
"""Seconds a process of `jinguo up` gets to finish in-flight work when asked to stop."""


def compose_app(pairs: Served) -> AccessLog:
    """Every service's FastAPI app under its prefix, each request logged. A bare router: a
    FastAPI app around them would run a second middleware stack on every request."""
    from prometheus_client import make_asgi_app

    async def index(_: Request) -> JSONResponse:
        return JSONResponse(
            {
                "services": {
                    d.name: {"api": d.prefix, "docs": f"{d.prefix}/docs"} for d, _ in pairs
                },
                "events": "/asyncapi",
                "metrics": "/metrics",
            }
        )

    @functools.cache
    def asyncapi() -> bytes:
        """Built on first request, not at start: a fifth of a second every process would wait."""
        return orjson.dumps(asyncapi_document(CATALOGUE, {d.name: d.feed for d, _ in pairs}))

    async def events(_: Request) -> Response:
        return Response(asyncapi(), media_type="application/json")

    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        prefixes = ", ".join(d.prefix for d, _ in pairs)
        detail = f"no such resource; the services are under {prefixes}"
        await problem(404, "not-found", "Not found", detail, request)(scope, receive, send)

    exposition = make_asgi_app()
    routes: list[BaseRoute] = [
        Route("/", index),
        Route("/asyncapi", events),
        # what Prometheus scrapes; a Mount alone answers it with a redirect to /metrics/
        Route("/metrics", _AsgiEndpoint(exposition)),
        Mount("/metrics", exposition),
    ]
    routes += [Mount(d.prefix, d.create_app(runtime)) for d, runtime in pairs]
    return AccessLog(Router(routes, default=not_found))


class _AsgiEndpoint:
    """An ASGI app as a Route's endpoint: Starlette takes a plain function (as
    prometheus_client's app is) for a request handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class Stopping:
    """Ctrl-C and SIGTERM (Kubernetes, systemd, `kill`) alike: stop serving, then let everything
    end in order (children, runtimes, nats-server). Before the server serves, or on a second
    signal, what is running is cancelled instead."""

    def __init__(self) -> None:
        self.server: uvicorn.Server | None = None
        self._main = asyncio.current_task()
        self.signalled = False

    def install(self, *, interrupt: bool = True) -> None:
        """`interrupt=False` for a child of `jinguo up`: Ctrl-C in a terminal reaches the whole
        group, and a child stops when `jinguo up` closes its stdin, in order."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._received)
        if interrupt:
            loop.add_signal_handler(signal.SIGINT, self._received)
        else:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _received(self) -> None:
        if self.server is not None and not self.signalled:
            self.server.should_exit = True
        elif self._main is not None:
            self._main.cancel()
        self.signalled = True


class _Server(uvicorn.Server):
    """uvicorn's own signal handling raises the signal again once it has stopped, which
    SIGTERM's default action turns into an exit that skips every clean-up: `Stopping` handles
    the signals instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ChildProcess:
    """A process of `jinguo up` besides the first: `jinguo serve all` in a role. It stops when
    its stdin closes, i.e. with the first process however that one ends."""

    def __init__(self, role: Role, host: str, port: int, *, verbose: bool) -> None:
        self.role = role
        self.host = host
        self.port = port
        self.verbose = verbose
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, url: str) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "jinguo_shared.cli", "serve", "all", "--role", self.role],
            *["--host", self.host, "--port", str(self.port), "--stop-with-stdin"],
            *(["--reuse-port"] if self.role == "api" else []),
            *(["--verbose"] if self.verbose else []),
            stdin=asyncio.subprocess.PIPE,
            env={
                **os.environ,
                "JINGUO_NATS_URL": url,
                # decided here, where an embedded nats-server shows as no JINGUO_NATS_URL
                "JINGUO_WEBHOOK_ALLOW_HTTP_LOOPBACK": str(Settings().webhook_http_loopback()),
            },
        )

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def exited(self) -> int:
        assert self.process is not None
        return await self.process.wait()

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_LIMIT)
        except TimeoutError:
            log.warning(
                "the %s process did not stop within %d s; killing it", self.role, STOP_LIMIT
            )
            self.process.kill()
            await self.process.wait()


async def serve(
    settings: Settings,
    definitions: Sequence[ServiceDefinition],
    role: Role,
    url: str,
    stopping: Stopping,
    *,
    host: str,
    port: int,
    verbose: bool,
    children: Sequence[ChildProcess] = (),
    on_serving: OnServing | None = None,
    stop_with_stdin: bool = False,
    reuse_port: bool = False,
) -> None:
    """Serve HTTP for these services in one process. As `jinguo up`'s first process, start the
    others once the tables exist, seed the development key, then `on_serving`."""
    pairs = [(d, await open_runtime(d, settings, url, role)) for d in definitions]
    server = stopping.server = _Server(
        uvicorn.Config(
            compose_app(pairs),
            host=host,
            port=port,
            log_config=None,
            access_log=False,  # AccessLog's line instead, with the route and the trace
            timeout_graceful_shutdown=STOP_LIMIT,
        )
    )
    sockets = [_shared_socket(host, port)] if reuse_port or children else None
    watchers: list[asyncio.Task[None]] = []
    try:
        lines: list[str] = []
        for child in children:
            await child.start(url)
            watchers.append(asyncio.create_task(_stop_when_child_exits(child, server)))
        for definition, runtime in pairs if children else []:
            lines += await definition.seed_development(runtime)
        if stop_with_stdin:
            watchers.append(asyncio.create_task(_stop_when_stdin_closes(server)))
        task = asyncio.create_task(server.serve(sockets))
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        freeze_startup_heap()
        if on_serving is not None and server.started:
            await on_serving(server, pairs, lines)
        await task
    finally:
        for watcher in watchers:
            watcher.cancel()
        for child in children:
            await child.stop()
        for _, runtime in pairs:
            await runtime.close()


def freeze_startup_heap() -> None:
    """Move what start-up built (modules, apps, schemas: over 100,000 objects) out of the
    collector's reach. Otherwise every full collection walks all of it again: a 100-250 ms pause
    in the middle of some request, a few times a minute under load."""
    gc.collect()
    gc.freeze()


def _shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket other processes may bind too: the kernel spreads connections."""
    shared = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    shared.bind((host, port))
    return shared


async def _stop_when_child_exits(child: ChildProcess, server: uvicorn.Server) -> None:
    code = await child.exited()
    log.error("the %s process %s exited (code %s); stopping", child.role, child.pid, code)
    server.should_exit = True


async def _stop_when_stdin_closes(server: uvicorn.Server) -> None:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass
    server.should_exit = True


def request_logs(verbose: bool, *, server_lifecycle: bool) -> None:
    """Each request on a line of its own: `jinguo serve` logs every request it serves (the
    access log). Under `jinguo up` (`server_lifecycle` false: it and its children) only when
    asked for, with httpx's line for each request the demo makes: `jinguo up --demo` would
    print thousands; nor does it show uvicorn's starting and stopping of each process."""
    if verbose:
        logging.getLogger("httpx").setLevel(logging.INFO)
    elif not server_lifecycle:
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
        logging.getLogger("jinguo.access").setLevel(logging.WARNING)
