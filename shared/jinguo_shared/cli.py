"""`jinguo`: run the system, rebuild projections, and look at the log."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import cast

import httpx
import nats.errors
import orjson
import uvicorn
import uvloop
from nats.js.api import DeliverPolicy
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import Receive, Scope, Send

from jinguo_contracts.base import CATALOGUE
from jinguo_shared import telemetry
from jinguo_shared.clock import ProgrammeClock
from jinguo_shared.db import parked_to_retry
from jinguo_shared.domain import DomainError
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.eventstore import SERVICE_STREAMS, Provisioned, provision_streams
from jinguo_shared.http.problems import problem
from jinguo_shared.nats_client import connect_nats
from jinguo_shared.natsauth import ADMIN_USER
from jinguo_shared.ports import free_port, port_open
from jinguo_shared.projections.host import RebuildSlotsTakenError
from jinguo_shared.reactions import ReactionRunner
from jinguo_shared.runtime import (
    OutdatedProjectionsError,
    Role,
    ServiceRuntime,
    StreamsNotProvisionedError,
    open_runtime,
)
from jinguo_shared.services import ServiceDefinition, discover_services
from jinguo_shared.settings import Settings

log = logging.getLogger(__name__)


class UsageError(Exception):
    pass


@contextlib.asynccontextmanager
async def nats_url(settings: Settings, provision: bool = True) -> AsyncIterator[str]:
    """The configured NATS, else the embedded one (started here if `jinguo up` is not running,
    and its streams provisioned: here, this process is its operator)."""
    if settings.nats_url:
        yield settings.nats_url
        return
    embedded = EmbeddedNats(settings.data_dir / "nats", settings.nats_port, settings.nats_sync)
    if port_open(settings.nats_port):
        yield embedded.url
        return
    await embedded.start()
    try:
        if provision:
            _report_provisioned(await embedded.provision(settings.stream_replicas), quiet=True)
        yield embedded.url
    finally:
        embedded.stop()


def pick_service(name: str) -> ServiceDefinition:
    services = {d.name: d for d in discover_services()}
    if name not in services:
        raise UsageError(f"unknown service {name!r}; installed: {', '.join(services) or 'none'}")
    return services[name]


def compose_app(pairs: Sequence[tuple[ServiceDefinition, ServiceRuntime]]) -> Router:
    """Every service's FastAPI app under its prefix. A bare router: a FastAPI app around them
    would run a second middleware stack on every request."""
    from prometheus_client import make_asgi_app

    async def index(_: Request) -> JSONResponse:
        return JSONResponse(
            {
                "services": {
                    d.name: {"api": d.prefix, "docs": f"{d.prefix}/docs"} for d, _ in pairs
                },
                "metrics": "/metrics",
            }
        )

    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        prefixes = ", ".join(d.prefix for d, _ in pairs)
        detail = f"no such resource; the services are under {prefixes}"
        await problem(404, "not-found", "Not found", detail, request)(scope, receive, send)

    routes: list[BaseRoute] = [Route("/", index), Mount("/metrics", make_asgi_app())]
    routes += [Mount(d.prefix, d.create_app(runtime)) for d, runtime in pairs]
    return Router(routes, default=not_found)


STOP_LIMIT = 20
"""Seconds a process of `jinguo up` gets to finish in-flight work when asked to stop."""


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

    def __init__(self, role: Role, host: str, port: int) -> None:
        self.role = role
        self.host = host
        self.port = port
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, url: str) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "jinguo_shared.cli", "serve", "all", "--role", self.role],
            *["--host", self.host, "--port", str(self.port), "--stop-with-stdin"],
            *(["--reuse-port"] if self.role == "api" else []),
            stdin=asyncio.subprocess.PIPE,
            env={**os.environ, "JINGUO_NATS_URL": url},
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


async def up(settings: Settings, *, demo: bool) -> int:
    """NATS; every service's API in this process and `api_processes - 1` more sharing its port
    (SO_REUSEPORT); every service's projector and policies in one more process."""
    stopping = Stopping()
    stopping.install()
    telemetry.configure("jinguo-api", settings.log_format, settings.log_level)
    host, port = settings.http_host, settings.http_port
    if port_open(port, host):
        raise UsageError(f"{host}:{port} is taken: another `jinguo up`? (set JINGUO_HTTP_PORT)")
    async with nats_url(settings) as url:
        children = [ChildProcess("projector", "127.0.0.1", free_port())]
        children += [ChildProcess("api", host, port) for _ in range(settings.api_processes - 1)]
        await serve(
            settings,
            discover_services(),
            "api",
            url,
            stopping,
            host=host,
            port=port,
            children=children,
            demo=demo,
        )
        failed = [c for c in children if c.process and c.process.returncode not in (None, 0)]
        return 1 if failed else 0


async def serve(
    settings: Settings,
    definitions: Sequence[ServiceDefinition],
    role: Role,
    url: str,
    stopping: Stopping,
    *,
    host: str,
    port: int,
    children: Sequence[ChildProcess] = (),
    demo: bool = False,
    stop_with_stdin: bool = False,
    reuse_port: bool = False,
) -> None:
    """Serve HTTP for these services in one process. As `jinguo up`'s first process, start the
    others once the tables exist, then seed the development key and maybe the demo."""
    pairs = [(d, await open_runtime(d, settings, url, role)) for d in definitions]
    server = stopping.server = _Server(
        uvicorn.Config(
            compose_app(pairs),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
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
        base = f"http://{host}:{port}"
        if children and server.started:
            if demo:
                lines += await _unless_stopped(server, load_demo(settings, definitions, base))
            lines += _processes(children)
            if not server.should_exit:
                print(banner(base, url, settings, pairs, lines), flush=True)
        await task
    finally:
        for watcher in watchers:
            watcher.cancel()
        for child in children:
            await child.stop()
        for _, runtime in pairs:
            await runtime.close()


async def _unless_stopped(server: uvicorn.Server, work: Awaitable[list[str]]) -> list[str]:
    """`work`'s lines, or none once Ctrl-C stops the server under it: its requests then fail
    or are cut short, which is no error to report (what it loaded stays loaded)."""
    running = asyncio.ensure_future(work)
    while not running.done() and not server.should_exit:
        await asyncio.wait({running}, timeout=0.1)
    running.cancel()
    try:
        return await running
    except (Exception, asyncio.CancelledError):
        if not server.should_exit:
            raise
        log.warning("stopped while loading the demo data; `jinguo up --demo` adds the rest")
        return []


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


def _processes(children: Sequence[ChildProcess]) -> list[str]:
    apis = 1 + sum(c.role == "api" for c in children)
    metrics = [f"http://127.0.0.1:{c.port}/metrics" for c in children if c.role == "projector"]
    return [f"processes {apis} serving HTTP, 1 projecting (projections and policies: {metrics[0]})"]


async def serve_one(settings: Settings, args: argparse.Namespace) -> None:
    """`jinguo serve`: production roles, one service (or all) per process."""
    everything = args.service == "all"
    definitions = discover_services() if everything else [pick_service(args.service)]
    name = "jinguo" if everything else f"jinguo-{args.service}"
    stopping = Stopping()
    stopping.install(interrupt=not args.stop_with_stdin)
    telemetry.configure(f"{name}-{args.role}", settings.log_format, settings.log_level)
    async with nats_url(settings) as url:
        await serve(
            settings,
            definitions,
            cast(Role, args.role),
            url,
            stopping,
            host=args.host or settings.http_host,
            port=args.port or settings.http_port,
            stop_with_stdin=args.stop_with_stdin,
            reuse_port=args.reuse_port,
        )


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


async def load_demo(
    settings: Settings, definitions: Sequence[ServiceDefinition], base: str
) -> list[str]:
    api_key = (settings.data_dir / "dev-api-key").read_text().strip()
    lines = []
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    ) as client:
        for definition in definitions:
            started = time.monotonic()
            summary = await definition.load_demo(client)
            if summary:
                lines.append(f"{summary} ({time.monotonic() - started:.1f} s)")
    return lines


def banner(
    base: str,
    url: str,
    settings: Settings,
    pairs: Sequence[tuple[ServiceDefinition, ServiceRuntime]],
    lines: list[str],
) -> str:
    rows = [
        "",
        "Jinguo is running. Ctrl-C stops it.",
        f"  HTTP      {base}/  (OpenAPI docs under each prefix, e.g. {base}/registry/docs)",
    ]
    for definition, runtime in pairs:
        rows.append(
            f"  {definition.name:<9} {base}{definition.prefix}   db: "
            f"{runtime.engine.url.render_as_string(hide_password=True)}"
        )
    rows += [
        f"  NATS      {url}" + ("  (embedded)" if not settings.nats_url else ""),
        f"  metrics   {base}/metrics",
        f"  data      {settings.data_dir.resolve()}",
        *[f"  {line}" for line in lines],
        "",
    ]
    return "\n".join(rows)


class ProgressBar:
    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()

    def __call__(self, stream: str, done: int, total: int) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        fraction = done / total if total else 1.0
        filled = int(fraction * 30)
        sys.stderr.write(
            f"\r{self.label} {stream} [{'#' * filled}{'.' * (30 - filled)}] "
            f"{done:,}/{total:,} events  {done / elapsed:,.0f} events/s"
        )
        sys.stderr.flush()


def until_instant(settings: Settings, text: str | None) -> datetime | None:
    """`--until` as an instant: without an offset, in the programme's time zone."""
    if text is None:
        return None
    try:
        return ProgrammeClock(settings.time_zone).parse_instant(text)
    except ValueError as error:
        raise UsageError(f"--until: {error}") from None


async def replay(
    settings: Settings, service: str, projection: str | None, until: datetime | None
) -> None:
    definition = pick_service(service)
    async with nats_url(settings) as url:
        runtime = await open_runtime(definition, settings, url, "tool")
        try:
            names = runtime.projections.names()
            if projection is not None and projection not in names:
                raise UsageError(
                    f"{service} has no projection {projection!r}; it has: {', '.join(names)}"
                )
            bar = ProgressBar(projection or "all projections")
            rebuilt = await runtime.projections.rebuild(
                *([projection] if projection else names), until=until, progress=bar
            )
            sys.stderr.write("\n")
            state = "kept aside as of " + until.isoformat() if until else "now active"
            if until is not None:
                state += f" (list them: jinguo projections as-of {service})"
            print(f"rebuilt in {time.monotonic() - bar.started:.1f} s, {state}:")
            for done in rebuilt:
                tables = ", ".join(sorted(done.metadata.tables))
                print(f"  {done.name}: generation {done.generation} ({tables})")
        finally:
            await runtime.close()


async def events(settings: Settings, args: argparse.Namespace) -> None:
    async with nats_url(settings) as url:
        nc = await connect_nats(settings, url, "jinguo-events", user=ADMIN_USER)
        js = nc.jetstream()
        try:
            if args.action == "tail":
                stream = SERVICE_STREAMS[args.subject.split(".", 1)[0]].name
                subscription = await js.subscribe(
                    args.subject,
                    stream=stream,
                    ordered_consumer=True,
                    deliver_policy=DeliverPolicy.ALL if args.all else DeliverPolicy.NEW,
                )
                async for message in subscription.messages:
                    print(
                        _line(
                            stream, message.metadata.sequence.stream, message.subject, message.data
                        ),
                        flush=True,
                    )
            elif args.action == "history":
                stream = SERVICE_STREAMS[args.service].name
                subject = f"{args.service}.{args.aggregate}.{args.id}.*"
                seq = 1
                while True:
                    try:
                        stored = await js.get_msg(
                            stream, seq=seq, subject=subject, direct=True, next=True
                        )
                    except nats.js.errors.NotFoundError:
                        break
                    assert stored.seq is not None
                    assert stored.data is not None
                    print(_line(stream, stored.seq, stored.subject or "", stored.data))
                    seq = stored.seq + 1
            elif args.action == "export":
                await _export(js, SERVICE_STREAMS[args.service].name, Path(args.file))
            elif args.action == "import":
                await _import(js, Path(args.file))
        finally:
            await nc.close()


async def streams(settings: Settings) -> None:
    """`jinguo streams provision`, as the admin NATS user: the configured one
    (JINGUO_NATS_USER/PASSWORD or CREDS), else the embedded server's."""
    async with nats_url(settings, provision=False) as url:
        nc = await connect_nats(settings, url, "jinguo-streams", user=ADMIN_USER)
        try:
            try:
                await nc.request("$JS.API.INFO", b"", timeout=5)
            except TimeoutError:
                raise UsageError(
                    "no answer from the JetStream API: provisioning needs the admin NATS user"
                    " (JINGUO_NATS_USER and JINGUO_NATS_PASSWORD, or JINGUO_NATS_CREDS)"
                ) from None
            done = await provision_streams(
                nc, list(SERVICE_STREAMS.values()), settings.stream_replicas
            )
        finally:
            await nc.close()
    _report_provisioned(done, quiet=False)


def _report_provisioned(done: Sequence[Provisioned], *, quiet: bool) -> None:
    for stream in done:
        if not quiet:
            print(stream)
        elif stream.outcome != "as it was":
            log.info("stream %s", stream)
    refused = [stream.stream for stream in done if stream.outcome == "refused"]
    if refused:
        raise UsageError(
            f"left {', '.join(refused)} as they are: fix them by hand (see above), then run"
            " `jinguo streams provision` again"
        )


def _line(stream: str, seq: int, subject: str, data: bytes) -> str:
    return orjson.dumps(
        {"stream": stream, "seq": seq, "subject": subject, "event": orjson.loads(data)}
    ).decode()


async def _export(js: nats.js.JetStreamContext, stream: str, path: Path) -> None:
    info = await js.stream_info(stream)
    total = info.state.messages
    if total == 0:
        path.write_text("")  # noqa: ASYNC240
        print(f"{stream} is empty")
        return
    bar = ProgressBar("export")
    subscription = await js.subscribe(
        f"{stream.lower()}.>",
        stream=stream,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.ALL,
    )
    done = 0
    with path.open("w") as output:
        async for message in subscription.messages:
            output.write(
                _line(stream, message.metadata.sequence.stream, message.subject, message.data)
                + "\n"
            )
            done += 1
            if done % 5000 == 0 or message.metadata.num_pending == 0:
                bar(stream, done, total)
            if message.metadata.num_pending == 0:
                break
    await subscription.unsubscribe()
    sys.stderr.write("\n")
    print(f"exported {done:,} events from {stream} to {path}")


async def _import(js: nats.js.JetStreamContext, path: Path) -> None:
    """Publish exported events again, skipping every event whose id a stream already holds
    (however old: the server's duplicate window covers two minutes only). The envelope is kept
    byte for byte."""
    records = []
    with path.open() as source:
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                subject, event = record["subject"], record["event"]
                if not CATALOGUE.knows(event["type"]):
                    raise ValueError(f"unknown event type {event['type']!r}")
                stream = SERVICE_STREAMS[subject.split(".", 1)[0]].name
                if not isinstance(event["id"], str) or not event["id"]:
                    raise ValueError("an event needs its id")
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                raise UsageError(f"{path}:{number}: not an exported event ({error})") from None
            records.append((stream, subject, event))
    present: dict[str, set[str]] = {}
    for stream in dict.fromkeys(stream for stream, _, _ in records):
        present[stream] = await _event_ids(js, stream)
    imported = skipped = 0
    for stream, subject, event in records:
        if event["id"] in present[stream]:
            skipped += 1
            continue
        ack = await js.publish(
            subject, orjson.dumps(event), stream=stream, headers={"Nats-Msg-Id": event["id"]}
        )
        present[stream].add(event["id"])
        if ack.duplicate:
            skipped += 1
        else:
            imported += 1
    print(f"imported {imported:,} events, skipped {skipped:,} already present, from {path}")


async def _event_ids(js: nats.js.JetStreamContext, stream: str) -> set[str]:
    """The id of every event in the stream, read from the headers alone."""
    info = await js.stream_info(stream)
    if info.state.messages == 0:
        return set()
    [spec] = [spec for spec in SERVICE_STREAMS.values() if spec.name == stream]
    subscription = await js.subscribe(
        spec.subjects[0],
        stream=stream,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.ALL,
        headers_only=True,
    )
    ids: set[str] = set()
    try:
        async for message in subscription.messages:
            event_id = (message.headers or {}).get("Nats-Msg-Id")
            if event_id:
                ids.add(event_id)
            if message.metadata.num_pending == 0:
                break
    finally:
        await subscription.unsubscribe()
    return ids


async def projections(settings: Settings, args: argparse.Namespace) -> None:
    definition = pick_service(args.service)
    async with nats_url(settings) as url:
        runtime = await open_runtime(definition, settings, url, "tool")
        try:
            if args.action == "parked":
                for letter in await runtime.projections.parked(args.projection):
                    print(json.dumps(letter, default=str, ensure_ascii=False))
            elif args.action == "as-of":
                copies = await runtime.projections.as_of_copies()
                for copy in copies:
                    print(
                        f"{copy['projection']:<24} generation {copy['generation']:<4}"
                        f" as of {copy['until'].isoformat() if copy['until'] else '-'}"
                        f"  built {copy['created_at']:%Y-%m-%d %H:%M:%S %Z}"
                    )
                if not copies:
                    print(f"{args.service} keeps no as-of copies")
            elif args.action == "drop":
                await runtime.projections.drop_as_of(args.projection, args.generation)
                print(f"dropped {args.projection} generation {args.generation}")
            else:
                await _retry_parked(definition, runtime, args.id)
                print(f"parked event {args.id} applied")
        except (LookupError, DomainError) as error:
            raise UsageError(str(error)) from None
        finally:
            await runtime.close()


async def _retry_parked(
    definition: ServiceDefinition, runtime: ServiceRuntime, letter_id: int
) -> None:
    """A policy's parked event goes to the policy (its command again), any other to its
    projection."""
    letter = await parked_to_retry(runtime.engine, letter_id)
    policies = getattr(definition, "policies", None)
    if letter.projection.startswith("policy:") and policies is not None:
        runner = ReactionRunner(runtime.name, runtime.engine, runtime.nc, policies(runtime))
        await runner.retry_parked(letter)
    else:
        await runtime.projections.retry_parked(letter)


def export_contracts(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for schema_id, schema in CATALOGUE.json_schemas().items():
        name = schema_id.removeprefix("urn:jinguo:").replace(":", ".") + ".json"
        (directory / name).write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(CATALOGUE.json_schemas())} JSON Schemas to {directory}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="jinguo", description="Jinguo (巾帼) platform")
    commands = top.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run NATS and every service on 127.0.0.1:8000")
    up.add_argument("--demo", action="store_true", help="load the demo data set")

    one = commands.add_parser("serve", help="run one service (production roles)")
    one.add_argument("service", help="a service, or `all` for every one in this process")
    one.add_argument("--role", choices=["api", "projector", "all"], default="all")
    one.add_argument("--host", default=None)
    one.add_argument("--port", type=int, default=None)
    one.add_argument("--stop-with-stdin", action="store_true", help=argparse.SUPPRESS)
    one.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)

    rebuild = commands.add_parser("replay", help="rebuild projections from the log")
    rebuild.add_argument("service")
    rebuild.add_argument("--projection")
    rebuild.add_argument(
        "--until",
        help="ISO 8601 date or time (without an offset: in JINGUO_TIME_ZONE, a date meaning its"
        " end of day): build an 'as of' copy instead of switching over",
    )

    provisioning = commands.add_parser(
        "streams", help="create and configure the streams (admin NATS user)"
    )
    provisioning.add_subparsers(dest="action", required=True).add_parser(
        "provision",
        help="create missing streams, bring the others to their settings; never weakens one",
    )

    log = commands.add_parser("events", help="look at the log")
    actions = log.add_subparsers(dest="action", required=True)
    tail = actions.add_parser("tail", help="follow a subject, e.g. registry.worker.>")
    tail.add_argument("subject")
    tail.add_argument("--all", action="store_true", help="from the start, not only new ones")
    history = actions.add_parser("history", help="one aggregate's events")
    history.add_argument("service")
    history.add_argument("aggregate")
    history.add_argument("id")
    export = actions.add_parser("export", help="a service's stream to NDJSON")
    export.add_argument("service", choices=sorted(SERVICE_STREAMS))
    export.add_argument("file")
    load = actions.add_parser("import", help="NDJSON from `export` back into the log")
    load.add_argument("file")

    dead = commands.add_parser("projections", help="parked (dead-letter) events, as-of copies")
    dead_actions = dead.add_subparsers(dest="action", required=True)
    parked = dead_actions.add_parser("parked")
    parked.add_argument("service")
    parked.add_argument("--projection")
    retry = dead_actions.add_parser("retry")
    retry.add_argument("service")
    retry.add_argument("id", type=int)
    as_of = dead_actions.add_parser("as-of", help="copies `replay --until` kept aside")
    as_of.add_argument("service")
    drop = dead_actions.add_parser("drop", help="drop an as-of copy")
    drop.add_argument("service")
    drop.add_argument("projection")
    drop.add_argument("generation", type=int)

    contracts = commands.add_parser("contracts", help="export the event JSON Schemas")
    contracts.add_argument("directory", type=Path)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    os.umask(0o077)  # keys, databases and the log: readable by their owner only
    settings = Settings()
    try:
        if args.command == "up":
            return uvloop.run(up(settings, demo=args.demo))
        if args.command == "serve":
            uvloop.run(serve_one(settings, args))
        elif args.command == "replay":
            until = until_instant(settings, args.until)
            uvloop.run(replay(settings, args.service, args.projection, until))
        elif args.command == "streams":
            uvloop.run(streams(settings))
        elif args.command == "events":
            uvloop.run(events(settings, args))
        elif args.command == "projections":
            uvloop.run(projections(settings, args))
        elif args.command == "contracts":
            export_contracts(args.directory)
    except (
        UsageError,
        StreamsNotProvisionedError,
        OutdatedProjectionsError,
        RebuildSlotsTakenError,
    ) as error:
        print(f"jinguo: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
