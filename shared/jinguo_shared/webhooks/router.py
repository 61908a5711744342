"""`/<service>/webhooks`: a client's webhook subscriptions, their delivery log, resuming,
redelivering and replaying. Only the client that made a subscription sees or touches it; to any
other, even of its own agency, it does not exist (404)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from jinguo_shared.direct_reads import read_stream
from jinguo_shared.feed import POSITION_PATTERN, Feed
from jinguo_shared.http.conventions import (
    Cursor,
    Limit,
    Page,
    decode_cursor,
    encode_cursor,
    require_scope,
    seq_after,
)
from jinguo_shared.http.security import Caller
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.webhooks.addresses import AddressPolicy, AddressRefusedError
from jinguo_shared.webhooks.subscriptions import (
    Attempt,
    Subscription,
    Subscriptions,
)

REPLAY_READ = 1000


EventTypeName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class WebhookRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://partner.example.org/jinguo/events",
                    "types": ["WorkerRegistered", "HomeVisitRecorded"],
                    "area": "110101",
                }
            ]
        }
    )

    url: str = Field(max_length=2000)
    types: list[EventTypeName] | None = Field(
        default=None,
        max_length=100,
        description="event types to deliver (e.g. WorkerRegistered or its CloudEvents type);"
        " none: every type the feed publishes",
    )
    area: str | None = Field(
        default=None, pattern=r"^\d{2,12}$", description="an area code within your jurisdiction"
    )


class Webhook(BaseModel):
    id: str
    url: str
    types: list[str] | None
    area: str | None
    status: Literal["active", "paused"]
    paused_reason: str | None = Field(description="why deliveries stopped, while paused")
    pending: int = Field(description="events waiting to be delivered")
    created_at: datetime


class CreatedWebhook(Webhook):
    secret: str = Field(
        description="the signing secret (`whsec_…`), shown this once: verify each delivery's"
        " `webhook-signature` with it (Standard Webhooks 1.0)"
    )


class DeliveryAttempt(BaseModel):
    event_id: str
    position: str
    attempted_at: datetime
    status_code: int | None = Field(description="the receiver's answer; none if there was none")
    error: str | None = Field(description="why the attempt failed; none after a 2xx")
    duration_ms: float


class Redelivery(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"event_id": "0b7c2f4e-5d1a-5c3b-9e8f-2a6d4c1b7e90"}]}
    )

    event_id: str = Field(min_length=1, max_length=64)


class Replay(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"after": "REGISTRY:0"}]})

    after: str = Field(
        pattern=POSITION_PATTERN,
        description="deliver again every matching event after this position (REGISTRY:0:"
        " from the beginning)",
    )


class Queued(BaseModel):
    queued: int = Field(description="events queued for delivery, in order")


SubscriptionId = Annotated[str, Path(min_length=36, max_length=36)]


def webhooks_router(runtime: ServiceRuntime, feed: Feed, subscriptions: Subscriptions) -> APIRouter:
    reader = Depends(require_scope(f"{runtime.name}:read"))
    policy = AddressPolicy.of(runtime.settings)
    router = APIRouter(prefix="/webhooks", tags=["webhooks"])

    async def owned(subscription_id: str, caller: Caller) -> Subscription:
        subscription = await subscriptions.owned(subscription_id, caller.client_id)
        if subscription is None:
            raise HTTPException(404, f"webhook {subscription_id} does not exist")
        return subscription

    async def shown(subscription: Subscription) -> Webhook:
        return Webhook(
            id=subscription.id,
            url=subscription.url,
            types=None if subscription.types is None else sorted(subscription.types),
            area=subscription.area,
            status="paused" if subscription.paused_reason else "active",
            paused_reason=subscription.paused_reason,
            pending=await subscriptions.pending_count(subscription.id),
            created_at=datetime.fromtimestamp(subscription.created_at, UTC),
        )

    @router.post(
        "",
        status_code=201,
        summary="Subscribe a URL to this service's events, as you would read them in its feed",
    )
    async def create_webhook(request: WebhookRequest, caller: Caller = reader) -> CreatedWebhook:
        try:
            await policy.resolve(policy.target(request.url))
        except AddressRefusedError as refused:
            raise HTTPException(422, f"cannot deliver to this URL: {refused}") from None
        types = None if request.types is None else feed.event_types(",".join(request.types))
        area = None if request.area is None else caller.area(request.area)
        subscription, secret = await subscriptions.create(
            caller.client_id, request.url, types, area, await feed.tail.last()
        )
        return CreatedWebhook(**(await shown(subscription)).model_dump(), secret=secret)

    @router.get("", summary="Your webhook subscriptions on this service")
    async def list_webhooks(
        caller: Caller = reader, cursor: Cursor = None, limit: Limit = 50
    ) -> Page[Webhook]:
        after = "" if cursor is None else str(decode_cursor(cursor)[0])
        found = await subscriptions.of_client(caller.client_id, after, limit)
        items = [await shown(s) for s in found]
        next_cursor = encode_cursor([found[-1].id]) if len(found) == limit else None
        return Page[Webhook](items=items, next_cursor=next_cursor)

    @router.get("/{subscription_id}", summary="One of your webhook subscriptions")
    async def get_webhook(subscription_id: SubscriptionId, caller: Caller = reader) -> Webhook:
        return await shown(await owned(subscription_id, caller))

    @router.delete(
        "/{subscription_id}",
        status_code=204,
        response_class=Response,
        summary="Stop and forget a webhook subscription: its secret, outbox and log",
    )
    async def delete_webhook(subscription_id: SubscriptionId, caller: Caller = reader) -> None:
        await owned(subscription_id, caller)
        await subscriptions.delete(subscription_id)

    @router.post("/{subscription_id}/resume", summary="Deliver again to a paused subscription")
    async def resume_webhook(subscription_id: SubscriptionId, caller: Caller = reader) -> Webhook:
        await owned(subscription_id, caller)
        await subscriptions.resume(subscription_id)
        return await shown(await owned(subscription_id, caller))

    @router.get(
        "/{subscription_id}/deliveries",
        summary="Every delivery attempt of a subscription, oldest first",
    )
    async def list_webhook_deliveries(
        subscription_id: SubscriptionId,
        caller: Caller = reader,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[DeliveryAttempt]:
        await owned(subscription_id, caller)
        found = await subscriptions.attempts(subscription_id, seq_after(cursor) or 0, limit)
        items = [_attempt(a) for a in found]
        next_cursor = encode_cursor([found[-1].id]) if len(found) == limit else None
        return Page[DeliveryAttempt](items=items, next_cursor=next_cursor)

    @router.post(
        "/{subscription_id}/redeliver",
        status_code=202,
        summary="Deliver one event again (one this subscription was sent or is to be sent)",
    )
    async def redeliver_webhook_event(
        subscription_id: SubscriptionId, request: Redelivery, caller: Caller = reader
    ) -> Queued:
        await owned(subscription_id, caller)
        seq = await subscriptions.sequence_of(subscription_id, request.event_id)
        if seq is None:
            raise HTTPException(404, f"event {request.event_id} was never queued for this webhook")
        await subscriptions.enqueue([(subscription_id, seq, request.event_id)], again=True)
        return Queued(queued=1)

    @router.post(
        "/{subscription_id}/replay",
        status_code=202,
        summary="Deliver again every matching event after a position (0: the whole history)",
    )
    async def replay_webhook(
        subscription_id: SubscriptionId, request: Replay, caller: Caller = reader
    ) -> Queued:
        subscription = await owned(subscription_id, caller)
        start = feed.sequence(request.after) + 1
        end = await feed.tail.last()
        queued = 0
        while start <= end:
            messages, _ = await read_stream(runtime.nc, feed.stream, start, REPLAY_READ, None)
            if not messages:
                break
            envelopes = [(m, orjson.loads(m.data)) for m in messages if m.seq <= end]
            rows = [
                (subscription_id, m.seq, envelope["id"])
                for m, envelope in envelopes
                if subscription.wants(feed, m.subject, envelope)
            ]
            await subscriptions.enqueue(rows, again=True)
            queued += len(rows)
            start = messages[-1].seq + 1
        return Queued(queued=queued)

    return router


def _attempt(attempt: Attempt) -> DeliveryAttempt:
    return DeliveryAttempt(
        event_id=attempt.event_id,
        position=attempt.position,
        attempted_at=datetime.fromtimestamp(attempt.attempted_at, UTC),
        status_code=attempt.status_code,
        error=attempt.error,
        duration_ms=round(attempt.duration_ms, 1),
    )
