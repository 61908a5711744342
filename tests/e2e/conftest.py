"""`jinguo up` as a user runs it, one per test module: real HTTP, NATS and databases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jinguo_shared.runtime import free_port


def start_up(
    data: Path,
    port: int,
    log: Path,
    *args: str,
    nats_port: int | None = None,
    until: str | None = "Jinguo is running",
) -> subprocess.Popen[bytes]:
    """`jinguo up` on the embedded default (its own nats-server and SQLite files), once `until`
    appears in its output (its banner by default; None: at once), which goes to `log` (a file,
    not a pipe: logs never block it)."""
    env = {
        **os.environ,
        "JINGUO_DATA_DIR": str(data),
        "JINGUO_HTTP_PORT": str(port),
        "JINGUO_NATS_PORT": str(nats_port or free_port()),
    }
    for name in [n for n in env if n == "JINGUO_NATS_URL" or n.endswith("_DATABASE_URL")]:
        env.pop(name)
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "jinguo"), "up", *args],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 180
    while until is not None and until not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("jinguo up did not start:\n" + log.read_text())
        time.sleep(0.1)
    return process


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, str]]:
    data = tmp_path_factory.mktemp("jinguo")
    port = free_port()
    process = start_up(data, port, data / "jinguo-up.log")
    key = (data / "dev-api-key").read_text().strip()
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    try:
        yield client, key
    finally:
        client.close()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) in (0, 130), "jinguo up did not stop on Ctrl-C"


def created(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert isinstance(body, dict)
    return body
