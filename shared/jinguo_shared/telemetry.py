"""Traces, metrics and logs: one trace from the HTTP request through the command, its events
and every consumer (the W3C traceparent travels in the envelope and the NATS headers)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

_propagator = TraceContextTextMapPropagator()
tracer = trace.get_tracer("jinguo")
meter = metrics.get_meter("jinguo")


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def context_from(traceparent: str | None) -> Any:
    return _propagator.extract({"traceparent": traceparent} if traceparent else {})


def links_from(traceparents: Iterable[str | None], limit: int = 16) -> list[trace.Link]:
    """Links from a consumer's batch span to the traces that produced its events."""
    links: list[trace.Link] = []
    for traceparent in traceparents:
        if traceparent and len(links) < limit:
            span = trace.get_current_span(context_from(traceparent)).get_span_context()
            if span.is_valid:
                links.append(trace.Link(span))
    return links


class JsonFormatter(OrjsonFormatter):
    """One JSON object a line: time (ISO 8601 UTC to the millisecond), level, logger, message,
    the traceback as `error`, any `extra=` fields, and the current span's trace_id and span_id."""

    def __init__(self) -> None:
        super().__init__(
            ["asctime", "levelname", "name", "message"],
            rename_fields={
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "exc_info": "error",
            },
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's ANSI copy
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            log_data["trace_id"] = f"{span.trace_id:032x}"
            log_data["span_id"] = f"{span.span_id:016x}"


OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def tracer_provider(resource: Resource, environ: Mapping[str, str]) -> TracerProvider:
    """Spans go to the OTLP collector that the standard `OTEL_EXPORTER_OTLP_*` variables name
    (batched; sampled as `OTEL_TRACES_SAMPLER` says). Without one nothing would receive them,
    so none are recorded: the trace context still travels in every envelope and NATS header."""
    traces, base = (environ.get(name, "") for name in OTLP_ENDPOINTS)
    if not traces and not base:
        return TracerProvider(resource=resource, sampler=ALWAYS_OFF)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = traces or f"{base.rstrip('/')}/v1/traces"  # as the specification joins them
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def configure(service_name: str, log_format: str, log_level: str) -> None:
    """Set up providers once per process: metrics for Prometheus, traces for OTLP."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(log_level)
    logging.getLogger("nats").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the demo's requests, one line each
    resource = Resource.create({"service.name": service_name})
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(tracer_provider(resource, os.environ))
    if not isinstance(metrics.get_meter_provider(), MeterProvider):
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        metrics.set_meter_provider(
            MeterProvider(resource=resource, metric_readers=[PrometheusMetricReader()])
        )


HTTP_TELEMETRY: TelemetryConfig = {"operation_spans": False}
"""FastAPI's own OpenTelemetry: a server span per request (continuing the caller's traceparent)
and request metrics. Spans for each dependency, endpoint and serialisation cost more than some
commands."""
