"""Personal data handed to an API client under its grant: each disclosure recorded, and listed.

A service that gives a client personal fields outside its own reads (the feed) gathers what
one response discloses in a `PageDisclosures` and calls `record` before answering: one
`PersonalDataDisclosed` per data subject, all in one atomic append on the service's own stream
(`<service>.disclosure.<subject id>.PersonalDataDisclosed`). If it cannot be recorded, the
response fails rather than disclose unrecorded.

`GET /<service>/disclosures/{subject id}` lists them for the subject's administrators: keys
holding `registry:admin` (the scope that registers, erases and grants personal data of people)
whose jurisdiction covers the subject's area. Nobody else learns who received what.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel
from sqlalchemy import select

from jinguo_contracts.access import DisclosureChannel, PersonalDataDisclosedV1
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import AggregateWrite, EventStore
from jinguo_shared.http.conventions import (
    Cursor,
    Limit,
    Page,
    ReadAfter,
    encode_cursor,
    require_scope,
    seq_after,
)
from jinguo_shared.http.security import Caller, utc_aware
from jinguo_shared.projections.disclosures import Disclosures
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.telemetry import current_traceparent

ADMINISTRATOR_SCOPE = "registry:admin"
MAX_ATOMIC_BATCH = 1000
"""The most messages NATS takes in one atomic batch: a page with more subjects is recorded in
several appends, each all or nothing."""


@dataclass(slots=True)
class _Disclosed:
    area_code: str
    fields: set[str] = field(default_factory=set)
    event_ids: list[str] = field(default_factory=list)


class PageDisclosures:
    """What one response hands a client, per data subject: recorded as one event per subject
    rather than one per event disclosed."""

    def __init__(self) -> None:
        self._subjects: dict[str, _Disclosed] = {}

    def disclosed(
        self, subject_id: str, area_code: str, event_id: str, fields: Iterable[str]
    ) -> None:
        """`event_id` showed the client these personal fields of the subject's."""
        subject = self._subjects.setdefault(subject_id, _Disclosed(area_code))
        subject.fields.update(fields)
        subject.event_ids.append(event_id)

    def __len__(self) -> int:
        return len(self._subjects)

    def events(
        self, caller: Caller, purpose: str, channel: DisclosureChannel, at: datetime
    ) -> list[PersonalDataDisclosedV1]:
        return [
            PersonalDataDisclosedV1(
                subject_id=subject_id,
                area_code=subject.area_code,
                client_id=caller.client_id,
                agency_id=caller.agency_id,
                officer_id=caller.officer_id,
                fields=sorted(subject.fields),
                purpose=purpose,
                event_ids=subject.event_ids,
                channel=channel,
                disclosed_at=at,
            )
            for subject_id, subject in self._subjects.items()
        ]

    def fields(self) -> set[str]:
        return {name for subject in self._subjects.values() for name in subject.fields}


async def record(
    store: EventStore,
    caller: Caller,
    page: PageDisclosures,
    *,
    channel: DisclosureChannel = "feed",
) -> str | None:
    """Record what `page` disclosed to `caller`, under its grant for `store`'s service; returns
    the position of the last record (None when nothing personal was disclosed). Refused (403)
    when the grant does not cover every field disclosed, or has ended meanwhile."""
    if not page:
        return None
    grant = caller.personal_data_grant(store.service)
    beyond = sorted(f for f in page.fields() if grant is None or not grant.covers(f))
    if grant is None or beyond:
        raise HTTPException(
            403,
            f"this API client holds no grant of {', '.join(beyond)} of {store.service}'s events",
        )
    command_id = str(uuid.uuid4())
    context = CommandContext(
        command_id=command_id,
        correlation_id=command_id,
        agency_id=caller.agency_id,
        actor=caller.client_id,
        traceparent=current_traceparent(),
        jurisdiction=caller.jurisdiction,
    )
    events = page.events(caller, grant.purpose, channel, datetime.now(UTC))
    last = 0
    for start in range(0, len(events), MAX_ATOMIC_BATCH):
        chunk = events[start : start + MAX_ATOMIC_BATCH]
        writes = [AggregateWrite("disclosure", e.subject_id, None, [e]) for e in chunk]
        *_, last = await store.append_together(writes, context)
    return f"{store.stream}:{last}"


class Disclosure(BaseModel):
    """Who received which personal fields of the subject, when, why and through what."""

    position: str
    disclosed_at: datetime
    client_id: str
    agency_id: str
    officer_id: str | None
    fields: list[str]
    purpose: str
    channel: str
    event_ids: list[str]


SubjectId = Annotated[str, Path(min_length=1, max_length=64, description="a person's id")]
Administrator = Annotated[Caller, Depends(require_scope(ADMINISTRATOR_SCOPE))]


def disclosures_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/disclosures/{subject_id}",
        summary="Who received a person's personal data from this service, when, which fields"
        " and why (registry:admin, within your jurisdiction)",
    )
    async def list_disclosures(
        subject_id: SubjectId,
        caller: Administrator,
        after: ReadAfter,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[Disclosure]:
        await runtime.visible(after, Disclosures.name)
        projection = runtime.projections.active(Disclosures.name)
        assert isinstance(projection, Disclosures)
        table = projection.disclosures
        query = (
            select(table)
            .where(table.c.subject_id == subject_id, table.c.seq > (seq_after(cursor) or 0))
            .order_by(table.c.seq)
            .limit(limit)
        )
        area = caller.area(None)
        if area:
            query = query.where(table.c.area_code.startswith(area))
        async with runtime.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        items = [_disclosure(runtime.store.stream, row._mapping) for row in rows]
        next_cursor = encode_cursor([rows[-1].seq]) if len(rows) == limit else None
        return Page[Disclosure](items=items, next_cursor=next_cursor)

    return router


def _disclosure(stream: str, row: Any) -> Disclosure:
    return Disclosure(
        position=f"{stream}:{row['seq']}",
        disclosed_at=utc_aware(row["disclosed_at"]),
        client_id=row["client_id"],
        agency_id=row["agency_id"],
        officer_id=row["officer_id"],
        fields=row["fields"],
        purpose=row["purpose"],
        channel=row["channel"],
        event_ids=row["event_ids"],
    )
