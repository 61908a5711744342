"""Logs as an operator reads them (`JINGUO_LOG_FORMAT=json`): each line written while a request
or an event is handled names its trace and span, and each request has one access-log line."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import nats
import pytest
from opentelemetry.sdk.trace import TracerProvider

from jinguo_contracts.employment import PostFilledV1
from jinguo_registry.bootstrap import RegistryService
from jinguo_shared.cli.serving import compose_app
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.eventstore import EventStore
from jinguo_shared.projections.consistency import Position
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.telemetry import JsonFormatter, tracer

from .conftest import context, worker_command

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
HEX_16 = re.compile(r"^[0-9a-f]{16}$")


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """Every line the process logs at INFO and above, formatted as it is written."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield output
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines(output: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.getvalue().splitlines()]


async def test_each_request_has_one_access_line_with_its_route_status_duration_and_trace(
    registry: ServiceRuntime, logged: io.StringIO, sdk_tracer_provider: TracerProvider
) -> None:
    service = RegistryService()
    await service.seed_development(registry)
    key = {"Authorization": f"Bearer {(registry.settings.data_dir / 'dev-api-key').read_text()}"}
    transport = httpx.ASGITransport(app=compose_app([(service, registry)]))
    async with httpx.AsyncClient(transport=transport, base_url="http://jinguo") as client:
        registered = await client.post(
            "/registry/workers",
            json=worker_command(1).model_dump(mode="json"),
            headers={**key, "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
        )
        worker = registered.json()["id"]
        read = await client.get(
            f"/registry/workers/{worker}",
            params={"after": registered.json()["position"]},
            headers=key,
        )
        unauthenticated = await client.get(f"/registry/workers/{worker}?area=110101")
        nowhere = await client.get("/nowhere")
    assert [registered.status_code, read.status_code] == [201, 200]
    assert [unauthenticated.status_code, nowhere.status_code] == [401, 404]

    access = [line for line in lines(logged) if line["logger"] == "jinguo.access"]
    assert [(line["method"], line["route"], line["status"]) for line in access] == [
        ("POST", "/registry/workers", 201),
        ("GET", "/registry/workers/{worker_id}", 200),
        ("GET", f"/registry/workers/{worker}", 401),  # refused before routing: no template
        ("GET", "/nowhere", 404),
    ]
    for line in access:
        assert line["level"] == "INFO"
        assert ISO_UTC.match(line["time"]), line["time"]
        assert isinstance(line["duration_ms"], float)
        assert line["duration_ms"] >= 0
        assert line["message"] == (
            f"{line['method']} {line['route']} {line['status']} {line['duration_ms']:.1f} ms"
        )
    # the caller's trace, in the server span (not the caller's own span)
    assert access[0]["trace_id"] == CALLER_TRACE
    assert HEX_16.match(access[0]["span_id"])
    assert access[0]["span_id"] != CALLER_SPAN
    others = {line.get("trace_id") for line in access[1:3]}
    assert None not in others
    assert CALLER_TRACE not in others
    assert len(others) == 2
    assert "trace_id" not in access[3]  # no service took it, so no server span


async def test_a_line_a_policy_logs_while_handling_an_event_carries_the_events_trace(
    registry: ServiceRuntime,
    nats_server: EmbeddedNats,
    logged: io.StringIO,
    sdk_tracer_provider: TracerProvider,
) -> None:
    nc = await nats.connect(nats_server.url, **nats_server.connect_options("employment"))
    employment = EventStore(nc, "employment", vault=None)
    for_nobody = PostFilledV1(
        post_id="post-0",
        worker_id="nobody",
        placement_id="pl-0",
        start_date=date(2026, 11, 2),
        employer_id="e1",
        employer_name="东四社区养老驿站",
        area_code="110101001001",
        occupation_code="4-10-01-05",
        hours_type="full_time",
        kind="public_welfare",
        openings_left=0,
    )
    with tracer.start_as_current_span("the employment service fills a post") as filling:
        seq = await employment.append("post", "post-0", 0, [for_nobody], context("refused"))
    await nc.close()
    await registry.reaction_progress.wait_for(Position("EMPLOYMENT", seq), 15)

    [refusal] = [line for line in lines(logged) if " refused: " in line["message"]]
    assert (refusal["level"], refusal["logger"]) == ("INFO", "jinguo_shared.reactions")
    assert ISO_UTC.match(refusal["time"]), refusal["time"]
    assert refusal["trace_id"] == f"{filling.get_span_context().trace_id:032x}"
    assert HEX_16.match(refusal["span_id"])
    assert refusal["span_id"] != f"{filling.get_span_context().span_id:016x}"
