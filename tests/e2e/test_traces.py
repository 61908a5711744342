"""One trace from an HTTP request to the commands its events cause in another service, as an
OpenTelemetry collector receives it over OTLP/HTTP (real NATS, both databases, real HTTP
applications; the set-up of test_read_your_writes).

The employment service fills a post: its server span, the command, and a PRODUCER span for
each event published; every projector batch that applies the events links to them; the
registry's reemployment policy handles PostFilled in a CONSUMER span that is the event's child,
so the command it issues, and that command's events, continue the caller's trace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from nats.js import JetStreamContext
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from jinguo_shared.consumer_names import policy_consumer
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.eventstore import read_event
from jinguo_shared.telemetry import otlp_exporting
from jinguo_shared.testing import OtlpCollector

from .test_read_your_writes import System, system  # noqa: F401 (the fixture)

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER_TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def exporting(
    sdk_tracer_provider: TracerProvider,
    otlp_collector: OtlpCollector,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[SpanProcessor]:
    """Spans of this process exported to the collector that OTEL_EXPORTER_OTLP_ENDPOINT names,
    by the processor a `jinguo` process would use."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_collector.url)
    processor = otlp_exporting(os.environ)
    assert processor is not None
    sdk_tracer_provider.add_span_processor(processor)
    yield processor
    processor.shutdown()


class Spans:
    def __init__(self, spans: list[Span]) -> None:
        self.all = spans
        self.by_id = {span.span_id: span for span in spans}

    def of_kind(self, kind: int) -> list[Span]:
        return [span for span in self.all if span.kind == kind]

    def publication(self, event_id: str) -> Span:
        [span] = [
            s
            for s in self.of_kind(Span.SPAN_KIND_PRODUCER)
            if attributes(s).get("messaging.message.id") == event_id
        ]
        return span

    def ancestors(self, span: Span) -> list[Span]:
        found = []
        while span.parent_span_id in self.by_id:
            span = self.by_id[span.parent_span_id]
            found.append(span)
        return found

    def reached_from(self, start: Span) -> set[bytes]:
        """Every span that continues `start`: its descendants, and the spans linked to any of
        them (a consumer's span links to the producer of each event it handles)."""
        reached = {start.span_id}
        grown = True
        while grown:
            grown = False
            for span in self.all:
                if span.span_id in reached:
                    continue
                linked = any(link.span_id in reached for link in span.links)
                if span.parent_span_id in reached or linked:
                    reached.add(span.span_id)
                    grown = True
        return reached


async def post_filled_before(js: JetStreamContext, position: str) -> RecordedEvent:
    """The PostFilled among the fill's events, the last of which is at `position`."""
    stream, _, last = position.partition(":")
    for seq in range(int(last), 0, -1):
        event = await read_event(js, stream, seq)
        if event.type == "PostFilled":
            return event
    raise LookupError(f"no PostFilled up to {position}")


def attributes(span: Span) -> dict[str, object]:
    values: dict[str, object] = {}
    for attribute in span.attributes:
        value = attribute.value
        values[attribute.key] = getattr(value, value.WhichOneof("value") or "string_value")
    return values


async def test_one_trace_from_the_fill_through_the_policy_to_its_command(
    exporting: SpanProcessor,
    otlp_collector: OtlpCollector,
    system: System,  # noqa: F811
) -> None:
    worker, registered = await system.registered_worker()
    other_worker, other_registered = await system.registered_worker()
    system.employment.headers["traceparent"] = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"
    filled = await system.filled(worker, registered)
    assert (await system.dossier(worker, filled)).json()["status"] == "reemployed"
    system.employment.headers["traceparent"] = f"00-{OTHER_TRACE}-b7ad6b7169203331-01"
    other_filled = await system.filled(other_worker, other_registered)
    assert (await system.dossier(other_worker, other_filled)).json()["status"] == "reemployed"
    js = system.outside.jetstream()
    post_filled = await post_filled_before(js, filled)
    other_post_filled = await post_filled_before(js, other_filled)
    assert system.projector is not None
    for runtime in (system.projector, system.employment_runtime):
        await runtime.close()  # their policies' and projections' spans are all ended now
    assert exporting.force_flush(10_000)
    spans = Spans(otlp_collector.spans())

    # the fill's server span continues the caller's trace; the command runs inside it
    published = spans.publication(post_filled.envelope.id)
    assert published.trace_id.hex() == CALLER_TRACE
    command, server = spans.ancestors(published)[:2]
    assert command.name.startswith("command ")
    assert server.kind == Span.SPAN_KIND_SERVER
    assert server.name == "POST /posts/{post_id}/fill"
    assert server.parent_span_id.hex() == "00f067aa0ba902b7"

    # the PRODUCER span is the event's creation context, with the messaging conventions
    assert attributes(published) == attributes(published) | {
        "messaging.system": "nats",
        "messaging.operation.type": "send",
        "messaging.destination.name": post_filled.nats_subject,
        "messaging.destination.template": "employment.post.*.PostFilled",
        "messaging.message.id": post_filled.envelope.id,
    }
    assert published.name == "publish employment.post.*.PostFilled"
    assert post_filled.envelope.traceparent == (f"00-{CALLER_TRACE}-{published.span_id.hex()}-01")

    # every projector batch that applied it links to it, each batch a trace of its own
    batches = [
        s
        for s in spans.of_kind(Span.SPAN_KIND_CONSUMER)
        if any(link.span_id == published.span_id for link in s.links)
        and "messaging.batch.message_count" in attributes(s)
    ]
    consumers = {attributes(s)["messaging.consumer.group.name"] for s in batches}
    assert consumers >= {"employment_projections_employment", "registry_projections_employment"}
    for batch in batches:
        assert attributes(batch)["messaging.operation.type"] == "process"
        assert batch.trace_id.hex() != CALLER_TRACE
        assert all(
            spans.by_id[link.span_id].kind == Span.SPAN_KIND_PRODUCER for link in batch.links
        )

    # the registry's policy handles it as the event's child, and its command continues the trace
    [handled] = [s for s in spans.all if s.parent_span_id == published.span_id]
    assert handled.kind == Span.SPAN_KIND_CONSUMER
    assert attributes(handled) == attributes(handled) | {
        "messaging.system": "nats",
        "messaging.operation.type": "process",
        "messaging.destination.name": post_filled.nats_subject,
        "messaging.message.id": post_filled.envelope.id,
        "messaging.consumer.group.name": policy_consumer("registry", "reemployment_spells"),
    }
    [reaction] = [s for s in spans.all if s.parent_span_id == handled.span_id]
    assert reaction.name == "command worker"
    recorded = [s for s in spans.all if s.parent_span_id == reaction.span_id]
    assert recorded, "the policy's command published no event"
    for event in recorded:
        assert event.kind == Span.SPAN_KIND_PRODUCER
        subject = str(attributes(event)["messaging.destination.name"])
        assert subject.startswith(f"registry.worker.{worker}.")
        assert event.trace_id.hex() == CALLER_TRACE
        applied = [s for s in spans.all if any(link.span_id == event.span_id for link in s.links)]
        assert {attributes(s)["messaging.consumer.group.name"] for s in applied} >= {
            "registry_projections_registry"
        }

    # nothing of the other fill is part of the caller's trace, nor continues from it
    other = spans.publication(other_post_filled.envelope.id)
    assert other.trace_id.hex() == OTHER_TRACE
    [other_handled] = [s for s in spans.all if s.parent_span_id == other.span_id]
    assert other_handled.trace_id.hex() == OTHER_TRACE
    reached = spans.reached_from(server)
    assert {handled.span_id, reaction.span_id, *(s.span_id for s in recorded)} <= reached
    assert {s.span_id for s in batches} <= reached
    assert not any(spans.by_id[span_id].trace_id.hex() == OTHER_TRACE for span_id in reached), (
        "the caller's trace reaches the other fill's spans"
    )
