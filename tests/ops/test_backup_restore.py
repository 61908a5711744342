"""A backup restores: the registry is used, backed up with `jinguo backup`, someone is erased
after the backup (and the operator's erasure list exported), then the nats-server's store and the
database are lost. `jinguo restore --erasures` brings them back into a fresh nats-server and an
empty database, the registry starts and replays, and every GET of its API answers as before,
with every event at its old position; the person erased after the backup stays unreadable.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
import time
from base64 import b64encode
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy import select

from jinguo_registry.bootstrap import DEV_KEY_FILE, RegistryService
from jinguo_registry.domain.validation import make_national_id
from jinguo_shared.db import make_engine, pii_keys
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.ports import free_port
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import runtimes

from ..security.test_erasure import (
    COMMUNITY,
    DISTRICT,
    HER,
    HER_AS_RESIDENT,
    SOMEONE_ELSE,
    Person,
    Registry,
    register_her_fully,
    register_resident,
)

STAYING = Person(
    "陈玉梅", make_national_id(DISTRICT, date(1975, 6, 15), 34, female=True), "13911115555"
)


async def jinguo(*args: str, exit_code: int = 0) -> str:
    """The operator's command, as a process of its own with the test's environment."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "jinguo_shared.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=dict(os.environ),
    )
    output, _ = await process.communicate()
    assert process.returncode == exit_code, output.decode()
    return output.decode()


OpenRegistry = Callable[[str, bool], Awaitable[Registry]]


@pytest.fixture
async def registry_on(jinguo_env: dict[str, str]) -> AsyncIterator[OpenRegistry]:
    """Opens the registry (API and projector in one runtime) on a NATS URL, seeding its
    operator's key on the first."""
    service = RegistryService()
    async with contextlib.AsyncExitStack() as opened:

        async def open_on(nats_url: str, seed: bool) -> Registry:
            runtime = await (await opened.enter_async_context(runtimes(service, nats_url)))()
            if seed:
                await service.seed_development(runtime)
            key = (runtime.settings.data_dir / DEV_KEY_FILE).read_text().strip()
            transport = httpx.ASGITransport(app=service.create_app(runtime))
            http = await opened.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://registry")
            )
            registry = Registry(http, runtime, {"Authorization": f"Bearer {key}"})
            for _ in range(200):  # until the projection has the operator's key
                if (await http.get("/agencies", headers=registry.headers)).status_code == 200:
                    break
                await asyncio.sleep(0.05)
            return registry

        yield open_on


def get_paths(runtime: ServiceRuntime) -> list[str]:
    """Every GET the API documents."""
    paths = RegistryService().create_app(runtime).openapi()["paths"]
    return sorted(path for path, operations in paths.items() if "get" in operations)


async def answers(registry: Registry, ids: dict[str, list[str]]) -> dict[str, Any]:
    """Every GET of the API whose path parameters the scenario can fill, with its answer."""
    found: dict[str, Any] = {}
    for template in get_paths(registry.runtime):
        names = re.findall(r"{(\w+)}", template)
        if not all(name in ids for name in names):
            continue
        paths = [template]
        for name in names:
            paths = [p.replace(f"{{{name}}}", value) for p in paths for value in ids[name]]
        for path in paths:
            answer = await registry.http.get(path, headers=registry.headers)
            body = (
                answer.json() if "json" in answer.headers.get("content-type", "") else answer.text
            )
            found[path] = (answer.status_code, body)
    return found


async def stream_messages(nc: NatsClient, stream: str) -> list[tuple[int, str, bytes]]:
    js = nc.jetstream()
    info = await js.stream_info(stream)
    if not info.state.messages:
        return []
    messages = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(stream, seq=seq, direct=True)
        messages.append((message.seq or 0, message.subject, message.data or b""))
    return messages


async def keys_held(database_url: str) -> set[str]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return set((await connection.scalars(select(pii_keys.c.subject_id))).all())
    finally:
        await engine.dispose()


async def test_a_backup_restores_every_answer_and_keeps_the_erased_erased(
    jinguo_env: dict[str, str],
    nats_server: EmbeddedNats,
    database_url: str,
    other_database_url: str,
    registry_on: OpenRegistry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the registry in use: people registered, one of them erased before the backup
    registry = await registry_on(nats_server.url, True)
    erased_before = await register_her_fully(registry, HER)
    erased_after = await register_her_fully(registry, SOMEONE_ELSE)
    staying = await register_her_fully(registry, STAYING)
    resident = await register_resident(registry, HER_AS_RESIDENT)
    key_before_erasure = await registry.wrapped_key(erased_before)
    await registry.post(f"/workers/{erased_before}/erase", {"reason": "本人申请"}, status=200)
    await registry.applied()
    ids = {
        "worker_id": [erased_before, erased_after, staying],
        "resident_id": [resident],
        "area_code": [COMMUNITY, DISTRICT],
    }
    before = await answers(registry, ids)
    log_before = await stream_messages(registry.runtime.nc, "REGISTRY")

    # the backup; she is erased after it, and the operator's erasure list is exported
    backup = tmp_path / "backup"
    await jinguo("backup", str(backup))
    await registry.post(f"/workers/{erased_after}/erase", {"reason": "本人申请"}, status=200)
    erasure_list = tmp_path / "erased.txt"
    await jinguo("erasures", "export", str(erasure_list))
    assert set(erasure_list.read_text().split()) == {erased_before, erased_after}
    # her key as a database backup older than her erasure holds it (a dump from before): the
    # log's erasure must delete it, with a list that names only who was erased since
    dumped = orjson.loads((backup / "databases" / "registry.json").read_bytes())
    assert key_before_erasure is not None
    stale_key = {"subject_id": erased_before, "wrapped_key": b64encode(key_before_erasure).decode()}
    dumped["tables"]["pii_keys"].append(stale_key)
    (backup / "databases" / "registry.json").write_bytes(orjson.dumps(dumped))
    since_backup = tmp_path / "erased-since.txt"
    since_backup.write_text(f"{erased_after}\n")
    # never over the live streams
    refused = await jinguo("restore", str(backup), exit_code=2)
    assert "already has REGISTRY, EMPLOYMENT, ORDERS, RIGHTS, INSPECTIONS" in refused

    # everything is lost: the runtime, the nats-server with its store, the database
    await registry.runtime.close()
    nats_server.stop()
    shutil.rmtree(nats_server.store_dir)
    if database_url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            (tmp_path / f"service.db{suffix}").unlink(missing_ok=True)

    # restored into a fresh nats-server and an empty database
    fresh = EmbeddedNats(nats_server.store_dir, free_port(), sync="always")
    await fresh.start()
    try:
        monkeypatch.setenv("JINGUO_NATS_URL", fresh.url)
        monkeypatch.setenv("JINGUO_REGISTRY_DATABASE_URL", other_database_url)
        started = time.monotonic()
        report = await jinguo("restore", str(backup), "--erasures", str(since_backup))
        restored_in = time.monotonic() - started
        assert f"erased after this backup, which the log does not say: {erased_after}" in report

        # before any service starts (and its projector deletes erased keys again as it replays)
        assert await keys_held(other_database_url) == {staying, resident}

        restored = await registry_on(fresh.url, False)
        await restored.applied()
        replayed_in = time.monotonic() - started
        print(
            f"\nrestore of {len(log_before)} events: `jinguo restore` {restored_in:.2f} s,"
            f" with the registry's replay {replayed_in:.2f} s\n{report}"
        )

        # every event at its old position, every answer as before
        assert await stream_messages(restored.runtime.nc, "REGISTRY") == log_before
        after = await answers(restored, ids)
        assert after.keys() == before.keys()
        unchanged = {p for p, answer in before.items() if erased_after not in str(answer)}
        assert len(unchanged) > 10
        assert {p: after[p] for p in unchanged} == {p: before[p] for p in unchanged}
        # she, erased after the backup, is unreadable wherever she appears
        for path in before.keys() - unchanged:
            for trace in (SOMEONE_ELSE.name, SOMEONE_ELSE.national_id, SOMEONE_ELSE.phone):
                assert trace not in str(after[path]), path
        assert await restored.wrapped_key(erased_after) is None
        assert await restored.wrapped_key(erased_before) is None
        assert await restored.wrapped_key(staying) is not None
    finally:
        fresh.stop()
