"""Where webhooks may go: `https` only (plain `http` to the loopback in development), and never
to a private, loopback, link-local, multicast, reserved or unique-local address unless an
operator allows its network (`JINGUO_WEBHOOK_ALLOWED_NETWORKS`): a partner must not reach the
cluster's internals through us. Checked when a URL is registered and again on every delivery,
on the addresses its host resolves to then; the delivery connects to the address checked."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from jinguo_shared.settings import Settings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class AddressRefusedError(ValueError):
    """Why a webhook may not be delivered to a URL (shown to its owner)."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    http_loopback: bool
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def of(cls, settings: Settings) -> AddressPolicy:
        networks = tuple(
            ipaddress.ip_network(cidr, strict=False) for cidr in settings.webhook_allowed_networks
        )
        return cls(settings.webhook_http_loopback(), networks)

    def target(self, url: str) -> Target:
        """The URL's scheme, host and port, if it may be registered at all."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            raise AddressRefusedError(f"not a URL: {error}") from None
        host = (parts.hostname or "").lower()
        if not host or parts.username is not None or parts.password is not None:
            raise AddressRefusedError("a webhook URL names a host, and no user or password")
        if parts.scheme == "http":
            if not (self.http_loopback and host in LOOPBACK_NAMES):
                raise AddressRefusedError(
                    "webhooks are delivered over https only (plain http only to the loopback,"
                    " in development)"
                )
        elif parts.scheme != "https":
            raise AddressRefusedError("webhooks are delivered over https only")
        return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80))

    def permits(self, address: IpAddress, target: Target) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allowed_networks):
            return True
        if target.scheme == "http" and address.is_loopback:
            return True  # `target` allowed plain http to the loopback: development
        return address.is_global and not address.is_multicast

    async def resolve(self, target: Target) -> IpAddress:
        """The address to connect to: the host's first, once every address it resolves to is
        permitted (one refused address refuses the host: DNS may answer either)."""
        try:
            literal: IpAddress | None = ipaddress.ip_address(target.host)
        except ValueError:
            literal = None
        if literal is not None:
            found = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    target.host, target.port, type=socket.SOCK_STREAM
                )
            except OSError as error:
                raise AddressRefusedError(f"{target.host} does not resolve: {error}") from None
            found = [ipaddress.ip_address(info[4][0]) for info in infos]
        refused = [str(address) for address in found if not self.permits(address, target)]
        if refused or not found:
            raise AddressRefusedError(
                f"{target.host} resolves to {', '.join(refused) or 'nothing'}: a private,"
                " loopback, link-local or reserved address webhooks may not reach"
            )
        return found[0]
