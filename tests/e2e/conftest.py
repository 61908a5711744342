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


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, str]]:
    data = tmp_path_factory.mktemp("jinguo")
    port, nats_port = free_port(), free_port()
    env = {
        **os.environ,
        "JINGUO_DATA_DIR": str(data),
        "JINGUO_HTTP_PORT": str(port),
        "JINGUO_NATS_PORT": str(nats_port),
    }
    for name in [n for n in env if n == "JINGUO_NATS_URL" or n.endswith("_DATABASE_URL")]:
        env.pop(name, None)  # the embedded default: its own nats-server and SQLite files
    log = data / "jinguo-up.log"
    with log.open("w") as output:  # a file, not a pipe nobody reads: logs never block it
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "jinguo"), "up"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if "Jinguo is running" in log.read_text():
            break
        time.sleep(0.1)
    if process.poll() is not None:
        pytest.fail("jinguo up exited:\n" + log.read_text())
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
