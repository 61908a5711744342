"""What a service package offers the kernel, and finding the installed ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # for annotations only
    import httpx
    from fastapi import FastAPI

    from jinguo_shared.feed import FeedDeclaration
    from jinguo_shared.projections.base import Projection
    from jinguo_shared.reactions import Policy
    from jinguo_shared.runtime import ServiceRuntime

DemoProgress = Callable[[int, int], None]
"""Told `(done, total)` steps as a demo loads; `jinguo up --demo` draws it."""


class ServiceDefinition(Protocol):
    """What a service package offers the runtime (entry point group `jinguo.services`)."""

    name: str
    prefix: str
    projections: Sequence[type[Projection]]
    """Its read models; with the kernel's, they name its NATS lane (`jinguo_shared.natsauth`)."""
    feed: FeedDeclaration
    """What it publishes to partners at `GET <prefix>/feed`."""

    def create_app(self, runtime: ServiceRuntime) -> FastAPI: ...

    async def seed_development(self, runtime: ServiceRuntime) -> list[str]:
        """Run once by `jinguo up`; returns lines to print."""
        ...

    async def load_demo(self, client: httpx.AsyncClient, progress: DemoProgress) -> str | None:
        """Load the demo data set through `client`; returns its summary line. A service may
        also define `finish_demo(client, progress) -> str`, which `jinguo up --demo` runs once
        every service's demo is in (the registry's programme year spans them all)."""
        ...


class ReactingService(Protocol):
    """A service that also reacts to other services' events (optional `policies`). Its
    `policy_types` say which, without a runtime: their consumers are in its NATS lane."""

    policy_types: Sequence[type[Policy]]

    def policies(self, runtime: ServiceRuntime) -> Sequence[Policy]: ...


def discover_services() -> list[ServiceDefinition]:
    from importlib.metadata import entry_points

    order = ["registry", "employment", "orders", "rights"]
    found = {ep.name: ep.load() for ep in entry_points(group="jinguo.services")}
    return [
        found[name] for name in sorted(found, key=lambda n: order.index(n) if n in order else 9)
    ]


class DemoSteps:
    """A demo's steps, counted as they are done and told to its `DemoProgress`."""

    def __init__(self, progress: DemoProgress, total: int) -> None:
        self._progress = progress
        self.total = total
        self.done = 0

    def step(self) -> None:
        self.done = min(self.done + 1, self.total)
        self._progress(self.done, self.total)

    def finish(self) -> None:
        """All done, also when the data was there already and some steps were skipped."""
        self.done = self.total
        self._progress(self.done, self.total)
