"""`jinguo provision <svc>`: the operator's step (a pod's init container) that waits for the
service's streams and creates its tables, so that the service itself finds everything there."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect

from jinguo_shared.cli.environment import pick_service
from jinguo_shared.cli.provision import (
    DatabaseUnreachableError,
    create_tables,
    provision_service,
    streams_provisioned,
)
from jinguo_shared.db import make_engine
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.ports import free_port
from jinguo_shared.runtime import StreamsNotProvisionedError, open_runtime
from jinguo_shared.settings import Settings


async def table_names(database_url: str) -> set[str]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def test_provisioning_creates_what_the_service_would_and_the_service_adds_nothing(
    jinguo_env: dict[str, str], database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = pick_service("registry")
    # every new pod's init container runs it, several at once on an empty database: on
    # PostgreSQL two CREATE TABLE of one table at once fail, unless they take turns
    await asyncio.gather(*(provision_service(Settings(), registry, wait=60) for _ in range(3)))
    created = await table_names(database_url)
    assert {"pii_keys", "projection_generations", "projection_checkpoints"} <= created
    said = capsys.readouterr().out.splitlines()
    streams = "registry: streams EMPLOYMENT, INSPECTIONS, ORDERS, REGISTRY as provisioned"
    assert said.count(streams) == 3

    await provision_service(Settings(), registry, wait=60)
    assert capsys.readouterr().out.splitlines() == [
        streams,
        "registry: database ready, 0 tables created",
    ]
    runtime = await open_runtime(registry, Settings(), jinguo_env["JINGUO_NATS_URL"], "api")
    await runtime.close()
    assert await table_names(database_url) == created


async def test_it_waits_for_the_streams_then_goes_on(tmp_path: Path, database_url: str) -> None:
    server = EmbeddedNats(tmp_path / "data" / "nats", free_port())
    await server.start()
    try:
        settings = Settings(data_dir=tmp_path / "data", nats_url=server.url)
        registry = pick_service("registry")
        waiting = asyncio.create_task(
            streams_provisioned(settings, server.url, registry, time.monotonic())
        )
        with pytest.raises(StreamsNotProvisionedError, match="REGISTRY: missing"):
            await waiting  # the deadline has passed: it says what is missing, and the Job

        far = time.monotonic() + 600
        waiting = asyncio.create_task(streams_provisioned(settings, server.url, registry, far))
        await server.provision()
        assert "REGISTRY" in await waiting
    finally:
        server.stop()


async def test_a_database_that_does_not_answer_is_named() -> None:
    unreachable = f"postgresql+asyncpg://registry@127.0.0.1:{free_port()}/registry"
    engine = make_engine(unreachable)
    try:
        with pytest.raises(DatabaseUnreachableError, match="registry: its database"):
            await create_tables(engine, pick_service("registry"), deadline=0)
    finally:
        await engine.dispose()
