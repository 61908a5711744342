"""The partner feed, `GET /<service>/feed`: a service's published events as a CloudEvents batch,
oldest first, from a position, within the caller's scope and jurisdiction; personal fields only
under a grant (`jinguo_contracts.access`), each disclosure recorded before the page is answered.

It reads the log itself (batched direct get: no consumer per partner, nothing to clean up), so a
new partner replays history from sequence 1 and a live one long-polls at the end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from jinguo_contracts.base import CATALOGUE, EventContract
from jinguo_shared.db import DirectSql
from jinguo_shared.direct_reads import Stored, StreamTail, read_stream
from jinguo_shared.disclosures import PageDisclosures, record
from jinguo_shared.eventstore import STREAMS_BY_NAME
from jinguo_shared.http.conventions import INT64, require_scope
from jinguo_shared.http.security import Caller
from jinguo_shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FeedDeclaration:
    """What a service publishes to partners at `GET /<service>/feed` (`jinguo_shared.feed`)."""

    stream: str
    """The one stream the feed reads; never a confidential one."""
    withheld: frozenset[str] = frozenset()
    """Event types of that stream partners never receive."""


BATCH_MEDIA_TYPE = "application/cloudevents-batch+json"
NEXT_POSITION = "Jinguo-Next-Position"
TYPE_PREFIX = "org.jinguo"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_WAIT_SECONDS = 30
SCAN_BOUND = 10 * MAX_LIMIT
"""Events examined per request: a page of rare matches ends early, at the position reached."""


def cloudevent_type(contract: type[EventContract]) -> str:
    """`org.jinguo.<service>.<EventType>.v<version>`: the version a partner codes against."""
    return f"{TYPE_PREFIX}.{contract.service}.{contract.event_type}.v{contract.version}"


def disclosed_personal_fields(
    caller: Caller, service: str, contract: type[EventContract]
) -> frozenset[str]:
    """The personal fields of `contract` this caller may receive in `service`'s feed: those
    its grant for the service covers (`jinguo_contracts.access`); none without one."""
    grant = caller.personal_data_grant(service)
    if grant is None:
        return frozenset()
    return frozenset(f for f in contract.pii_fields() if grant.covers(f))


def published_contracts(declaration: FeedDeclaration) -> dict[str, type[EventContract]]:
    """The event types the feed publishes, each in its latest version (the one it upcasts to)."""
    service = STREAMS_BY_NAME[declaration.stream].subjects[0].removesuffix(".>")
    latest = {c.event_type: CATALOGUE.latest(c.event_type) for c in CATALOGUE.contracts()}
    return {
        name: contract
        for name, contract in latest.items()
        if contract.service == service and name not in declaration.withheld
    }


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
class Shown:
    """One event as a caller receives it, and whose personal data it shows, if any."""

    seq: int
    event: dict[str, Any]
    personal: tuple[str, str] | None
    """(data subject, her area) when the event shows personal fields."""
    personal_fields: set[str]
    traceparent: str | None = None
    """The trace context the event was published in (kept, never shown)."""


@dataclass(frozen=True, slots=True)
class FeedPage:
    events: list[dict[str, Any]]
    reached: int
    """The last sequence examined: where the next page starts."""
    disclosures: PageDisclosures
    """Whose personal data the page holds, to be recorded before it is answered."""


class Feed:
    """A service's feed: which events it publishes, and pages of them for one caller."""

    def __init__(self, runtime: ServiceRuntime, declaration: FeedDeclaration) -> None:
        spec = STREAMS_BY_NAME[declaration.stream]
        if spec.confidential:
            raise ValueError(f"{spec.name} is confidential: it never leaves {spec.owner}")
        self.stream = spec.name
        self.subject_prefix = spec.subjects[0].removesuffix(">")
        self.published = published_contracts(declaration)
        self._by_cloudevent_type = {cloudevent_type(c): n for n, c in self.published.items()}
        self.source = f"{runtime.settings.public_base_url()}/{runtime.name}"
        self._nc = runtime.nc
        self._service = runtime.name
        self._vault = runtime.vault
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
        disclosures = PageDisclosures()
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
            visible = await self.visible(query, messages)
            reached = visible[wanted - 1].seq if len(visible) > wanted else messages[-1].seq
            for shown in visible[:wanted]:
                events.append(shown.event)
                if shown.personal is not None:
                    disclosures.disclosed(*shown.personal, shown.event["id"], shown.personal_fields)
        return FeedPage(events, reached, disclosures)

    async def visible(self, query: FeedQuery, messages: Sequence[Stored]) -> list[Shown]:
        """The messages the caller may see, by sequence, as CloudEvents: personal fields only
        as its grant allows, unsealed, and noted for the disclosure record."""
        chosen: list[tuple[Stored, type[EventContract], dict[str, Any], dict[str, Any]]] = []
        limited = self._limited(query)
        for message in messages:
            body = orjson.loads(message.data)
            name = body["type"]
            contract = self.published.get(name)
            if contract is None or (query.types is not None and name not in query.types):
                continue
            named = body["data"].get("area_code")
            if limited and isinstance(named, str) and not self._within(query, named):
                continue  # another area's, as it says itself: not worth upcasting
            data = CATALOGUE.upcast(name, int(body["schemaversion"]), body["data"])
            chosen.append((message, contract, body, data))
        granted = {
            contract: disclosed_personal_fields(query.caller, self._service, contract)
            for contract in {contract for _, contract, _, _ in chosen}
        }
        areas = {}
        if limited or any(granted.values()):
            areas = await self._aggregate_areas(
                message.subject for message, _, _, data in chosen if "area_code" not in data
            )
        subjects = {
            _personal_subject(message, contract, data)
            for message, contract, _, data in chosen
            if granted[contract]
        }
        await self._vault.prepare(subjects, create=False, fresh=True)
        shown = []
        for message, contract, body, data in chosen:
            area = data.get("area_code") or areas.get(aggregate_key(message.subject))
            if limited and not self._within(query, area):
                continue
            subject = _personal_subject(message, contract, data)
            personal = set()
            for name in contract.pii_fields():
                sealed = data.pop(name, None)
                if name in granted[contract]:
                    value = self._vault.unseal(subject, sealed)
                    if value is not None:  # erased: her key is gone, and so is the field
                        data[name] = value
                        personal.add(name)
            event = self._cloudevent(message, contract, body, data)
            shown.append(
                Shown(
                    message.seq,
                    event,
                    (subject, area or "") if personal else None,
                    personal,
                    body.get("traceparent"),
                )
            )
        return shown

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
        keys = {aggregate_key(subject) for subject in subjects}
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
        aggregate_type, aggregate_id = aggregate_key(message.subject)
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


def _personal_subject(message: Stored, contract: type[EventContract], data: dict[str, Any]) -> str:
    """Whose key seals the event's personal fields: a named field, else its aggregate."""
    field_name = contract.pii_subject_field
    return str(data[field_name]) if field_name else aggregate_key(message.subject)[1]


def aggregate_key(subject: str) -> tuple[str, str]:
    """(aggregate type, aggregate id) from `<service>.<aggregate>.<id>.<EventType>`."""
    _, aggregate_type, aggregate_id, _ = subject.split(".", 3)
    return aggregate_type, aggregate_id


POSITION_PATTERN = r"^[A-Z_]{1,40}:\d{1,19}$"


class CloudEventsBatch(Response):
    media_type = BATCH_MEDIA_TYPE


class FeedEvent(BaseModel):
    """One event as a partner receives it: a CloudEvent (structured mode, specversion 1.0)."""

    specversion: Literal["1.0"]
    id: str = Field(description="the event's id, the same on every read: dedupe on it")
    source: str = Field(description="the publishing service, an absolute URI")
    type: str = Field(description="org.jinguo.<service>.<EventType>.v<version>")
    subject: str = Field(description="<aggregate>/<id>")
    time: datetime = Field(description="when it was recorded (UTC)")
    datacontenttype: Literal["application/json"]
    dataschema: str = Field(description="the payload's JSON Schema id (contracts/published)")
    jinguoposition: str = Field(description="its position: `after` this to continue behind it")
    data: dict[str, Any] = Field(
        description="the payload as `dataschema` describes it, without personal fields unless"
        " a grant covers them"
    )


def feed_router(runtime: ServiceRuntime, declaration: FeedDeclaration) -> APIRouter:
    feed = Feed(runtime, declaration)
    reader = Depends(require_scope(f"{runtime.name}:read"))
    router = APIRouter(tags=["feed"])

    @router.get(
        "/feed",
        summary="Events for partners, as a CloudEvents batch",
        response_class=CloudEventsBatch,
        responses={
            200: {
                "model": list[FeedEvent],
                "description": "a JSON array of CloudEvents (structured, specversion 1.0),"
                f" oldest first; header `{NEXT_POSITION}` and a `Link` (rel=next) say where"
                " the next page starts",
            },
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
        await record(runtime.store, caller, found.disclosures, channel="feed")
        following = feed.position(found.reached)
        link = request.url.include_query_params(after=following)
        return CloudEventsBatch(
            orjson.dumps(found.events),
            headers={NEXT_POSITION: following, "Link": f'<{link}>; rel="next"'},
        )

    return router
