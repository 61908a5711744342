"""Signed webhooks, end to end: the registry's app and its projector role, a real nats-server,
both databases, and real HTTP receivers on 127.0.0.1 (`jinguo_shared.testing.Receiver`, a small
asyncio server each, which records every request and answers as the test says). Signatures are
verified with the Standard Webhooks reference library.

Dongcheng (110101) registers workers in two of its streets; its clerk and a second key of the
same agency subscribe; a street office's key (110101001) subscribes too.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import httpx
import orjson
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from jinguo_registry.bootstrap import RegistryService
from jinguo_registry.domain.validation import make_national_id
from jinguo_shared.db import webhook_subscriptions
from jinguo_shared.feed import NEXT_POSITION
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.settings import Settings
from jinguo_shared.testing import (
    Opener,
    Received,
    Receiver,
    measured,
    publish_agency,
    publisher,
    runtimes,
)
from jinguo_shared.webhooks.addresses import AddressPolicy, AddressRefusedError

EAST_STREET = "110101001001"
EAST_OTHER_STREET = "110101002001"
KEYS = {
    "east": ("110101", {"clerk": ["registry:read", "registry:write"], "other": ["registry:read"]}),
    "street": ("110101001", {"reader": ["registry:read"]}),
}


@dataclass
class Scene:
    http: httpx.AsyncClient
    keys: dict[str, dict[str, str]]
    open_runtime: Opener
    registered: int = 0
    receivers: list[Receiver] = field(default_factory=list)

    def auth(self, agency: str = "east", holder: str = "clerk") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[agency][holder]}"}

    async def receiver(self, **behaviour: Any) -> Receiver:
        receiver = await Receiver(**behaviour).start()
        self.receivers.append(receiver)
        return receiver

    async def subscribe(
        self, url: str, agency: str = "east", holder: str = "clerk", **extra: Any
    ) -> dict[str, Any]:
        answer = await self.http.post(
            "/webhooks", json={"url": url, **extra}, headers=self.auth(agency, holder)
        )
        assert answer.status_code == 201, answer.text
        made: dict[str, Any] = answer.json()
        return made

    async def register(self, area: str = EAST_STREET) -> str:
        self.registered += 1
        number = self.registered
        answer = await self.http.post(
            "/workers",
            json={
                "name": f"李{chr(0x4E00 + number)}",
                "national_id": make_national_id(area[:6], date(1980, 1, number), number, True),
                "phone": f"138{number:08d}",
                "area_code": area,
            },
            headers={**self.auth(), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert answer.status_code == 201, answer.text
        worker_id: str = answer.json()["id"]
        return worker_id

    async def visit(self, worker_id: str) -> None:
        answer = await self.http.post(
            f"/workers/{worker_id}/home-visits",
            json={"visited_on": "2026-01-05", "visitor": "刘芳", "notes": "家访"},
            headers={**self.auth(), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert answer.status_code == 201, answer.text

    async def feed_after(self, after: str, agency: str = "east", holder: str = "clerk") -> Any:
        answer = await self.http.get(
            "/feed", params={"after": after, "limit": 1000}, headers=self.auth(agency, holder)
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def end(self) -> str:
        answer = await self.http.get("/feed", params={"limit": 1000}, headers=self.auth())
        position: str = answer.headers[NEXT_POSITION]
        while True:
            more = await self.http.get(
                "/feed", params={"limit": 1000, "after": position}, headers=self.auth()
            )
            if more.json() == []:
                return position
            position = more.headers[NEXT_POSITION]

    async def deliveries(self, subscription_id: str) -> list[dict[str, Any]]:
        answer = await self.http.get(
            f"/webhooks/{subscription_id}/deliveries", params={"limit": 200}, headers=self.auth()
        )
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items


def app_client(runtime: ServiceRuntime) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=RegistryService().create_app(runtime))
    return httpx.AsyncClient(transport=transport, base_url="http://jinguo")


@pytest.fixture
def webhook_env(jinguo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Development's loopback allowance, and back-off in tenths of seconds rather than hours."""
    env = {
        **jinguo_env,
        "JINGUO_WEBHOOK_ALLOW_HTTP_LOOPBACK": "true",
        "JINGUO_WEBHOOK_RETRY_FIRST_SECONDS": "0.2",
        "JINGUO_WEBHOOK_RETRY_MAX_SECONDS": "0.4",
        "JINGUO_WEBHOOK_GIVE_UP_SECONDS": "60",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
async def scene(webhook_env: dict[str, str], outside: Any) -> AsyncIterator[Scene]:
    async with runtimes(RegistryService(), webhook_env["JINGUO_NATS_URL"]) as opener:
        registry = await opener()
        store = await publisher(outside, "registry")
        keys = {}
        for agency, (area, clients) in KEYS.items():
            published = await publish_agency(
                store,
                name=agency,
                area=area,
                clients={holder: (scopes, None) for holder, scopes in clients.items()},
            )
            keys[agency] = published.keys
        await registry.projections.wait_for(published.position, ["api_clients"], 15)
        async with app_client(registry) as http:
            made = Scene(http, keys, opener)
            yield made
            for receiver in made.receivers:
                await receiver.stop()


def verified(secret: str, received: Received) -> Any:
    """The event, once the reference library accepts its signature."""
    return Webhook(secret).verify(received.body, received.headers)


def in_order_per_aggregate(events: list[Any]) -> dict[str, list[int]]:
    """Each aggregate's positions as received (first receipt of each event)."""
    seen: set[str] = set()
    positions: dict[str, list[int]] = {}
    for event in events:
        if event["id"] in seen:
            continue
        seen.add(event["id"])
        positions.setdefault(event["subject"], []).append(
            int(event["jinguoposition"].split(":")[1])
        )
    return positions


async def test_a_receiver_down_for_a_while_then_up_gets_everything_in_order(
    scene: Scene,
) -> None:
    down = await Receiver().start()
    port = down.port
    await down.stop()  # nothing listens on the port: connections are refused
    start = await scene.end()
    made = await scene.subscribe(f"http://127.0.0.1:{port}/hook")
    assert made["secret"].startswith("whsec_")
    workers = [await scene.register(), await scene.register(EAST_OTHER_STREET)]
    await scene.visit(workers[0])
    await scene.register()
    expected = await scene.feed_after(start)
    assert len(expected) == 4
    await asyncio.sleep(1.5)
    failures = await scene.deliveries(made["id"])
    assert failures, "it was tried while the receiver was down"
    assert all(f["status_code"] is None and f["error"] for f in failures)
    firsts = {}
    for event in expected:
        firsts.setdefault(event["subject"], event["id"])
    assert len(firsts) < len(expected), "an aggregate with two events, the second waiting"
    assert {f["event_id"] for f in failures} <= set(firsts.values()), (
        "in order per aggregate: each aggregate's later events wait for its first"
    )

    receiver = await scene.receiver(port=port)
    await receiver.until(lambda r: set(expected_ids(expected)) <= set(r.ids()))
    events = [verified(made["secret"], received) for received in receiver.received]
    assert [e["id"] for e in events] == [h.headers["webhook-id"] for h in receiver.received]
    assert sorted(e["id"] for e in events[: len(expected)]) == sorted(expected_ids(expected))
    for positions in in_order_per_aggregate(events).values():
        assert positions == sorted(positions)
    assert {e["id"]: e for e in events} == {e["id"]: e for e in expected}, (
        "exactly what the feed shows this client"
    )
    assert receiver.received[0].headers["content-type"] == "application/cloudevents+json"
    log = await scene.deliveries(made["id"])
    assert [entry["status_code"] for entry in log[-4:]] == [204] * 4
    assert all(entry["error"] for entry in log[:-4]), "every attempt is logged, failed or not"
    listed = await scene.http.get(f"/webhooks/{made['id']}", headers=scene.auth())
    assert listed.json()["pending"] == 0
    assert listed.json()["status"] == "active"


def expected_ids(events: list[Any]) -> list[str]:
    return [e["id"] for e in events]


async def test_a_slow_receiver_delays_no_other_subscription(scene: Scene) -> None:
    slow = await scene.receiver(delay=3.0)
    fast = await scene.receiver()
    await scene.subscribe(slow.url)
    await scene.subscribe(fast.url, holder="other")
    await asyncio.sleep(1.2)  # both senders running
    began = time.monotonic()
    for _ in range(5):
        await scene.register()
    await fast.until(lambda r: len(r.received) >= 5, timeout=10)
    assert time.monotonic() - began < 2.5, "the fast receiver waited for the slow one"
    assert len(slow.received) <= 1


async def test_a_receiver_answering_500_then_200_gets_the_event_again(scene: Scene) -> None:
    answers = iter([500, 500])
    receiver = await scene.receiver(answer=lambda _: next(answers, 200))
    made = await scene.subscribe(receiver.url)
    await scene.register()
    await receiver.until(lambda r: len(r.received) >= 3)
    ids = receiver.ids()
    assert ids[0] == ids[1] == ids[2], "the same webhook-id: the receiver dedupes"
    timestamps = [int(r.headers["webhook-timestamp"]) for r in receiver.received]
    assert abs(timestamps[-1] - time.time()) < 5
    for received in receiver.received:
        verified(made["secret"], received)
    log = await scene.deliveries(made["id"])
    assert [e["status_code"] for e in log[:3]] == [500, 500, 200]
    assert log[0]["error"] == "answered 500"
    assert log[2]["error"] is None
    assert log[2]["position"].startswith("REGISTRY:")


async def test_a_redirect_is_a_failure_and_never_followed(scene: Scene) -> None:
    target = await scene.receiver()
    redirecting = await scene.receiver(answer=lambda _: 307)
    made = await scene.subscribe(redirecting.url)
    await scene.register()
    await redirecting.until(lambda r: len(r.received) >= 2)
    assert target.received == []
    log = await scene.deliveries(made["id"])
    assert {e["status_code"] for e in log} == {307}


async def test_a_subscription_failing_too_long_is_paused_with_its_reason_then_resumed(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = {"on": True}
    receiver = await scene.receiver(answer=lambda _: 503 if failing["on"] else 200)
    made = await scene.subscribe(receiver.url)
    deliveries = scene_deliveries(scene)
    monkeypatch.setattr(deliveries, "_give_up", 0.5)
    await scene.register()
    deadline = time.monotonic() + 15
    while (shown := await get_webhook(scene, made["id"]))["status"] != "paused":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert "answered 503" in shown["paused_reason"]
    assert shown["pending"] == 1
    tried = len(receiver.received)
    await asyncio.sleep(1.5)
    assert len(receiver.received) == tried, "a paused subscription is not delivered to"
    failing["on"] = False
    resumed = await scene.http.post(f"/webhooks/{made['id']}/resume", headers=scene.auth())
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "active"
    await receiver.until(lambda r: len(r.received) == tried + 1)
    deadline = time.monotonic() + 15  # the receiver has it before the outbox hears its answer
    while (await get_webhook(scene, made["id"]))["pending"] != 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)


async def test_an_operator_sees_a_subscription_fall_behind_pause_and_catch_up(
    scene: Scene, monkeypatch: pytest.MonkeyPatch, metric_reader: InMemoryMetricReader
) -> None:
    failing = {"on": True}
    receiver = await scene.receiver(answer=lambda _: 503 if failing["on"] else 200)
    made = await scene.subscribe(receiver.url)
    monkeypatch.setattr(scene_deliveries(scene), "_give_up", 1.0)

    def gauge(name: str) -> list[float]:
        return [
            value
            for labels, value in measured(metric_reader, name)
            if labels.get("subscription") == made["id"]
        ]

    def sent(outcome: str) -> float:
        wanted = {"service": "registry", "outcome": outcome}
        return sum(
            v
            for labels, v in measured(metric_reader, "jinguo.webhook.deliveries")
            if labels == wanted
        )

    async def until(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 15
        while not condition():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)

    failed, delivered = sent("failed"), sent("delivered")
    await scene.register()
    await until(lambda: gauge("jinguo.webhook.paused") == [1])
    assert sent("failed") > failed
    [behind] = gauge("jinguo.webhook.lag")
    await asyncio.sleep(0.3)
    [later] = gauge("jinguo.webhook.lag")
    assert 1.0 <= behind < later, "a paused subscription falls further behind"
    deliveries = scene_deliveries(scene)
    await deliveries.stop()  # as a projector restarting, or another one taking over
    assert gauge("jinguo.webhook.lag") == []
    deliveries.start()
    await until(lambda: gauge("jinguo.webhook.lag") != [])
    [after_restart] = gauge("jinguo.webhook.lag")
    assert after_restart > later, "still behind, though no sender looks at its outbox"

    failing["on"] = False
    resumed = await scene.http.post(f"/webhooks/{made['id']}/resume", headers=scene.auth())
    assert resumed.status_code == 200
    await until(
        lambda: gauge("jinguo.webhook.lag") == [0] and gauge("jinguo.webhook.paused") == [0]
    )
    assert sent("delivered") == delivered + 1


async def test_a_delivery_continues_the_trace_of_the_request_that_caused_its_event(
    scene: Scene, sdk_tracer_provider: TracerProvider
) -> None:
    spans = InMemorySpanExporter()
    processor = SimpleSpanProcessor(spans)
    sdk_tracer_provider.add_span_processor(processor)
    try:
        receiver = await scene.receiver()
        made = await scene.subscribe(receiver.url)
        scene.http.headers["traceparent"] = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"
        try:
            await scene.register()
        finally:
            del scene.http.headers["traceparent"]
        await receiver.until(lambda r: len(r.received) == 1)
        event_id = receiver.received[0].headers["webhook-id"]
        deadline = time.monotonic() + 5  # the span ends just after the receiver answers
        while not (delivered := [s for s in spans.get_finished_spans() if is_delivery(s)]):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        processor.shutdown()

    [delivery] = delivered
    [published] = [
        s
        for s in spans.get_finished_spans()
        if s.kind == SpanKind.PRODUCER and (s.attributes or {})["messaging.message.id"] == event_id
    ]
    assert delivery.kind == SpanKind.CONSUMER
    assert delivery.context.trace_id == published.context.trace_id == int(CALLER_TRACE, 16)
    assert delivery.parent is not None
    assert delivery.parent.span_id == published.context.span_id
    assert dict(delivery.attributes or {}) == dict(delivery.attributes or {}) | {
        "messaging.system": "nats",
        "messaging.operation.type": "process",
        "messaging.message.id": event_id,
        "messaging.consumer.group.name": "registry_webhooks_registry",
        "jinguo.webhook.subscription": made["id"],
        "http.response.status_code": 204,
    }


CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def is_delivery(span: ReadableSpan) -> bool:
    return "jinguo.webhook.subscription" in (span.attributes or {})


def scene_deliveries(scene: Scene) -> Any:
    app = scene.http._transport.app  # type: ignore[attr-defined]
    return app.state.runtime.deliveries


async def get_webhook(scene: Scene, subscription_id: str, **auth: str) -> Any:
    answer = await scene.http.get(f"/webhooks/{subscription_id}", headers=scene.auth(**auth))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_the_projector_stopped_mid_delivery_and_started_again_loses_nothing(
    scene: Scene,
) -> None:
    receiver = await scene.receiver(delay=0.3)
    made = await scene.subscribe(receiver.url)
    start = await scene.end()
    workers = [await scene.register() for _ in range(12)]
    for worker in workers[:4]:
        await scene.visit(worker)
    expected = expected_ids(await scene.feed_after(start))
    await receiver.until(lambda r: len(r.received) >= 2)
    app = scene.http._transport.app  # type: ignore[attr-defined]
    in_flight = app.state.runtime.settings.webhook_subscription_concurrency
    await app.state.runtime.close()  # mid-delivery: those in flight are not marked done
    during = len(receiver.received)
    assert during < len(expected)
    api = await scene.open_runtime("api")  # no projector runs meanwhile
    async with app_client(api) as http:
        await replace(scene, http=http).register()
        expected += [e["id"] for e in await replace(scene, http=http).feed_after(start)][
            len(expected) :
        ]
    again = await scene.open_runtime("projector")
    async with app_client(again):
        await receiver.until(lambda r: set(expected) <= set(r.ids()), timeout=30)
    ids = receiver.ids()
    first_receipts = list(dict.fromkeys(ids))
    assert sorted(first_receipts) == sorted(expected), "each at least once"
    assert len(ids) - len(first_receipts) <= in_flight, "at most those in flight twice"
    events = [verified(made["secret"], received) for received in receiver.received]
    for positions in in_order_per_aggregate(events).values():
        assert positions == sorted(positions)


async def test_two_projector_replicas_deliver_each_event_once_and_a_standby_takes_over(
    scene: Scene,
) -> None:
    standby = await scene.open_runtime("projector")
    assert not standby.projections.leading
    receiver = await scene.receiver(delay=0.2)
    await scene.subscribe(receiver.url)
    start = await scene.end()
    async with app_client(standby) as standby_http:
        assert standby.deliveries is not None, "ready to deliver once it holds the lease"
        worker = await scene.register()
        for _ in range(6):  # one aggregate's events, sent one after another for over a second
            await scene.visit(worker)
        expected = expected_ids(await scene.feed_after(start))
        await receiver.until(lambda r: set(expected) <= set(r.ids()))
        await asyncio.sleep(1.5)  # what a second sender would have sent by now
        assert sorted(receiver.ids()) == sorted(expected), "only the lease holder delivers"

        app = scene.http._transport.app  # type: ignore[attr-defined]
        await app.state.runtime.close()
        for _ in range(100):  # the standby tries the lease every lease_check_seconds
            if standby.projections.leading:
                break
            await asyncio.sleep(0.1)
        assert standby.projections.leading
        later = replace(scene, http=standby_http)
        await later.register()
        expected = expected_ids(await later.feed_after(start))
        await receiver.until(lambda r: set(expected) <= set(r.ids()))
        await asyncio.sleep(1.0)
        assert sorted(receiver.ids()) == sorted(expected), "nothing sent twice on take-over"


async def test_a_replay_from_position_0_delivers_the_whole_history_again(scene: Scene) -> None:
    before = [await scene.register(), await scene.register(EAST_OTHER_STREET)]
    receiver = await scene.receiver()
    made = await scene.subscribe(receiver.url, types=["WorkerRegistered"])
    await scene.register()
    await receiver.until(lambda r: len(r.received) == 1)
    replay = await scene.http.post(
        f"/webhooks/{made['id']}/replay", json={"after": "REGISTRY:0"}, headers=scene.auth()
    )
    assert replay.status_code == 202, replay.text
    assert replay.json() == {"queued": 3}
    await receiver.until(lambda r: len(r.received) == 4)
    replayed = [verified(made["secret"], r) for r in receiver.received[1:]]
    assert [e["subject"].split("/")[1] for e in replayed][:2] == before
    assert {e["type"] for e in replayed} == {"org.jinguo.registry.WorkerRegistered.v1"}
    redeliver = await scene.http.post(
        f"/webhooks/{made['id']}/redeliver",
        json={"event_id": replayed[0]["id"]},
        headers=scene.auth(),
    )
    assert redeliver.status_code == 202
    await receiver.until(lambda r: len(r.received) == 5)
    assert receiver.ids()[-1] == replayed[0]["id"]
    unknown = await scene.http.post(
        f"/webhooks/{made['id']}/redeliver",
        json={"event_id": str(uuid.uuid4())},
        headers=scene.auth(),
    )
    assert unknown.status_code == 404
    foreign = await scene.http.post(
        f"/webhooks/{made['id']}/replay", json={"after": "RIGHTS:0"}, headers=scene.auth()
    )
    assert foreign.status_code == 400


async def test_a_street_office_receives_only_its_jurisdiction(scene: Scene) -> None:
    receiver = await scene.receiver()
    made = await scene.subscribe(receiver.url, agency="street", holder="reader")
    inside = await scene.register(EAST_STREET)
    await scene.register(EAST_OTHER_STREET)
    await scene.visit(inside)
    outside_area = await scene.http.post(
        "/webhooks",
        json={"url": receiver.url, "area": "110102"},
        headers=scene.auth("street", "reader"),
    )
    assert outside_area.status_code == 403
    await receiver.until(lambda r: len(r.received) == 2)
    await asyncio.sleep(1.0)
    events = [verified(made["secret"], r) for r in receiver.received]
    assert {e["subject"] for e in events} == {f"worker/{inside}"}
    assert all("name" not in e["data"] for e in events), "no personal field without a grant"


async def test_a_subscription_to_an_area_receives_only_that_area(scene: Scene) -> None:
    receiver = await scene.receiver()
    made = await scene.subscribe(receiver.url, area=EAST_STREET)
    inside = await scene.register(EAST_STREET)
    outside = await scene.register(EAST_OTHER_STREET)
    await scene.visit(outside)  # names no area: its worker's decides, when it is sent
    await scene.visit(inside)
    await receiver.until(lambda r: len(r.received) == 2)
    await asyncio.sleep(1.0)
    events = [verified(made["secret"], r) for r in receiver.received]
    assert {e["subject"] for e in events} == {f"worker/{inside}"}
    logged = await scene.deliveries(made["id"])
    assert {entry["event_id"] for entry in logged} == {e["id"] for e in events}


async def test_another_client_cannot_see_or_touch_a_subscription(scene: Scene) -> None:
    receiver = await scene.receiver()
    made = await scene.subscribe(receiver.url)
    path = f"/webhooks/{made['id']}"
    other = scene.auth("east", "other")
    assert (await scene.http.get("/webhooks", headers=other)).json()["items"] == []
    for method, suffix, body in [
        ("GET", "", None),
        ("DELETE", "", None),
        ("GET", "/deliveries", None),
        ("POST", "/resume", None),
        ("POST", "/replay", {"after": "REGISTRY:0"}),
        ("POST", "/redeliver", {"event_id": "x"}),
    ]:
        answer = await scene.http.request(method, path + suffix, json=body, headers=other)
        assert answer.status_code == 404, (method, suffix, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    street = await scene.http.get(path, headers=scene.auth("street", "reader"))
    assert street.status_code == 404
    assert (await scene.http.get(path, headers=scene.auth())).status_code == 200
    gone = await scene.http.delete(path, headers=scene.auth())
    assert gone.status_code == 204
    assert (await scene.http.get(path, headers=scene.auth())).status_code == 404
    assert (await scene.http.get("/webhooks", headers=scene.auth())).json()["items"] == []


async def test_the_secret_never_appears_in_logs_answers_or_the_database(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    failing = await scene.receiver(answer=lambda _: 500)
    made = await scene.subscribe(failing.url)
    secret = made["secret"]
    await scene.register()
    await failing.until(lambda r: len(r.received) >= 2)
    listed = await scene.http.get("/webhooks", headers=scene.auth())
    one = await scene.http.get(f"/webhooks/{made['id']}", headers=scene.auth())
    log = await scene.http.get(f"/webhooks/{made['id']}/deliveries", headers=scene.auth())
    for text in (listed.text, one.text, log.text, caplog.text):
        assert secret not in text
        assert secret.removeprefix("whsec_") not in text
    assert "secret" not in one.json()
    app = scene.http._transport.app  # type: ignore[attr-defined]
    async with app.state.runtime.engine.connect() as connection:
        stored = await connection.scalar(select(webhook_subscriptions.c.sealed_secret))
    assert stored.startswith("pii:v1:")
    assert secret.removeprefix("whsec_") not in stored


PUBLIC = "https://93.184.215.14/hook"
"""A public address: nothing is sent to it in these tests."""


async def test_hostile_registrations_are_refused_with_problems(scene: Scene) -> None:
    for body, status in [
        ({"url": "ftp://example.org/x"}, 422),
        ({"url": "http://example.org/hook"}, 422),
        ({"url": "https://user:pw@example.org/hook"}, 422),
        ({"url": "https://10.0.0.1/hook"}, 422),
        ({"url": "https://169.254.169.254/latest/meta-data"}, 422),
        ({"url": "https://[::ffff:10.0.0.1]/hook"}, 422),
        ({"url": "https://[fd00::1]/hook"}, 422),
        ({"url": "https://x" + "y" * 2100 + ".org/"}, 422),
        ({"url": PUBLIC, "types": ["CaseOpened"]}, 422),
        ({"url": PUBLIC, "types": ["ApiClientIssued"]}, 422),
        ({"url": PUBLIC, "types": []}, 422),
        ({"url": PUBLIC, "area": "11x"}, 422),
        ({"url": 7}, 422),
    ]:
        answer = await scene.http.post("/webhooks", json=body, headers=scene.auth())
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    unknown = await scene.http.get(f"/webhooks/{uuid.uuid4()}", headers=scene.auth())
    assert unknown.status_code == 404
    nobody = await scene.http.get("/webhooks")
    assert nobody.status_code == 401


PRODUCTION = AddressPolicy(http_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "http://[::1]/hook",
        "https://localhost/hook",
        "http://127.0.0.1:8000/hook",
        "https://127.0.0.1/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fe80::1]/hook",
        "https://[fc00::5]/hook",
        "https://224.0.0.1/hook",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://240.0.0.1/hook",
    ],
)
async def test_production_refuses_private_loopback_and_link_local_addresses(url: str) -> None:
    with pytest.raises(AddressRefusedError):
        await PRODUCTION.resolve(PRODUCTION.target(url))


async def test_an_operator_may_allow_a_private_network_and_development_the_loopback() -> None:
    allowed = AddressPolicy.of(Settings(webhook_allowed_networks=["10.20.0.0/16"]))
    target = allowed.target("https://10.20.3.4/hook")
    assert str(await allowed.resolve(target)) == "10.20.3.4"
    with pytest.raises(AddressRefusedError):
        await allowed.resolve(allowed.target("https://10.21.0.1/hook"))
    assert str(await PRODUCTION.resolve(PRODUCTION.target("https://93.184.215.14/x"))) == (
        "93.184.215.14"
    )
    development = AddressPolicy(http_loopback=True)
    local = development.target("http://localhost:9000/hook")
    assert str(await development.resolve(local)) in {"127.0.0.1", "::1"}
    with pytest.raises(AddressRefusedError):
        development.target("http://example.org/hook")
    with pytest.raises(AddressRefusedError):
        await development.resolve(development.target("https://10.0.0.1/hook"))
    assert Settings(nats_url=None).webhook_http_loopback()
    assert not Settings(nats_url="nats://nats:4222").webhook_http_loopback()


def test_signatures_verify_with_the_reference_library() -> None:
    from jinguo_shared.webhooks.signing import new_secret, signed_headers

    secret = new_secret()
    body = orjson.dumps({"id": "e1", "data": {"名": "李"}})
    headers = signed_headers(secret, "e1", int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == orjson.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
