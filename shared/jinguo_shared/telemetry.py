"""Traces, metrics and logs: one trace from the HTTP request through the command, its events
and every consumer (the W3C traceparent travels in the envelope and the NATS headers)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
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


def command_trace(traceparent: str | None) -> Context:
    """Where a command's spans belong: under the current span (the request's, or the event's
    that a policy handles), else in the trace its caller named, if any."""
    if trace.get_current_span().get_span_context().is_valid:
        return otel_context.get_current()
    context: Context = context_from(traceparent)
    return context


def traceparent_of(span: Span) -> str | None:
    """The W3C traceparent naming `span` (written directly: a third of the propagator's cost,
    paid for every event published)."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def links_from(traceparents: Iterable[str | None], limit: int = 128) -> list[trace.Link]:
    """Links from a consumer's span to the contexts that produced its events (at most the
    SDK's default number of links a span keeps)."""
    links: list[trace.Link] = []
    for traceparent in traceparents:
        if traceparent and len(links) < limit:
            span = trace.get_current_span(context_from(traceparent)).get_span_context()
            if span.is_valid:
                links.append(trace.Link(span))
    return links


# OpenTelemetry's messaging conventions (opentelemetry.semconv, incubating): the system, and
# what each span did with which messages. A JetStream subject names one aggregate, so the span
# name uses its template, the subject with the aggregate id as `*` (as consumers filter).
MESSAGING_SYSTEM = {"messaging.system": "nats"}


def subject_template(subject: str) -> str:
    """`registry.worker.<id>.WorkerRegistered` -> `registry.worker.*.WorkerRegistered`; any
    other subject as it is."""
    tokens = subject.split(".")
    if len(tokens) < 4:
        return subject
    return f"{tokens[0]}.{tokens[1]}.*.{tokens[-1]}"


def start_publishing(subject: str, event_id: str, correlation_id: str, parent: Any) -> Span:
    """The PRODUCER span of one event's publication: its context is the event's creation
    context, carried as the event's traceparent to whoever consumes it."""
    template = subject_template(subject)
    return tracer.start_span(
        f"publish {template}",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            **MESSAGING_SYSTEM,
            "messaging.operation.type": "send",
            "messaging.operation.name": "publish",
            "messaging.destination.name": subject,
            "messaging.destination.template": template,
            "messaging.message.id": event_id,
            "messaging.message.conversation_id": correlation_id,
        },
    )


@contextmanager
def publishing(spans: list[Span]) -> Iterator[None]:
    """End the publications' spans once the server has answered, failed if it refused."""
    try:
        yield
    except BaseException as error:
        for span in spans:
            span.set_attribute("error.type", type(error).__qualname__)
            span.set_status(Status(StatusCode.ERROR, str(error)))
        raise
    finally:
        for span in spans:
            span.end()


@contextmanager
def processing_batch(
    destination: str, consumer: str, traceparents: list[str | None], **attributes: Any
) -> Iterator[Span]:
    """The CONSUMER span of a batch of events read from a stream and processed together: a
    trace of its own, linked to each event's creation context."""
    with tracer.start_as_current_span(
        f"process {destination}",
        context=Context(),
        kind=SpanKind.CONSUMER,
        attributes={
            **MESSAGING_SYSTEM,
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": destination,
            "messaging.consumer.group.name": consumer,
            "messaging.batch.message_count": len(traceparents),
            **attributes,
        },
    ) as span:
        if span.is_recording():  # reading every traceparent costs; a dropped span needs none
            for link in links_from(traceparents):
                span.add_link(link.context)
        yield span


@contextmanager
def processing_one(
    subject: str, event_id: str | None, consumer: str, traceparent: str | None, **attributes: Any
) -> Iterator[Span]:
    """The CONSUMER span of one event processed on its own: a child of its creation context
    (and linked to it), so what the processing causes continues the event's trace."""
    template = subject_template(subject)
    with tracer.start_as_current_span(
        f"process {template}",
        context=context_from(traceparent),
        kind=SpanKind.CONSUMER,
        links=links_from([traceparent]),
        attributes={
            **MESSAGING_SYSTEM,
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": subject,
            "messaging.destination.template": template,
            "messaging.consumer.group.name": consumer,
            **({"messaging.message.id": event_id} if event_id else {}),
            **attributes,
        },
    ) as span:
        yield span


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


class TextFormatter(logging.Formatter):
    """A line for a person at a terminal: time, level, logger, message, the traceback on the
    lines after it, and, while a span is recorded, its trace_id and span_id at the end of the
    line (a span nobody records is in no trace to look up)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        span = trace.get_current_span()
        if not span.is_recording():
            return line
        context = span.get_span_context()
        return f"{line} trace_id={context.trace_id:032x} span_id={context.span_id:016x}"


OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def otlp_exporting(environ: Mapping[str, str]) -> SpanProcessor | None:
    """Batches of spans to the OTLP collector that the standard `OTEL_EXPORTER_OTLP_*`
    variables name, if they name one."""
    traces, base = (environ.get(name, "") for name in OTLP_ENDPOINTS)
    if not traces and not base:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = traces or f"{base.rstrip('/')}/v1/traces"  # as the specification joins them
    return BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint))


def tracer_provider(resource: Resource, environ: Mapping[str, str]) -> TracerProvider:
    """Spans go to the OTLP collector of `otlp_exporting` (sampled as `OTEL_TRACES_SAMPLER`
    says). Without one nothing would receive them, so none are recorded: the trace context
    still travels in every envelope and NATS header."""
    exporting = otlp_exporting(environ)
    if exporting is None:
        return TracerProvider(resource=resource, sampler=ALWAYS_OFF)
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(exporting)
    return provider


def configure(service_name: str, log_format: str, log_level: str) -> None:
    """Set up providers once per process: metrics for Prometheus, traces for OTLP."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
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
