"""A rebuild's reader of a whole stream, hand-written on nats-py's protocol parser because it
reads about 10x faster than nats-py's pull consumer (ARCHITECTURE.md, bench/replay.py)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import nats.errors
import orjson
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from jinguo_shared.projections.planning import Item

CONSUMER_ALREADY_EXISTS = 10148


class RebuildSlotsTakenError(RuntimeError):
    pass


class StreamReader:
    """Reads a stream in order through a pull consumer of its own, `batch` messages per
    request with two requests out: memory stays bounded however long the stream.

    The consumer is one of the service's rebuild slots (`natsauth.rebuild_consumers`: its NATS
    user may create no other name), taken with the `create` action, which the server refuses
    for a slot another reader holds; it is deleted at the end, and one a crashed reader left
    goes by itself once idle for `INACTIVE_SECONDS`.

    The messages are taken straight from the connection's protocol parser as
    (stream sequence, pending, subject, data): a rebuild reads millions, and nats-py's
    per-message work for a subscription (parsing headers, building a `Msg`, queueing it for a
    task) cost more than the rebuild's own reading. Other subscriptions on the connection are
    untouched.

    The caller stops at the message whose reply says nothing more is pending. Requests wait
    for messages (`expires`) rather than answer "no messages" at once: such an answer can
    overtake the end of an earlier request's messages and would look like the end.
    """

    REQUEST_EXPIRES_NS = 5_000_000_000
    INACTIVE_SECONDS = 300

    def __init__(
        self,
        nc: NatsClient,
        stream: str,
        filters: list[str],
        batch: int,
        last: int,
        slots: Sequence[str],
    ) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self._stream = stream
        self._filters = filters
        self._batch = batch
        self._slots = slots
        self._items: list[tuple[int, int, str, bytes]] = []
        self._ready = asyncio.Event()
        self._inbox = nc.new_inbox()
        self._consumer = ""
        self._subscription: Any = None
        self._outstanding = 0
        self._received = 0
        self._last = last
        self.matching = 0
        """How many of the stream's messages the filters match (the stream may grow on)."""

    async def __aenter__(self) -> StreamReader:
        self._subscription = await self._nc.subscribe(self._inbox)
        RawDelivery.on(self._nc).route(self._subscription._id, self._receive)
        created = await self._take_slot()
        self._consumer = created["name"]
        self.matching = created.get("num_pending") or 0
        return self

    async def _take_slot(self) -> dict[str, Any]:
        config = ConsumerConfig(
            filter_subjects=self._filters,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=self.INACTIVE_SECONDS,
            mem_storage=True,
            # `create` answers with an existing consumer of the same configuration: this
            # one is like no other
            description=f"jinguo replay {uuid.uuid4()}",
        )
        for name in self._slots:
            config.name = name
            request = {"stream_name": self._stream, "config": config.as_dict(), "action": "create"}
            reply = await self._nc.request(
                f"$JS.API.CONSUMER.CREATE.{self._stream}.{name}", orjson.dumps(request), timeout=5
            )
            answer: dict[str, Any] = orjson.loads(reply.data)
            error = answer.get("error")
            if error is None:
                return answer
            if error.get("err_code") != CONSUMER_ALREADY_EXISTS:
                raise nats.errors.Error(f"reading {self._stream}: {error.get('description')}")
        raise RebuildSlotsTakenError(
            f"every rebuild slot on {self._stream} is taken ({', '.join(self._slots)}):"
            f" {len(self._slots)} rebuilds are reading it, or one that stopped without"
            f" releasing its slot holds it until idle for {self.INACTIVE_SECONDS} s; wait, or"
            f" remove a stale one as the admin NATS user: nats consumer rm {self._stream} <slot>"
        )

    async def __aexit__(self, *_: object) -> None:
        RawDelivery.on(self._nc).unroute(self._subscription._id)
        await self._subscription.unsubscribe()
        with contextlib.suppress(NotFoundError, nats.errors.Error):
            await self._js.delete_consumer(self._stream, self._consumer)

    async def _request(self) -> None:
        self._outstanding += 1
        await self._nc.publish(
            f"$JS.API.CONSUMER.MSG.NEXT.{self._stream}.{self._consumer}",
            orjson.dumps({"batch": self._batch, "expires": self.REQUEST_EXPIRES_NS}),
            reply=self._inbox,
        )

    def _receive(self, subject: bytes, reply: bytes, data: bytes, headers: bytes | None) -> None:
        status = _status(headers)
        if status is None:
            seq, pending = _sequence_and_pending(reply.decode())
            self._items.append((seq, pending, subject.decode(), data))
            self._received += 1
            if self._received == self._batch:
                self._received = 0
                self._outstanding -= 1
        elif status in (b"404", b"408"):  # the request ended before its batch was full
            self._received = 0
            self._outstanding -= 1
        else:
            assert headers is not None
            raise nats.errors.Error(f"reading {self._stream}: {headers[9:].strip().decode()}")
        self._ready.set()

    async def chunk(self, size: int) -> tuple[list[Item], bool]:
        """About `size` more messages as (sequence, subject, data), and whether they are the
        last up to sequence `last`."""
        items: list[Item] = []
        if not self.matching:
            return items, True
        while len(items) < size:
            for seq, pending, subject, data in await self._take():
                items.append((seq, subject, data))
                if seq >= self._last or pending == 0:
                    return items, True
        return items, False

    async def _take(self, timeout: float = 30.0) -> list[tuple[int, int, str, bytes]]:
        while not self._items:
            if self._outstanding < 1:
                await self._request()
            self._ready.clear()
            await asyncio.wait_for(self._ready.wait(), timeout)
        items, self._items = self._items, []
        if self._outstanding < 2:
            await self._request()
        return items


RawHandler = Callable[[bytes, bytes, bytes, bytes | None], None]


class RawDelivery:
    """Hands a connection's messages for chosen subscriptions to a plain function, as the
    protocol parser delivers them; everything else goes through nats-py as usual."""

    def __init__(self, nc: NatsClient) -> None:
        self._handlers: dict[int, RawHandler] = {}
        through_nats_py = nc._process_msg

        async def process(
            sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes
        ) -> None:
            handler = self._handlers.get(sid)
            if handler is None:
                await through_nats_py(sid, subject, reply, data, headers)
            else:
                handler(subject, reply, data, headers)

        process.__dict__["raw_delivery"] = self
        nc._process_msg = process  # type: ignore[method-assign]

    @classmethod
    def on(cls, nc: NatsClient) -> RawDelivery:
        installed = getattr(nc._process_msg, "raw_delivery", None)
        return installed if isinstance(installed, cls) else cls(nc)

    def route(self, sid: int, handler: RawHandler) -> None:
        self._handlers[sid] = handler

    def unroute(self, sid: int) -> None:
        self._handlers.pop(sid, None)


def _status(headers: bytes | None) -> bytes | None:
    """The status code of a JetStream status message ("NATS/1.0 404 No Messages")."""
    if headers and headers[8:9] == b" ":
        return headers[9:12]
    return None


def _sequence_and_pending(reply: str) -> tuple[int, int]:
    """The stream sequence and the number pending, from a JetStream message's reply subject
    (cheaper than building `Msg.metadata` a million times)."""
    tokens = reply.split(".")
    if len(tokens) == 9:  # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
        return int(tokens[5]), int(tokens[8])
    return int(tokens[Msg.Ack.StreamSeq]), int(tokens[Msg.Ack.NumPending])
