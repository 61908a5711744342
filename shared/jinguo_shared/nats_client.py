"""Connecting to NATS: as the configured user in production, else as a user of the embedded
server, each with its own password."""

from __future__ import annotations

import ssl

import nats
from nats.aio.client import Client as NatsClient

from jinguo_shared.natsauth import ADMIN_USER, NatsPasswords, inbox_prefix
from jinguo_shared.settings import Settings


def embedded_passwords(settings: Settings) -> NatsPasswords:
    """Where the embedded nats-server (data dir `nats/`) keeps its users' passwords."""
    return NatsPasswords(settings.data_dir / "nats" / "users")


async def connect_nats(
    settings: Settings, url: str, name: str, user: str | None = None
) -> NatsClient:
    """Connect as the configured NATS user (production: one service per process), else as
    `user` of the embedded server, so services sharing a process still connect apart. `url`
    may name several servers of a cluster, comma-separated."""
    options: dict[str, object] = {
        "name": name,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "connect_timeout": 5,
    }
    embedded = embedded_passwords(settings).read(user) if user else None
    if settings.nats_user:
        options["user"] = settings.nats_user
        if settings.nats_password is not None:
            options["password"] = settings.nats_password.get_secret_value()
    elif user and embedded is not None and not settings.nats_creds:
        options["user"] = user
        options["password"] = embedded
        if user != ADMIN_USER:
            options["inbox_prefix"] = inbox_prefix(user)
    if settings.nats_inbox_prefix:
        options["inbox_prefix"] = settings.nats_inbox_prefix
    if settings.nats_creds:
        options["user_credentials"] = str(settings.nats_creds)
    tls = tls_context(settings)
    if tls is not None:
        options["tls"] = tls
    servers = [server.strip() for server in url.split(",") if server.strip()]
    return await nats.connect(servers, **options)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """TLS to NATS when a CA or client certificate is configured: the servers' certificates
    verified against that CA (else the system's), the client's presented when asked."""
    if settings.nats_tls_ca is None and settings.nats_tls_cert is None:
        return None
    ca = settings.nats_tls_ca
    context = ssl.create_default_context(cafile=str(ca) if ca is not None else None)
    if settings.nats_tls_cert is not None:
        context.load_cert_chain(settings.nats_tls_cert, settings.nats_tls_key)
    return context
