"""The operators' log tools never corrupt the log: an import appends no event whose id the
stream holds however old it is, and a replay "as of" a time without an offset is read in the
programme's time zone, never silently built from every event."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import nats
import orjson
import pytest
from nats.js.errors import NotFoundError

from jinguo_registry.bootstrap import RegistryService, handlers_for
from jinguo_registry.domain.validation import make_national_id
from jinguo_registry.handlers.commands import RegisterWorker
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import stream_config
from jinguo_shared.natsauth import ADMIN_USER
from jinguo_shared.ports import free_port
from jinguo_shared.testing import runtimes

SHANGHAI = ZoneInfo("Asia/Shanghai")


def jinguo(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """The `jinguo` command as an operator runs it, with the test's environment (and these
    variables)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "jinguo"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **environment},
    )


def worker(n: int) -> RegisterWorker:
    return RegisterWorker(
        name=f"导入{n}",
        national_id=make_national_id("110101", datetime(1975, 1, 1 + n).date(), n, female=True),
        phone=f"139{n:08d}",
        area_code="110101001001",
    )


def context(command_id: str) -> CommandContext:
    return CommandContext(command_id=command_id, correlation_id=command_id, actor="test")


async def test_import_skips_events_already_in_the_stream_however_old(
    nats_server: EmbeddedNats, jinguo_env: dict[str, str], tmp_path: Path
) -> None:
    admin = await nats.connect(nats_server.url, **nats_server.connect_options(ADMIN_USER))
    js = admin.jetstream()
    try:
        async with runtimes(RegistryService(), nats_server.url) as open_registry:
            registry = await open_registry("tool")
            handlers = handlers_for(registry)
            for n in range(3):
                await handlers.register_worker(worker(n), context(f"import-{n}"))
        # a duplicate window of one second stands for "written longer ago than the window"
        config = await stream_config(admin, "REGISTRY")
        assert config is not None
        config["duplicate_window"] = 1_000_000_000
        await admin.request("$JS.API.STREAM.UPDATE.REGISTRY", orjson.dumps(config), timeout=5)
        exported = tmp_path / "registry.ndjson"
        assert jinguo("events", "export", "registry", str(exported)).returncode == 0
        await asyncio.sleep(1.5)

        again = jinguo("events", "import", str(exported))

        assert again.returncode == 0, again.stderr
        assert "imported 0 events, skipped 3 already present" in again.stdout
        assert (await js.stream_info("REGISTRY")).state.messages == 3

        lines = exported.read_text().splitlines()
        exported.write_text("\n".join([*lines, lines[0]]) + "\n")  # one twice in the file
        assert "imported 0 events, skipped 4" in jinguo("events", "import", str(exported)).stdout
    finally:
        await admin.close()


async def test_import_publishes_the_headers_the_append_did_with_each_events_trace(
    nats_server: EmbeddedNats, jinguo_env: dict[str, str], tmp_path: Path
) -> None:
    """Consumers read an event's creation context from the `traceparent` header (a projector's
    batch span links to it without decoding the event): an event imported into a new log
    carries it as its append did."""
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    async with runtimes(RegistryService(), nats_server.url) as open_registry:
        registry = await open_registry("tool")
        handlers = handlers_for(registry)
        for n in range(2):
            traced = CommandContext(
                command_id=f"traced-{n}", correlation_id="traced", actor="test",
                traceparent=caller,
            )  # fmt: skip
            await handlers.register_worker(worker(n), traced)
    exported = tmp_path / "registry.ndjson"
    assert jinguo("events", "export", "registry", str(exported)).returncode == 0
    restored = EmbeddedNats(
        tmp_path / "restored", free_port(), passwords=nats_server.passwords
    )  # a new log: the streams deny a purge
    await restored.start()
    try:
        await restored.provision()

        imported = jinguo("events", "import", str(exported), JINGUO_NATS_URL=restored.url)

        assert imported.returncode == 0, imported.stderr
        assert "imported 2 events" in imported.stdout
        appended = await stored_headers(nats_server)
        assert len(appended) == 2
        assert all(set(headers) == set(PUBLISHED_HEADERS) for headers in appended.values())
        assert await stored_headers(restored) == appended
    finally:
        restored.stop()


PUBLISHED_HEADERS = ("Nats-Msg-Id", "traceparent")
"""What the publisher of an event sets (the server adds its stream, sequence and time)."""


async def stored_headers(server: EmbeddedNats) -> dict[str, dict[str, str]]:
    """The headers each event of the registry's stream was published with, by event id; each
    `traceparent` header is the one in its envelope."""
    admin = await nats.connect(server.url, **server.connect_options(ADMIN_USER))
    js = admin.jetstream()
    found: dict[str, dict[str, str]] = {}
    seq = 1
    try:
        while True:
            try:
                stored = await js.get_msg("REGISTRY", seq=seq, next=True, direct=True)
            except NotFoundError:
                return found
            assert stored.seq is not None
            envelope = orjson.loads(stored.data or b"")
            headers = stored.headers or {}
            assert headers.get("traceparent") == envelope["traceparent"]
            found[envelope["id"]] = {h: headers[h] for h in PUBLISHED_HEADERS if h in headers}
            seq = stored.seq + 1
    finally:
        await admin.close()


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ({}, "'type'"),
        (
            {"type": "WorkerRegistered", "id": "e-1", "traceparent": 7},
            "an event's traceparent is text",
        ),
    ],
    ids=["no envelope", "a traceparent that is no text"],
)
async def test_import_of_a_foreign_line_is_a_readable_error_and_appends_nothing(
    nats_server: EmbeddedNats,
    jinguo_env: dict[str, str],
    tmp_path: Path,
    event: dict[str, object],
    why: str,
) -> None:
    broken = tmp_path / "broken.ndjson"
    line = {"subject": "registry.worker.w1.WorkerRegistered", "event": event}
    broken.write_bytes(orjson.dumps(line) + b"\n")

    answer = jinguo("events", "import", str(broken))

    assert answer.returncode == 2
    assert f"{broken}:1: not an exported event ({why})" in answer.stderr
    assert "Traceback" not in answer.stderr


async def test_replay_until_a_time_without_offset_reads_it_in_the_programme_zone(
    nats_server: EmbeddedNats, jinguo_env: dict[str, str]
) -> None:
    async with runtimes(RegistryService(), nats_server.url) as open_registry:
        registry = await open_registry("tool")
        handlers = handlers_for(registry)
        for n in range(3):
            await handlers.register_worker(worker(n), context(f"until-{n}"))
    yesterday = datetime.now(SHANGHAI) - timedelta(days=1)

    before = jinguo(
        "replay", "registry", "--projection", "worker_directory",
        "--until", yesterday.strftime("%Y-%m-%dT%H:%M:%S"),
    )  # fmt: skip
    later = jinguo(
        "replay", "registry", "--projection", "worker_directory",
        "--until", (yesterday + timedelta(days=2)).date().isoformat(),
    )  # fmt: skip

    assert before.returncode == 0, before.stderr
    assert later.returncode == 0, later.stderr
    async with runtimes(RegistryService(), nats_server.url) as open_registry:
        registry = await open_registry("tool")
        copies = await registry.projections.as_of_copies()
        assert [c["generation"] for c in copies] == [2, 3]
        first, second = copies
        assert first["until"] == yesterday.replace(microsecond=0).astimezone(UTC)
        assert second["until"].astimezone(SHANGHAI).time().isoformat() == "23:59:59.999999"
        rows = {}
        for copy in copies:
            directory = type(registry.projections.active("worker_directory"))(copy["generation"])
            async with registry.engine.connect() as connection:
                rows[copy["generation"]] = len(
                    (await connection.execute(directory.workers.select())).all()
                )
        assert rows == {2: 0, 3: 3}

    listed = jinguo("projections", "as-of", "registry")
    assert "worker_directory" in listed.stdout
    assert "generation 2" in listed.stdout
    dropped = jinguo("projections", "drop", "registry", "worker_directory", "2")
    assert dropped.returncode == 0, dropped.stderr
    refused = jinguo("projections", "drop", "registry", "worker_directory", "1")
    assert refused.returncode == 2
    assert "is not an as-of copy (it is active)" in refused.stderr
    assert "generation 2" not in jinguo("projections", "as-of", "registry").stdout


async def test_replay_refuses_an_until_that_is_no_time(jinguo_env: dict[str, str]) -> None:
    answer = jinguo("replay", "registry", "--until", "30/06/2026")

    assert answer.returncode == 2
    assert "--until: '30/06/2026' is not an ISO 8601 date or time" in answer.stderr
