"""A consumer (a projection's, a policy's, the webhooks') that stops is restarted; the log says why
in one line when NATS or the database failed for a moment (`make chaos` kills a stream's
leader), with the traceback when anything else did."""

from __future__ import annotations

import logging

import pytest
from nats.js.errors import ServiceUnavailableError

from jinguo_shared.backoff import log_restart, restarting


async def test_a_transient_failure_is_one_line_and_any_other_keeps_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failures: list[Exception] = [ServiceUnavailableError(), ValueError("cannot project")]
    consumed = 0

    async def consume() -> None:
        nonlocal consumed
        consumed += 1
        if failures:
            raise failures.pop(0)

    following = restarting(
        first_pause=0.001,
        stopping=lambda: False,
        after_failure=log_restart(logging.getLogger("following"), "projections on REGISTRY"),
    )
    with caplog.at_level("WARNING", logger="following"):
        await following(consume)

    assert consumed == 3  # restarted after each failure
    transient, real = caplog.records
    assert transient.levelname == "WARNING"
    assert transient.exc_info is None
    assert transient.getMessage() == (
        "projections on REGISTRY stopped, restarting: ServiceUnavailableError()"
    )
    assert real.levelname == "WARNING"
    assert real.getMessage() == "projections on REGISTRY stopped; restarting"
    assert real.exc_info is not None
    assert isinstance(real.exc_info[1], ValueError)
