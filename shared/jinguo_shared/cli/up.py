"""`jinguo up`: NATS and every service on one machine, for development and the demo."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Awaitable, Sequence

import httpx
import typer
import uvicorn

from jinguo_shared import telemetry
from jinguo_shared.cli.environment import UsageError, nats_url, run, settings
from jinguo_shared.cli.progress import progress_bars
from jinguo_shared.cli.serving import ChildProcess, Served, Stopping, request_logs, serve
from jinguo_shared.ports import free_port, port_open
from jinguo_shared.services import ServiceDefinition, discover_services
from jinguo_shared.settings import Settings

log = logging.getLogger(__name__)


def up(
    demo: bool = typer.Option(False, "--demo", help="load the demo data set"),
    verbose: bool = typer.Option(False, "--verbose", help="log every request"),
    cluster: int = typer.Option(
        1, "--cluster", min=1, max=5, help="N clustered nats-servers, each stream on all N"
    ),
) -> None:
    """run NATS and every service on 127.0.0.1:8000"""
    if cluster > 1:
        # read by this process's settings and inherited by its other processes
        os.environ["JINGUO_STREAM_REPLICAS"] = str(cluster)
    code = run(_up(settings(), demo=demo, verbose=verbose, cluster=cluster))
    if code:
        raise typer.Exit(code)


async def _up(settings: Settings, *, demo: bool, verbose: bool, cluster: int = 1) -> int:
    """NATS; every service's API in this process and `api_processes - 1` more sharing its port
    (SO_REUSEPORT); every service's projector and policies in one more process."""
    stopping = Stopping()
    stopping.install()
    telemetry.configure("jinguo-api", settings.log_format, settings.log_level)
    request_logs(verbose, server_lifecycle=False)
    host, port = settings.http_host, settings.http_port
    if port_open(port, host):
        raise UsageError(f"{host}:{port} is taken: another `jinguo up`? (set JINGUO_HTTP_PORT)")
    async with nats_url(settings, cluster=cluster) as url:
        children = [ChildProcess("projector", "127.0.0.1", free_port(), verbose=verbose)]
        children += [
            ChildProcess("api", host, port, verbose=verbose)
            for _ in range(settings.api_processes - 1)
        ]
        definitions = discover_services()
        base = f"http://{host}:{port}"

        async def greet(server: uvicorn.Server, pairs: Served, lines: list[str]) -> None:
            if demo:
                lines += await _unless_stopped(server, load_demo(settings, definitions, base))
            lines += _processes(children)
            if not server.should_exit:
                print(banner(base, url, settings, pairs, lines), flush=True)

        await serve(
            settings,
            definitions,
            "api",
            url,
            stopping,
            host=host,
            port=port,
            verbose=verbose,
            children=children,
            on_serving=greet,
        )
        failed = [c for c in children if c.process and c.process.returncode not in (None, 0)]
        return 1 if failed else 0


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


async def load_demo(
    settings: Settings, definitions: Sequence[ServiceDefinition], base: str
) -> list[str]:
    api_key = (settings.data_dir / "dev-api-key").read_text().strip()
    lines = []
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    ) as client:
        with progress_bars("steps") as report:
            for definition in definitions:
                started = time.monotonic()
                progress = functools.partial(report, f"{definition.name} demo")
                summary = await definition.load_demo(client, progress)
                if summary:
                    lines.append(f"{summary} ({time.monotonic() - started:.1f} s)")
            # what spans the services' data (the registry's programme year) comes after it all
            for definition in definitions:
                finish = getattr(definition, "finish_demo", None)
                if finish is not None:
                    started = time.monotonic()
                    progress = functools.partial(report, f"{definition.name} year")
                    summary = await finish(client, progress)
                    lines.append(f"{summary} ({time.monotonic() - started:.1f} s)")
    return lines


def _processes(children: Sequence[ChildProcess]) -> list[str]:
    apis = 1 + sum(c.role == "api" for c in children)
    metrics = [f"http://127.0.0.1:{c.port}/metrics" for c in children if c.role == "projector"]
    return [f"processes {apis} serving HTTP, 1 projecting (projections and policies: {metrics[0]})"]


def banner(base: str, url: str, settings: Settings, pairs: Served, lines: list[str]) -> str:
    rows = [
        "",
        "Jinguo is running. Ctrl-C stops it.",
        f"  HTTP       {base}/  (OpenAPI docs under each prefix, e.g. {base}/registry/docs)",
    ]
    for definition, runtime in pairs:
        rows.append(
            f"  {definition.name:<10} {base}{definition.prefix}   db: "
            f"{runtime.engine.url.render_as_string(hide_password=True)}"
        )
    rows += [
        f"  NATS       {url}" + ("  (embedded)" if not settings.nats_url else ""),
        f"  metrics    {base}/metrics",
        f"  data       {settings.data_dir.resolve()}",
        *[f"  {line}" for line in lines],
        "",
    ]
    return "\n".join(rows)
