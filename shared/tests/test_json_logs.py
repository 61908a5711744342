"""JSON logs: one object a line, UTC times to the millisecond, and the trace a line belongs to."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from jinguo_shared.cli.serving import request_logs
from jinguo_shared.telemetry import JsonFormatter
from jinguo_shared.testing import formatted_logs

ISO_UTC_MILLISECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    with formatted_logs(JsonFormatter(), "jinguo.tests.json_logs") as logged:
        yield logged


def lines(output: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.getvalue().splitlines()]


def test_a_line_outside_a_span_has_no_trace_and_its_error_has_the_traceback(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, output = logged
    before = datetime.now(UTC)
    try:
        raise ValueError("bad area code")
    except ValueError:
        logger.exception("登记 of %s failed", "w-1")

    [line] = lines(output)
    assert set(line) == {"time", "level", "logger", "message", "error"}
    assert (line["level"], line["logger"]) == ("ERROR", "jinguo.tests.json_logs")
    assert line["message"] == "登记 of w-1 failed"
    assert ISO_UTC_MILLISECONDS.match(line["time"]), line["time"]
    assert abs((datetime.fromisoformat(line["time"]) - before).total_seconds()) < 5
    assert line["error"].startswith("Traceback (most recent call last):")
    assert line["error"].endswith("ValueError: bad area code")
    assert "登记" in output.getvalue()  # not escaped


def test_a_line_inside_a_span_carries_its_trace_id_and_span_id(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, output = logged
    tracer = TracerProvider().get_tracer("tests")
    with tracer.start_as_current_span("command") as span:
        logger.info("appended", extra={"aggregate_id": "w-1", "color_message": "\x1b[32m"})
    context = span.get_span_context()

    [line] = lines(output)
    assert line["trace_id"] == f"{context.trace_id:032x}"
    assert line["span_id"] == f"{context.span_id:016x}"
    assert line["aggregate_id"] == "w-1"
    assert "color_message" not in line
    assert "error" not in line


@pytest.mark.parametrize(
    ("verbose", "server_lifecycle", "every_request"),
    [(False, True, True), (False, False, False), (True, False, True)],
    ids=["jinguo serve", "jinguo up", "jinguo up --verbose"],
)
def test_jinguo_serve_logs_every_request_and_jinguo_up_only_when_asked(
    verbose: bool, server_lifecycle: bool, every_request: bool
) -> None:
    loggers = [logging.getLogger(name) for name in ("", "jinguo.access", "uvicorn.error", "httpx")]
    levels = [logger.level for logger in loggers]
    logging.getLogger().setLevel(logging.INFO)  # as `telemetry.configure` sets it
    try:
        request_logs(verbose, server_lifecycle=server_lifecycle)
        assert logging.getLogger("jinguo.access").isEnabledFor(logging.INFO) is every_request
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
