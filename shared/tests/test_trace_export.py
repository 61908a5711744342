"""Where spans go: to the OTLP collector the standard variables name, else nowhere at all."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource

from jinguo_shared.telemetry import context_from, tracer_provider

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Collector(HTTPServer):
    def __init__(self) -> None:
        self.received: list[ExportTraceServiceRequest] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/v1/traces":
                    collector.received.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_spans_reach_the_configured_otlp_collector(collector: Collector) -> None:
    provider = tracer_provider(
        Resource.create({"service.name": "jinguo-test"}),
        {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url},
    )
    with provider.get_tracer("test").start_as_current_span(
        "command worker", context=context_from(CALLER)
    ):
        pass
    assert provider.force_flush(10_000)
    provider.shutdown()

    [request] = collector.received
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
