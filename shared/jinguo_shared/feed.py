"""The partner feed, `GET /<service>/feed`: a service's published events as a CloudEvents batch,
oldest first, from a position, within the caller's scope and jurisdiction, without personal
fields.

It reads the log itself (batched direct get: no consumer per partner, nothing to clean up), so a
new partner replays history from sequence 1 and a live one long-polls at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

import nats.errors
import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from nats.aio.client import Client as NatsClient

from jinguo_contracts.base import CATALOGUE, EventContract
from jinguo_shared.db import DirectSql
from jinguo_shared.eventstore import STREAMS_BY_NAME
from jinguo_shared.http.conventions import INT64, require_scope
from jinguo_shared.http.security import Caller
from jinguo_shared.projections.stream_reader import RawDelivery
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.services import FeedDeclaration

log = logging.getLogger(__name__)

BATCH_MEDIA_TYPE = "application/cloudevents-batch+json"
NEXT_POSITION = "Jinguo-Next-Position"
TYPE_PREFIX = "org.jinguo"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_WAIT_SECONDS = 30
SCAN_BOUND = 10 * MAX_LIMIT
"""Events examined per request: a page of rare matches ends early, at the position reached."""
READ_TIMEOUT_SECONDS = 5.0


def cloudevent_type(contract: type[EventContract]) -> str:
    """`org.jinguo.<service>.<EventType>.v<version>`: the version a partner codes against."""
    return f"{TYPE_PREFIX}.{contract.service}.{contract.event_type}.v{contract.version}"


def disclosed_personal_fields(caller: Caller, contract: type[EventContract]) -> frozenset[str]:
    """The personal fields of `contract` this caller may receive in the feed. None yet: a
    grant with a stated purpose (and a recorded disclosure) is what will open one."""
    return frozenset()


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


@dataclass(frozen=True, slots=True)
class FeedQuery:
    caller: Caller
    after: int
    types: frozenset[str] | None
    """Event types asked for (None: every published one)."""
    area: str | None
    """The area prefix events must lie in (None: anywhere)."""
    limit: int


@dataclass(frozen=True, slots=True)
class FeedPage:
    events: list[dict[str, Any]]
    reached: int
    """The last sequence examined: where the next page starts."""


class Feed:
    """A service's feed: which events it publishes, and pages of them for one caller."""

    def __init__(self, runtime: ServiceRuntime, declaration: FeedDeclaration) -> None:
        spec = STREAMS_BY_NAME[declaration.stream]
        if spec.confidential:
            raise ValueError(f"{spec.name} is confidential: it never leaves {spec.owner}")
        self.stream = spec.name
        self.subject_prefix = spec.subjects[0].removesuffix(">")
        service = self.subject_prefix.removesuffix(".")
        latest = {c.event_type: CATALOGUE.latest(c.event_type) for c in CATALOGUE.contracts()}
        self.published = {
            name: contract
            for name, contract in latest.items()
            if contract.service == service and name not in declaration.withheld
        }
        self._by_cloudevent_type = {cloudevent_type(c): n for n, c in self.published.items()}
        self.source = f"{runtime.settings.public_base_url()}/{runtime.name}"
        self._nc = runtime.nc
        self._sql = DirectSql(runtime.engine)
        self.tail = StreamTail(runtime.nc, self.stream)

    def event_types(self, asked: str) -> frozenset[str]:
        """`asked`, comma-separated event types (`WorkerRegistered` or its CloudEvents type)."""
        names = set()
        if not asked.strip(" ,"):
            raise HTTPException(422, "name at least one event type, or leave types out")
        for given in filter(None, (part.strip() for part in asked.split(","))):
            name = self._by_cloudevent_type.get(given, given)
            if name not in self.published:
                raise HTTPException(
                    422, f"{given[:100]!r} is not an event type this feed publishes"
                )
            names.add(name)
        return frozenset(names)

    def position(self, seq: int) -> str:
        return f"{self.stream}:{seq}"

    def sequence(self, position: str) -> int:
        stream, _, seq = position.partition(":")
        if stream != self.stream or int(seq) not in INT64:
            raise HTTPException(400, f"{position} is not a position of this feed ({self.stream})")
        return int(seq)

    async def page(self, query: FeedQuery, wait: float) -> FeedPage:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        found = await self._read(query)
        # the stream's end as known before the last read: a read filtered on the server ends
        # at its last match, however far the stream went on
        horizon = found.reached
        while not found.events and (remaining := deadline - loop.time()) > 0:
            await self.tail.beyond(horizon, remaining)
            horizon = max(horizon, self.tail.seen)
            found = await self._read(replace(query, after=found.reached))
        return found

    async def _read(self, query: FeedQuery) -> FeedPage:
        """Reads on until the page is full, the stream ends or `SCAN_BOUND` events were seen.
        Whatever the server cannot filter is read in whole batches and filtered here."""
        subject = None
        if query.types is not None and len(query.types) == 1:
            subject = f"{self.subject_prefix}*.*.{next(iter(query.types))}"
        filtered_here = self._limited(query) or (query.types is not None and subject is None)
        events: list[dict[str, Any]] = []
        reached = query.after
        more = True
        while more and len(events) < query.limit and reached - query.after < SCAN_BOUND:
            wanted = query.limit - len(events)
            messages, more = await read_stream(
                self._nc, self.stream, reached + 1, MAX_LIMIT if filtered_here else wanted, subject
            )
            if not messages:
                if reached == query.after and query.after > await self.tail.last():
                    raise HTTPException(
                        400, f"{self.position(query.after)} is beyond the end of the feed"
                    )
                break
            visible = await self._visible(query, messages)
            reached = visible[wanted - 1][0] if len(visible) > wanted else messages[-1].seq
            events += [event for _, event in visible[:wanted]]
        return FeedPage(events, reached)

    async def _visible(
        self, query: FeedQuery, messages: Sequence[Stored]
    ) -> list[tuple[int, dict[str, Any]]]:
        """The messages the caller may see, by sequence, as CloudEvents."""
        chosen: list[tuple[Stored, type[EventContract], dict[str, Any], dict[str, Any]]] = []
        for message in messages:
            body = orjson.loads(message.data)
            name = body["type"]
            contract = self.published.get(name)
            if contract is None or (query.types is not None and name not in query.types):
                continue
            data = CATALOGUE.upcast(name, int(body["schemaversion"]), body["data"])
            chosen.append((message, contract, body, data))
        limited = self._limited(query)
        areas = {}
        if limited:
            areas = await self._aggregate_areas(
                message.subject for message, _, _, data in chosen if "area_code" not in data
            )
        events = []
        for message, contract, body, data in chosen:
            if limited:
                area = data.get("area_code") or areas.get(_aggregate_key(message.subject))
                if not self._within(query, area):
                    continue
            for name in contract.pii_fields() - disclosed_personal_fields(query.caller, contract):
                data.pop(name, None)
            events.append((message.seq, self._cloudevent(message, contract, body, data)))
        return events

    @staticmethod
    def _limited(query: FeedQuery) -> bool:
        jurisdiction = query.caller.jurisdiction
        return query.area is not None or (jurisdiction is not None and jurisdiction.prefix != "")

    @staticmethod
    def _within(query: FeedQuery, area: str | None) -> bool:
        """An event without a known area is the whole country's: national callers only."""
        return area is not None and area.startswith(query.area or "") and query.caller.sees(area)

    async def _aggregate_areas(self, subjects: Iterable[str]) -> dict[tuple[str, str], str]:
        """Each aggregate's area as its decision state holds it now: where events that name no
        area of their own belong (a post suspended, an order accepted)."""
        keys = {_aggregate_key(subject) for subject in subjects}
        ids = sorted({aggregate_id for _, aggregate_id in keys})
        areas: dict[tuple[str, str], str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self._sql.fetch(
                "SELECT aggregate_type, aggregate_id, state FROM aggregate_states"
                f" WHERE aggregate_id IN ({', '.join('?' * len(chunk))})",
                *chunk,
            )
            for aggregate_type, aggregate_id, state in rows:
                decoded = orjson.loads(state) if isinstance(state, str) else state
                area = decoded.get("area_code") if isinstance(decoded, dict) else None
                if (aggregate_type, aggregate_id) in keys and isinstance(area, str):
                    areas[(aggregate_type, aggregate_id)] = area
        return areas

    def _cloudevent(
        self,
        message: Stored,
        contract: type[EventContract],
        body: dict[str, Any],
        data: dict[str, Any],
    ) -> dict[str, Any]:
        aggregate_type, aggregate_id = _aggregate_key(message.subject)
        return {
            "specversion": "1.0",
            "id": body["id"],
            "source": self.source,
            "type": cloudevent_type(contract),
            "subject": f"{aggregate_type}/{aggregate_id}",
            "time": body["time"],
            "datacontenttype": "application/json",
            "dataschema": contract.schema_id(),
            "jinguoposition": self.position(message.seq),
            "data": data,
        }


def _aggregate_key(subject: str) -> tuple[str, str]:
    """(aggregate type, aggregate id) from `<service>.<aggregate>.<id>.<EventType>`."""
    _, aggregate_type, aggregate_id, _ = subject.split(".", 3)
    return aggregate_type, aggregate_id


POSITION_PATTERN = r"^[A-Z_]{1,40}:\d{1,19}$"


def feed_router(runtime: ServiceRuntime, declaration: FeedDeclaration) -> APIRouter:
    feed = Feed(runtime, declaration)
    reader = Depends(require_scope(f"{runtime.name}:read"))
    router = APIRouter(tags=["feed"])

    @router.get(
        "/feed",
        operation_id="read_feed",
        summary="Events for partners, as a CloudEvents batch",
        response_class=Response,
        responses={
            200: {
                "description": "a JSON array of CloudEvents (structured, specversion 1.0),"
                f" oldest first; header `{NEXT_POSITION}` and a `Link` (rel=next) say where"
                " the next page starts",
                "content": {BATCH_MEDIA_TYPE: {"schema": {"type": "array", "items": {}}}},
            },
            400: {"description": "a position this feed never gave out (problem+json)"},
            403: {"description": "no read scope, or an area outside your jurisdiction"},
        },
    )
    async def read_feed(
        request: Request,
        caller: Caller = reader,
        after: Annotated[
            str | None,
            Query(
                description=f"`{NEXT_POSITION}` of the previous page (e.g. REGISTRY:42);"
                " none: from the beginning",
                pattern=POSITION_PATTERN,
            ),
        ] = None,
        types: Annotated[
            str | None,
            Query(
                description="comma-separated event types, e.g. WorkerRegistered or"
                " org.jinguo.registry.WorkerRegistered.v1",
                max_length=2000,
            ),
        ] = None,
        area: Annotated[
            str | None,
            Query(description="an area code within your jurisdiction", pattern=r"^\d{2,12}$"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        wait: Annotated[
            float,
            Query(ge=0, le=MAX_WAIT_SECONDS, description="seconds to wait when nothing is new"),
        ] = 0,
    ) -> Response:
        query = FeedQuery(
            caller=caller,
            after=0 if after is None else feed.sequence(after),
            types=None if types is None else feed.event_types(types),
            area=None if area is None else caller.area(area),
            limit=limit,
        )
        found = await feed.page(query, wait)
        following = feed.position(found.reached)
        link = request.url.include_query_params(after=following)
        return Response(
            orjson.dumps(found.events),
            media_type=BATCH_MEDIA_TYPE,
            headers={NEXT_POSITION: following, "Link": f'<{link}>; rel="next"'},
        )

    return router
