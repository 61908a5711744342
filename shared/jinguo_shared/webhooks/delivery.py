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
receiver: a slow or failing one delays nobody else. Each delivery is a CONSUMER span, a child of
the event's publication, so it shows in the trace of the request that caused the event.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import nats.errors
import orjson
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry.metrics import Observation
from opentelemetry.trace import Span, StatusCode

from jinguo_shared.backoff import log_restart, restarting
from jinguo_shared.consumer_names import webhooks_consumer
from jinguo_shared.direct_reads import Stored, read_stream
from jinguo_shared.disclosures import PageDisclosures, record
from jinguo_shared.feed import Feed, FeedQuery, Shown, aggregate_key
from jinguo_shared.http.security import Caller
from jinguo_shared.metrics import LiveGauge, webhook_deliveries
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.telemetry import processing_one
from jinguo_shared.webhooks.addresses import AddressPolicy, AddressRefusedError
from jinguo_shared.webhooks.posting import Connections, Destination, PostFailedError, Refusal
from jinguo_shared.webhooks.signing import signed_headers
from jinguo_shared.webhooks.subscriptions import (
    DELIVERED,
    SKIPPED,
    Attempt,
    Queued,
    Settling,
    Subscription,
    Subscriptions,
)

log = logging.getLogger(__name__)

FETCH_BATCH = 500
FETCH_LINGER_SECONDS = 0.1
"""After a batch that was not full, wait this long for more: each fetch costs a subscriptions
read and an ack, which, an event at a time, added ~25% to a command's CPU
(bench/http_commands.py)."""

HEADERS = b"content-type: application/cloudevents+json\r\nuser-agent: Jinguo-Webhooks/1.0\r\n"
BATCH = 100
RECENT = 10_000
"""Events kept in memory as they are taken into the outboxes, for the senders to read."""
SETTLE_EVERY = 20
"""Deliveries recorded together: a process killed outright (not stopped) sends again at most
these, besides those in flight."""
SUPERVISE_SECONDS = 1.0
"""How often the senders learn of subscriptions made, paused, resumed or deleted elsewhere."""


def traced(span: Span, attempt: Attempt) -> None:
    """What the receiver answered, on the delivery's span."""
    if attempt.status_code is not None:
        span.set_attribute("http.response.status_code", attempt.status_code)
    if attempt.error is not None:
        span.set_status(StatusCode.ERROR, attempt.error)


class _DeliveryGauges:
    def __init__(self) -> None:
        self.lag: LiveGauge[WebhookDeliveries] = LiveGauge(
            "jinguo.webhook.lag",
            "s",
            "how long ago the oldest event a subscription has yet to deliver was recorded",
            lambda deliveries: deliveries._observe_lag(),
        )
        self.paused: LiveGauge[WebhookDeliveries] = LiveGauge(
            "jinguo.webhook.paused",
            "1",
            "1 for a subscription paused after failing, until its owner resumes it",
            lambda deliveries: deliveries._observe_paused(),
        )

    def add(self, deliveries: WebhookDeliveries) -> None:
        self.lag.add(deliveries)
        self.paused.add(deliveries)


DELIVERY_GAUGES = _DeliveryGauges()


class WebhookDeliveries:
    """Runs while this process holds the service's projector lease (`ProjectionHost`): one
    process delivers, however many projector replicas there are."""

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
        self._per_subscription = settings.webhook_subscription_concurrency
        self._in_flight = asyncio.Semaphore(settings.webhook_concurrency)
        self._connections = Connections(settings.webhook_timeout_seconds)
        self._recent: dict[int, Stored] = {}
        """The events the outboxes last took in, as every subscription's sender reads them."""
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._subscribed: dict[str, Subscription] = {}
        """Every subscription, as the senders' supervisor last read them."""
        self._oldest: dict[str, tuple[int, float] | None] = {}
        """By subscription, the sequence and recording time of the oldest event it has yet to
        deliver (None: none), as its sender last saw its outbox."""
        self._consumer = webhooks_consumer(runtime.name, feed.stream)
        self._outcomes = {
            outcome: {"service": runtime.name, "outcome": outcome}
            for outcome in (DELIVERED, SKIPPED, "failed")
        }
        DELIVERY_GAUGES.add(self)

    def _labels(self, subscription: Subscription) -> dict[str, str]:
        return {
            "service": self._runtime.name,
            "subscription": subscription.id,
            "client": subscription.client_id,
        }

    def _observe_lag(self) -> Iterable[Observation]:
        now = time.time()
        for subscription_id, oldest in list(self._oldest.items()):
            subscription = self._subscribed.get(subscription_id)
            if subscription is not None:
                behind = 0.0 if oldest is None else max(0.0, now - oldest[1])
                yield Observation(behind, self._labels(subscription))

    def _observe_paused(self) -> Iterable[Observation]:
        for subscription in list(self._subscribed.values()):
            yield Observation(
                int(subscription.paused_reason is not None), self._labels(subscription)
            )

    def start(self) -> None:
        self._stopping = False
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
        self._subscribed.clear()  # another process delivers now, and reports them
        self._oldest.clear()
        await self._connections.close()

    # the outboxes, filled from the stream ---------------------------------------------------

    async def _follow(self) -> None:
        following = restarting(
            first_pause=0.2,
            stopping=lambda: self._stopping,
            after_failure=log_restart(log, f"webhooks of {self._feed.stream}"),
        )
        await following(self._consume)

    async def _consume(self) -> None:
        stream = self._feed.stream
        durable = self._consumer
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
        if not subscriptions:
            return set()
        rows = []
        for seq, subject, data in messages:
            self._remember(Stored(seq, subject, data))
            envelope = orjson.loads(data)
            rows += [
                (s.id, seq, envelope["id"])
                for s in subscriptions
                if seq > s.after_seq and s.wants(self._feed, subject, envelope)
            ]
        await self._subscriptions.enqueue(rows)
        return {subscription_id for subscription_id, _, _ in rows}

    # the senders ------------------------------------------------------------------------------

    async def _supervise(self) -> None:
        """A sender for each active subscription; none for a paused or deleted one."""
        while not self._stopping:
            try:
                self._subscribed = {s.id: s for s in await self._subscriptions.all()}
                active = {i: s for i, s in self._subscribed.items() if not s.paused_reason}
                for paused in self._subscribed.keys() - active.keys():
                    # no sender looks at its outbox; its oldest event stays while it is paused,
                    # but an empty one may fill
                    if self._oldest.get(paused) is None:
                        await self._note_oldest(paused, await self._subscriptions.queued(paused, 1))
            except Exception:  # the database is away for a moment: ask again
                log.warning("webhooks: cannot read the subscriptions", exc_info=True)
                active = None
            if active is not None:
                for gone in self._oldest.keys() - self._subscribed.keys():
                    del self._oldest[gone]
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
        """Deliver what is due, until the outbox is empty or an event fails; returns how long to
        wait before looking again (None: the subscription was paused)."""
        while True:
            queued = await self._subscriptions.queued(subscription.id, BATCH)
            await self._note_oldest(subscription.id, queued)
            now = time.time()
            due = []  # up to the first event not due again yet: what follows waits for it
            for event in queued:
                if event.next_attempt_at > now:
                    break
                due.append(event)
            if not due:
                return queued[0].next_attempt_at - now if queued else SUPERVISE_SECONDS
            caller = await self._runtime.authenticator.client(subscription.client_id)
            if caller is None or f"{self._runtime.name}:read" not in caller.scopes:
                reason = "its API client was revoked or no longer holds the read scope"
                await self._subscriptions.pause(subscription.id, reason)
                return None
            failures = await self._send_batch(subscription, caller, due)
            if failures:
                return await self._retry_or_pause(subscription, *failures[0])

    async def _note_oldest(self, subscription_id: str, queued: list[Queued]) -> None:
        if not queued:
            self._oldest[subscription_id] = None
            return
        seq = queued[0].seq
        known = self._oldest.get(subscription_id)
        if known is not None and known[0] == seq:
            return
        found = await self._read(queued[:1])
        recorded = (
            datetime.fromisoformat(orjson.loads(found[0].data)["time"]).timestamp()
            if found
            else time.time()  # gone from the stream (its retention): counted from now
        )
        self._oldest[subscription_id] = (seq, recorded)

    async def _send_batch(
        self, subscription: Subscription, caller: Caller, due: list[Queued]
    ) -> list[tuple[Queued, Attempt]]:
        """Events of different aggregates go out side by side, each aggregate's one after
        another in stream order, stopping at its first failure; the failures, by sequence."""
        query = FeedQuery(caller, 0, subscription.types, subscription.area, BATCH)
        stored = await self._read(due)
        shown = {s.seq: s for s in await self._feed.visible(query, stored)}
        subjects = {message.seq: message.subject for message in stored}
        chains: defaultdict[tuple[str, str], list[Queued]] = defaultdict(list)
        for event in due:
            chains[aggregate_key(subjects.get(event.seq, "?.?.?.?"))].append(event)
        secret = await self._subscriptions.secret(subscription.id)
        try:
            destination: Destination | AddressRefusedError = await self._destination(
                subscription.url
            )
        except AddressRefusedError as refused:
            destination = refused
        outcome = Settling(self._subscriptions, subscription.id, SETTLE_EVERY)
        waiting = deque(chains.values())

        async def send() -> None:
            while waiting:
                for event in waiting.popleft():
                    visible = shown.get(event.seq)
                    if visible is None:  # not the owner's to see (any more): never sent
                        webhook_deliveries.add(1, self._outcomes[SKIPPED])
                        await outcome.done(event.seq, SKIPPED)
                        continue
                    with processing_one(
                        subjects[event.seq],
                        event.event_id,
                        self._consumer,
                        visible.traceparent,
                        **{"jinguo.webhook.subscription": subscription.id},
                    ) as span:
                        attempt = await self._attempt(destination, secret, query, event, visible)
                        traced(span, attempt)
                    if attempt.error is not None:
                        webhook_deliveries.add(1, self._outcomes["failed"])
                        outcome.failed(self._failed(event, attempt.attempted_at), attempt)
                        break
                    webhook_deliveries.add(1, self._outcomes[DELIVERED])
                    await outcome.done(event.seq, DELIVERED, attempt)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self._per_subscription, len(waiting))):
                    group.create_task(send())
        finally:
            # also when stopped: a process stopped sends again only the events in flight
            await asyncio.shield(outcome.settle())
        return outcome.failures

    async def _retry_or_pause(
        self, subscription: Subscription, failed: Queued, attempt: Attempt
    ) -> float | None:
        """After a failure, the pause before the outbox is looked at again, or None once the
        earliest failing event has failed for `webhook_give_up_seconds` (then the subscription
        is paused, with the reason)."""
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

    async def _destination(self, url: str) -> Destination:
        """Where a batch goes: the address its host resolves to now, once it is permitted."""
        return Destination.to(url, await self._policy.resolve(self._policy.target(url)))

    async def _attempt(
        self,
        destination: Destination | AddressRefusedError,
        secret: str,
        query: FeedQuery,
        event: Queued,
        shown: Shown,
    ) -> Attempt:
        """One delivery of one event, its personal data's disclosure recorded first."""
        started = time.time()
        status: int | None = None
        error = None
        if isinstance(destination, AddressRefusedError):
            error = str(destination)
        else:
            try:
                await self._disclose(shown, query)
                status = await self._post(destination, secret, shown)
            except Refusal as refusal:
                status, error = refusal.status_code, refusal.error
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

    def _remember(self, message: Stored) -> None:
        self._recent[message.seq] = message
        if len(self._recent) > RECENT:
            for seq in list(itertools.islice(self._recent, RECENT // 10)):
                del self._recent[seq]

    async def _read(self, queued: Sequence[Queued]) -> list[Stored]:
        """The queued events: those just taken in from memory, others from the stream in as
        few reads as their spread allows."""
        found = [self._recent[e.seq] for e in queued if e.seq in self._recent]
        missing = [event.seq for event in queued if event.seq not in self._recent]
        if not missing:
            return found
        wanted = set(missing)
        start, last = missing[0], missing[-1]
        while start <= last:
            messages, _ = await read_stream(
                self._runtime.nc, self._feed.stream, start, min(last - start + 1, 1000), None
            )
            if not messages:
                break
            found += [m for m in messages if m.seq in wanted]
            start = messages[-1].seq + 1
        return sorted(found, key=lambda message: message.seq)

    async def _disclose(self, shown: Shown, query: FeedQuery) -> None:
        """Record the personal data the event shows its receiver, before it is sent."""
        if shown.personal is None:
            return
        page = PageDisclosures()
        page.disclosed(*shown.personal, shown.event["id"], shown.personal_fields)
        await record(self._runtime.store, query.caller, page, channel="webhook")

    async def _post(self, destination: Destination, secret: str, shown: Shown) -> int:
        """POST the event; its status if 2xx, else a `Refusal`."""
        body = orjson.dumps(shown.event)
        signature = signed_headers(secret, shown.event["id"], int(time.time()), body)
        headers = HEADERS + b"".join(
            b"%s: %s\r\n" % (name.encode(), value.encode()) for name, value in signature.items()
        )
        async with self._in_flight:
            try:
                status = await self._connections.post(
                    destination.endpoint, destination.target, headers, body
                )
            except PostFailedError as error:
                raise Refusal(None, str(error)) from None
        if not 200 <= status < 300:
            raise Refusal(status, f"answered {status}")
        return status
