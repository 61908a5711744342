"""A short chaos run (scenario.py) on each database: the API, the projector and the REGISTRY
stream's leader each killed under load; no acknowledged registration lost, none applied twice,
none stuck out of the directory."""

from __future__ import annotations

from pathlib import Path

from tests.chaos.scenario import run


async def test_killing_each_kind_of_process_loses_doubles_and_strands_nothing(
    tmp_path: Path, database_url: str
) -> None:
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    report = await run(tmp_path, database_url, kind, seconds=12, clients=4)

    assert [k.what.split()[0] for k in report.kills] == ["API", "projector", "nats-server"]
    assert len(report.acknowledged) > 20
    assert report.lost == 0
    assert report.applied_twice == 0
    assert report.stuck == 0
    assert set(report.refusals) <= {"503", "no answer"}, "a 500 says a bug, not try again"
    assert set(report.in_log) == set(report.acknowledged.values())
