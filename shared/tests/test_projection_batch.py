"""A batch merges and regroups writes: the tables must end as if each write ran on its own."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import JSON, Column, Date, Integer, MetaData, String, Table, select

from jinguo_shared.db import make_engine, writing
from jinguo_shared.projections.batch import ProjectionBatch

metadata = MetaData()
people = Table(
    "people",
    metadata,
    Column("area", String(4), primary_key=True),
    Column("person", Integer, primary_key=True),
    Column("name", String(20)),
    Column("tags", JSON),
    Column("seen_on", Date),
)
counts = Table(
    "counts",
    metadata,
    Column("area", String(4), primary_key=True),
    Column("registered", Integer, nullable=False, default=0),
    Column("left", Integer, nullable=False, default=0),
)

Write = Callable[[ProjectionBatch], None]


def random_writes(seed: int, count: int) -> list[Write]:
    """Upserts with varying columns, updates, deletes (one row, or all of an area) and
    increments on a few keys, so that the same row is written several times in one batch in
    every order."""
    rng = random.Random(seed)
    writes: list[Write] = []
    for step in range(count):
        key = {"area": rng.choice(["A", "B"]), "person": rng.randrange(6)}
        kind = rng.choice(
            ["upsert", "upsert_partial", "update", "update", "delete", "delete_all", "count"]
        )
        if kind == "upsert":
            row = {**key, "name": f"n{step}", "tags": [step], "seen_on": date(2026, 1, 1 + step)}
            writes.append(lambda b, row=row: b.upsert(people, row))
        elif kind == "upsert_partial":
            row = {**key, "name": f"p{step}"}
            writes.append(lambda b, row=row: b.upsert(people, row))
        elif kind == "update":
            values: dict[str, Any] = rng.choice(
                [{"name": f"u{step}"}, {"tags": {"step": step}}, {"seen_on": date(2026, 2, 1)}]
            )
            writes.append(lambda b, key=key, values=values: b.update(people, key, values))
        elif kind == "delete":
            writes.append(lambda b, key=key: b.delete(people, key))
        elif kind == "delete_all":
            writes.append(lambda b, area=key["area"]: b.delete_all(people, "area", area))
        else:
            column = rng.choice(["registered", "left"])
            writes.append(
                lambda b, area=key["area"], column=column: b.increment(
                    counts, {"area": area}, {column: 1}
                )
            )
    return writes


async def tables_after(url: str, writes: list[Write], *, one_batch: bool) -> list[Any]:
    engine = make_engine(url)
    try:
        async with writing(engine) as connection:
            await connection.run_sync(metadata.drop_all)
            await connection.run_sync(metadata.create_all)
        async with writing(engine) as connection:
            batch = ProjectionBatch()
            for write in writes:
                write(batch)
                if not one_batch:
                    await batch.flush(connection)
            await batch.flush(connection)
        async with engine.connect() as connection:
            rows = (await connection.execute(select(people).order_by(*people.primary_key))).all()
            totals = (await connection.execute(select(counts).order_by(counts.c.area))).all()
        return [tuple(r) for r in rows] + [tuple(r) for r in totals]
    finally:
        await engine.dispose()


async def test_one_batch_ends_like_writes_one_by_one(database_url: str) -> None:
    for seed in range(8):
        writes = random_writes(seed, 28)
        alone = await tables_after(database_url, writes, one_batch=False)
        batched = await tables_after(database_url, writes, one_batch=True)
        assert batched == alone, f"seed {seed}"
        assert alone, "the writes leave rows behind"


async def test_an_update_of_a_missing_row_changes_nothing(database_url: str) -> None:
    def update(batch: ProjectionBatch) -> None:
        batch.update(people, {"area": "A", "person": 1}, {"name": "nobody"})

    assert await tables_after(database_url, [update], one_batch=True) == []
