"""API keys: `jg_<client id>_<secret>`; services keep only the SHA-256 learned from events.

A key belongs to one agency and acts only within that agency's jurisdiction; a key bound to an
officer is that officer's own credential; a key may hold grants to receive personal data.
Revoking a key, or withdrawing a grant, reaches every process as soon as its `api_clients`
projection has applied the event: each process watches that projection and forgets what it
cached when it changes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import HTTPException
from fastapi.security import HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_contracts.access import ALL_PERSONAL_FIELDS, OPERATOR_SCOPE
from jinguo_shared.access import Jurisdiction
from jinguo_shared.db import DirectSql
from jinguo_shared.projections.api_clients import ApiClients
from jinguo_shared.projections.host import ProjectionHost

log = logging.getLogger(__name__)

KEY_PREFIX = "jg_"

API_KEY = HTTPBearer(
    scheme_name="ApiKey",
    bearerFormat="jg_<client id>_<secret>",
    description="An API key of one agency, issued by the registry; it acts within that "
    "agency's jurisdiction and scopes only.",
    auto_error=False,
)
"""Names the scheme in every service's OpenAPI. It refuses nothing (`auto_error=False`): the
key is checked on admission, before the body is read, and a refusal is a 401 problem."""


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key(client_id: str) -> str:
    """Shown once to whoever issued it; only its hash ever leaves the request."""
    return f"{KEY_PREFIX}{client_id}_{secrets.token_urlsafe(30)}"


@dataclass(frozen=True, slots=True)
class PersonalDataGrant:
    """A client's right to receive personal fields of one service's events, and why."""

    service: str
    fields: frozenset[str]
    purpose: str
    valid_until: datetime | None = None

    def covers(self, field: str) -> bool:
        return field in self.fields or ALL_PERSONAL_FIELDS in self.fields

    def holds(self, now: datetime) -> bool:
        return self.valid_until is None or now < self.valid_until


@dataclass(frozen=True, slots=True)
class Caller:
    client_id: str
    agency_id: str
    scopes: frozenset[str]
    jurisdiction: Jurisdiction | None = None
    """Where the caller may read and write; None only for the system itself."""
    officer_id: str | None = None
    """The officer who holds this key (rights cases are read and worked by officers)."""
    system: bool = False
    grants: tuple[PersonalDataGrant, ...] = ()
    """Personal data the client may receive, per service (`ApiClientPersonalDataGranted`)."""

    def personal_data_grant(self, service: str) -> PersonalDataGrant | None:
        """The grant under which this client may receive personal fields of `service`'s
        events now, if it holds one; none, and its feed carries no personal field."""
        now = datetime.now(UTC)
        return next((g for g in self.grants if g.service == service and g.holds(now)), None)

    def require(self, scope: str) -> None:
        if scope not in self.scopes and not self.system:
            raise HTTPException(403, f"this API client lacks the scope {scope}")

    @property
    def operator(self) -> bool:
        return self.system or OPERATOR_SCOPE in self.scopes

    def require_administers(self, agency_id: str) -> None:
        """An agency's admin administers that agency only; the operator any agency."""
        if not self.operator and agency_id != self.agency_id:
            raise HTTPException(403, "an API client administers its own agency only")

    def area(self, asked: str | None) -> str | None:
        """The area prefix a list may filter on, within the jurisdiction (None: no limit)."""
        if self.jurisdiction is None:
            return asked
        return self.jurisdiction.narrow(asked)

    def sees(self, area_code: str | None) -> bool:
        return self.jurisdiction is None or self.jurisdiction.covers(area_code)


SYSTEM = Caller("system", "system", frozenset(), system=True)


def unauthenticated(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="jinguo"'})


@dataclass(frozen=True, slots=True)
class _Known:
    caller: Caller | None
    hashes: tuple[tuple[str, datetime | None], ...]
    """Key hashes this client accepts, each until when (None: until revoked or rotated)."""
    until: float


class Authenticator:
    """Checks a bearer key against the service's own api_clients projection.

    What it read is kept until that projection applies a change (checked every `watch_seconds`
    by `watch`), and never longer than `ttl`.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        host: ProjectionHost,
        ttl: float = 5.0,
        watch_seconds: float = 0.1,
    ) -> None:
        self._engine = engine
        self._host = host
        self._ttl = ttl
        self._watch_seconds = watch_seconds
        self._cache: dict[str, _Known] = {}
        self._forgotten = 0
        """How many times the cache was cleared: a read that a clearing overtook is not kept."""
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._sql = DirectSql(engine)

    async def authenticate(self, authorization: str | None) -> Caller:
        if not authorization or not authorization.startswith("Bearer "):
            raise unauthenticated("send an API key as 'Authorization: Bearer jg_…'")
        api_key = authorization.removeprefix("Bearer ").strip()
        client_id, _, secret = api_key.removeprefix(KEY_PREFIX).partition("_")
        if not api_key.startswith(KEY_PREFIX) or not client_id or not secret or len(api_key) > 200:
            raise unauthenticated("malformed API key")
        known = await self._known(client_id)
        presented = key_hash(api_key)
        now = datetime.now(UTC)
        if known.caller is None or not any(
            hmac.compare_digest(stored, presented) and (until is None or now < until)
            for stored, until in known.hashes
        ):
            raise unauthenticated("unknown or revoked API key")
        return known.caller

    async def client(self, client_id: str) -> Caller | None:
        """The client as its key would authenticate it now; None once revoked (or unknown):
        what acts for it outside a request (its webhooks) acts with no more than this."""
        return (await self._known(client_id)).caller

    async def _known(self, client_id: str) -> _Known:
        known = self._cache.get(client_id)
        if known is None or known.until < time.monotonic():
            forgotten = self._forgotten
            known = await self._load(client_id)
            if forgotten == self._forgotten:
                self._cache[client_id] = known
        return known

    def forget(self) -> None:
        self._cache.clear()
        self._forgotten += 1

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self.watch(), name="api-clients-watch")

    async def stop(self) -> None:
        """A database driver may swallow a cancellation inside a query, hence the flag and the
        bound, as the projections' and the policies' stops have."""
        if self._task is not None:
            self._stopping = True
            self._task.cancel()
            await asyncio.wait([self._task], timeout=5)
            self._task = None

    async def watch(self) -> None:
        """Forget cached keys whenever the api_clients projection applies a change."""
        seen: tuple[int, int] | None = None
        while not self._stopping:
            await asyncio.sleep(self._watch_seconds)
            try:
                projection = self._host.active(ApiClients.name)
                assert isinstance(projection, ApiClients)
                position = (projection.generation, await projection.last_change(self._sql))
            except Exception:  # a database hiccup: fall back on the ttl
                log.debug("cannot read the api_clients projection", exc_info=True)
                continue
            if position != seen:
                # the first reading too: what was cached before it may predate a change
                self.forget()
                seen = position

    async def _load(self, client_id: str) -> _Known:
        until = time.monotonic() + self._ttl
        projection = self._host.active(ApiClients.name)
        assert isinstance(projection, ApiClients)
        clients, agencies, grants = projection.clients, projection.agencies, projection.grants
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(clients, agencies.c.area_code)
                    .join(agencies, agencies.c.agency_id == clients.c.agency_id)
                    .where(clients.c.client_id == client_id)
                )
            ).first()
            if row is None or row.revoked:
                return _Known(None, (), until)
            granted = (
                await connection.execute(select(grants).where(grants.c.client_id == client_id))
            ).all()
        caller = Caller(
            row.client_id,
            row.agency_id,
            frozenset(row.scopes),
            jurisdiction=Jurisdiction.of_area(row.area_code),
            officer_id=row.officer_id,
            grants=tuple(
                PersonalDataGrant(
                    grant.data_service,
                    frozenset(grant.fields),
                    grant.purpose,
                    utc_aware(grant.valid_until),
                )
                for grant in granted
            ),
        )
        hashes: list[tuple[str, datetime | None]] = [(row.key_hash, None)]
        previous_until = utc_aware(row.previous_valid_until)
        if row.previous_key_hash is not None and previous_until is not None:
            hashes.append((row.previous_key_hash, previous_until))
        return _Known(caller, tuple(hashes), until)


def utc_aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite keeps UTC without its offset
        return moment.replace(tzinfo=UTC)
    return moment
