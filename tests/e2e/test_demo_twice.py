"""`make up` twice: the demo loads again over its own data without an error and adds nothing,
however the first load's asynchronous reactions left the read models it looked at. It is quiet
(a progress line per tenth of each service's demo, no request log) and consistent: no service
refuses what another's demo sent it."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import nats

from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.eventstore import SERVICE_STREAMS
from jinguo_shared.natsauth import ADMIN_USER
from jinguo_shared.ports import free_port

from .conftest import start_up


async def stream_contents(data: Path, nats_port: int) -> dict[str, list[str]]:
    """The subjects in each stream, in order."""
    server = EmbeddedNats(data / "nats", nats_port)
    await server.start()
    try:
        nc = await nats.connect(server.url, **server.connect_options(ADMIN_USER))
        js = nc.jetstream()
        contents: dict[str, list[str]] = {}
        for spec in SERVICE_STREAMS.values():
            last = (await js.stream_info(spec.name)).state.last_seq
            contents[spec.name] = [
                str((await js.get_msg(spec.name, seq, direct=True)).subject)
                for seq in range(1, last + 1)
            ]
        await nc.close()
        return contents
    finally:
        server.stop()


def load(data: Path, nats_port: int) -> str:
    data.mkdir(exist_ok=True)
    log = data.parent / "jinguo-up.log"
    process = start_up(data, free_port(), log, "--demo", nats_port=nats_port)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) in (0, 130)
    output = log.read_text()
    assert "Traceback" not in output, output
    return output


def test_loading_the_demo_twice_adds_nothing(tmp_path: Path) -> None:
    data, nats_port = tmp_path / "jinguo", free_port()
    first = load(data, nats_port)
    before = asyncio.run(stream_contents(data, nats_port))

    second = load(data, nats_port)
    after = asyncio.run(stream_contents(data, nats_port))

    for name in ("employment demo", "orders demo", "rights demo"):
        assert name in first
        assert name in second
    for service in ("registry", "employment", "orders", "rights"):
        assert f"{service} demo: 100% (" in first
    assert "HTTP Request:" not in first  # the request log is for --verbose
    refusals = [line for line in first.splitlines() if " WARNING " in line or " ERROR " in line]
    assert not refusals, "\n".join(refusals)
    assert {s: len(subjects) for s, subjects in after.items() if s != "REGISTRY"} == {
        s: len(subjects) for s, subjects in before.items() if s != "REGISTRY"
    }
    added = after["REGISTRY"][len(before["REGISTRY"]) :]
    # the rights demo's officers get their keys again: a key is shown once and kept nowhere
    assert all(subject.endswith(".ApiClientKeyRotated") for subject in added), added
