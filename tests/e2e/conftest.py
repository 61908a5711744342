"""`jinguo up` as a user runs it, one per test module: real HTTP, NATS and databases."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jinguo_shared.ports import free_port
from jinguo_shared.testing import start_up

__all__ = ["created", "start_up", "system"]


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
