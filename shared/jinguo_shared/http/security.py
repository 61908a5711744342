"""API keys: `jg_<client id>_<secret>`; services keep only the SHA-256 learned from events."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_shared.projections.api_clients import ApiClients
from jinguo_shared.projections.host import ProjectionHost

KEY_PREFIX = "jg_"


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key(client_id: str) -> str:
    """Shown once to whoever issued it; only its hash ever leaves the request."""
    return f"{KEY_PREFIX}{client_id}_{secrets.token_urlsafe(30)}"


@dataclass(frozen=True, slots=True)
class Caller:
    client_id: str
    agency_id: str
    scopes: frozenset[str]
    system: bool = False

    def require(self, scope: str) -> None:
        if scope not in self.scopes and not self.system:
            raise HTTPException(403, f"this API client lacks the scope {scope}")


SYSTEM = Caller("system", "system", frozenset(), system=True)


def _unauthenticated(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="jinguo"'})


class Authenticator:
    """Checks a bearer key against the service's own api_clients projection (cached briefly)."""

    def __init__(self, engine: AsyncEngine, host: ProjectionHost, ttl: float = 5.0) -> None:
        self._engine = engine
        self._host = host
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Caller | None, str]] = {}

    async def authenticate(self, authorization: str | None) -> Caller:
        if not authorization or not authorization.startswith("Bearer "):
            raise _unauthenticated("send an API key as 'Authorization: Bearer jg_…'")
        api_key = authorization.removeprefix("Bearer ").strip()
        client_id, _, secret = api_key.removeprefix(KEY_PREFIX).partition("_")
        if not api_key.startswith(KEY_PREFIX) or not client_id or not secret:
            raise _unauthenticated("malformed API key")
        cached = self._cache.get(client_id)
        if cached is None or cached[0] < time.monotonic():
            caller, stored_hash = await self._load(client_id)
            cached = (time.monotonic() + self._ttl, caller, stored_hash)
            self._cache[client_id] = cached
        _, caller, stored_hash = cached
        if caller is None or not hmac.compare_digest(stored_hash, key_hash(api_key)):
            raise _unauthenticated("unknown or revoked API key")
        return caller

    async def _load(self, client_id: str) -> tuple[Caller | None, str]:
        projection = self._host.active(ApiClients.name)
        assert isinstance(projection, ApiClients)
        clients = projection.clients
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(select(clients).where(clients.c.client_id == client_id))
            ).first()
        if row is None or row.revoked:
            return None, ""
        return Caller(row.client_id, row.agency_id, frozenset(row.scopes)), row.key_hash
