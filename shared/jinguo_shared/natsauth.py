"""Who may do what on NATS: one user per service, derived from the streams each one owns.

The same definitions feed the embedded nats-server (`EmbeddedNats`) and are checked against the
Helm values in deploy/nats/values.yaml (tests/deploy), so production and development enforce one
policy. A service may publish its own events, create and update only its own streams, use the
JetStream API to consume and get from any stream that is not confidential, and subscribe only
to its own inbox prefix. A confidential stream (RIGHTS) can be read by its owner only.

Deliberately absent: `$JS.API.>` wholesale (a stream that sources or mirrors a confidential one
copies it server-side; snapshots dump it; delete and purge destroy the log), `_INBOX.>` (every
other user's replies and push deliveries) and core subscriptions to event subjects.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinguo_shared.eventstore import SERVICE_STREAMS, owned_streams, stream_owners

ACCOUNT = "JINGUO"
ADMIN_USER = "admin"
"""Operators' user: the whole account, confidential streams included (break-glass tools)."""

_COMMON_ALLOW = (
    "$JS.API.INFO",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.LIST",
    "$JS.API.STREAM.MSG.GET.*",
    "$JS.API.DIRECT.GET.*",
    "$JS.API.DIRECT.GET.*.>",
    "$JS.API.CONSUMER.>",
    "$JS.ACK.>",
    "$JS.FC.>",
)


def inbox_prefix(service: str) -> str:
    return f"_INBOX.{service}"


def confidential_denials(stream: str) -> list[str]:
    """Every JetStream API, ack and flow-control subject that names `stream`.

    (A consequence of the patterns: no consumer on any stream may be named like the stream.)
    """
    return [
        f"$JS.API.STREAM.*.{stream}",
        f"$JS.API.STREAM.*.{stream}.>",
        f"$JS.API.STREAM.MSG.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}.>",
        f"$JS.API.CONSUMER.*.{stream}",
        f"$JS.API.CONSUMER.*.{stream}.>",
        f"$JS.API.CONSUMER.*.*.{stream}",
        f"$JS.API.CONSUMER.*.*.{stream}.>",
        f"$JS.ACK.{stream}.>",
        f"$JS.FC.{stream}.>",
    ]


def service_permissions(service: str) -> dict[str, Any]:
    """The `permissions` block of a service's NATS user (nats-server config layout)."""
    owned = owned_streams(service)
    allow = [subject for spec in owned for subject in spec.subjects]
    allow.append("$JS.API.INFO")
    for spec in owned:
        allow += [f"$JS.API.STREAM.CREATE.{spec.name}", f"$JS.API.STREAM.UPDATE.{spec.name}"]
    allow += [s for s in _COMMON_ALLOW if s != "$JS.API.INFO"]
    deny = [
        subject
        for spec in SERVICE_STREAMS.values()
        if spec.confidential and spec.owner != service
        for subject in confidential_denials(spec.name)
    ]
    publish: dict[str, list[str]] = {"allow": allow}
    if deny:
        publish["deny"] = deny
    return {"publish": publish, "subscribe": {"allow": [f"{inbox_prefix(service)}.>"]}}


def nats_users() -> list[str]:
    return [*stream_owners(), ADMIN_USER]


def accounts_config(passwords: Mapping[str, str]) -> dict[str, Any]:
    """The `accounts` block: one user per stream owner plus the admin, in account JINGUO."""
    users: list[dict[str, Any]] = []
    for service in stream_owners():
        users.append(
            {
                "user": service,
                "password": passwords[service],
                "permissions": service_permissions(service),
            }
        )
    users.append({"user": ADMIN_USER, "password": passwords[ADMIN_USER]})
    return {ACCOUNT: {"jetstream": "enabled", "users": users}}


class NatsPasswords:
    """Passwords of the embedded server's users, generated on first start and kept (0600)
    in `<store dir>/users/<user>`, so restarts and every process on the machine agree."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, user: str) -> Path:
        return self.directory / user

    def read(self, user: str) -> str | None:
        path = self.path(user)
        return path.read_text().strip() if path.exists() else None

    def ensure(self) -> dict[str, str]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        passwords: dict[str, str] = {}
        for user in nats_users():
            existing = self.read(user)
            if existing is None:
                existing = "p" + secrets.token_hex(24)
                fd = os.open(self.path(user), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(existing + "\n")
            passwords[user] = existing
        return passwords
