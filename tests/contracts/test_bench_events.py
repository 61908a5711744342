"""The replay benchmark builds its events as plain dicts, for speed: a contract that gains a
field must not leave the benchmark unable to fill its stream (it once did, and only a run of the
benchmark showed it)."""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

import orjson

from bench._events import MIX, RegistryEvents


def test_every_event_the_replay_benchmark_builds_is_what_its_contract_dumps() -> None:
    maker = RegistryEvents(cast(Any, None), total=20_000)  # planning never touches the vault
    planned = maker._plan(20_000)
    built = Counter(contract.event_type for _, _, contract, _ in planned)
    assert {kind for kind, _ in MIX} <= set(built)
    for _, _, contract, fields in planned:
        expected = contract.model_validate(fields).model_dump(mode="json")
        assert orjson.loads(orjson.dumps(fields)) == expected, contract.event_type
