"""`jinguo up` serves HTTP from two processes sharing one port and runs every projector in a
third: they stop together, whichever goes first."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import nats
import pytest

from jinguo_registry.domain.validation import make_national_id
from jinguo_shared.eventstore import SERVICE_STREAMS
from jinguo_shared.natsauth import ADMIN_USER, NatsPasswords
from jinguo_shared.ports import free_port
from tests.deploy.test_monitoring import documented_series

from .conftest import start_up


@dataclass
class Up:
    process: subprocess.Popen[bytes]
    log: Path
    base: str

    def children(self) -> dict[int, str]:
        found = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return {int(pid): _command(int(pid)) for pid in found.split()}

    def projector(self) -> int:
        [pid] = self.in_role("projector")
        return pid

    def in_role(self, role: str) -> list[int]:
        return [pid for pid, command in self.children().items() if f"--role {role}" in command]


def _lag_seen_by_the_api(up: Up) -> dict[str, int]:
    """The API process learns the projector's lag from its consumers, once a second."""
    deadline = time.monotonic() + 10
    while True:
        ready = httpx.get(f"{up.base}/registry/health/ready", timeout=10)
        assert ready.status_code == 200, ready.text
        lag: dict[str, int] = ready.json()["projection_lag"]
        if lag or time.monotonic() > deadline:
            return lag
        time.sleep(0.2)


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
            return True  # exited, waiting for its parent to reap it
        time.sleep(0.1)
    return False


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    port = free_port()
    log = tmp_path / "up.log"
    process = start_up(tmp_path / "data", port, log)
    system = Up(process, log, f"http://127.0.0.1:{port}")
    started = system.children()
    try:
        yield system
    finally:
        for pid in [process.pid, *started]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_every_process(up: Up, stop: signal.Signals) -> None:
    """Kubernetes and systemd send SIGTERM: it stops nats-server and the children too."""
    children = up.children()
    assert any("nats-server" in c for c in children.values())
    assert up.projector() in children
    assert len(up.in_role("api")) == 1  # and this one: two serve HTTP
    assert "worker_directory:REGISTRY" in _lag_seen_by_the_api(up)

    up.process.send_signal(stop)

    assert up.process.wait(timeout=30) in (0, 130)
    assert all(_gone(pid, 5) for pid in children), up.log.read_text()
    assert "Traceback" not in up.log.read_text()


def test_ctrl_c_while_the_demo_loads_stops_without_a_traceback(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "up.log"
    process = start_up(tmp_path / "data", port, log, "--demo", until=None)
    try:
        deadline = time.monotonic() + 120
        while not _answers(f"http://127.0.0.1:{port}/registry/health/live"):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        time.sleep(1)  # the demo's POSTs have begun: they follow the first answer at once

        process.send_signal(signal.SIGINT)

        assert process.wait(timeout=30) in (0, 130)
    finally:
        if process.poll() is None:
            process.kill()
    output = log.read_text()
    assert "stopped while loading the demo data" in output, output
    assert "Traceback" not in output, output


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.TransportError:
        return False
    return True


def test_the_projector_stops_when_up_is_killed(up: Up) -> None:
    projector = up.projector()

    up.process.kill()

    assert _gone(projector, 20), "the projector process outlived `jinguo up`"


@pytest.mark.parametrize("role", ["projector", "api"])
def test_up_stops_with_an_error_when_one_of_its_processes_dies(up: Up, role: str) -> None:
    [pid] = up.in_role(role)
    os.kill(pid, signal.SIGKILL)

    assert up.process.wait(timeout=30) == 1
    assert f"the {role} process {pid} exited" in up.log.read_text()


def test_both_http_processes_answer_on_the_one_port(up: Up) -> None:
    instances = set()
    for _ in range(40):  # a new connection each time: the kernel spreads them
        metrics = httpx.get(f"{up.base}/metrics", timeout=10).text
        found = re.search(r"^process_start_time_seconds (\S+)$", metrics, re.MULTILINE)
        assert found is not None, metrics[:500]
        instances.add(found.group(1))
    assert len(instances) == 2  # the processes started at different times


def _series(metrics: str) -> dict[str, list[str]]:
    """Each series name with the label sets it has."""
    found: dict[str, list[str]] = {}
    for line in metrics.splitlines():
        if line and not line.startswith("#"):
            name, _, rest = line.partition("{")
            found.setdefault(name.split(" ")[0], []).append(rest.rpartition("}")[0])
    return found


def test_every_service_exports_what_the_alerts_and_dashboard_ask_for(up: Up) -> None:
    """Under `jinguo up`, one projector process runs every service's projections and policies:
    each service's lags, lease and connection show (not only the first service's); the HTTP
    processes show requests and commands. The counters (parked events, conflicts) show once
    something is counted."""
    key = (up.log.parent / "data" / "dev-api-key").read_text().strip()
    [url] = re.findall(r"projections and policies: (\S+/metrics)", up.log.read_text())
    services = ("registry", "employment", "orders", "rights")

    def everyone_in(series: list[str]) -> bool:
        return all(any(f'service="{s}"' in labels for labels in series) for s in services)

    deadline = time.monotonic() + 30  # the projector may still be starting its projections
    while True:
        with contextlib.suppress(httpx.TransportError):
            projector = _series(httpx.get(url, timeout=10).text)
            if everyone_in(projector.get("jinguo_projection_lag", [])) and everyone_in(
                projector.get("jinguo_policy_lag", [])
            ):
                break
        assert time.monotonic() < deadline, "not every service's projection and policy lag"
        time.sleep(0.2)
    assert everyone_in(projector["jinguo_projector_leading"])
    assert everyone_in(projector["jinguo_nats_connected"])

    api: dict[str, list[str]] = {}
    for n in range(40):  # two HTTP processes share the port: until one has served a command
        answer = httpx.post(
            f"{up.base}/registry/workers",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "name": f"指标{n}",
                "national_id": make_national_id("110101", date(1978, 3, 1), n + 1, female=True),
                "phone": f"137{n:08d}",
                "area_code": "110101001001",
            },
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        api = _series(httpx.get(f"{up.base}/metrics", timeout=10).text)
        commands = api.get("jinguo_command_duration_seconds_count", [])
        if any('aggregate="worker"' in s and 'outcome="ok"' in s for s in commands):
            break
    else:
        pytest.fail("no HTTP process reported the workers' registrations")
    assert any(
        'http_route="/workers"' in s and 'http_response_status_code="201"' in s
        for s in api["http_server_request_duration_seconds_count"]
    )
    counted_when_it_happens = {"jinguo_events_parked_total", "jinguo_command_conflicts_total"}
    with_a_subscription = {  # tests/webhooks shows them
        "jinguo_webhook_deliveries_total",
        "jinguo_webhook_lag_seconds",
        "jinguo_webhook_paused",
    }
    exported = set(projector) | set(api) | counted_when_it_happens | with_a_subscription
    assert documented_series() <= exported


async def test_up_with_a_cluster_runs_three_nats_servers_and_replicates_every_stream(
    tmp_path: Path,
) -> None:
    port = free_port()
    log = tmp_path / "up.log"
    process = start_up(tmp_path / "data", port, log, "--cluster", "3")
    system = Up(process, log, f"http://127.0.0.1:{port}")
    started = system.children()
    try:
        assert sum("nats-server" in command for command in started.values()) == 3
        [servers] = re.findall(r"NATS +(\S+)", log.read_text())
        admin = NatsPasswords(tmp_path / "data" / "nats" / "users").read(ADMIN_USER)
        nc = await nats.connect(servers.split(","), user=ADMIN_USER, password=admin)
        try:
            for stream in SERVICE_STREAMS.values():
                info = await nc.jetstream().stream_info(stream.name)
                assert info.config.num_replicas == 3
                assert info.cluster is not None
                assert len(info.cluster.replicas or []) == 2  # besides the leader
        finally:
            await nc.close()
        key = (tmp_path / "data" / "dev-api-key").read_text().strip()
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.post(
                f"{system.base}/registry/workers",
                headers={"Authorization": f"Bearer {key}"},
                json={
                    "name": "集群",
                    "national_id": make_national_id("110101", date(1979, 5, 1), 7, female=True),
                    "phone": "13600000007",
                    "area_code": "110101001001",
                },
            )
        assert answer.status_code == 201, answer.text
    finally:
        for pid in [process.pid, *started]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()
