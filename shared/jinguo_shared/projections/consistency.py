"""Consistent reads: waiting until projections have applied an event a caller knows of."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from jinguo_shared.projections.base import Projection
from jinguo_shared.projections.checkpoints import Checkpoints
from jinguo_shared.projections.generations import Generations


class ConsistencyTimeoutError(Exception):
    def __init__(self, position: str) -> None:
        super().__init__(f"projections have not reached {position} yet")
        self.position = position


class PositionNotGivenOutError(ValueError):
    """A position beyond the end of its stream: no command ever returned it."""

    def __init__(self, position: str) -> None:
        super().__init__(f"{position} lies beyond the end of its stream")
        self.position = position


@dataclass(frozen=True, slots=True)
class Position:
    stream: str
    seq: int

    @classmethod
    def parse(cls, token: str) -> Position:
        stream, _, seq = token.partition(":")
        if not stream or not seq.isdigit():
            raise ValueError("a consistency token looks like REGISTRY:1234")
        return cls(stream, int(seq))


class Consistency:
    def __init__(
        self, js: JetStreamContext, generations: Generations, checkpoints: Checkpoints
    ) -> None:
        self._js = js
        self._generations = generations
        self._checkpoints = checkpoints

    async def wait_for(self, token: str, names: Sequence[str], timeout: float) -> None:
        """Return once every named projection has seen the event at `token` (or has nothing
        pending from that stream); raise ConsistencyTimeoutError after `timeout` seconds."""
        position = Position.parse(token)
        deadline = time.monotonic() + timeout
        pending = list(names)
        while pending:
            projection = self._generations.active[pending[0]]
            if position.stream not in projection.streams() or await self._reached(
                projection, position
            ):
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise ConsistencyTimeoutError(token)
            await asyncio.sleep(0.02)

    async def wait_for_head(self, stream: str, names: Sequence[str], timeout: float) -> None:
        """Wait until these projections have applied all the stream held when asked: for a
        command that looks up, in a projection, what an earlier command just appended."""
        if not any(stream in self._generations.active[name].streams() for name in names):
            return
        info = await self._js.stream_info(stream)
        await self.wait_for(f"{stream}:{info.state.last_seq}", names, timeout)

    async def _reached(self, projection: Projection, position: Position) -> bool:
        """Whether the projection has applied every event of its own up to the position: its
        checkpoint is there, or no event its filters match lies between the two. (A consumer's
        pending count is no proof: the server may report 0 for an event just appended.)"""
        done = await self._checkpoints.of(projection, position.stream)
        subjects = projection.streams()[position.stream]
        return not await matching_between(self._js, position.stream, subjects, done, position.seq)


async def matching_between(
    js: JetStreamContext, stream: str, subjects: Sequence[str], done: int, seq: int
) -> bool:
    """Whether an event on one of these subjects lies after `done` and up to `seq`: what a
    follower that has handled its events up to `done` has yet to handle to reach `seq`."""
    if done >= seq:
        return False
    for subject in subjects:
        try:
            found = await js.get_msg(stream, seq=done + 1, subject=subject, next=True, direct=True)
        except NotFoundError:
            continue
        if found.seq is not None and found.seq <= seq:
            return True
    return False
