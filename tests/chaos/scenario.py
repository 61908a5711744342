"""Chaos under load: the registry run as production runs it, in processes of their own (an API
process, a projector process) on a NATS cluster of three, written to over HTTP by clients that
retry each registration with its Idempotency-Key until it is acknowledged, while each kind of
process is killed with SIGKILL and started again: the API, the projector, then the REGISTRY
stream's leader. Then it counts acknowledged registrations against the log and the log against
the directory's rows: lost, applied twice, stuck.

Shared by `bench/chaos.py` (`make chaos`, which prints the figures) and `tests/chaos` (which
runs a short version and asserts none lost, doubled or stuck). 127.0.0.1 only; bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select

from jinguo_registry.bootstrap import DEV_KEY_FILE, RegistryService
from jinguo_registry.projections.workers import WorkerDirectory
from jinguo_shared.embedded_nats import EmbeddedCluster
from jinguo_shared.ports import free_port, port_open
from jinguo_shared.testing import runtimes
from tests.cluster.scenario import (
    STREAM,
    command,
    registered_in_log,
    stream_leader,
    writes_paused,
)

DIRECTORY = WorkerDirectory.name


@dataclass
class Kill:
    what: str
    writes_paused_seconds: float = 0.0
    """The longest time without an acknowledged registration from the kill until one came
    after the restart."""


@dataclass
class Report:
    database: str
    seconds: float = 0.0
    acknowledged: dict[int, str] = field(default_factory=dict)
    acknowledged_at: list[float] = field(default_factory=list)
    retries: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    """What the retried attempts got: a status (503 says "try again"; a 500 would be a bug),
    or `no answer` while the API process was down."""
    kills: list[Kill] = field(default_factory=list)
    in_log: dict[str, int] = field(default_factory=dict)
    in_directory: int = 0

    @property
    def lost(self) -> int:
        return sum(1 for w in self.acknowledged.values() if not self.in_log.get(w))

    @property
    def applied_twice(self) -> int:
        return sum(1 for count in self.in_log.values() if count > 1)

    @property
    def stuck(self) -> int:
        """Registrations in the log the directory still lacks once it had a minute."""
        return len(self.in_log) - self.in_directory


class Process:
    """`jinguo serve registry` in one role, on its own port, killed and started at will."""

    def __init__(self, role: str, env: dict[str, str], log: Path) -> None:
        self.role = role
        self.port = free_port()
        self._env = env
        self._log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self._log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "jinguo_shared.cli", "serve", "registry"],
                *["--role", self.role, "--host", "127.0.0.1", "--port", str(self.port)],
                env=self._env,
                stdout=output,
                stderr=output,
            )
        deadline = time.monotonic() + 60
        while not port_open(self.port):
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.role} process did not start: see {self._log}")
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        self.kill()
        if self.process is not None:
            await self.process.wait()


class Clients:
    """`count` clients, each registering the next worker and retrying it, with the same
    Idempotency-Key, through refused connections and 5xx answers until it is acknowledged."""

    def __init__(self, base: str, key: str, report: Report, count: int) -> None:
        self._http = httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=15
        )
        self._report = report
        self._next = 0
        self._stopping = asyncio.Event()
        self._tasks = [asyncio.create_task(self._write()) for _ in range(count)]

    async def _write(self) -> None:
        while not self._stopping.is_set():
            n = self._next
            self._next += 1
            deadline = time.monotonic() + 120
            while True:
                try:
                    answer = await self._http.post(
                        "/registry/workers",
                        json=command(n).model_dump(mode="json", exclude_unset=True),
                        headers={"Idempotency-Key": f"chaos-{n}"},
                    )
                except httpx.TransportError:
                    answer = None
                    self._report.refusals["no answer"] += 1
                if answer is not None and answer.status_code in (200, 201):
                    self._report.acknowledged[n] = answer.json()["id"]
                    self._report.acknowledged_at.append(time.monotonic())
                    break
                if answer is not None:
                    if answer.status_code < 500:
                        raise AssertionError(f"registration {n} refused: {answer.text}")
                    self._report.refusals[str(answer.status_code)] += 1
                if time.monotonic() > deadline:
                    raise TimeoutError(f"registration {n} never acknowledged")
                self._report.retries += 1
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        """Each client finishes the registration it has begun (until it is acknowledged)."""
        self._stopping.set()
        await asyncio.gather(*self._tasks)
        await self._http.aclose()


async def run(
    directory: Path, database_url: str, database: str, *, seconds: float = 30, clients: int = 4
) -> Report:
    """Everything under `directory`; `database_url` is the registry's (empty) database."""
    report = Report(database)
    began = time.monotonic()
    data = directory / "data"
    cluster = EmbeddedCluster(data / "nats", 3)
    env = {
        **os.environ,
        "JINGUO_DATA_DIR": str(data),
        "JINGUO_NATS_URL": cluster.url,
        "JINGUO_STREAM_REPLICAS": "3",
        "JINGUO_REGISTRY_DATABASE_URL": database_url,
        "JINGUO_LOG_FORMAT": "text",
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    await cluster.start()
    api = Process("api", env, directory / "api.log")
    projector = Process("projector", env, directory / "projector.log")
    try:
        await cluster.provision(3)
        async with runtimes(RegistryService(), cluster.url) as open_runtime:
            await RegistryService().seed_development(await open_runtime())
        key = (data / DEV_KEY_FILE).read_text().strip()
        await projector.start()
        await api.start()
        load = Clients(f"http://127.0.0.1:{api.port}", key, report, clients)
        step = seconds / 4

        async def kill(
            what: str, down: float, stop: Callable[[], None], start: Callable[[], Awaitable[None]]
        ) -> None:
            await asyncio.sleep(step)
            killed = time.monotonic()
            stop()
            await asyncio.sleep(down)
            await start()
            report.kills.append(Kill(what, await writes_paused(report.acknowledged_at, killed)))

        await kill("API process", 1.0, api.kill, api.start)
        await kill("projector process", 1.0, projector.kill, projector.start)
        leader = cluster.node(await stream_leader(cluster))

        async def restart_leader() -> None:
            await leader.start()
            await cluster.wait_for_jetstream()

        await kill(
            f"nats-server {leader.server_name} (REGISTRY's leader)",
            2.0,
            lambda: leader.stop(kill=True),
            restart_leader,
        )
        await asyncio.sleep(step)
        await load.stop()
        report.seconds = time.monotonic() - began
        report.in_log = dict(await registered_in_log(cluster))
        async with runtimes(RegistryService(), cluster.url) as open_runtime:
            reader = await open_runtime("api")
            with contextlib.suppress(TimeoutError):
                await reader.projections.wait_for_head(STREAM, [DIRECTORY], 60)
            projection = reader.projections.active(DIRECTORY)
            assert isinstance(projection, WorkerDirectory)
            workers = projection.workers
            async with reader.engine.connect() as connection:
                report.in_directory = (
                    await connection.execute(select(func.count()).select_from(workers))
                ).scalar_one()
    finally:
        await api.stop()
        await projector.stop()
        cluster.stop(kill=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return report
