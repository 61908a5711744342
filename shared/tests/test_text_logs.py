"""Text logs (the default `JINGUO_LOG_FORMAT`): a line written while a recorded span is current
ends with its trace and span, as the JSON format carries them."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from jinguo_shared.telemetry import TextFormatter
from jinguo_shared.testing import formatted_logs

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<logger>\S+): ")


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    with formatted_logs(TextFormatter(), "jinguo.tests.text_logs") as logged:
        yield logged


def test_a_line_inside_a_recorded_span_ends_with_its_trace_id_and_span_id(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, output = logged
    tracer = TracerProvider().get_tracer("tests")
    with tracer.start_as_current_span("command") as span:
        try:
            raise ValueError("bad area code")
        except ValueError:
            logger.exception("登记 of %s failed", "w-1")
    context = span.get_span_context()

    first, *traceback = output.getvalue().splitlines()
    found = LINE.match(first)
    assert found is not None, first
    assert (found["level"], found["logger"]) == ("ERROR", "jinguo.tests.text_logs")
    assert message(first) == (
        f"登记 of w-1 failed trace_id={context.trace_id:032x} span_id={context.span_id:016x}"
    )
    assert traceback[0] == "Traceback (most recent call last):"
    assert traceback[-1] == "ValueError: bad area code"


def test_a_line_outside_a_span_or_in_one_nobody_records_has_no_ids(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    """Without an OTLP collector every span is dropped (`telemetry.tracer_provider`): its ids
    name no trace anyone could look up."""
    logger, output = logged
    logger.info("outside")
    unrecorded = TracerProvider(sampler=ALWAYS_OFF).get_tracer("tests")
    with unrecorded.start_as_current_span("command") as span:
        logger.info("in a dropped span")
    assert span.get_span_context().is_valid

    assert [message(line) for line in output.getvalue().splitlines()] == [
        "outside",
        "in a dropped span",
    ]


def message(line: str) -> str:
    """What follows the time, level and logger."""
    found = LINE.match(line)
    assert found is not None, line
    return line[found.end() :]
