"""Pytest fixtures for every layer of tests: a real nats-server from the wheel, real databases.

Loaded by the workspace's root conftest. Database-backed tests run on SQLite, and on PostgreSQL
from JINGUO_TEST_POSTGRES_URL (CI sets it) or, where that is unset and a Docker engine answers,
from a server testcontainers starts for the session; where neither, the session's header says in
one line that PostgreSQL is skipped and why. Each test gets a database of its own, dropped
afterwards.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import io
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import nats
import orjson
import pytest
from nats.aio.client import Client as NatsClient
from opentelemetry import metrics, trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from jinguo_contracts.access import AgencyKind, AgencyRegisteredV1, ApiClientIssuedV1
from jinguo_contracts.base import EventContract
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore
from jinguo_shared.http.security import key_hash, new_api_key
from jinguo_shared.natsauth import ADMIN_USER
from jinguo_shared.ports import free_port
from jinguo_shared.runtime import Role, ServiceRuntime, open_runtime
from jinguo_shared.services import ServiceDefinition
from jinguo_shared.settings import Settings

POSTGRES_ENV = "JINGUO_TEST_POSTGRES_URL"
POSTGRES_IMAGE = "postgres:16-alpine"


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]  # testcontainers' client

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


POSTGRES_SOURCE = (
    POSTGRES_ENV
    if os.environ.get(POSTGRES_ENV)
    else "testcontainers"
    if _docker_answers()
    else None
)
"""Where PostgreSQL comes from in this session, decided once: None skips it."""

_container: Any = None


def _postgres_base_url() -> str:
    """JINGUO_TEST_POSTGRES_URL, else the session's container (started at the first use)."""
    if POSTGRES_SOURCE == POSTGRES_ENV:
        return os.environ[POSTGRES_ENV]
    global _container
    if _container is None:
        from testcontainers.postgres import PostgresContainer

        _container = PostgresContainer(POSTGRES_IMAGE, driver="asyncpg")
        _container.start()
        atexit.register(_container.stop)
    return str(_container.get_connection_url())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line at the end of every run (quiet ones too) when PostgreSQL was not tested."""
    if POSTGRES_SOURCE is None:
        terminalreporter.write_line(
            f"PostgreSQL skipped: {POSTGRES_ENV} is not set and no Docker engine answers for"
            " testcontainers; the database tests ran on SQLite only"
        )


def start_up(
    data: Path,
    port: int,
    log: Path,
    *args: str,
    nats_port: int | None = None,
    until: str | None = "Jinguo is running",
) -> subprocess.Popen[bytes]:
    """`jinguo up` on the embedded default (its own nats-server and SQLite files), once `until`
    appears in its output (its banner by default; None: at once), which goes to `log` (a file,
    not a pipe: logs never block it)."""
    env = {
        **os.environ,
        "JINGUO_DATA_DIR": str(data),
        "JINGUO_HTTP_PORT": str(port),
        "JINGUO_NATS_PORT": str(nats_port or free_port()),
    }
    for name in [n for n in env if n == "JINGUO_NATS_URL" or n.endswith("_DATABASE_URL")]:
        env.pop(name)
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "jinguo"), "up", *args],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 180
    while until is not None and until not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("jinguo up did not start:\n" + log.read_text())
        time.sleep(0.1)
    return process


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[EmbeddedNats]:
    """The embedded nats-server with every stream provisioned, as `jinguo up` starts it."""
    # inside the data dir of `jinguo_env`, where runtimes find their users' passwords
    server = EmbeddedNats(tmp_path / "data" / "nats", free_port(), sync="always")
    await server.start()
    try:
        await server.provision()
        yield server
    finally:
        server.stop()


def _database_params() -> list[str]:
    return ["sqlite", "postgresql"] if POSTGRES_SOURCE else ["sqlite"]


@contextlib.asynccontextmanager
async def _database(kind: str, tmp_path: Path, name: str) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"
        return
    base = _postgres_base_url()
    database = f"jinguo_test_{uuid.uuid4().hex[:12]}"
    plain = base.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(plain)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    yield base.rsplit("/", 1)[0] + f"/{database}"
    admin = await asyncpg.connect(plain)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(params=_database_params())
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with _database(request.param, tmp_path, "service") as url:
        yield url


@pytest.fixture
async def other_database_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A second database of the same kind, for a second service in the same test (services
    share no database)."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    async with _database(kind, tmp_path, "other") as url:
        yield url


@pytest.fixture
def jinguo_env(
    tmp_path: Path, nats_server: EmbeddedNats, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Environment for one service under test: its NATS, its database, a private data dir."""
    env = {
        "JINGUO_DATA_DIR": str(tmp_path / "data"),
        "JINGUO_NATS_URL": nats_server.url,
        "JINGUO_REGISTRY_DATABASE_URL": database_url,
        "JINGUO_PROJECTION_MAX_ATTEMPTS": "2",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


Opener = Callable[..., Coroutine[Any, Any, ServiceRuntime]]


@contextlib.asynccontextmanager
async def runtimes(definition: ServiceDefinition, nats_url: str) -> AsyncIterator[Opener]:
    """Opens runtimes of one service (each like a process of its own); closes them at the end."""
    opened: list[ServiceRuntime] = []

    async def open_one(role: Role = "all") -> ServiceRuntime:
        runtime = await open_runtime(definition, Settings(), nats_url, role)
        opened.append(runtime)
        return runtime

    try:
        yield open_one
    finally:
        for runtime in opened:
            with contextlib.suppress(Exception):  # a test may have closed it on purpose
                await runtime.close()


@pytest.fixture
async def outside(nats_server: EmbeddedNats) -> AsyncIterator[NatsClient]:
    """A connection of another service's own, alive while the runtimes under test restart."""
    nc = await nats.connect(nats_server.url, **nats_server.connect_options(ADMIN_USER))
    yield nc
    await nc.close()


async def publisher(nc: NatsClient, service: str) -> EventStore:
    """Another service's event store, on the same NATS: tests publish its events for real."""
    return EventStore(nc, service, vault=None)


async def publish(
    store: EventStore, aggregate: str, aggregate_id: str, event: EventContract, command_id: str
) -> str:
    """Append `event` as that service would; returns its position."""
    history = await store.load(aggregate, aggregate_id)
    expected = history[-1].seq if history else 0
    context = CommandContext(command_id=command_id, correlation_id=command_id, actor="test")
    seq = await store.append(aggregate, aggregate_id, expected, [event], context)
    return f"{store.stream}:{seq}"


async def publish_history(
    store: EventStore, aggregate_id: str, events: Sequence[EventContract], command_id: str
) -> str:
    """Append one aggregate's events in order, each as a command of its own
    (`<command_id>/<n>`); returns the last position."""
    position = ""
    for number, event in enumerate(events):
        position = await publish(
            store, event.aggregate, aggregate_id, event, f"{command_id}/{number}"
        )
    return position


@dataclass(frozen=True)
class PublishedAgency:
    agency_id: str
    keys: dict[str, str]
    """The API key of each client, by the name it was published under."""
    position: str


async def publish_agency(
    registry: EventStore,
    *,
    name: str,
    area: str,
    clients: Mapping[str, tuple[Sequence[str], str | None]],
    kind: AgencyKind = "street_office",
) -> PublishedAgency:
    """An agency of `area` and its API clients (name: scopes and bound officer), published as
    the registry publishes them, in one batch; each key as it is shown to its holder once."""
    agency_id = str(uuid.uuid4())
    events: list[EventContract] = [
        AgencyRegisteredV1(agency_id=agency_id, name=name, kind=kind, area_code=area)
    ]
    keys = {}
    for holder, (scopes, officer_id) in clients.items():
        client_id = uuid.uuid4().hex
        keys[holder] = new_api_key(client_id)
        events.append(
            ApiClientIssuedV1(
                agency_id=agency_id,
                client_id=client_id,
                name=holder,
                key_hash=key_hash(keys[holder]),
                scopes=list(scopes),
                officer_id=officer_id,
            )
        )
    context = CommandContext(command_id=agency_id, correlation_id=agency_id, actor="test")
    seq = await registry.append("agency", agency_id, 0, events, context)
    return PublishedAgency(agency_id, keys, f"{registry.stream}:{seq}")


async def caught_up(runtime: ServiceRuntime, *positions: str) -> None:
    """Wait until every projection of the runtime has seen these positions."""
    names = runtime.projections.names()
    for position in positions:
        await runtime.projections.wait_for(position, names, 15)


# a webhook receiver --------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def event(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP receiver on 127.0.0.1 for webhooks: a small asyncio server (no framework)
    that records every request and answers as told (a status, after a pause)."""

    port: int = 0
    answer: Callable[[Received], int] = lambda _: 204
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _connections: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for connection in self._connections:
                connection.close()
            await self._server.wait_closed()
            self._server = None

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]

    async def until(self, done: Callable[[Receiver], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not done(self):
            assert time.monotonic() < deadline, f"received {len(self.received)} only"
            await asyncio.sleep(0.05)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")[1:]
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Received(headers, body, time.perf_counter())
                if self.delay:
                    await asyncio.sleep(self.delay)
                status = self.answer(request)
                self.received.append(request)
                reply = b"" if status == 204 else b"ok"
                writer.write(
                    b"HTTP/1.1 %d X\r\ncontent-length: %d\r\n\r\n%s" % (status, len(reply), reply)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._connections.discard(writer)
            writer.close()


# logs, metrics and traces ----------------------------------------------------------------------


@contextlib.contextmanager
def formatted_logs(
    formatter: logging.Formatter, name: str
) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own whose lines `formatter` writes into the string returned with it."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(formatter)
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield logger, output
    finally:
        logger.removeHandler(handler)


_METRIC_READER = InMemoryMetricReader()


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    """The SDK's meter provider, as every `jinguo` process has one (`telemetry.configure`, with
    Prometheus's reader), set once per process with a reader the tests read."""
    if not isinstance(metrics.get_meter_provider(), MeterProvider):
        metrics.set_meter_provider(MeterProvider(metric_readers=[_METRIC_READER]))
    return _METRIC_READER


def measured(reader: InMemoryMetricReader, name: str) -> list[tuple[dict[str, Any], float]]:
    """Each series of an instrument, by its attributes: a gauge's value or a counter's sum now."""
    data = reader.get_metrics_data()
    return [
        (dict(point.attributes or {}), point.value)  # type: ignore[union-attr]
        for resource in (data.resource_metrics if data else [])
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


@pytest.fixture
def sdk_tracer_provider() -> TracerProvider:
    """The SDK's tracer provider, as every `jinguo` process has one (`telemetry.configure`). A
    process sets its provider once: the tests of a process share it, each adding the span
    processors it needs."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(
            TracerProvider(resource=Resource.create({"service.name": "jinguo"}))
        )
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    return provider


class OtlpCollector(HTTPServer):
    """A real OTLP/HTTP receiver on 127.0.0.1: it keeps every protobuf export POSTed to
    /v1/traces, as an OpenTelemetry collector would receive it."""

    def __init__(self) -> None:
        self.received: list[ExportTraceServiceRequest] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/v1/traces":
                    collector.received.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spans(self) -> list[Span]:
        return [
            span
            for request in self.received
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


@pytest.fixture
def otlp_collector() -> Iterator[OtlpCollector]:
    server = OtlpCollector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
