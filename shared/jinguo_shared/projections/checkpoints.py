"""How far each projection generation has applied each stream (`projection_checkpoints`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from jinguo_shared.db import DirectSql, insert_for, projection_checkpoints
from jinguo_shared.projections.base import Projection


class Checkpoints:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sql = DirectSql(engine)
        self._advance_statement: Any = None

    async def of(
        self, projection: Projection, stream: str, connection: AsyncConnection | None = None
    ) -> int:
        """The last sequence of `stream` the projection has applied (0 for none)."""
        query = select(projection_checkpoints.c.last_seq).where(
            projection_checkpoints.c.projection == projection.name,
            projection_checkpoints.c.generation == projection.generation,
            projection_checkpoints.c.stream == stream,
        )
        if connection is not None:
            return int(await connection.scalar(query) or 0)
        async with self._engine.connect() as fresh:
            return int(await fresh.scalar(query) or 0)

    async def of_all(
        self, connection: AsyncConnection, projections: Sequence[Projection], stream: str
    ) -> dict[str, int]:
        """Each projection's checkpoint in one read, by name; none for one without any."""
        marks = ", ".join("?" * len(projections))
        rows = await self._sql.fetch_within(
            connection,
            "SELECT projection, generation, last_seq FROM projection_checkpoints"
            f" WHERE stream = ? AND projection IN ({marks})",
            stream,
            *[p.name for p in projections],
        )
        generations = {p.name: p.generation for p in projections}
        return {name: seq for name, generation, seq in rows if generations[name] == generation}

    async def advance(
        self, connection: AsyncConnection, stream: str, positions: Sequence[tuple[Projection, int]]
    ) -> None:
        """Move checkpoints forward (never back: a late, redelivered batch changes nothing)."""
        if not positions:
            return
        if self._advance_statement is None:
            insert = insert_for(self._engine, projection_checkpoints)
            self._advance_statement = insert.on_conflict_do_update(
                index_elements=["projection", "generation", "stream"],
                set_={"last_seq": insert.excluded.last_seq},
                where=projection_checkpoints.c.last_seq < insert.excluded.last_seq,
            )
        await connection.execute(
            self._advance_statement,
            [
                {
                    "projection": p.name,
                    "generation": p.generation,
                    "stream": stream,
                    "last_seq": seq,
                }
                for p, seq in positions
            ],
        )
