"""Revocation delay: how long a revoked API key keeps working under `jinguo up`.

    .venv/bin/python bench/revocation.py [--tries 100]

Starts `.venv/bin/jinguo up` as http_commands.py does (a temp data dir, free ports, SQLite, its
own nats-server). Each try issues a key of the development agency with a read scope of every
service, waits until every API process has accepted it through every service (so each has it
cached), revokes it, and measures from the revoke's HTTP answer until every API process
refuses it through every service. `jinguo up`'s API processes share one port (SO_REUSEPORT):
the kernel picks the process of each connection, so every probe opens a connection and finds
the process that accepted it in /proc (the inode of the server's end of the connection among
that process's file descriptors). Prints max, p99 and median; figures only (target < 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench._common import (
    cancel_on_sigterm,
    load_average,
    summarise,
    table,
    temp_dir,
    write_json,
)
from bench.http_commands import System

SERVICES = ("registry", "employment", "orders", "rights")
SCOPES = [f"{service}:read" for service in SERVICES]
PROBE_TIMEOUT = 10.0
TARGET_SECONDS = 1.0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=100)
    parser.add_argument(
        "--api-processes", type=int, default=2, help="how many jinguo up runs (its default: 2)"
    )
    parser.add_argument("--json", help="write the figures to this file")
    return parser.parse_args(argv)


# which process accepted a connection -----------------------------------------------------------


def _sockets(port: int) -> list[tuple[int, int, int]]:
    """(state, remote port, inode) of the TCP sockets whose local port is `port`."""
    found = []
    for table_path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table_path) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
                if int(local.rsplit(":", 1)[1], 16) == port:
                    found.append((int(state, 16), int(remote.rsplit(":", 1)[1], 16), int(inode)))
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


LISTEN, ESTABLISHED = 0x0A, 0x01


class ApiProcesses:
    """The processes of `jinguo up` listening on its HTTP port."""

    def __init__(self, port: int, pids: list[int]) -> None:
        self._port = port
        self.pids = pids

    @classmethod
    async def find(cls, system: System, expected: int) -> ApiProcesses:
        """Once `expected` processes listen (the second binds a little after the first)."""
        assert system.process is not None
        deadline = time.perf_counter() + 60
        while True:
            listening = {i for state, _, i in _sockets(system.http_port) if state == LISTEN}
            candidates = [system.process.pid, *system.children()]
            pids = [pid for pid in candidates if _socket_inodes(pid) & listening]
            if len(pids) >= expected or time.perf_counter() > deadline:
                return cls(system.http_port, pids)
            await asyncio.sleep(0.1)

    def serving(self, client_port: int) -> int | None:
        """The process holding the server's end of the connection from `client_port`."""
        inodes = {
            inode
            for state, remote, inode in _sockets(self._port)
            if state == ESTABLISHED and remote == client_port
        }
        for pid in self.pids:
            if _socket_inodes(pid) & inodes:
                return pid
        return None


# probes ------------------------------------------------------------------------------------


async def _status(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, key: str
) -> int:
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
    )
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def probe(processes: ApiProcesses, port: int, key: str) -> tuple[int | None, set[str]]:
    """On a new connection: the process that took it, and the services that refused the key
    there (401; anything else means the key was let in, e.g. 404 for the probe's path)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        refused = set()
        for service in SERVICES:
            if await _status(reader, writer, f"/{service}/revocation-probe", key) == 401:
                refused.add(service)
        pid = processes.serving(writer.get_extra_info("sockname")[1])
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return pid, refused


async def until_everywhere(
    processes: ApiProcesses, port: int, key: str, *, refused: bool
) -> tuple[float, int]:
    """Probe until every process answered through every service as wanted; returns the
    moment that happened (perf_counter) and the connections it took."""
    pending = {(pid, service) for pid in processes.pids for service in SERVICES}
    connections = 0
    deadline = time.perf_counter() + PROBE_TIMEOUT
    while pending:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"still {'accepted' if refused else 'refused'}: {sorted(pending)}")
        pid, refusing = await probe(processes, port, key)
        connections += 1
        for service in SERVICES:
            if (service in refusing) == refused:
                pending.discard((pid, service))
    return time.perf_counter(), connections


# the run -----------------------------------------------------------------------------------


async def development_agency(http: httpx.AsyncClient) -> str:
    agencies = (await http.get("/registry/agencies")).json()
    [agency] = [a for a in agencies if a["name"].startswith("开发测试机构")]
    return str(agency["agency_id"])


async def one_try(
    http: httpx.AsyncClient, processes: ApiProcesses, port: int, agency_id: str, n: int
) -> dict[str, float]:
    issued = await http.post(
        f"/registry/agencies/{agency_id}/clients",
        json={"name": f"revocation bench {n}", "scopes": SCOPES},
    )
    issued.raise_for_status()
    key, client_id = issued.json()["api_key"], issued.json()["client_id"]
    await until_everywhere(processes, port, key, refused=False)
    revoked = await http.post(
        f"/registry/agencies/{agency_id}/clients/{client_id}/revoke", json={"reason": "bench"}
    )
    answered = time.perf_counter()
    revoked.raise_for_status()
    refused_at, connections = await until_everywhere(processes, port, key, refused=True)
    return {"seconds": refused_at - answered, "connections": connections}


async def run(options: argparse.Namespace) -> dict[str, Any]:
    cancel_on_sigterm()
    report: dict[str, Any] = {"tries": options.tries}
    start_load = load_average()
    with temp_dir("revocation") as workdir:
        system = System(workdir, None)
        print(f"starting jinguo up (HTTP {system.base}, NATS port {system.nats_port})")
        try:
            report["startup_seconds"] = await system.start()
            processes = await ApiProcesses.find(system, options.api_processes)
            report["api_processes"] = len(processes.pids)
            print(f"ready; {len(processes.pids)} API processes: {processes.pids}")
            headers = {"Authorization": f"Bearer {system.api_key}"}
            async with httpx.AsyncClient(base_url=system.base, headers=headers, timeout=30) as http:
                agency_id = await development_agency(http)
                tries = []
                for n in range(options.tries):
                    tries.append(await one_try(http, processes, system.http_port, agency_id, n))
            report["delay"] = summarise([t["seconds"] for t in tries])
            report["connections_per_try"] = sum(t["connections"] for t in tries) / len(tries)
            report["shutdown"] = await system.stop()
        except BaseException:
            print(system.tail(), file=sys.stderr)
            raise
        finally:
            system.kill()
    report["load_average"] = f"{start_load} at start, {load_average()} at end"
    print_report(report)
    return report


def print_report(report: dict[str, Any]) -> None:
    delay = report["delay"]
    print()
    print(
        f"revocation under `jinguo up` ({report['api_processes']} API processes x"
        f" {len(SERVICES)} services); load average {report['load_average']}"
    )
    print(
        table(
            [
                "from the revoke's answer until refused everywhere",
                "tries",
                "p50 ms",
                "p99 ms",
                "max ms",
            ],
            [["", int(delay["count"]), delay["p50_ms"], delay["p99_ms"], delay["max_ms"]]],
        )
    )
    verdict = "met" if delay["max_ms"] < TARGET_SECONDS * 1000 else "MISSED"
    print(
        f"target: max < {TARGET_SECONDS * 1000:.0f} ms ({verdict}); "
        f"{report['connections_per_try']:.1f} probe connections per try"
    )


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    report = asyncio.run(run(options))
    write_json(options.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
