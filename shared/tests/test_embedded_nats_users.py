"""The embedded nats-server runs one user per service with production's permissions."""

from __future__ import annotations

import asyncio
from typing import Any

import nats
import nats.errors
import pytest
from nats.js.api import StreamConfig, StreamSource

from jinguo_shared.eventstore import SERVICE_STREAMS, ensure_stream
from jinguo_shared.natsauth import service_permissions
from jinguo_shared.runtime import EmbeddedNats, connect_nats
from jinguo_shared.settings import Settings


async def connect(server: EmbeddedNats, user: str) -> Any:
    return await nats.connect(server.url, allow_reconnect=False, **server.connect_options(user))


async def refused(coroutine: Any) -> bool:
    try:
        await coroutine
    except Exception:
        return True
    return False


async def test_nobody_connects_without_a_password(nats_server: EmbeddedNats) -> None:
    with pytest.raises((nats.errors.Error, OSError)):
        await nats.connect(nats_server.url, allow_reconnect=False, max_reconnect_attempts=0)
    with pytest.raises((nats.errors.Error, OSError)):
        await nats.connect(
            nats_server.url, user="rights", password="guessed", allow_reconnect=False
        )


async def test_only_rights_reads_the_case_stream_and_employment_reads_inspections(
    nats_server: EmbeddedNats,
) -> None:
    rights = await connect(nats_server, "rights")
    employment = await connect(nats_server, "employment")
    registry = await connect(nats_server, "registry")
    rjs, ejs = rights.jetstream(timeout=1), employment.jetstream(timeout=1)
    try:
        await ensure_stream(rjs, SERVICE_STREAMS["rights"], 1)
        await ensure_stream(rjs, SERVICE_STREAMS["inspections"], 1)
        await rjs.publish("rights.case.c1.CaseOpened", b"confidential")
        await rjs.publish("inspections.inspection.i1.EmployerViolationFound", b"violation")

        own = await rjs.pull_subscribe("rights.>", durable="rights_own", stream="RIGHTS")
        assert [m.data for m in await own.fetch(1, timeout=2)] == [b"confidential"]
        assert (await rjs.get_msg("RIGHTS", 1, direct=True)).data == b"confidential"

        public = await ejs.pull_subscribe(
            "inspections.>", durable="employment_inspections", stream="INSPECTIONS"
        )
        assert [m.data for m in await public.fetch(1, timeout=2)] == [b"violation"]

        for other in (employment, registry):
            js = other.jetstream(timeout=1)
            attempts = {
                "consumer": js.add_consumer("RIGHTS", durable_name="snoop"),
                "pull": js.pull_subscribe("rights.>", durable="snoop2", stream="RIGHTS"),
                "direct get": js.get_msg("RIGHTS", 1, direct=True),
                "msg get": js.get_msg("RIGHTS", 1),
                "last by subject": js.get_last_msg("RIGHTS", "rights.case.c1.CaseOpened"),
                "info": js.stream_info("RIGHTS"),
                "mirror": js.add_stream(StreamConfig(name="M", mirror=StreamSource(name="RIGHTS"))),
                "forge": js.publish("rights.case.c1.CaseClosed", b"forged"),
                "inspection forge": js.publish("inspections.inspection.i2.X", b"forged"),
            }
            results = await asyncio.gather(*(refused(a) for a in attempts.values()))
            allowed = [name for name, no in zip(attempts, results, strict=True) if not no]
            assert not allowed, allowed
        assert (await rjs.stream_info("RIGHTS")).state.messages == 1
        assert (await rjs.stream_info("INSPECTIONS")).state.messages == 1
    finally:
        for client in (rights, employment, registry):
            await client.close()


async def test_passwords_survive_a_restart_and_services_connect_as_themselves(
    nats_server: EmbeddedNats, tmp_path: Any
) -> None:
    before = {user: nats_server.passwords.read(user) for user in ("rights", "admin")}
    nats_server.stop()
    await nats_server.start()
    assert {user: nats_server.passwords.read(user) for user in before} == before
    assert oct(nats_server.passwords.path("rights").stat().st_mode & 0o777) == "0o600"

    settings = Settings(data_dir=tmp_path / "data")
    registry = await connect_nats(settings, nats_server.url, "t", user="registry")
    try:
        js = registry.jetstream(timeout=1)
        assert await refused(js.add_stream(name="RIGHTS", subjects=["rights.>"]))
        await ensure_stream(js, SERVICE_STREAMS["registry"], 1)
    finally:
        await registry.close()


def test_a_confidential_stream_is_denied_to_every_other_owner() -> None:
    assert "deny" not in service_permissions("rights")["publish"]
    for service in ("registry", "employment", "orders"):
        permissions = service_permissions(service)
        assert "$JS.API.DIRECT.GET.RIGHTS" in permissions["publish"]["deny"]
        assert not any("INSPECTIONS" in s for s in permissions["publish"]["deny"])
        assert permissions["subscribe"] == {"allow": [f"_INBOX.{service}.>"]}
