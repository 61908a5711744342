"""Plumbing shared by the benchmarks: ports, temp dirs, databases, nats-server, memory, stats.

Everything runs on 127.0.0.1, in a temp dir removed at the end, with a nats-server of its own
on a free port (never 4222 or 8000). PostgreSQL is used only when JINGUO_BENCH_POSTGRES_URL is
set: each run creates a database `jinguo_bench_<random>` and drops it afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import resource
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from jinguo_shared.embedded_nats import EmbeddedNats

POSTGRES_ENV = "JINGUO_BENCH_POSTGRES_URL"
RESERVED_PORTS = frozenset({4222, 8000})
DATABASES = ("sqlite", "postgresql")


def cancel_on_sigterm() -> None:
    """Make SIGTERM cancel the running main task, so that nats-server, temp dirs and databases
    are cleaned up on the way out (Python's default would exit without running `finally`)."""
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


def free_port() -> int:
    """A port the kernel hands out on 127.0.0.1, never one the machine's own services use."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in RESERVED_PORTS:
            return port


@contextlib.contextmanager
def temp_dir(label: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"jinguo-bench-{label}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def chosen_databases(choice: str | None) -> list[str]:
    """`sqlite`, `postgresql`, `both`; None means SQLite, plus PostgreSQL when it is configured."""
    if choice is None:
        return ["sqlite", "postgresql"] if os.environ.get(POSTGRES_ENV) else ["sqlite"]
    if choice == "both":
        return list(DATABASES)
    return [choice]


def postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        raise SystemExit(
            f"PostgreSQL asked for but {POSTGRES_ENV} is not set "
            "(e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"
        )
    return url


@contextlib.asynccontextmanager
async def database(kind: str, directory: Path) -> AsyncIterator[str]:
    """A SQLAlchemy URL for an empty database of this kind, removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / 'bench.db'}"
        return
    base = postgres_base_url()
    name = f"jinguo_bench_{uuid.uuid4().hex[:12]}"
    admin_dsn = base.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@contextlib.asynccontextmanager
async def nats_server(store_dir: Path, sync: str) -> AsyncIterator[EmbeddedNats]:
    server = EmbeddedNats(store_dir, free_port(), sync=sync)
    await server.start()
    try:
        await server.provision()
        yield server
    finally:
        server.stop()


def admin_url(server: EmbeddedNats) -> str:
    """The server's URL with the `admin` user's credentials: the embedded server refuses
    anonymous connections, and the benchmarks pass the URL to child processes."""
    options = server.connect_options("admin")
    return f"nats://{options['user']}:{options['password']}@127.0.0.1:{server.port}"


def sync_label(sync: str) -> str:
    if sync == "always":
        return "sync_interval: always (fsync before every ack)"
    if sync == "default":
        return "server default sync_interval (fsync every 2 min; not crash-safe for acks)"
    return f"sync_interval: {sync}"


# memory ----------------------------------------------------------------------------------------


def rss_mib() -> float:
    """Resident set size now, from /proc/self/status (VmRSS)."""
    return _status_kib("VmRSS") / 1024


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (getrusage ru_maxrss, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mib() -> float:
    """Peak resident set size of the largest child process that has ended so far."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def load_average() -> str:
    """1/5/15-minute load averages: other work on the machine skews every figure here."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}/{five:.2f}/{fifteen:.2f} ({os.cpu_count()} CPUs)"


# statistics ------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN when there are none)."""
    if not values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(values)))
    return values[min(rank, len(values)) - 1]


def summarise(latencies_s: Sequence[float]) -> dict[str, float]:
    """p50/p90/p95/p99/max in milliseconds."""
    ordered = sorted(latencies_s)
    return {
        "count": float(len(ordered)),
        "p50_ms": percentile(ordered, 0.50) * 1000,
        "p90_ms": percentile(ordered, 0.90) * 1000,
        "p95_ms": percentile(ordered, 0.95) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
        "max_ms": (ordered[-1] * 1000) if ordered else math.nan,
    }


# output ----------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [
        max(len(headers[i]), *(len(row[i]) for row in cells)) if cells else len(headers[i])
        for i in range(len(headers))
    ]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_json(path: str | None, data: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2, default=str) + "\n")


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


CHILD_URL_ENV = "JINGUO_BENCH_CHILD_DATABASE_URL"
"""Where a bench's child process finds its database URL (by environment, not argv)."""


async def child(script: str, args: list[str], url: str | None = None) -> None:
    """Run `script` with `args` in a fresh interpreter, its database URL in `CHILD_URL_ENV`."""
    env = dict(os.environ)
    if url is not None:
        env[CHILD_URL_ENV] = url
    process = await asyncio.create_subprocess_exec(sys.executable, script, *args, env=env)
    try:
        code = await process.wait()
    except BaseException:
        if process.returncode is None:
            process.terminate()
            await process.wait()
        raise
    if code != 0:
        raise SystemExit(f"child {args[:2]} failed with exit code {code}")
