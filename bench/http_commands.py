"""HTTP command benchmark: the whole system as a user runs it, driven over HTTP.

    .venv/bin/python bench/http_commands.py [--rate 200] [--duration 20]
                                            [--saturation-concurrency 32]

Starts `.venv/bin/jinguo up` as a subprocess with its own data dir (temp), HTTP port and
embedded nats-server port (free ones on 127.0.0.1), i.e. the embedded default: SQLite, and
nats-server fsyncing every write before acknowledging it (`sync_interval: always`). Waits for
the development API key and `/registry/health/ready`, then:

(a) open loop: POST /registry/workers (valid, unique national IDs) mixed with 20% POST
    /registry/workers/{id}/home-visits on workers created earlier, at a fixed rate. Each request
    is sent at its planned time and its latency counts from that planned time, so a slow server
    cannot hide queueing delay (no coordinated omission);
(b) saturation: N clients in a closed loop for 10 s.

Then stops the system with SIGINT and reports how long it took to exit. Figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import orjson

from bench._common import (
    cancel_on_sigterm,
    chosen_databases,
    database,
    free_port,
    load_average,
    summarise,
    table,
    temp_dir,
    write_json,
)
from bench._events import COMMUNITIES, national_id_parts, person_name, phone
from jinguo_registry.bootstrap import DEV_AGENCY_AREA
from jinguo_registry.domain.validation import make_national_id
from jinguo_shared.cli.serving import freeze_startup_heap

READY_TIMEOUT = 90.0
DEV_COMMUNITIES = [c for c in COMMUNITIES if c.startswith(DEV_AGENCY_AREA)]
_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")
EXIT_LIMIT = 20.0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of open loop")
    parser.add_argument("--saturation-concurrency", type=int, default=32)
    parser.add_argument("--saturation-duration", type=float, default=10.0)
    parser.add_argument("--visit-share", type=float, default=0.2, help="share of home visits")
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the registry's database (default: SQLite, the embedded default)",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


@dataclass
class Load:
    """Makes request bodies: unique workers, and visits to workers that exist."""

    rng: random.Random = field(default_factory=lambda: random.Random(200))
    visit_share: float = 0.2
    next_person: int = 0
    workers: list[str] = field(default_factory=list)

    def next_request(self) -> tuple[str, str, dict[str, Any]]:
        if self.workers and self.rng.random() < self.visit_share:
            worker_id = self.rng.choice(self.workers)
            return (
                "home-visit",
                f"/registry/workers/{worker_id}/home-visits",
                {
                    "visited_on": (
                        date.today() - timedelta(days=self.rng.randint(0, 60))
                    ).isoformat(),
                    "visitor": "社区妇联主席",
                    "notes": "家中老人需照顾，希望就近从事非全日制工作",
                },
            )
        district, born, sequence = national_id_parts(self.next_person)
        self.next_person += 1
        female = self.rng.random() < 0.92
        return (
            "register",
            "/registry/workers",
            {
                "name": person_name(self.rng),
                "national_id": make_national_id(district, born, sequence, female),
                "phone": phone(self.rng),
                # where she lives: within the development key's jurisdiction
                "area_code": self.rng.choice(DEV_COMMUNITIES),
                "hukou": "migrant" if self.rng.random() < 0.15 else "local",
                "skills": self.rng.sample(["家政", "保洁", "养老护理", "育婴", "月嫂"], 2),
                "desired_work": {"occupation_codes": ["4-10-01-05"], "hours_types": ["hourly"]},
            },
        )


@dataclass
class Outcome:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    completed: int = 0
    last_completion: float = 0.0
    send_lag: list[float] = field(default_factory=list)

    def record(self, kind: str, status: str, latency: float) -> None:
        self.latencies.setdefault(kind, []).append(latency)
        self.latencies.setdefault("all", []).append(latency)
        self.statuses[status] += 1
        self.completed += 1
        self.last_completion = time.perf_counter()


class KeepAliveClient:
    """A lean HTTP/1.1 client over a pool of keep-alive connections.

    The load generator shares the machine's two CPUs with the server: httpx spent more CPU per
    request than the server did, so the figures measured the client. This one sends a request
    as one write and reads the answer by Content-Length, nothing more.
    """

    def __init__(self, host: str, port: int, headers: dict[str, str], connections: int) -> None:
        self._host = host
        self._port = port
        self._headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self._slots = asyncio.Semaphore(connections)
        self._open: list[asyncio.StreamWriter] = []

    async def post(
        self, path: str, body: dict[str, Any], headers: dict[str, str], timeout: float = 30.0
    ) -> tuple[int, bytes]:
        payload = orjson.dumps(body)
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}\r\n{self._headers}{extra}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        async with self._slots:
            reader, writer = await self._connection()
            try:
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                fields = dict(
                    (name.strip().lower(), value.strip())
                    for name, _, value in (line.partition(":") for line in lines[1:] if line)
                )
                answer = await reader.readexactly(int(fields.get("content-length", "0")))
            except BaseException:
                writer.close()
                raise
            if fields.get("connection", "").lower() == "close":
                writer.close()
            else:
                self._idle.put_nowait((reader, writer))
            return status, answer

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if not self._idle.empty():
            return self._idle.get_nowait()
        reader, writer = await asyncio.open_connection(self._host, self._port)
        self._open.append(writer)
        return reader, writer

    async def close(self) -> None:
        for writer in self._open:
            writer.close()


async def send(client: KeepAliveClient, load: Load, outcome: Outcome, planned: float) -> None:
    kind, path, body = load.next_request()
    outcome.send_lag.append(time.perf_counter() - planned)
    try:
        code, answer = await client.post(path, body, {"Idempotency-Key": str(uuid.uuid4())})
        status = str(code)
        if kind == "register" and code == 201:
            load.workers.append(orjson.loads(answer)["id"])
    except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
        status = type(error).__name__
    outcome.record(kind, status, time.perf_counter() - planned)


async def open_loop(
    client: KeepAliveClient, load: Load, rate: float, duration: float
) -> dict[str, Any]:
    outcome = Outcome()
    total = int(rate * duration)
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter() + 0.05
    for index in range(total):
        planned = start + index / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(send(client, load, outcome, planned))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    unfinished = 0
    if tasks:
        _, pending = await asyncio.wait(set(tasks), timeout=60)
        unfinished = len(pending)
        for task in pending:
            task.cancel()
    elapsed = max(outcome.last_completion - start, 1e-9)
    return result_of(outcome, elapsed, planned=total, unfinished=unfinished)


async def closed_loop(
    client: KeepAliveClient, load: Load, concurrency: int, duration: float
) -> dict[str, Any]:
    outcome = Outcome()
    start = time.perf_counter()
    deadline = start + duration

    async def one_client() -> None:
        while time.perf_counter() < deadline:
            await send(client, load, outcome, time.perf_counter())

    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return result_of(outcome, time.perf_counter() - start, planned=outcome.completed, unfinished=0)


def result_of(outcome: Outcome, elapsed: float, *, planned: int, unfinished: int) -> dict[str, Any]:
    lag = sorted(outcome.send_lag)
    return {
        "planned": planned,
        "completed": outcome.completed,
        "unfinished": unfinished,
        "seconds": elapsed,
        "throughput_per_s": outcome.completed / elapsed,
        "ok_per_s": outcome.statuses.get("201", 0) / elapsed,
        "latency": {kind: summarise(values) for kind, values in outcome.latencies.items()},
        "statuses": dict(outcome.statuses),
        "send_lag_max_ms": (lag[-1] * 1000) if lag else 0.0,
    }


# the system under test -------------------------------------------------------------------------


class System:
    def __init__(self, workdir: Path, database_url: str | None) -> None:
        self.data_dir = workdir / "data"
        self.http_port = free_port()
        self.nats_port = free_port()
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.log_path = workdir / "jinguo.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("JINGUO_")}
        env |= {
            "JINGUO_DATA_DIR": str(self.data_dir),
            "JINGUO_HTTP_PORT": str(self.http_port),
            "JINGUO_NATS_PORT": str(self.nats_port),
        }
        if database_url is not None:
            env["JINGUO_REGISTRY_DATABASE_URL"] = database_url
        self._env = env
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> float:
        """Start `jinguo up`; returns seconds until the API key exists and ready says 200."""
        command = [str(Path(sys.executable).parent / "jinguo"), "up"]
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
            command, env=self._env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        started = time.perf_counter()
        key_file = self.data_dir / "dev-api-key"
        async with httpx.AsyncClient(base_url=self.base, timeout=2) as client:
            while time.perf_counter() - started < READY_TIMEOUT:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"jinguo up exited ({self.process.returncode}):\n{self.tail()}"
                    )
                if key_file.exists():
                    with contextlib.suppress(httpx.HTTPError):
                        answer = await client.get("/registry/health/ready")
                        if answer.status_code == 200:
                            return time.perf_counter() - started
                await asyncio.sleep(0.1)
        raise RuntimeError(f"jinguo up not ready within {READY_TIMEOUT:.0f} s:\n{self.tail()}")

    @property
    def api_key(self) -> str:
        return (self.data_dir / "dev-api-key").read_text().strip()

    def nats_sync(self) -> str:
        config = self.data_dir / "nats" / "nats-server.conf"
        if not config.exists():
            return "unknown (no embedded nats-server.conf)"
        for line in config.read_text().splitlines():
            if "sync_interval" in line:
                return line.strip()
        return "server default (no sync_interval line)"

    def children(self) -> list[int]:
        """Processes `jinguo up` started (its nats-server), to be sure none outlives it."""
        assert self.process is not None
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    found.append(int(entry.name))
        return found

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by `jinguo up` and its processes, nats-server
        included: steadier than latency on a shared machine."""
        assert self.process is not None
        total = 0
        for pid in [self.process.pid, *self.children()]:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> dict[str, Any]:
        """SIGINT, as Ctrl-C would; report how long the exit took and what was left."""
        assert self.process is not None
        children = self.children()
        started = time.perf_counter()
        self.process.send_signal(signal.SIGINT)
        while self.process.poll() is None and time.perf_counter() - started < EXIT_LIMIT:
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
        exited = self.process.poll() is not None
        if not exited:
            self.process.kill()
            self.process.wait()
        left = [pid for pid in children if _alive(pid)]
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return {
            "exited_within_limit": exited,
            "seconds": seconds,
            "returncode": self.process.returncode,
            "children_left_running": len(left),
        }

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            children = self.children()
            self.process.kill()
            self.process.wait()
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def problems(self) -> dict[str, Any]:
        """Server-side errors from the log: counts by exception line, and the first traceback."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return {}
        counts: Counter[str] = Counter()
        first: list[str] = []
        for index, line in enumerate(lines):
            if line.startswith("Traceback"):
                end = index + 1
                while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end]):
                    end += 1
                if end < len(lines):
                    counts[_IDS.sub("<id>", lines[end])[:200]] += 1
                if not first:
                    first = lines[max(0, index - 1) : end + 1]
        errors = sum(" ERROR " in line for line in lines)
        return {"error_lines": errors, "exceptions": dict(counts), "first_traceback": first}

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def run(options: argparse.Namespace) -> dict[str, Any]:
    cancel_on_sigterm()
    report: dict[str, Any] = {
        "rate": options.rate,
        "duration": options.duration,
        "database": options.database,
        "saturation_concurrency": options.saturation_concurrency,
    }
    start_load = load_average()
    with temp_dir("http") as workdir:
        async with contextlib.AsyncExitStack() as stack:
            url = None
            if options.database == "postgresql":
                chosen_databases("postgresql")
                url = await stack.enter_async_context(database("postgresql", workdir))
            system = System(workdir, url)
            print(f"starting jinguo up (HTTP {system.base}, NATS port {system.nats_port})")
            try:
                report["startup_seconds"] = await system.start()
                report["nats_sync"] = system.nats_sync()
                print(
                    f"ready in {report['startup_seconds']:.1f} s; embedded nats-server "
                    f"{report['nats_sync']}"
                )
                load = Load(visit_share=options.visit_share)
                client = KeepAliveClient(
                    "127.0.0.1",
                    system.http_port,
                    {"Authorization": f"Bearer {system.api_key}"},
                    connections=max(options.saturation_concurrency, 64),
                )
                try:
                    await closed_loop(client, load, 4, 2.0)  # warm-up, not reported
                    # the generator's own full collections would count as server latency
                    freeze_startup_heap()
                    print(f"open loop: {options.rate:g} requests/s for {options.duration:g} s")
                    cpu_before = system.cpu_seconds()
                    report["open_loop"] = await open_loop(
                        client, load, options.rate, options.duration
                    )
                    report["open_loop"]["server_cpu_ms_per_request"] = (
                        (system.cpu_seconds() - cpu_before)
                        * 1000
                        / max(report["open_loop"]["completed"], 1)
                    )
                    print(
                        f"saturation: {options.saturation_concurrency} clients, closed loop, "
                        f"{options.saturation_duration:g} s"
                    )
                    report["saturation"] = await closed_loop(
                        client, load, options.saturation_concurrency, options.saturation_duration
                    )
                finally:
                    await client.close()
                print("stopping with SIGINT")
                report["shutdown"] = await system.stop()
                report["server_log"] = system.problems()
            except BaseException:
                print(system.tail(), file=sys.stderr)
                raise
            finally:
                system.kill()
    report["load_average"] = f"{start_load} at start, {load_average()} at end"
    print_report(report)
    return report


def print_report(report: dict[str, Any]) -> None:
    print()
    print(
        f"HTTP commands against `jinguo up` ({report['database']}; embedded nats-server "
        f"{report['nats_sync']}); load average {report['load_average']}"
    )
    print(
        "the load generator runs on the same machine (a lean keep-alive client): "
        "its CPU competes with the server"
    )
    rows = []
    for label, key in (("open loop", "open_loop"), ("saturation", "saturation")):
        r = report[key]
        for kind in ("all", "register", "home-visit"):
            lat = r["latency"].get(kind)
            if lat is None:
                continue
            rows.append(
                [
                    f"{label} {kind}",
                    int(lat["count"]),
                    r["throughput_per_s"] if kind == "all" else "",
                    r["ok_per_s"] if kind == "all" else "",
                    lat["p50_ms"],
                    lat["p90_ms"],
                    lat["p99_ms"],
                    lat["max_ms"],
                ]
            )
    print(table(["", "requests", "done/s", "201/s", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows))
    o = report["open_loop"]
    print(
        f"open loop: planned {o['planned']:,} at {report['rate']:g}/s, completed "
        f"{o['completed']:,}, unfinished {o['unfinished']}; statuses {o['statuses']}; "
        f"latency from the planned send time; scheduler lag max {o['send_lag_max_ms']:.1f} ms "
        "(target p99 <= 20 ms at 200 req/s)"
    )
    print(
        f"server CPU (jinguo up's processes and nats-server): "
        f"{o['server_cpu_ms_per_request']:.2f} ms per request in the open loop"
    )
    s = report["saturation"]
    print(f"saturation: statuses {s['statuses']}")
    log = report.get("server_log") or {}
    if log.get("exceptions") or log.get("error_lines"):
        print(f"server log: {log['error_lines']} ERROR lines; exceptions:")
        for line, count in sorted(log["exceptions"].items(), key=lambda kv: -kv[1]):
            print(f"  {count:>6} x {line}")
        print("first traceback in the server log:")
        print("\n".join("  | " + line for line in log["first_traceback"][-40:]))
    d = report["shutdown"]
    print(
        f"shutdown after SIGINT: {'exited' if d['exited_within_limit'] else 'DID NOT exit'} "
        f"in {d['seconds']:.1f} s (limit {EXIT_LIMIT:.0f} s), return code {d['returncode']}, "
        f"child processes left running: {d['children_left_running']}"
    )


if __name__ == "__main__":
    try:
        arguments = parse()
        write_json(arguments.json, asyncio.run(run(arguments)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; cleaned up", file=sys.stderr)
        sys.exit(130)
