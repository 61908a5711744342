"""What every `jinguo` command shares: its settings, its NATS, the installed services, and the
errors it reports as one readable line."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any, TypeVar

import uvloop
from pydantic import ValidationError

from jinguo_shared.embedded_nats import EmbeddedCluster, EmbeddedNats
from jinguo_shared.eventstore import SERVICE_STREAMS, Provisioned
from jinguo_shared.ports import port_open
from jinguo_shared.services import ServiceDefinition, discover_services
from jinguo_shared.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


class UsageError(Exception):
    """A mistake of the operator's: `jinguo` prints it on one line and exits with 2."""


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        wrong = "; ".join(
            f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise UsageError(f"settings (JINGUO_*): {wrong}") from None


def run(work: Coroutine[Any, Any, T]) -> T:
    return uvloop.run(work)


@contextlib.asynccontextmanager
async def nats_url(
    settings: Settings, provision: bool = True, cluster: int = 1
) -> AsyncIterator[str]:
    """The configured NATS, else the embedded one (started here if `jinguo up` is not running,
    and its streams provisioned: here, this process is its operator); with `cluster` > 1, that
    many nats-servers clustered on 127.0.0.1, the first on the usual port, streams replicated
    on each."""
    if settings.nats_url:
        yield settings.nats_url
        return
    if cluster > 1:
        async with _embedded_cluster(settings, cluster) as url:
            yield url
        return
    embedded = EmbeddedNats(settings.data_dir / "nats", settings.nats_port, settings.nats_sync)
    if port_open(settings.nats_port):
        yield embedded.url
        return
    await embedded.start()
    try:
        if provision:
            report_provisioned(await embedded.provision(settings.stream_replicas), quiet=True)
        yield embedded.url
    finally:
        embedded.stop()


@contextlib.asynccontextmanager
async def _embedded_cluster(settings: Settings, size: int) -> AsyncIterator[str]:
    if port_open(settings.nats_port):
        raise UsageError(
            f"port {settings.nats_port} is taken: another `jinguo up` running?"
            " (set JINGUO_NATS_PORT)"
        )
    cluster = EmbeddedCluster(
        settings.data_dir / "nats", size, settings.nats_sync, first_port=settings.nats_port
    )
    try:
        try:
            await cluster.start()
        except RuntimeError as error:
            raise UsageError(
                f"the embedded NATS cluster did not start: {error}"
                f" (see {cluster.store_dir}/node-*/nats-server.log)"
            ) from None
        report_provisioned(await cluster.provision(size), quiet=True)
        yield cluster.url
    finally:
        cluster.stop()


def report_provisioned(done: Sequence[Provisioned], *, quiet: bool) -> None:
    if quiet:
        changed = [str(stream) for stream in done if stream.outcome != "as it was"]
        if changed:
            log.info("streams: %s", "; ".join(" ".join(line.split()) for line in changed))
    else:
        for stream in done:
            print(stream)
    refused = [stream.stream for stream in done if stream.outcome == "refused"]
    if refused:
        raise UsageError(
            f"left {', '.join(refused)} as they are: fix them by hand (see above), then run"
            " `jinguo streams provision` again"
        )


def pick_service(name: str) -> ServiceDefinition:
    services = {d.name: d for d in discover_services()}
    if name not in services:
        raise UsageError(f"unknown service {name!r}; installed: {', '.join(services) or 'none'}")
    return services[name]


def stream_of(service: str) -> str:
    """The stream under a subject prefix (a service, or `inspections`)."""
    if service not in SERVICE_STREAMS:
        raise UsageError(
            f"no stream for {service!r}; the streams are for: {', '.join(SERVICE_STREAMS)}"
        )
    return SERVICE_STREAMS[service].name


def unusable_file(error: OSError) -> UsageError:
    return UsageError(f"{error.filename}: {error.strerror}")
