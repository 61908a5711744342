"""What an operator watches and alerts on (deploy/monitoring): Prometheus names in brackets.

- `jinguo.projection.lag` [jinguo_projection_lag]: events a projection has yet to apply;
- `jinguo.policy.lag` [jinguo_policy_lag]: events a policy has yet to react to;
- `jinguo.events.parked` [jinguo_events_parked_total]: events parked by a projection or policy;
- `jinguo.command.duration` [jinguo_command_duration_seconds]: a command, by aggregate and outcome;
- `jinguo.command.conflicts` [jinguo_command_conflicts_total]: appends another writer beat;
- FastAPI's own `http.server.request.duration` [http_server_request_duration_seconds]: requests
  by method, route and status;
- `jinguo.nats.connected` [jinguo_nats_connected]: 1 while a service's NATS connection is up;
- `jinguo.projector.leading` [jinguo_projector_leading]: 1 while this process holds the lease;
- `jinguo.webhook.deliveries` [jinguo_webhook_deliveries_total]: events sent to partners'
  webhooks, by outcome (`delivered`, `failed`, `skipped`: no longer the receiver's to see);
- `jinguo.webhook.lag` [jinguo_webhook_lag_seconds]: by subscription, how long ago the oldest
  event it has yet to deliver was recorded (0 when it is caught up);
- `jinguo.webhook.paused` [jinguo_webhook_paused]: 1 for a subscription paused after failing.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from jinguo_shared.domain import DomainError

meter = metrics.get_meter("jinguo")

T = TypeVar("T")


class LiveGauge(Generic[T]):
    """An observable gauge over every live object of a kind in the process. One instrument
    however many services a process runs (`jinguo up` runs them all in one): an instrument per
    object would share its name with the others, and the SDK keeps only the first's callback."""

    def __init__(
        self, name: str, unit: str, description: str, observe: Callable[[T], Iterable[Observation]]
    ) -> None:
        self._live: weakref.WeakSet[Any] = weakref.WeakSet()
        self._observe = observe
        meter.create_observable_gauge(
            name, callbacks=[self._callback], unit=unit, description=description
        )

    def add(self, item: T) -> None:
        self._live.add(item)

    def _callback(self, _options: CallbackOptions) -> Iterable[Observation]:
        for item in list(self._live):
            yield from self._observe(item)


events_parked = meter.create_counter(
    "jinguo.events.parked",
    unit="{event}",
    description="events parked after their last attempt, by service and projection or policy",
)
command_duration = meter.create_histogram(
    "jinguo.command.duration",
    unit="s",
    description="a command from loading its aggregates to its events appended, or its refusal",
    # seconds (the SDK's default boundaries are for milliseconds)
    explicit_bucket_boundaries_advisory=(
        *(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1),
        *(0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0),
    ),
)
command_conflicts = meter.create_counter(
    "jinguo.command.conflicts",
    unit="{conflict}",
    description="appends refused because another writer appended first (decided again)",
)

webhook_deliveries = meter.create_counter(
    "jinguo.webhook.deliveries",
    unit="{delivery}",
    description="events sent to partners' webhooks, by outcome",
)


_connections: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def _observe_connections(_options: CallbackOptions) -> Iterable[Observation]:
    for connection, labels in list(_connections.items()):
        yield Observation(int(connection.is_connected), labels)


meter.create_observable_gauge(
    "jinguo.nats.connected",
    callbacks=[_observe_connections],
    unit="1",
    description="1 while a service's NATS connection is up, 0 while it reconnects",
)


def watch_connection(connection: Any, service: str, role: str) -> None:
    """Report this NATS connection's state for as long as it exists."""
    _connections[connection] = {"service": service, "role": role}


class Timed:
    """`with Timed(service, aggregate) as timing:` records the command's duration and outcome
    (`ok`, `refused` for a domain error, `failed` for anything else)."""

    def __init__(self, service: str, aggregate: str) -> None:
        self._attributes = {"service": service, "aggregate": aggregate}

    def __enter__(self) -> Timed:
        self._started = time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        outcome = "ok" if kind is None else "refused" if issubclass(kind, DomainError) else "failed"
        command_duration.record(
            time.perf_counter() - self._started, {**self._attributes, "outcome": outcome}
        )
