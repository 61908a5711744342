"""`jinguo serve`: production roles, one service (or all) per process."""

from __future__ import annotations

from typing import Literal

import typer

from jinguo_shared import telemetry
from jinguo_shared.cli.environment import nats_url, pick_service, run, settings
from jinguo_shared.cli.serving import Stopping, request_logs, serve
from jinguo_shared.services import discover_services

ServingRole = Literal["api", "projector", "all"]


def serve_one(
    service: str = typer.Argument(..., help="a service, or `all` for every one in this process"),
    role: ServingRole = typer.Option("all"),
    host: str | None = typer.Option(None),
    port: int | None = typer.Option(None),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        help="log the requests it makes (httpx); under `jinguo up`, also those it serves",
    ),
    stop_with_stdin: bool = typer.Option(False, "--stop-with-stdin", hidden=True),
    reuse_port: bool = typer.Option(False, "--reuse-port", hidden=True),
) -> None:
    """run one service (production roles)"""
    every = service == "all"
    definitions = discover_services() if every else [pick_service(service)]
    name = "jinguo" if every else f"jinguo-{service}"
    current = settings()

    async def serving() -> None:
        stopping = Stopping()
        stopping.install(interrupt=not stop_with_stdin)
        telemetry.configure(f"{name}-{role}", current.log_format, current.log_level)
        request_logs(verbose, server_lifecycle=not stop_with_stdin)
        async with nats_url(current) as url:
            await serve(
                current,
                definitions,
                role,
                url,
                stopping,
                host=host or current.http_host,
                port=port or current.http_port,
                verbose=verbose,
                stop_with_stdin=stop_with_stdin,
                reuse_port=reuse_port,
            )

    run(serving())
