"""The embedded nats-server runs one user per service with production's permissions."""

from __future__ import annotations

from typing import Any

import nats
import nats.errors
import pytest
from nats.js.api import StreamConfig

from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.nats_client import connect_nats
from jinguo_shared.natsauth import Lane, helm_users, service_permissions
from jinguo_shared.settings import Settings


async def refused(coroutine: Any) -> bool:
    try:
        await coroutine
    except Exception:
        return True
    return False


async def test_nobody_connects_without_a_password(nats_server: EmbeddedNats) -> None:
    with pytest.raises((nats.errors.Error, OSError)):
        await nats.connect(nats_server.url, allow_reconnect=False, max_reconnect_attempts=0)
    with pytest.raises((nats.errors.Error, OSError)):
        await nats.connect(
            nats_server.url, user="rights", password="guessed", allow_reconnect=False
        )


async def test_passwords_survive_a_restart_and_services_connect_as_themselves(
    nats_server: EmbeddedNats, tmp_path: Any
) -> None:
    before = {user: nats_server.passwords.read(user) for user in ("rights", "admin")}
    nats_server.stop()
    await nats_server.start()
    assert {user: nats_server.passwords.read(user) for user in before} == before
    assert oct(nats_server.passwords.path("rights").stat().st_mode & 0o777) == "0o600"

    settings = Settings(data_dir=tmp_path / "data")
    registry = await connect_nats(settings, nats_server.url, "t", user="registry")
    try:
        js = registry.jetstream(timeout=1)
        assert (await js.stream_info("REGISTRY")).config.name == "REGISTRY"
        # its own stream included: streams are the operator's (`jinguo streams provision`)
        assert await refused(js.add_stream(name="RIGHTS", subjects=["rights.>"]))
        assert await refused(js.update_stream(StreamConfig(name="REGISTRY", max_msgs=1)))
        assert await refused(js.delete_stream("REGISTRY"))
    finally:
        await registry.close()


def test_a_user_may_touch_its_lane_only() -> None:
    """Every subject a service user may publish is literal, or one of its own subjects or
    consumers' acks: no wildcard reaches another stream or consumer."""
    lane = Lane(
        "employment",
        ("EMPLOYMENT",),
        {"INSPECTIONS": ("employment_policy_inspections",)},
    )
    permissions = service_permissions(lane)
    assert sorted(permissions["publish"]["allow"]) == sorted(
        [
            "employment.>",
            "$JS.API.STREAM.INFO.EMPLOYMENT",
            "$JS.API.DIRECT.GET.EMPLOYMENT",
            "$JS.API.STREAM.INFO.INSPECTIONS",
            "$JS.API.DIRECT.GET.INSPECTIONS",
            "$JS.API.CONSUMER.CREATE.INSPECTIONS.employment_policy_inspections",
            "$JS.API.CONSUMER.INFO.INSPECTIONS.employment_policy_inspections",
            "$JS.API.CONSUMER.DELETE.INSPECTIONS.employment_policy_inspections",
            "$JS.API.CONSUMER.MSG.NEXT.INSPECTIONS.employment_policy_inspections",
            "$JS.ACK.INSPECTIONS.employment_policy_inspections.>",
        ]
    )
    assert "deny" not in permissions["publish"]
    assert permissions["subscribe"] == {"allow": ["_INBOX.employment.>"]}


def test_the_helm_users_are_yaml_of_the_same_permissions() -> None:
    yaml = pytest.importorskip("yaml")
    lane = Lane("orders", ("ORDERS",), {"ORDERS": ("orders_projections_orders",)})
    by_service = {
        service: Lane(service, ()) for service in ("registry", "employment", "rights")
    } | {"orders": lane}
    users = {user["user"]: user for user in yaml.safe_load(helm_users(by_service))}
    assert users["orders"]["permissions"] == service_permissions(lane)
    assert users["orders"]["password"] == "<< $ORDERS_NATS_PASSWORD >>"
