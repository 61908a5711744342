"""How far a service's policies have reacted to the other services' streams: what a read given
another service's position (`?after=EMPLOYMENT:812`) waits for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_shared.db import DirectSql
from jinguo_shared.projections.consistency import (
    ConsistencyTimeoutError,
    Position,
    PositionNotGivenOutError,
    matching_between,
)
from jinguo_shared.reactions import CHECKPOINT_GENERATION, Policy


class ReactionProgress:
    """How far a service's policies have reacted to the streams they follow, read from their
    checkpoints in the service's database: any process may ask, though only the projector
    role runs the policies."""

    poll_seconds = 0.02

    def __init__(
        self, engine: AsyncEngine, js: JetStreamContext, policies: Sequence[type[Policy]]
    ) -> None:
        self._sql = DirectSql(engine)
        self._js = js
        self._by_stream: dict[str, list[type[Policy]]] = {}
        for policy in policies:
            self._by_stream.setdefault(policy.stream(), []).append(policy)

    def follows(self, stream: str) -> bool:
        return stream in self._by_stream

    async def wait_for(self, position: Position, timeout: float) -> None:
        """Return once every policy following the position's stream has handled each of its
        events up to the position; raise ConsistencyTimeoutError after `timeout` seconds, and
        PositionNotGivenOutError at once for a position beyond the stream's end."""
        token = f"{position.stream}:{position.seq}"
        deadline = time.monotonic() + timeout
        pending = list(self._by_stream.get(position.stream, ()))
        given_out = False
        while pending:
            done = await self._checkpoints(position.stream, pending)
            # a checkpoint at or past the position proves it was given out; else the stream's end
            if not given_out and all(seq < position.seq for seq in done.values()):
                await self._refuse_beyond_end(position, token)
            given_out = True
            pending = [
                policy
                for policy in pending
                if await matching_between(
                    self._js,
                    position.stream,
                    policy.subjects,
                    done.get(policy.name, 0),
                    position.seq,
                )
            ]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise ConsistencyTimeoutError(token)
            await asyncio.sleep(self.poll_seconds)

    async def _refuse_beyond_end(self, position: Position, token: str) -> None:
        info = await self._js.stream_info(position.stream)
        if position.seq > info.state.last_seq:
            raise PositionNotGivenOutError(token)

    async def _checkpoints(self, stream: str, policies: Sequence[type[Policy]]) -> dict[str, int]:
        marks = ", ".join("?" * len(policies))
        rows = await self._sql.fetch(
            "SELECT projection, last_seq FROM projection_checkpoints"
            f" WHERE stream = ? AND generation = ? AND projection IN ({marks})",
            stream,
            CHECKPOINT_GENERATION,
            *[f"policy:{p.name}" for p in policies],
        )
        return {name.removeprefix("policy:"): int(seq) for name, seq in rows}
