"""`jinguo streams provision`: the operator's step that creates and configures the streams,
and never weakens one; and the check each service makes at start."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import orjson
import pytest
from nats.aio.client import Client as NatsClient

from jinguo_shared.embedded_nats import EmbeddedCluster, EmbeddedNats
from jinguo_shared.eventstore import (
    NO_SUITABLE_PEERS,
    SERVICE_STREAMS,
    Difference,
    StreamApiError,
    provision_streams,
    stream_config,
    stream_problems,
)
from jinguo_shared.natsauth import ADMIN_USER
from jinguo_shared.ports import free_port

STREAMS = [spec.name for spec in SERVICE_STREAMS.values()]


@pytest.fixture
async def bare_server(tmp_path: Path) -> AsyncIterator[EmbeddedNats]:
    """The embedded nats-server before anything was provisioned."""
    server = EmbeddedNats(tmp_path / "nats", free_port())
    await server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def admin(bare_server: EmbeddedNats) -> AsyncIterator[NatsClient]:
    nc = await nats.connect(bare_server.url, **bare_server.connect_options(ADMIN_USER))
    yield nc
    await nc.close()


async def reconfigure(nc: NatsClient, stream: str, **changes: object) -> None:
    """What an operator with the admin user (or, before, a service user) could do."""
    config = await stream_config(nc, stream)
    assert config is not None
    reply = await nc.request(
        f"$JS.API.STREAM.UPDATE.{stream}", orjson.dumps({**config, **changes}), timeout=5
    )
    assert "error" not in orjson.loads(reply.data), reply.data


async def test_provisioning_creates_every_stream_then_leaves_them_as_they_are(
    admin: NatsClient,
) -> None:
    assert await stream_problems(admin, STREAMS, 1) == [f"{s}: missing" for s in STREAMS]
    created = await provision_streams(admin, list(SERVICE_STREAMS.values()), 1)
    assert [(p.stream, p.outcome) for p in created] == [(s, "created") for s in STREAMS]
    assert await stream_problems(admin, STREAMS, 1) == []
    again = await provision_streams(admin, list(SERVICE_STREAMS.values()), 1)
    assert [(p.stream, p.outcome) for p in again] == [(s, "as it was") for s in STREAMS]
    rights = await stream_config(admin, "RIGHTS")
    assert rights is not None
    assert (rights["storage"], rights["deny_delete"], rights["deny_purge"]) == ("file", True, True)
    assert rights["duplicate_window"] == 120 * 10**9
    assert (rights["allow_direct"], rights["allow_atomic"]) == (True, True)


async def test_a_weakened_stream_is_named_then_brought_back(admin: NatsClient) -> None:
    await provision_streams(admin, list(SERVICE_STREAMS.values()), 1)
    await reconfigure(
        admin,
        "EMPLOYMENT",
        max_msgs=1,
        sources=[{"name": "RIGHTS"}],
        max_age=3600 * 10**9,
        allow_direct=False,
        subjects=["employment.>", "jobs.>"],
    )
    problems = await stream_problems(admin, ["EMPLOYMENT", "ORDERS"], 1)
    assert sorted(problems) == sorted(
        [
            'EMPLOYMENT: subjects is ["employment.>","jobs.>"], expected ["employment.>"]',
            "EMPLOYMENT: max_msgs is 1, expected -1",
            "EMPLOYMENT: allow_direct is unset, expected true",
            'EMPLOYMENT: sources is [{"name":"RIGHTS"}], expected unset',
            "EMPLOYMENT: max_age is 3600000000000, expected unset",
        ]
    )
    [updated] = await provision_streams(admin, [SERVICE_STREAMS["employment"]], 1)
    assert updated.outcome == "updated"
    assert "max_msgs is 1, expected -1" in updated.detail
    assert await stream_problems(admin, ["EMPLOYMENT"], 1) == []


async def test_what_cannot_be_fixed_in_place_is_refused_and_left_alone(
    admin: NatsClient,
) -> None:
    await provision_streams(admin, list(SERVICE_STREAMS.values()), 1)
    # per-message TTLs can delete events; the server never turns them off again
    await reconfigure(admin, "ORDERS", allow_msg_ttl=True, max_age=3600 * 10**9)
    [refused] = await provision_streams(admin, [SERVICE_STREAMS["orders"]], 1)
    assert refused.outcome == "refused"
    assert "allow_msg_ttl is true, expected unset" in refused.detail
    orders = await stream_config(admin, "ORDERS")
    assert orders is not None
    assert orders["max_age"] == 3600 * 10**9, "a refused stream is not half-updated"


def test_provisioning_never_lowers_replicas() -> None:
    """What a mistaken JINGUO_STREAM_REPLICAS=1 against a 3-server cluster would ask for."""
    assert Difference("num_replicas", 3, 1).refusal == (
        "num_replicas is 3, expected 1: lowering replicas is left to an operator"
        " (JINGUO_STREAM_REPLICAS?)"
    )
    assert Difference("num_replicas", 1, 3).refusal is None
    assert Difference("max_msgs", 1, -1).refusal is None


async def test_a_service_user_reads_no_stream_outside_its_lane(
    bare_server: EmbeddedNats, admin: NatsClient
) -> None:
    await provision_streams(admin, list(SERVICE_STREAMS.values()), 1)
    registry = await nats.connect(bare_server.url, **bare_server.connect_options("registry"))
    try:
        assert await stream_problems(registry, ["REGISTRY"], 1) == []
        [problem] = await stream_problems(registry, ["RIGHTS"], 1)
        assert problem == "RIGHTS: no answer to its info (may this NATS user read it?)"
    finally:
        await registry.close()


def jinguo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "jinguo"), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_command_prints_what_it_did_and_fails_on_a_refusal(
    bare_server: EmbeddedNats, admin: NatsClient
) -> None:
    env = {
        "JINGUO_NATS_URL": bare_server.url,
        "JINGUO_NATS_USER": ADMIN_USER,
        "JINGUO_NATS_PASSWORD": bare_server.connect_options(ADMIN_USER)["password"],
    }
    first = jinguo("streams", "provision", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split("\n")[:2] == ["REGISTRY     created", "EMPLOYMENT   created"]

    await reconfigure(admin, "RIGHTS", sources=[{"name": "INSPECTIONS"}])
    await reconfigure(admin, "ORDERS", allow_msg_ttl=True)
    second = jinguo("streams", "provision", env=env)
    assert second.returncode == 2
    lines = second.stdout.splitlines()
    assert lines[0] == "REGISTRY     as it was"
    assert 'RIGHTS       updated: sources is [{"name":"INSPECTIONS"}], expected unset' in lines
    assert any(line.startswith("ORDERS       refused: allow_msg_ttl is true") for line in lines)
    assert "jinguo: left ORDERS as they are" in second.stderr

    service = {**env, "JINGUO_NATS_USER": "orders"}
    service["JINGUO_NATS_PASSWORD"] = bare_server.connect_options("orders")["password"]
    as_orders = jinguo("streams", "provision", env=service)
    assert as_orders.returncode == 2
    assert "needs the admin NATS user" in as_orders.stderr


@pytest.fixture
async def two_of_three(tmp_path: Path) -> AsyncIterator[EmbeddedCluster]:
    """A cluster of three whose third node has not started yet: JetStream answers (two make a
    quorum), but no stream of three replicas fits on it."""
    cluster = EmbeddedCluster(tmp_path / "nats", 3)
    for node in cluster.nodes[:2]:
        await node.start()
    try:
        await cluster.wait_for_jetstream()
        yield cluster
    finally:
        cluster.stop(kill=True)


async def test_streams_wait_for_the_node_a_starting_cluster_still_misses(
    two_of_three: EmbeddedCluster,
) -> None:
    """What CI met once: a cluster's meta leader elected before every node reported in."""
    first, second, late = two_of_three.nodes
    nc = await nats.connect([first.url, second.url], **two_of_three.connect_options(ADMIN_USER))
    try:
        provisioning = asyncio.create_task(provision_streams(nc, list(SERVICE_STREAMS.values()), 3))
        await asyncio.sleep(1.0)
        assert not provisioning.done(), "an R3 stream was created on two nodes"
        await late.start()
        created = await asyncio.wait_for(provisioning, 30)
        assert [(p.stream, p.outcome) for p in created] == [(s, "created") for s in STREAMS]
        assert await stream_problems(nc, STREAMS, 3) == []
    finally:
        await nc.close()


async def test_a_node_that_never_comes_is_named_after_the_wait(
    two_of_three: EmbeddedCluster,
) -> None:
    nc = await nats.connect(two_of_three.nodes[0].url, **two_of_three.connect_options(ADMIN_USER))
    try:
        with pytest.raises(StreamApiError) as refused:
            await provision_streams(nc, [SERVICE_STREAMS["registry"]], 3, placement_wait=1.0)
        assert refused.value.code == NO_SUITABLE_PEERS
        assert await stream_config(nc, "REGISTRY") is None
    finally:
        await nc.close()
