"""`jinguo projections`: parked (dead-letter) events and their retry, and the "as of" copies
`jinguo replay --until` kept aside."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

import typer

from jinguo_shared.cli.environment import UsageError, nats_url, pick_service, run, settings
from jinguo_shared.db import parked_to_retry
from jinguo_shared.domain import DomainError
from jinguo_shared.reactions import ReactionRunner
from jinguo_shared.runtime import ServiceRuntime, open_runtime
from jinguo_shared.services import ServiceDefinition

projections = typer.Typer(help="parked (dead-letter) events, as-of copies")


@contextlib.asynccontextmanager
async def _tool(service: str) -> AsyncIterator[tuple[ServiceDefinition, ServiceRuntime]]:
    """The service's runtime in the tool role; what it refuses, as a usage error."""
    definition = pick_service(service)
    current = settings()
    async with nats_url(current) as url:
        runtime = await open_runtime(definition, current, url, "tool")
        try:
            yield definition, runtime
        except (LookupError, DomainError) as error:
            raise UsageError(str(error)) from None
        finally:
            await runtime.close()


def _known(runtime: ServiceRuntime, projection: str | None) -> None:
    names = runtime.projections.names()
    if projection is not None and projection not in names:
        raise UsageError(
            f"{runtime.name} has no projection {projection!r}; it has: {', '.join(names)}"
        )


@projections.command()
def parked(service: str, projection: str | None = typer.Option(None)) -> None:
    """events a projection or policy could not apply"""

    async def listing() -> None:
        async with _tool(service) as (_, runtime):
            _known(runtime, projection)
            for letter in await runtime.projections.parked(projection):
                print(json.dumps(letter, default=str, ensure_ascii=False))

    run(listing())


@projections.command()
def retry(service: str, letter_id: int = typer.Argument(..., metavar="id")) -> None:
    """apply a parked event again"""
    run(retry_parked(service, letter_id))


async def retry_parked(service: str, letter_id: int) -> None:
    """A policy's parked event goes to the policy (its command again), any other to its
    projection."""
    async with _tool(service) as (definition, runtime):
        letter = await parked_to_retry(runtime.engine, letter_id)
        policies = getattr(definition, "policies", None)
        if letter.projection.startswith("policy:") and policies is not None:
            runner = ReactionRunner(runtime.name, runtime.engine, runtime.nc, policies(runtime))
            await runner.retry_parked(letter)
        else:
            await runtime.projections.retry_parked(letter)
    print(f"parked event {letter_id} applied")


@projections.command(name="as-of")
def as_of(service: str) -> None:
    """copies `replay --until` kept aside"""

    async def listing() -> None:
        async with _tool(service) as (_, runtime):
            copies = await runtime.projections.as_of_copies()
        for copy in copies:
            print(
                f"{copy['projection']:<24} generation {copy['generation']:<4}"
                f" as of {copy['until'].isoformat() if copy['until'] else '-'}"
                f"  built {copy['created_at']:%Y-%m-%d %H:%M:%S %Z}"
            )
        if not copies:
            print(f"{service} keeps no as-of copies")

    run(listing())


@projections.command()
def drop(service: str, projection: str, generation: int) -> None:
    """drop an as-of copy"""

    async def dropping() -> None:
        async with _tool(service) as (_, runtime):
            _known(runtime, projection)
            await runtime.projections.drop_as_of(projection, generation)
        print(f"dropped {projection} generation {generation}")

    run(dropping())
