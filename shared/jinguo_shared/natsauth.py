"""Who may do what on NATS: one user per service, allowed exactly the streams and consumers of
its lane, and the names of those consumers.

A service's lane is read from its definition: the streams it writes, the streams its
projections, policies and webhooks read, and the consumers it names on each. The runtime names its
consumers with the functions below, and the permissions are generated from the same lanes, for
the embedded nats-server (`EmbeddedNats`) and for the Helm values in deploy/nats/values.yaml
(`jinguo streams users` prints them; tests/deploy compares), so production and
development enforce one policy. README.md, "NATS permissions", tabulates it and
tests/security probes every cell on a real server.

A service user may publish its own events; read the info of, and get messages from, the
streams of its lane; create, look up, delete, pull from and acknowledge its own consumers; and
subscribe to its own inbox prefix. Nothing else of the JetStream API: no stream management
(an update can add `sources` or shrink limits whatever the deny flags say; an operator
provisions the streams, `jinguo streams provision`), no stream list (it names RIGHTS), no
consumer of another name (another service's could be deleted and recreated to filter nothing).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jinguo_shared.consumer_names import (
    policy_consumer,
    projections_consumer,
    rebuild_consumers,
    webhooks_consumer,
)
from jinguo_shared.eventstore import owned_streams, stream_owners
from jinguo_shared.projections.api_clients import ApiClients
from jinguo_shared.projections.closed_periods import ClosedPeriods
from jinguo_shared.projections.disclosures import Disclosures
from jinguo_shared.projections.known_areas import KnownAreas

if TYPE_CHECKING:
    from jinguo_shared.projections.base import Projection
    from jinguo_shared.reactions import Policy

ACCOUNT = "JINGUO"
ADMIN_USER = "admin"
"""Operators' user: the whole account, confidential streams included (break-glass tools and
`jinguo streams provision`)."""

CONSUMER_VERBS = ("CREATE", "INFO", "DELETE", "MSG.NEXT")
"""What a user may do with its own consumers: `$JS.API.CONSUMER.<verb>.<stream>.<name>`."""


class LaneDefinition(Protocol):
    """What a service definition (entry point `jinguo.services`) says about its NATS use; a
    reacting one also lists `policy_types`."""

    name: str
    projections: Sequence[type[Projection]]


def service_projections(definition: LaneDefinition) -> list[type[Projection]]:
    """Every projection a service runs: the kernel's `api_clients`, `known_areas` and
    `closed_periods` (on REGISTRY, which every service reads) and `disclosures` (on the
    service's own stream, which its own projections follow already), then its own."""
    kernel: list[type[Projection]] = [ApiClients, KnownAreas, ClosedPeriods]
    return [*kernel, Disclosures.of(definition.name), *definition.projections]


def policy_types(definition: LaneDefinition) -> Sequence[type[Policy]]:
    types: Sequence[type[Policy]] = getattr(definition, "policy_types", ())
    return types


@dataclass(frozen=True)
class Lane:
    """The streams a service writes, and the consumers it names on each stream it reads."""

    service: str
    writes: tuple[str, ...]
    consumers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def streams(self) -> list[str]:
        """Every stream the service reads or writes."""
        return sorted({*self.writes, *self.consumers})


def service_lane(service: str, definition: LaneDefinition | None) -> Lane:
    """`service`'s lane; without its definition (not installed), it only writes."""
    names: dict[str, set[str]] = {}
    if definition is not None:
        for projection in service_projections(definition):
            for stream in projection.streams():
                names.setdefault(stream, set()).update(
                    [projections_consumer(service, stream), *rebuild_consumers(service, stream)]
                )
        for policy in policy_types(definition):
            names.setdefault(policy.stream(), set()).add(policy_consumer(service, policy.name))
        for spec in owned_streams(service):
            if not spec.confidential:  # the stream its feed and webhooks publish
                names.setdefault(spec.name, set()).add(webhooks_consumer(service, spec.name))
    return Lane(
        service,
        tuple(spec.name for spec in owned_streams(service)),
        {stream: tuple(sorted(names[stream])) for stream in sorted(names)},
    )


def lanes(definitions: Iterable[LaneDefinition]) -> dict[str, Lane]:
    """The lane of every stream owner (each has a NATS user), from the installed services."""
    installed = {definition.name: definition for definition in definitions}
    return {service: service_lane(service, installed.get(service)) for service in stream_owners()}


def inbox_prefix(service: str) -> str:
    return f"_INBOX.{service}"


def service_permissions(lane: Lane) -> dict[str, Any]:
    """The `permissions` block of a service's NATS user (nats-server config layout)."""
    allow = [subject for spec in owned_streams(lane.service) for subject in spec.subjects]
    for stream in lane.streams:
        allow += [f"$JS.API.STREAM.INFO.{stream}", f"$JS.API.DIRECT.GET.{stream}"]
    for stream, names in lane.consumers.items():
        for name in names:
            allow += [f"$JS.API.CONSUMER.{verb}.{stream}.{name}" for verb in CONSUMER_VERBS]
            allow.append(f"$JS.ACK.{stream}.{name}.>")
    return {
        "publish": {"allow": allow},
        "subscribe": {"allow": [f"{inbox_prefix(lane.service)}.>"]},
    }


def nats_users() -> list[str]:
    return [*stream_owners(), ADMIN_USER]


def accounts_config(passwords: Mapping[str, str], by_service: Mapping[str, Lane]) -> dict[str, Any]:
    """The `accounts` block: one user per stream owner plus the admin, in account JINGUO."""
    users: list[dict[str, Any]] = [
        {
            "user": service,
            "password": passwords[service],
            "permissions": service_permissions(by_service[service]),
        }
        for service in stream_owners()
    ]
    users.append({"user": ADMIN_USER, "password": passwords[ADMIN_USER]})
    return {ACCOUNT: {"jetstream": "enabled", "users": users}}


def helm_users(by_service: Mapping[str, Lane]) -> str:
    """The service users of deploy/nats/values.yaml (`config.merge.accounts.JINGUO.users`),
    as YAML indented to sit there; each password comes from the environment."""
    lines = []
    for service in stream_owners():
        permissions = service_permissions(by_service[service])
        lines += [
            f"- user: {service}",
            f"  password: << ${service.upper()}_NATS_PASSWORD >>",
            "  permissions:",
        ]
        for action in ("publish", "subscribe"):
            lines += [f"    {action}:", "      allow:"]
            lines += [f"        - {subject}" for subject in permissions[action]["allow"]]
        lines.append("")
    return "\n".join(" " * 10 + line if line else "" for line in lines)


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
