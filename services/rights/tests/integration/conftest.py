from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import httpx
import pytest

from jinguo_contracts.registry import AgencyRegisteredV1, ApiClientIssuedV1
from jinguo_rights.bootstrap import RightsService, deadline_policy, handlers_for
from jinguo_rights.handlers.commands import RightsHandlers
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore
from jinguo_shared.http.security import key_hash, new_api_key
from jinguo_shared.runtime import ServiceRuntime, connect_nats
from jinguo_shared.settings import Settings
from jinguo_shared.testing import Opener, runtimes

TODAY = date(2026, 11, 23)


def context(command_id: str | None = None, actor: str = "test") -> CommandContext:
    command_id = command_id or str(uuid.uuid4())
    return CommandContext(command_id=command_id, correlation_id=command_id, actor=actor)


@pytest.fixture
async def open_rights(
    jinguo_env: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Opener]:
    """Opens rights runtimes (each like a process of its own); closes them all at the end."""
    monkeypatch.setenv("JINGUO_RIGHTS_DATABASE_URL", database_url)
    async with runtimes(RightsService(), jinguo_env["JINGUO_NATS_URL"]) as opener:
        yield opener


@pytest.fixture
async def rights(open_rights: Opener) -> ServiceRuntime:
    return await open_rights()


@pytest.fixture
def handlers(rights: ServiceRuntime) -> RightsHandlers:
    fixed = handlers_for(rights, deadline_policy())
    fixed.today = lambda: TODAY
    return fixed


@dataclass
class Agency:
    agency_id: str
    api_key: str

    def headers(self, officer: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if officer is not None:
            headers["Jinguo-Officer"] = officer
        return headers


@pytest.fixture
async def agencies(jinguo_env: dict[str, str], rights: ServiceRuntime) -> dict[str, Agency]:
    """Three agencies with API clients, published as the registry publishes them (with the
    registry's own NATS user), and learnt by the rights service's api_clients projection."""
    nc = await connect_nats(Settings(), jinguo_env["JINGUO_NATS_URL"], "test", user="registry")
    made: dict[str, Agency] = {}
    try:
        store = EventStore(nc, "registry", None)
        position = ""
        for name, kind in (
            ("womens_federation", "womens_federation"),
            ("street_office", "street_office"),
            ("legal_aid", "legal_aid"),
        ):
            agency_id = str(uuid.uuid4())
            client_id = uuid.uuid4().hex
            api_key = new_api_key(client_id)
            seq = await store.append(
                "agency",
                agency_id,
                0,
                [
                    AgencyRegisteredV1(
                        agency_id=agency_id, name=name, kind=kind, area_code="110101"
                    ),
                    ApiClientIssuedV1(
                        agency_id=agency_id,
                        client_id=client_id,
                        name=name,
                        key_hash=key_hash(api_key),
                        scopes=["rights:admin", "rights:read", "rights:write"],
                    ),
                ],
                context(),
            )
            position = f"REGISTRY:{seq}"
            made[name] = Agency(agency_id, api_key)
        await rights.projections.wait_for(position, ["api_clients"], 10)
    finally:
        await nc.close()
    return made


@pytest.fixture
async def http(
    rights: ServiceRuntime, handlers: RightsHandlers
) -> AsyncIterator[httpx.AsyncClient]:
    from jinguo_rights.bootstrap import queries_for
    from jinguo_rights.entrypoints.http import create_app

    app = create_app(rights, handlers, queries_for(rights, handlers))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rights") as client:
        yield client
