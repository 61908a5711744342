"""`jinguo provision <svc>`: what a service needs before it starts, done once by an operator's
step (Kubernetes: each pod's init container) rather than by every process as it starts: wait
until the streams it writes and reads are provisioned (by the admin: `jinguo streams
provision`), then create its tables and the tables of its projections, and exit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import typer
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_shared.cli.environment import nats_url, pick_service, run, settings
from jinguo_shared.db import make_engine
from jinguo_shared.eventstore import stream_problems
from jinguo_shared.nats_client import connect_nats
from jinguo_shared.natsauth import LaneDefinition, service_lane, service_projections
from jinguo_shared.projections.generations import Generations
from jinguo_shared.runtime import (
    PROVISION_HINT,
    OutdatedProjectionsError,
    StreamsNotProvisionedError,
)
from jinguo_shared.settings import Settings

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.0
REPORT_EVERY_SECONDS = 30.0


class DatabaseUnreachableError(RuntimeError):
    pass


def provision(
    service: str,
    wait: float = typer.Option(
        600.0, help="seconds to wait for the streams and the database before giving up"
    ),
) -> None:
    """wait for a service's streams, create its tables and projection tables, then exit"""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    run(provision_service(settings(), pick_service(service), wait))


async def provision_service(settings: Settings, definition: LaneDefinition, wait: float) -> None:
    deadline = time.monotonic() + wait
    name = definition.name
    async with nats_url(settings) as url:
        streams = await streams_provisioned(settings, url, definition, deadline)
    print(f"{name}: streams {', '.join(streams)} as provisioned")
    engine = make_engine(settings.database_url(name))
    try:
        created = await create_tables(engine, definition, deadline)
    finally:
        await engine.dispose()
    print(f"{name}: database ready, {len(created)} tables created")


async def streams_provisioned(
    settings: Settings, url: str, definition: LaneDefinition, deadline: float
) -> list[str]:
    """The streams the service writes and reads, once they are all as provisioned; checked
    with the service's own NATS user, which may read their settings but not change them."""
    name = definition.name
    streams = service_lane(name, definition).streams
    nc = await connect_nats(settings, url, f"jinguo-{name}-provision", user=name)
    try:
        reported = 0.0
        while problems := await stream_problems(nc, streams, settings.stream_replicas):
            if time.monotonic() >= deadline:
                raise StreamsNotProvisionedError(
                    f"{name}: the streams it writes or reads are still not as provisioned:\n  "
                    + "\n  ".join(problems)
                    + f"\n{PROVISION_HINT}"
                )
            if time.monotonic() - reported >= REPORT_EVERY_SECONDS:
                log.info("%s: waiting for the streams: %s", name, "; ".join(problems))
                reported = time.monotonic()
            await _pause()
    finally:
        await nc.close()
    return list(streams)


async def create_tables(
    engine: AsyncEngine, definition: LaneDefinition, deadline: float
) -> list[str]:
    """The kernel's tables and a first generation of every projection, as a service would
    make them at its start; returns the tables that were not there. Refuses, as the service
    would, when a projection's live tables were built by an older version."""
    generations = Generations(definition.name, engine, service_projections(definition))
    async with _provisioning_alone(engine, definition.name, deadline):
        before = await _table_names(engine)
        await generations.prepare()
        after = await _table_names(engine)
    outdated = generations.outdated()
    if outdated:
        raise OutdatedProjectionsError(
            f"{definition.name}: the tables of {', '.join(outdated)} were built by an older"
            f" version; rebuild them first: jinguo replay {definition.name} --projection <name>"
            " (deploy/: the replay Job)"
        )
    return sorted(after - before)


async def _table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))


@contextlib.asynccontextmanager
async def _provisioning_alone(
    engine: AsyncEngine, service: str, deadline: float
) -> AsyncIterator[None]:
    """Once the database answers; on PostgreSQL, holding a lock that makes provisioners of
    the same service (every new pod's) create tables one after another: two creating one
    table at once would fail."""
    reported = 0.0
    while True:
        try:
            connection = await engine.connect()
            break
        except (OSError, DBAPIError) as error:
            if time.monotonic() >= deadline:
                raise DatabaseUnreachableError(
                    f"{service}: its database does not answer: {error}"
                ) from None
            if time.monotonic() - reported >= REPORT_EVERY_SECONDS:
                log.info("%s: waiting for the database: %s", service, error)
                reported = time.monotonic()
            await _pause()
    try:
        if engine.dialect.name == "postgresql":
            key = text("SELECT pg_advisory_lock(hashtext(:name))")
            await connection.execute(key, {"name": f"jinguo provision {service}"})
            await connection.commit()
        yield
    finally:
        await connection.close()  # a session lock goes with its session


async def _pause() -> None:
    await asyncio.sleep(RETRY_SECONDS)
