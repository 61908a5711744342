"""Where spans go: to the OTLP collector the standard variables name, else nowhere at all."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.resources import Resource

from jinguo_shared.telemetry import context_from, subject_template, tracer_provider
from jinguo_shared.testing import OtlpCollector

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_spans_reach_the_configured_otlp_collector(otlp_collector: OtlpCollector) -> None:
    provider = tracer_provider(
        Resource.create({"service.name": "jinguo-test"}),
        {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_collector.url},
    )
    with provider.get_tracer("test").start_as_current_span(
        "command worker", context=context_from(CALLER)
    ):
        pass
    assert provider.force_flush(10_000)
    provider.shutdown()

    [request] = otlp_collector.received
    [span] = request.resource_spans[0].scope_spans[0].spans
    assert span.name == "command worker"
    assert span.trace_id.hex() == "4bf92f3577b34da6a3ce929d0e0e4736"
    service = {a.key: a.value.string_value for a in request.resource_spans[0].resource.attributes}
    assert service["service.name"] == "jinguo-test"


def test_without_a_collector_spans_are_not_recorded_but_the_trace_goes_on() -> None:
    provider = tracer_provider(Resource.create({}), {})
    with provider.get_tracer("test").start_as_current_span(
        "command worker", context=context_from(CALLER)
    ) as span:
        assert not span.is_recording()
        assert f"{span.get_span_context().trace_id:032x}" == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    ("subject", "template"),
    [
        ("registry.worker.0b5c2c1e.WorkerRegistered", "registry.worker.*.WorkerRegistered"),
        ("employment.post.post.1.PostFilled", "employment.post.*.PostFilled"),
        ("registry.feed", "registry.feed"),
    ],
)
def test_a_span_names_the_subject_without_its_aggregate_id(subject: str, template: str) -> None:
    assert subject_template(subject) == template
