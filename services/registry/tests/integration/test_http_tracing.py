"""One trace from the caller's HTTP request into the event it causes (W3C traceparent)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

from jinguo_registry.bootstrap import RegistryService
from jinguo_shared.runtime import ServiceRuntime

from .conftest import worker_command

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


class Recorded(SpanProcessor):
    """Keeps finished spans while the test runs; the global provider cannot drop a processor."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []
        self.recording = True

    def on_end(self, span: ReadableSpan) -> None:
        if self.recording:
            self.spans.append(span)


@pytest.fixture
def spans() -> Iterator[Recorded]:
    """The SDK tracer provider that `jinguo` processes configure, recording in memory."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    recorded = Recorded()
    provider.add_span_processor(recorded)
    yield recorded
    recorded.recording = False
    recorded.spans.clear()


async def test_the_callers_trace_reaches_the_event(
    registry: ServiceRuntime, spans: Recorded
) -> None:
    service = RegistryService()
    await service.seed_development(registry)
    api_key = (registry.settings.data_dir / "dev-api-key").read_text().strip()
    app = service.create_app(registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        answer = await client.post(
            "/workers",
            json=worker_command(1).model_dump(mode="json"),
            headers={
                "Authorization": f"Bearer {api_key}",
                "traceparent": f"00-{CALLER_TRACE}-00f067aa0ba902b7-01",
            },
        )
        untraced = await client.post(
            "/workers",
            json=worker_command(2).model_dump(mode="json"),
            headers={"Authorization": f"Bearer {api_key}"},
        )
    assert answer.status_code == 201, answer.text
    assert untraced.status_code == 201, untraced.text

    [event] = await registry.store.load("worker", answer.json()["id"])
    assert event.envelope.traceparent is not None
    assert event.envelope.traceparent.split("-")[1] == CALLER_TRACE
    server = [s for s in spans.spans if s.kind is trace.SpanKind.SERVER]
    assert {f"{s.context.trace_id:032x}" for s in server} >= {CALLER_TRACE}
    [other] = await registry.store.load("worker", untraced.json()["id"])
    assert other.envelope.traceparent is None or CALLER_TRACE not in other.envelope.traceparent
