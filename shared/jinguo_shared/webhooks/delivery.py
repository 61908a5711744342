"""Delivering webhooks, in the projector role only: nothing here runs in a request.

One durable consumer on the stream the service publishes puts every event a subscription asks
for into that subscription's outbox, and is acknowledged once they are committed: a restart
loses nothing. Then one sender per subscription delivers its outbox in stream order (so in order
per aggregate), each event as its owner would read it in the feed at that moment (its scope,
jurisdiction and grants now; each personal-data disclosure recorded), signed (Standard Webhooks
1.0), at least once: an event is done only after a 2xx, and a process stopped mid-delivery sends
it again (receivers dedupe on `webhook-id`). A failure is tried again after a pause doubling
from `webhook_retry_first_seconds` up to `webhook_retry_max_seconds`; an event failing for
`webhook_give_up_seconds` pauses its subscription with the reason, for its owner to resume.
Senders share a bounded number of connections in flight and each waits only for its own
receiver: a slow or failing one delays nobody else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
import nats.errors
import orjson
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from tenacity import RetryCallState

from jinguo_shared.backoff import last_error, restarting
from jinguo_shared.consumer_names import webhooks_consumer
from jinguo_shared.direct_reads import Stored, read_stream
from jinguo_shared.disclosures import PageDisclosures, record
from jinguo_shared.feed import Feed, FeedQuery, Shown
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.webhooks.addresses import AddressPolicy, AddressRefusedError, IpAddress
from jinguo_shared.webhooks.signing import signed_headers
from jinguo_shared.webhooks.subscriptions import (
    DELIVERED,
    SKIPPED,
    Attempt,
    Queued,
    Subscription,
    Subscriptions,
    event_id,
)

log = logging.getLogger(__name__)

FETCH_BATCH = 500
FETCH_LINGER_SECONDS = 0.1
"""After a batch that was not full, wait this long for more: each fetch costs a subscriptions
read and an ack, which, an event at a time, added ~25% to a command's CPU
(bench/http_commands.py)."""

CONTENT_TYPE = "application/cloudevents+json"
REPLY_READ_LIMIT = 4096
"""Bytes of a receiver's answer read at most (only its status matters)."""
BATCH = 100
SETTLE_EVERY = 20
"""Deliveries recorded together: a process killed outright (not stopped) sends again at most
these, besides the one in flight."""
SUPERVISE_SECONDS = 1.0
"""How often the senders learn of subscriptions made, paused, resumed or deleted elsewhere."""


class Refusal(Exception):
    """A delivery that failed: what the attempt log says of it."""

    def __init__(self, status_code: int | None, error: str) -> None:
        super().__init__(error)
        self.status_code = status_code
        self.error = error


class WebhookDeliveries:
    def __init__(self, runtime: ServiceRuntime, feed: Feed, subscriptions: Subscriptions) -> None:
        settings = runtime.settings
        self._runtime = runtime
        self._feed = feed
        self._subscriptions = subscriptions
        self._policy = AddressPolicy.of(settings)
        self._js = runtime.nc.jetstream()
        self._first_pause = settings.webhook_retry_first_seconds
        self._max_pause = settings.webhook_retry_max_seconds
        self._give_up = settings.webhook_give_up_seconds
        self._timeout = settings.webhook_timeout_seconds
        self._in_flight = asyncio.Semaphore(settings.webhook_concurrency)
        self._http = httpx.AsyncClient(
            timeout=self._timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=settings.webhook_concurrency),
            trust_env=False,
        )
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._follow(), name=f"webhooks:{self._feed.stream}"),
            asyncio.create_task(self._supervise(), name="webhooks:senders"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        tasks = [*self._tasks, *self._senders.values()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        self._tasks.clear()
        self._senders.clear()
        await self._http.aclose()

    # the outboxes, filled from the stream ---------------------------------------------------

    async def _follow(self) -> None:
        def log_failure(attempts: RetryCallState) -> None:
            log.warning(
                "webhooks of %s stopped; restarting",
                self._feed.stream,
                exc_info=last_error(attempts),
            )

        following = restarting(
            first_pause=0.2, stopping=lambda: self._stopping, after_failure=log_failure
        )
        await following(self._consume)

    async def _consume(self) -> None:
        stream = self._feed.stream
        durable = webhooks_consumer(self._runtime.name, stream)
        try:
            await self._js.consumer_info(stream, durable)
        except NotFoundError:
            await self._js.add_consumer(
                stream,
                ConsumerConfig(
                    name=durable,
                    durable_name=durable,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_policy=AckPolicy.ALL,
                    ack_wait=60,
                    max_ack_pending=10_000,
                    max_deliver=-1,
                ),
            )
        subscription = await self._js.pull_subscribe_bind(durable, stream=stream)
        try:
            while not self._stopping:
                try:
                    messages = await subscription.fetch(FETCH_BATCH, timeout=1.0)
                except (nats.errors.TimeoutError, TimeoutError):
                    continue
                if not messages:
                    continue
                woken = await self._enqueue(
                    [(m.metadata.sequence.stream, m.subject, m.data) for m in messages]
                )
                await messages[-1].ack()
                for subscription_id in woken:
                    self._wake.setdefault(subscription_id, asyncio.Event()).set()
                if len(messages) < FETCH_BATCH:
                    await asyncio.sleep(FETCH_LINGER_SECONDS)
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _enqueue(self, messages: Sequence[tuple[int, str, bytes]]) -> set[str]:
        subscriptions = await self._subscriptions.all()
        rows = []
        for seq, subject, data in messages:
            wanting = [
                s for s in subscriptions if seq > s.after_seq and s.wants(self._feed, subject)
            ]
            if wanting:
                rows += [(s.id, seq, event_id(data)) for s in wanting]
        await self._subscriptions.enqueue(rows)
        return {subscription_id for subscription_id, _, _ in rows}

    # the senders ------------------------------------------------------------------------------

    async def _supervise(self) -> None:
        """A sender for each active subscription; none for a paused or deleted one."""
        while not self._stopping:
            try:
                active = {s.id: s for s in await self._subscriptions.all() if not s.paused_reason}
            except Exception:  # the database is away for a moment: ask again
                log.warning("webhooks: cannot read the subscriptions", exc_info=True)
                active = None
            if active is not None:
                for subscription_id, task in list(self._senders.items()):
                    if subscription_id not in active or task.done():
                        task.cancel()
                        del self._senders[subscription_id]
                for subscription_id, subscription in active.items():
                    if subscription_id not in self._senders:
                        self._senders[subscription_id] = asyncio.create_task(
                            self._sender(subscription), name=f"webhook:{subscription_id}"
                        )
                    self._wake.setdefault(subscription_id, asyncio.Event()).set()
            await asyncio.sleep(SUPERVISE_SECONDS)

    async def _sender(self, subscription: Subscription) -> None:
        wake = self._wake.setdefault(subscription.id, asyncio.Event())
        while not self._stopping:
            try:
                pause = await self._send_due(subscription)
            except Exception:  # anything but the receiver: the database, NATS; try again
                log.warning("webhook %s: cannot deliver now", subscription.id, exc_info=True)
                pause = self._first_pause
            if pause is None:
                return
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), pause)

    async def _send_due(self, subscription: Subscription) -> float | None:
        """Deliver what is due, in order, until the outbox is empty or an event fails; returns
        how long to wait before looking again (None: the subscription was paused)."""
        while True:
            queued = await self._subscriptions.queued(subscription.id, BATCH)
            if not queued:
                return SUPERVISE_SECONDS
            wait = queued[0].next_attempt_at - time.time()
            if wait > 0:
                return wait
            caller = await self._runtime.authenticator.client(subscription.client_id)
            if caller is None or f"{self._runtime.name}:read" not in caller.scopes:
                reason = "its API client was revoked or no longer holds the read scope"
                await self._subscriptions.pause(subscription.id, reason)
                return None
            query = FeedQuery(caller, 0, subscription.types, subscription.area, BATCH)
            shown = {s.seq: s for s in await self._feed.visible(query, await self._read(queued))}
            done: list[tuple[int, str]] = []
            attempts: list[Attempt] = []
            secret = await self._subscriptions.secret(subscription.id)
            try:
                for event in queued:
                    visible = shown.get(event.seq)
                    if visible is None:  # not the owner's to see (any more): never sent
                        done.append((event.seq, SKIPPED))
                        continue
                    attempt = await self._attempt(subscription, secret, query, event, visible)
                    attempts.append(attempt)
                    if attempt.error is None:
                        done.append((event.seq, DELIVERED))
                        if len(done) >= SETTLE_EVERY:
                            await self._subscriptions.settle(subscription.id, done, attempts)
                            done, attempts = [], []
                        continue
                    failed = self._failed(event, attempt.attempted_at)
                    await self._subscriptions.settle(subscription.id, done, attempts, failed)
                    done, attempts = [], []
                    return await self._retry_or_pause(subscription, failed, attempt)
            finally:
                # also when stopped: a process stopped sends again only the event in flight
                if done or attempts:
                    await asyncio.shield(
                        self._subscriptions.settle(subscription.id, done, attempts)
                    )

    async def _retry_or_pause(
        self, subscription: Subscription, failed: Queued, attempt: Attempt
    ) -> float | None:
        assert failed.failing_since is not None
        if time.time() - failed.failing_since < self._give_up:
            return failed.next_attempt_at - time.time()
        since = datetime.fromtimestamp(failed.failing_since, UTC)
        await self._subscriptions.pause(
            subscription.id,
            f"{attempt.position} failed {failed.attempts} times since"
            f" {since:%Y-%m-%dT%H:%M:%SZ}; last: {attempt.error}",
        )
        return None

    async def _attempt(
        self,
        subscription: Subscription,
        secret: str,
        query: FeedQuery,
        event: Queued,
        shown: Shown,
    ) -> Attempt:
        """One delivery of one event: its personal data's disclosure recorded first, to the
        address its host resolves to now."""
        started = time.time()
        status: int | None = None
        error = None
        try:
            address = await self._policy.resolve(self._policy.target(subscription.url))
            await self._disclose(shown, query)
            status = await self._post(subscription, address, secret, shown)
        except Refusal as refusal:
            status, error = refusal.status_code, refusal.error
        except AddressRefusedError as refused:
            error = str(refused)
        return Attempt(
            0,
            event.event_id,
            self._feed.position(event.seq),
            started,
            status,
            error,
            (time.time() - started) * 1000,
        )

    def _failed(self, event: Queued, now: float) -> Queued:
        attempts = event.attempts + 1
        pause = min(self._first_pause * 2 ** (attempts - 1), self._max_pause)
        since = event.failing_since if event.failing_since is not None else now
        return Queued(event.seq, event.event_id, attempts, since, now + pause)

    async def _read(self, queued: Sequence[Queued]) -> list[Stored]:
        """The queued events from the stream, in as few reads as their spread allows."""
        wanted = {event.seq for event in queued}
        found: list[Stored] = []
        start = queued[0].seq
        last = queued[-1].seq
        while start <= last:
            messages, _ = await read_stream(
                self._runtime.nc, self._feed.stream, start, min(last - start + 1, 1000), None
            )
            if not messages:
                break
            found += [m for m in messages if m.seq in wanted]
            start = messages[-1].seq + 1
        return found

    async def _disclose(self, shown: Shown, query: FeedQuery) -> None:
        """Record the personal data the event shows its receiver, before it is sent."""
        if shown.personal is None:
            return
        page = PageDisclosures()
        page.disclosed(*shown.personal, shown.event["id"], shown.personal_fields)
        await record(self._runtime.store, query.caller, page, channel="webhook")

    async def _post(
        self, subscription: Subscription, address: IpAddress, secret: str, shown: Shown
    ) -> int:
        """POST the event to the checked address; its status if 2xx, else a `Refusal`."""
        url = httpx.URL(subscription.url)
        body = orjson.dumps(shown.event)
        headers = {
            "content-type": CONTENT_TYPE,
            "host": url.netloc.decode("ascii"),
            "user-agent": "Jinguo-Webhooks/1.0",
            **signed_headers(secret, shown.event["id"], int(time.time()), body),
        }
        request = self._http.build_request(
            "POST",
            url.copy_with(host=str(address)),
            content=body,
            headers=headers,
            extensions={"sni_hostname": url.host} if url.scheme == "https" else {},
        )
        async with self._in_flight:
            try:
                async with asyncio.timeout(self._timeout):
                    response = await self._http.send(request, stream=True)
                    try:
                        read = 0
                        async for chunk in response.aiter_raw():
                            read += len(chunk)
                            if read >= REPLY_READ_LIMIT:
                                break
                    finally:
                        await response.aclose()
            except TimeoutError:
                raise Refusal(None, f"no answer within {self._timeout:g} s") from None
            except httpx.HTTPError as error:
                raise Refusal(None, f"{type(error).__name__}: {error}"[:500]) from None
        if not 200 <= response.status_code < 300:
            raise Refusal(response.status_code, f"answered {response.status_code}")
        return response.status_code
