"""What the kernel's retry and restart loops (tenacity) share."""

from __future__ import annotations

from collections.abc import Callable

from tenacity import AsyncRetrying, RetryCallState, wait_exponential

RESTART_PAUSE_MAX = 5.0
"""The longest pause before a failed consumer starts again."""


def restarting(
    *,
    first_pause: float,
    stopping: Callable[[], bool],
    after_failure: Callable[[RetryCallState], None],
) -> AsyncRetrying:
    """Run a consumer again whenever it fails, after a pause doubling from `first_pause` up to
    `RESTART_PAUSE_MAX`, until `stopping()`: a failure while stopping ends it quietly."""
    return AsyncRetrying(
        wait=wait_exponential(multiplier=first_pause, max=RESTART_PAUSE_MAX),
        after=after_failure,
        stop=lambda _: stopping(),
        retry_error_callback=lambda _: None,
    )


def last_error(attempts: RetryCallState) -> Exception:
    """The exception the last attempt raised (the kernel retries only on an `Exception`)."""
    error = attempts.outcome.exception() if attempts.outcome is not None else None
    if not isinstance(error, Exception):
        raise TypeError(f"the last attempt raised no Exception but {error!r}")
    return error
