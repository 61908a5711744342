"""Which generation of each projection is live (`projection_generations`), and the tables of
each: the first, the ones a rebuild fills and switches to, as-of copies, and dropping them."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from jinguo_shared.db import create_kernel_tables, projection_generations, writing
from jinguo_shared.projections.base import Projection
from jinguo_shared.projections.schema import create_tables, missing_columns

log = logging.getLogger(__name__)


class Generations:
    def __init__(
        self, service: str, engine: AsyncEngine, projections: Sequence[type[Projection]]
    ) -> None:
        self.service = service
        self._engine = engine
        self._classes = {p.name: p for p in projections}
        self._active: dict[str, Projection] = {}
        self._outdated: set[str] = set()

    @property
    def active(self) -> Mapping[str, Projection]:
        """The live generation of each projection, by name."""
        return self._active

    def names(self) -> list[str]:
        return list(self._classes)

    def streams(self) -> list[str]:
        return sorted({stream for p in self._active.values() for stream in p.streams()})

    def following(self, stream: str) -> list[Projection]:
        return [p for p in self._active.values() if stream in p.streams()]

    async def prepare(self) -> None:
        """Kernel tables, a first generation for new projections, and the active tables."""
        fresh: set[str] = set()
        async with writing(self._engine) as connection:
            await connection.run_sync(create_kernel_tables)
            for name in self._classes:
                found = await connection.scalar(
                    select(projection_generations.c.generation).where(
                        projection_generations.c.projection == name
                    )
                )
                if found is None:
                    await connection.execute(
                        projection_generations.insert().values(
                            projection=name,
                            generation=1,
                            status="active",
                            created_at=datetime.now(UTC),
                        )
                    )
                    fresh.add(name)
        await self.refresh(fresh)

    def outdated(self) -> list[str]:
        """Projections whose live tables lacked a table or column this version defines: their
        rows were written by an older version and must be rebuilt (`jinguo replay`)."""
        return sorted(name for name in self._outdated if name in self._active)

    async def refresh(self, fresh: Collection[str] = ()) -> set[str]:
        """Pick up generations switched by a rebuild (maybe in another process); names changed.
        Tables of a generation that is not `fresh` should all be there already."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(
                    projection_generations.c.projection, projection_generations.c.generation
                ).where(projection_generations.c.status == "active")
            )
            generations = {name: generation for name, generation in rows if name in self._classes}
        changed = set()
        for name, generation in generations.items():
            current = self._active.get(name)
            if current is None or current.generation != generation:
                instance = self._classes[name](generation)
                self._outdated.discard(name)
                async with writing(self._engine) as connection:
                    if name not in fresh:
                        missing = await connection.run_sync(missing_columns, instance.metadata)
                        if missing:
                            log.error("projection %s lacks %s", name, ", ".join(missing))
                            self._outdated.add(name)
                    await connection.run_sync(instance.metadata.create_all)
                self._active[name] = instance
                changed.add(name)
        return changed

    async def new(self, name: str, until: datetime | None) -> Projection:
        """The next generation of a projection, `building`, with empty tables."""
        async with writing(self._engine) as connection:
            latest = await connection.scalar(
                select(projection_generations.c.generation)
                .where(projection_generations.c.projection == name)
                .order_by(projection_generations.c.generation.desc())
                .limit(1)
            )
            generation = int(latest or 0) + 1
            await connection.execute(
                projection_generations.insert().values(
                    projection=name,
                    generation=generation,
                    status="building",
                    until=until,
                    created_at=datetime.now(UTC),
                )
            )
        projection = self._classes[name](generation)
        async with writing(self._engine) as connection:
            await connection.run_sync(create_tables, projection.metadata)
        return projection

    async def switch(self, projection: Projection, *, as_of: bool) -> None:
        """Activate the new generation, keep the one before it, drop anything older; or keep
        it aside as an as-of copy."""
        name = projection.name
        async with writing(self._engine) as connection:
            if as_of:
                await connection.execute(
                    update(projection_generations)
                    .where(
                        projection_generations.c.projection == name,
                        projection_generations.c.generation == projection.generation,
                    )
                    .values(status="as_of")
                )
                return
            rows = (
                await connection.execute(
                    select(
                        projection_generations.c.generation, projection_generations.c.status
                    ).where(projection_generations.c.projection == name)
                )
            ).all()
            stale = [g for g, status in rows if status == "previous"]
            await connection.execute(
                update(projection_generations)
                .where(
                    projection_generations.c.projection == name,
                    projection_generations.c.status == "active",
                )
                .values(status="previous")
            )
            await connection.execute(
                update(projection_generations)
                .where(
                    projection_generations.c.projection == name,
                    projection_generations.c.generation == projection.generation,
                )
                .values(status="active")
            )
            for generation in stale:
                await self._drop(connection, name, generation)
        self._active[name] = projection

    async def as_of_copies(self) -> list[dict[str, Any]]:
        """Copies kept aside by `rebuild(until=...)`: projection, generation, until, built."""
        query = (
            select(
                projection_generations.c.projection,
                projection_generations.c.generation,
                projection_generations.c.until,
                projection_generations.c.created_at,
            )
            .where(projection_generations.c.status == "as_of")
            .order_by(projection_generations.c.projection, projection_generations.c.generation)
        )
        async with self._engine.connect() as connection:
            rows = [dict(row._mapping) for row in await connection.execute(query)]
        for row in rows:
            for column in ("until", "created_at"):
                if row[column] is not None and row[column].tzinfo is None:
                    row[column] = row[column].replace(tzinfo=UTC)  # SQLite drops the offset
        return rows

    async def drop_as_of(self, name: str, generation: int) -> None:
        """Drop an as-of copy's tables; the live and previous generations cannot be dropped."""
        if name not in self._classes:
            raise LookupError(f"{self.service} has no projection {name!r}")
        async with writing(self._engine) as connection:
            status = await connection.scalar(
                select(projection_generations.c.status).where(
                    projection_generations.c.projection == name,
                    projection_generations.c.generation == generation,
                )
            )
            if status != "as_of":
                raise LookupError(
                    f"{name} generation {generation} is not an as-of copy"
                    + (f" (it is {status})" if status else "")
                )
            await self._drop(connection, name, generation)

    async def _drop(self, connection: AsyncConnection, name: str, generation: int) -> None:
        await connection.run_sync(self._classes[name](generation).metadata.drop_all)
        await connection.execute(
            update(projection_generations)
            .where(
                projection_generations.c.projection == name,
                projection_generations.c.generation == generation,
            )
            .values(status="dropped")
        )
