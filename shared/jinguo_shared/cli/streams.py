"""`jinguo streams provision`: create the streams and bring them to their settings;
`jinguo streams users`: who may use them, for the Helm values."""

from __future__ import annotations

import typer

from jinguo_shared.cli.environment import (
    UsageError,
    nats_url,
    report_provisioned,
    run,
    settings,
)
from jinguo_shared.eventstore import (
    NO_SUITABLE_PEERS,
    PLACEMENT_WAIT_SECONDS,
    SERVICE_STREAMS,
    StreamApiError,
    provision_streams,
)
from jinguo_shared.nats_client import connect_nats
from jinguo_shared.natsauth import ADMIN_USER, helm_users, lanes
from jinguo_shared.services import discover_services
from jinguo_shared.settings import Settings

streams = typer.Typer(help="create and configure the streams; who may use them")


@streams.command()
def provision() -> None:
    """create missing streams, bring the others to their settings; never weakens one"""
    run(_provision(settings()))


async def _provision(settings: Settings) -> None:
    """As the admin NATS user: the configured one (JINGUO_NATS_USER/PASSWORD or CREDS), else
    the embedded server's."""
    async with nats_url(settings, provision=False) as url:
        nc = await connect_nats(settings, url, "jinguo-streams", user=ADMIN_USER)
        try:
            try:
                await nc.request("$JS.API.INFO", b"", timeout=5)
            except TimeoutError:
                raise UsageError(
                    "no answer from the JetStream API: provisioning needs the admin NATS user"
                    " (JINGUO_NATS_USER and JINGUO_NATS_PASSWORD, or JINGUO_NATS_CREDS)"
                ) from None
            try:
                done = await provision_streams(
                    nc, list(SERVICE_STREAMS.values()), settings.stream_replicas
                )
            except StreamApiError as error:
                if error.code != NO_SUITABLE_PEERS:
                    raise
                raise UsageError(
                    f"too few NATS nodes are up to hold {settings.stream_replicas} replicas"
                    f" of a stream (waited {PLACEMENT_WAIT_SECONDS:g} s); start them, or set"
                    f" JINGUO_STREAM_REPLICAS to the cluster's size (the server said {error})"
                ) from None
        finally:
            await nc.close()
    report_provisioned(done, quiet=False)


@streams.command()
def users() -> None:
    """print the service users of deploy/nats/values.yaml, generated from the services' lanes"""
    print(helm_users(lanes(discover_services())))
