from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import httpx
import pytest

from jinguo_rights.bootstrap import RightsService, deadline_policy, handlers_for
from jinguo_rights.handlers.commands import RightsHandlers
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore
from jinguo_shared.nats_client import connect_nats
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.settings import Settings
from jinguo_shared.testing import Opener, publish_agency, runtimes

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


OFFICERS = ("ann", "otto", "sam", "bob", "cat", "dora", "nobody")
"""Each agency issues every one of them a key of her own (appointed or not in rights)."""


@dataclass
class Agency:
    agency_id: str
    api_key: str
    """The agency's own key: every rights scope, bound to no officer."""
    officer_keys: dict[str, str]

    def headers(self, officer: str | None = None) -> dict[str, str]:
        key = self.api_key if officer is None else self.officer_keys[officer]
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def agencies(jinguo_env: dict[str, str], rights: ServiceRuntime) -> dict[str, Agency]:
    """Three agencies with an API client each and one per officer, published as the registry
    publishes them (with the registry's own NATS user), and learnt by the rights service's
    api_clients projection."""
    nc = await connect_nats(Settings(), jinguo_env["JINGUO_NATS_URL"], "test", user="registry")
    made: dict[str, Agency] = {}
    scopes = ["rights:admin", "rights:read", "rights:write"]
    try:
        store = EventStore(nc, "registry", None)
        position = ""
        for name, kind, area_code in (
            ("womens_federation", "womens_federation", "110101"),
            ("street_office", "street_office", "110101001"),
            ("legal_aid", "legal_aid", "110101"),
        ):
            clients: dict[str, tuple[list[str], str | None]] = {
                name: (scopes, None),
                **{officer: (scopes, officer) for officer in OFFICERS},
            }
            agency = await publish_agency(
                store, name=name, area=area_code, clients=clients, kind=kind
            )
            position = agency.position
            made[name] = Agency(
                agency.agency_id,
                agency.keys[name],
                {officer: agency.keys[officer] for officer in OFFICERS},
            )
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
