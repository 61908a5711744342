"""Applying raw stream events to projections within one transaction, checkpoints included."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from jinguo_contracts.base import ContractCatalogue
from jinguo_shared.envelope import decode
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
        one checkpoint write for all of them (the transaction a command may be waiting for).
        Each event is routed and decoded once, however many projections want it."""
        if not items:
            return
        done = await self._checkpoints.of_all(connection, projections, stream)
        behind = [p for p in projections if done.get(p.name, 0) < items[-1][0]]
        if not behind:
            return
        router = Router(behind, stream)
        batches = {p.name: ProjectionBatch() for p in behind}
        for seq, subject, data in items:
            wanting = [p for p in router.projections_for(subject) if seq > done.get(p.name, 0)]
            if wanting:
                event = decode(stream, seq, subject, data, self._catalogue)
                for projection in wanting:
                    projection.apply(event, batches[projection.name])
        for projection in behind:
            await batches[projection.name].flush(connection)
        await self._checkpoints.advance(connection, stream, [(p, items[-1][0]) for p in behind])
