"""A NATS cluster of three losing a node, then a stream's leader, under the registry's writes
(see scenario.py): no acknowledged command lost, none applied twice, the directory equal to a
replay of the log, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jinguo_shared.embedded_nats import EmbeddedCluster
from tests.cluster.scenario import run


@pytest.fixture
async def cluster(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[EmbeddedCluster]:
    servers = EmbeddedCluster(tmp_path / "data" / "nats", 3)
    await servers.start()
    try:
        await servers.provision(replicas=3)
        for name, value in {
            "JINGUO_DATA_DIR": str(tmp_path / "data"),
            "JINGUO_NATS_URL": servers.url,
            "JINGUO_STREAM_REPLICAS": "3",
            "JINGUO_REGISTRY_DATABASE_URL": database_url,
        }.items():
            monkeypatch.setenv(name, value)
        yield servers
    finally:
        servers.stop(kill=True)


async def test_a_node_then_a_leader_dies_under_writes_and_nothing_is_lost_or_doubled(
    cluster: EmbeddedCluster,
) -> None:
    outcome = await run(cluster, writers=4, steady=1.5, down=2.0)

    assert [o.was_leader for o in outcome.outages] == [False, True]
    assert len(outcome.acknowledged) > 20
    assert outcome.lost == []
    assert outcome.applied_twice == []
    # every registration in the log was acknowledged: the writers retried each to the end
    assert set(outcome.in_log) == set(outcome.acknowledged.values())
    assert outcome.in_directory == len(outcome.acknowledged)
    assert outcome.projection_equal_to_replay
