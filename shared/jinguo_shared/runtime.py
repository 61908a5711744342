"""Wiring a service to its concrete adapters: what its entrypoints receive."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import nats.errors
from fastapi import HTTPException
from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_shared.area_register import AreaRegisterGuard
from jinguo_shared.clock import ProgrammeClock
from jinguo_shared.commands import CommandExecutor
from jinguo_shared.crypto import KeyedHasher, PiiVault, load_or_create_key
from jinguo_shared.db import DirectSql, make_engine
from jinguo_shared.eventstore import EventStore, owned_streams, stream_problems
from jinguo_shared.http.conventions import POSITION_NOT_GIVEN_OUT
from jinguo_shared.http.security import Authenticator
from jinguo_shared.metrics import watch_connection
from jinguo_shared.nats_client import connect_nats
from jinguo_shared.natsauth import LaneDefinition, policy_types, service_lane, service_projections
from jinguo_shared.periods import ClosedPeriodGuard
from jinguo_shared.projections.closed_periods import ClosedPeriods
from jinguo_shared.projections.consistency import (
    ConsistencyTimeoutError,
    Position,
    PositionNotGivenOutError,
)
from jinguo_shared.projections.host import LeaderWork, ProjectionHost
from jinguo_shared.projections.known_areas import KnownAreas
from jinguo_shared.reaction_progress import ReactionProgress
from jinguo_shared.reactions import Policy, ReactionRunner
from jinguo_shared.settings import Settings

Role = Literal["api", "projector", "all", "tool"]


@dataclass
class ServiceRuntime:
    """One service's adapters; entrypoints receive it, never build their own."""

    name: str
    settings: Settings
    engine: AsyncEngine
    nc: NatsClient
    store: EventStore
    executor: CommandExecutor
    projections: ProjectionHost
    vault: PiiVault
    hasher: KeyedHasher
    authenticator: Authenticator
    clock: ProgrammeClock
    reaction_progress: ReactionProgress
    """How far the service's policies have reacted, as any process can read it."""
    reactions: ReactionRunner | None = None
    """The service's policies; running in the projector role only."""
    role: Role = "tool"
    deliveries: LeaderWork | None = None
    """The service's webhook deliveries (`jinguo_shared.webhooks`, above this module: they read
    through the feed), made in the projector role (`app.py`); they run with the lease."""

    @property
    def projector(self) -> bool:
        return self.role in ("projector", "all")

    async def visible(self, after: str | None, *projections: str) -> None:
        """For a read given a consistency token: wait, bounded, until these projections have
        seen the position a command returned. A position of another service's stream its
        policies follow waits first for them to react up to it, then for these projections
        to hold what the reactions appended (this service's streams up to their heads)."""
        if after is None:
            return
        deadline = time.monotonic() + self.settings.consistency_wait_seconds
        position = Position.parse(after)
        if self.reaction_progress.follows(position.stream):
            try:
                await self.reaction_progress.wait_for(position, deadline - time.monotonic())
                for stream in owned_streams(self.name):
                    await self.projections.wait_for_head(
                        stream.name, projections, deadline - time.monotonic()
                    )
            except PositionNotGivenOutError:
                raise HTTPException(400, POSITION_NOT_GIVEN_OUT) from None
            except ConsistencyTimeoutError:
                raise ConsistencyTimeoutError(after) from None
        await self.projections.wait_for(after, projections, deadline - time.monotonic())

    async def close(self) -> None:
        if self.reactions is not None:
            await self.reactions.stop()
        await self.authenticator.stop()
        await self.projections.stop()
        try:
            await asyncio.wait_for(self.nc.drain(), 10)
        except (TimeoutError, nats.errors.Error):
            await self.nc.close()  # the server is gone or slow: nothing left to flush to
        await self.engine.dispose()


class OutdatedProjectionsError(RuntimeError):
    pass


class StreamsNotProvisionedError(RuntimeError):
    pass


PROVISION_HINT = (
    "provision them with the admin NATS user: `jinguo streams provision` (Kubernetes: the"
    " streams-provision Job, deploy/README.md)"
)


def assemble_runtime(
    definition: LaneDefinition,
    settings: Settings,
    engine: AsyncEngine,
    nc: NatsClient,
    master_key: bytes,
    lookup_key: bytes,
) -> ServiceRuntime:
    """A service's adapters over an engine and a NATS connection, before anything is started:
    `open_runtime` connects and starts them; the published OpenAPI only describes them."""
    vault = PiiVault(engine, master_key)
    store = EventStore(nc, definition.name, vault)
    host = ProjectionHost(
        definition.name,
        engine,
        nc,
        service_projections(definition),
        batch_size=settings.projection_batch_size,
        linger=settings.projection_linger_seconds,
        max_attempts=settings.projection_max_attempts,
    )
    clock = ProgrammeClock(settings.time_zone)
    sql = DirectSql(engine)
    guards = (
        AreaRegisterGuard(
            sql,
            lambda: known_areas(host),
            lambda: host.wait_for_head("REGISTRY", [KnownAreas.name], 5),
        ),
        ClosedPeriodGuard(sql, lambda: table_of(host, ClosedPeriods.name), clock.today),
    )
    return ServiceRuntime(
        name=definition.name,
        settings=settings,
        engine=engine,
        nc=nc,
        store=store,
        executor=CommandExecutor(engine, store, guards=guards),
        projections=host,
        vault=vault,
        hasher=KeyedHasher(lookup_key),
        authenticator=Authenticator(engine, host),
        clock=clock,
        reaction_progress=ReactionProgress(engine, nc.jetstream(), reacting_to_others(definition)),
    )


def reacting_to_others(definition: LaneDefinition) -> list[type[Policy]]:
    """The policies a read given another service's position waits for. One following the
    service's own stream (the rights figures, published for others) is not waited for: a read
    after one's own command must not queue behind what the command leads others to see."""
    own = {spec.name for spec in owned_streams(definition.name)}
    return [policy for policy in policy_types(definition) if policy.stream() not in own]


def known_areas(host: ProjectionHost) -> KnownAreas:
    projection = host.active(KnownAreas.name)
    assert isinstance(projection, KnownAreas)
    return projection


def table_of(host: ProjectionHost, name: str) -> str:
    """The live table of a kernel projection with one table (closed periods)."""
    [table] = host.active(name).metadata.sorted_tables
    return table.name


async def open_runtime(
    definition: LaneDefinition, settings: Settings, nats_url: str, role: Role
) -> ServiceRuntime:
    """The runtime of one service (`jinguo_shared.services.ServiceDefinition`), which reads
    only what the service says of its lane: its name, projections and policies."""
    name = definition.name
    secure_data_dir(settings.data_dir)
    keys = settings.data_dir / "keys"
    master = load_or_create_key(
        settings.master_key.get_secret_value() if settings.master_key else None,
        keys / "master.key",
    )
    lookup = load_or_create_key(
        settings.lookup_key.get_secret_value() if settings.lookup_key else None,
        keys / "lookup.key",
    )
    engine = make_engine(settings.database_url(name))
    nc = await connect_nats(settings, nats_url, f"jinguo-{name}-{role}", user=name)
    watch_connection(nc, name, role)
    lane = service_lane(name, definition)
    problems = await stream_problems(nc, lane.streams, settings.stream_replicas)
    if problems:
        await nc.close()
        await engine.dispose()
        raise StreamsNotProvisionedError(
            f"{name} cannot start: the streams it writes or reads are not as provisioned:\n  "
            + "\n  ".join(problems)
            + f"\n{PROVISION_HINT}"
        )
    runtime = assemble_runtime(definition, settings, engine, nc, master, lookup)
    runtime.role = role
    host = runtime.projections
    await host.prepare()
    outdated = host.outdated() if role != "tool" else []
    if outdated:
        await nc.close()
        await engine.dispose()
        raise OutdatedProjectionsError(
            f"{name}: the tables of {', '.join(outdated)} were built by an older version;"
            f" rebuild them first: jinguo replay {name} --projection <name> (deploy/: the"
            " replay Job)"
        )
    if role in ("projector", "all"):
        await host.start()
    elif role == "api":
        await host.watch_only()
    if role != "tool":
        runtime.authenticator.start()
    policies = getattr(definition, "policies", None)
    if policies is not None and role in ("projector", "all"):
        runtime.reactions = ReactionRunner(
            name,
            engine,
            nc,
            declared_policies(definition, policies(runtime)),
            max_attempts=settings.projection_max_attempts,
        )
        await runtime.reactions.start()
    return runtime


def declared_policies(definition: LaneDefinition, policies: Sequence[Policy]) -> list[Policy]:
    """The policies, once each is known to be in the service's `policy_types`: the NATS user
    may create only the consumers those name."""
    declared = set(policy_types(definition))
    undeclared = [type(p).__name__ for p in policies if type(p) not in declared]
    if undeclared:
        raise TypeError(
            f"{definition.name}: policies {', '.join(undeclared)} are missing from its"
            " definition's `policy_types`, so its NATS user may not consume for them"
        )
    return list(policies)


def secure_data_dir(directory: Path) -> None:
    """The data directory holds the keys and every personal record: its owner's alone (0700,
    files 0600), also when an older version left it readable to others."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)
    for parent, folders, files in os.walk(directory):
        for name, mode in [*((f, 0o700) for f in folders), *((f, 0o600) for f in files)]:
            path = os.path.join(parent, name)
            with contextlib.suppress(FileNotFoundError):  # a WAL checkpointed away meanwhile
                if os.stat(path).st_mode & 0o077:
                    os.chmod(path, mode)
