"""Applying raw stream events to projections within one transaction, checkpoints included."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from jinguo_contracts.base import ContractCatalogue
from jinguo_shared.envelope import RecordedEvent, decode
from jinguo_shared.projections.base import Projection
from jinguo_shared.projections.batch import ProjectionBatch
from jinguo_shared.projections.checkpoints import Checkpoints
from jinguo_shared.projections.planning import Item, Router


class EventApplier:
    def __init__(self, checkpoints: Checkpoints, catalogue: ContractCatalogue) -> None:
        self._checkpoints = checkpoints
        self._catalogue = catalogue

    async def apply(
        self,
        connection: AsyncConnection,
        projections: Sequence[Projection],
        stream: str,
        items: Sequence[Item],
    ) -> None:
        """Apply what each projection has not seen yet: one checkpoint read, the writes, and
        one checkpoint write for all of them (the transaction a command may be waiting for)."""
        done = await self._checkpoints.of_all(connection, projections, stream)
        router = Router(projections, stream)
        decoded: dict[int, RecordedEvent] = {}
        advanced: list[tuple[Projection, int]] = []
        for projection in projections:
            start = done.get(projection.name, 0)
            fresh = [item for item in items if item[0] > start]
            if not fresh:
                continue
            batch = ProjectionBatch()
            for seq, subject, data in fresh:
                if projection in router.projections_for(subject):
                    event = decoded.get(seq)
                    if event is None:
                        event = decoded[seq] = decode(stream, seq, subject, data, self._catalogue)
                    projection.apply(event, batch)
            await batch.flush(connection)
            advanced.append((projection, fresh[-1][0]))
        await self._checkpoints.advance(connection, stream, advanced)
