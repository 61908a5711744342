"""Production backs up a three-node NATS cluster and restores into one (deploy/README.md,
section 12): a snapshot of R3 streams restored into a fresh cluster comes back on three replicas
with every event at its old sequence, and the replicas hold the events, not only the settings:
with the restored stream's leader killed, the other two still serve every one."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import nats
from nats.aio.client import Client as NatsClient

from jinguo_contracts.examples import registered_worker
from jinguo_shared.backup import jinguo_streams, restore_stream, snapshot_stream
from jinguo_shared.embedded_nats import EmbeddedCluster
from jinguo_shared.eventstore import SERVICE_STREAMS, provision_streams
from jinguo_shared.natsauth import ADMIN_USER
from jinguo_shared.testing import publish_history, publisher

from .test_backup_restore import stream_messages

WORKERS = 20


async def admin(cluster: EmbeddedCluster) -> NatsClient:
    running = [node.url for node in cluster.nodes if node.process is not None]
    return await nats.connect(running, **cluster.connect_options(ADMIN_USER))


async def replicated(nc: NatsClient, stream: str, timeout: float = 30.0) -> tuple[str, int]:
    """Once every replica of the stream is current: its leader and how many replicas it has."""
    deadline = time.monotonic() + timeout
    while True:
        cluster = (await nc.jetstream().stream_info(stream)).cluster
        assert cluster is not None
        replicas = cluster.replicas or []
        if cluster.leader and all(r.current for r in replicas):
            return cluster.leader, 1 + len(replicas)
        assert time.monotonic() < deadline, f"{stream}: replicas never caught up: {cluster}"
        await asyncio.sleep(0.2)


async def test_a_cluster_backup_restores_into_a_fresh_cluster_on_three_replicas(
    tmp_path: Path,
) -> None:
    backup = tmp_path / "backup"
    backup.mkdir()
    source = EmbeddedCluster(tmp_path / "source")
    await source.start()
    try:
        await source.provision()
        nc = await admin(source)
        try:
            registry = await publisher(nc, "registry")
            for n in range(WORKERS):
                events = registered_worker(f"w{n}", area="110101001001", priority=n % 2 == 0)
                await publish_history(registry, f"w{n}", events, f"w{n}")
            before = {s: await stream_messages(nc, s) for s in jinguo_streams()}
            for stream in jinguo_streams():
                await snapshot_stream(nc, stream, backup)
        finally:
            await nc.close()
    finally:
        source.stop()

    target = EmbeddedCluster(tmp_path / "target")
    await target.start()
    try:
        nc = await admin(target)
        try:
            for stream in jinguo_streams():
                await restore_stream(nc, stream, backup)
            await provision_streams(nc, list(SERVICE_STREAMS.values()), len(target.nodes))
            leader = ""
            for stream in jinguo_streams():
                stream_leader, replicas = await replicated(nc, stream)
                assert replicas == 3, stream
                assert await stream_messages(nc, stream) == before[stream], stream
                if stream == "REGISTRY":
                    leader = stream_leader
        finally:
            await nc.close()
        assert len(before["REGISTRY"]) > WORKERS

        target.node(leader).stop(kill=True)
        nc = await admin(target)
        try:
            deadline = time.monotonic() + 30
            while True:  # until the two left elect a leader for it
                try:
                    after = await stream_messages(nc, "REGISTRY")
                    break
                except Exception:
                    assert time.monotonic() < deadline, "REGISTRY has no leader on two nodes"
                    await asyncio.sleep(0.2)
            assert after == before["REGISTRY"]
        finally:
            await nc.close()
    finally:
        target.stop()
