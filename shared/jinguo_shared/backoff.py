"""What the kernel's retry and restart loops (tenacity) share."""

from __future__ import annotations

import logging
from collections.abc import Callable

import nats.errors
from sqlalchemy import exc as sa_exc
from tenacity import AsyncRetrying, RetryCallState, wait_exponential

RESTART_PAUSE_MAX = 5.0
"""The longest pause before a failed consumer starts again."""

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    OSError,
    nats.errors.Error,
)
"""The database or NATS failing, not the event: such a failure is retried, never parked."""


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


def log_restart(log: logging.Logger, consumer: str) -> Callable[[RetryCallState], None]:
    """Why a consumer restarts, for `restarting`: NATS or the database failing for a moment (a
    stream's leader being elected) in one line, since the restart tries again and a traceback
    would say no more; anything else with its traceback."""

    def after_failure(attempts: RetryCallState) -> None:
        error = last_error(attempts)
        if isinstance(error, TRANSIENT_ERRORS):
            log.warning("%s stopped, restarting: %r", consumer, error)
        else:
            log.warning("%s stopped; restarting", consumer, exc_info=error)

    return after_failure
