"""Reading a stream for partners without a consumer: batched direct gets from a position, and
one watcher per stream of where it ends, for long-polls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import nats.errors
import orjson
from nats.aio.client import Client as NatsClient

from jinguo_shared.projections.stream_reader import RawDelivery

log = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Stored:
    seq: int
    subject: str
    data: bytes


@dataclass(slots=True)
class _BatchGet:
    """One batched direct get: its messages as the connection's parser hands them over."""

    messages: list[Stored] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    more: bool = False

    def receive(self, _subject: bytes, _reply: bytes, data: bytes, headers: bytes | None) -> None:
        lines = (headers or b"").split(b"\r\n")
        status = lines[0][9:12]
        fields = {name: value for name, _, value in (line.partition(b": ") for line in lines[1:])}
        if status:  # 204 at the end of the batch, 404 when there was nothing to give
            self.more = status == b"204" and fields.get(b"Nats-Num-Pending", b"0") != b"0"
            self.done.set()
            return
        self.messages.append(
            Stored(int(fields[b"Nats-Sequence"]), fields[b"Nats-Subject"].decode(), data)
        )


async def read_stream(
    nc: NatsClient, stream: str, start: int, count: int, subject: str | None
) -> tuple[list[Stored], bool]:
    """Up to `count` messages from sequence `start` on (only `subject`'s, if given), and
    whether more follow them."""
    request: dict[str, Any] = {"seq": start, "batch": count}
    if subject is not None:
        request["next_by_subj"] = subject
    batch = _BatchGet()
    inbox = nc.new_inbox()
    subscription = await nc.subscribe(inbox)
    delivery = RawDelivery.on(nc)
    delivery.route(subscription._id, batch.receive)
    try:
        await nc.publish(f"$JS.API.DIRECT.GET.{stream}", orjson.dumps(request), reply=inbox)
        await asyncio.wait_for(batch.done.wait(), READ_TIMEOUT_SECONDS)
    finally:
        delivery.unroute(subscription._id)
        await subscription.unsubscribe()
    return batch.messages, batch.more


class StreamTail:
    """The last sequence of a stream, watched by one task per process while anyone long-polls,
    so a thousand waiting partners cost one stream info request every `POLL_SECONDS`."""

    POLL_SECONDS = 0.05

    def __init__(self, nc: NatsClient, stream: str) -> None:
        self._nc = nc
        self._stream = stream
        self._last = 0
        self._moved = asyncio.Event()
        self._waiting = 0
        self._watcher: asyncio.Task[None] | None = None

    @property
    def seen(self) -> int:
        """The last sequence as last asked."""
        return self._last

    async def last(self) -> int:
        reply = await self._nc.request(
            f"$JS.API.STREAM.INFO.{self._stream}", b"", timeout=READ_TIMEOUT_SECONDS
        )
        self._last = int(orjson.loads(reply.data)["state"]["last_seq"])
        return self._last

    async def beyond(self, seq: int, timeout: float) -> None:
        """Returns once the stream holds a sequence after `seq`, or after `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._waiting += 1
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch())
        try:
            while self._last <= seq and (remaining := deadline - loop.time()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._moved.wait(), remaining)
        finally:
            self._waiting -= 1

    async def _watch(self) -> None:
        while self._waiting:
            seen = self._last
            try:
                if await self.last() != seen:
                    self._moved.set()
                    self._moved = asyncio.Event()
            except (nats.errors.Error, TimeoutError) as error:
                log.warning("feed: cannot see the end of %s: %s", self._stream, error)
            await asyncio.sleep(self.POLL_SECONDS)
