"""The registry: a key acts for its own agency, within its own jurisdiction.

The platform operator (the bootstrap key, `platform:admin`) registers three agencies: 东城区妇联
(district 110101), 西城区妇联 (district 110102) and 北京市妇联 (the city, 110100), and issues
each an admin key. Each attack below is what a stolen or careless key of one agency would try
on another's: administer its API clients, grant itself the platform's scope, read or write its
people. Over real HTTP (the registry's app), a real nats-server, SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import HTTPException

from jinguo_registry.bootstrap import DEV_KEY_FILE, RegistryService
from jinguo_registry.domain.organisations import SCOPES
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import runtimes

EAST, WEST, CITY = "110101", "110102", "110100"
ADMIN_SCOPES = sorted(SCOPES)


@dataclass
class Agency:
    agency_id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class World:
    http: httpx.AsyncClient
    runtime: ServiceRuntime
    operator: Agency
    east: Agency
    west: Agency
    city: Agency

    async def stream_length(self) -> int:
        return (await self.runtime.nc.jetstream().stream_info("REGISTRY")).state.messages

    async def issue(
        self, by: Agency, agency_id: str, scopes: list[str], officer_id: str | None = None
    ) -> httpx.Response:
        return await self.http.post(
            f"/agencies/{agency_id}/clients",
            json={"name": "test client", "scopes": scopes, "officer_id": officer_id},
            headers=by.headers,
        )

    async def new_client(
        self, by: Agency, agency_id: str, scopes: list[str], **body: Any
    ) -> Agency:
        answer = await self.issue(by, agency_id, scopes, **body)
        assert answer.status_code == 201, answer.text
        client = Agency(agency_id, answer.json()["api_key"])
        assert await answered_eventually(self.runtime, client.key, accepted=True)
        return client


async def answered_eventually(runtime: ServiceRuntime, key: str, *, accepted: bool) -> bool:
    """Whether the key comes to be accepted (or refused) once the api_clients projection has
    applied the change and the authenticator has forgotten what it cached (bounded: 10 s)."""
    for _ in range(200):
        try:
            await runtime.authenticator.authenticate(f"Bearer {key}")
            if accepted:
                return True
        except HTTPException as refused:
            if not accepted:
                return refused.status_code == 401
        await asyncio.sleep(0.05)
    return False


@pytest.fixture
async def world(jinguo_env: dict[str, str]) -> AsyncIterator[World]:
    service = RegistryService()
    async with runtimes(service, jinguo_env["JINGUO_NATS_URL"]) as open_registry:
        runtime = await open_registry()
        await service.seed_development(runtime)
        dev_key = (runtime.settings.data_dir / DEV_KEY_FILE).read_text().strip()
        assert await answered_eventually(runtime, dev_key, accepted=True)
        transport = httpx.ASGITransport(app=service.create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:
            operator = Agency("", dev_key)
            agencies = []
            for name, area in (("东城区妇联", EAST), ("西城区妇联", WEST), ("北京市妇联", CITY)):
                registered = await http.post(
                    "/agencies",
                    json={"name": name, "kind": "womens_federation", "area_code": area},
                    headers=operator.headers,
                )
                assert registered.status_code == 201, registered.text
                agencies.append(registered.json()["id"])
            world = World(http, runtime, operator, operator, operator, operator)
            east, west, city = [
                await world.new_client(operator, agency_id, ADMIN_SCOPES) for agency_id in agencies
            ]
            yield World(http, runtime, operator, east, west, city)


# --- agencies and their API clients -------------------------------------------------------


async def test_an_admin_key_issues_no_client_for_another_agency(world: World) -> None:
    """Found: a registry:admin key of agency B minted a rights:read key for agency A."""
    before = await world.stream_length()
    refused = await world.issue(world.west, world.east.agency_id, ["rights:read"])
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "api_key" not in refused.json()
    assert await world.stream_length() == before


async def test_an_admin_key_neither_rotates_nor_revokes_another_agencys_client(
    world: World,
) -> None:
    victim = await world.new_client(world.east, world.east.agency_id, ["registry:read"])
    client_id = victim.key.split("_")[1]
    before = await world.stream_length()
    base = f"/agencies/{world.east.agency_id}/clients/{client_id}"
    rotated = await world.http.post(
        f"{base}/rotation", json={"grace_seconds": 0}, headers=world.west.headers
    )
    revoked = await world.http.post(
        f"{base}/revoke", json={"reason": "takeover"}, headers=world.west.headers
    )
    assert (rotated.status_code, revoked.status_code) == (403, 403)
    assert "api_key" not in rotated.json()
    assert await world.stream_length() == before
    # nor by naming its own agency in the path and the other's client
    own_path = f"/agencies/{world.west.agency_id}/clients/{client_id}/rotation"
    sideways = await world.http.post(
        own_path, json={"grace_seconds": 0}, headers=world.west.headers
    )
    assert sideways.status_code == 404
    assert (await world.http.get("/agencies", headers=victim.headers)).status_code == 200


async def test_only_the_operator_registers_agencies(world: World) -> None:
    body = {"name": "伪造的机构", "kind": "legal_aid", "area_code": WEST}
    refused = await world.http.post("/agencies", json=body, headers=world.west.headers)
    assert refused.status_code == 403
    elsewhere = {"name": "上海市妇联", "kind": "womens_federation", "area_code": "310000"}
    accepted = await world.http.post("/agencies", json=elsewhere, headers=world.operator.headers)
    assert accepted.status_code == 201, accepted.text  # the operator's is the whole platform


async def test_nobody_grants_the_platform_scope_over_the_api(world: World) -> None:
    for by, agency_id in (
        (world.east, world.east.agency_id),
        (world.operator, world.east.agency_id),
    ):
        refused = await world.issue(by, agency_id, ["platform:admin", "registry:read"])
        assert refused.status_code == 403, refused.text
        assert "platform:admin" in refused.json()["detail"]


async def test_an_admin_key_grants_only_scopes_it_holds(world: World) -> None:
    registry_admin = await world.new_client(
        world.east, world.east.agency_id, ["registry:admin", "registry:read"]
    )
    refused = await world.issue(registry_admin, world.east.agency_id, ["rights:read"])
    assert refused.status_code == 403
    assert "rights:read" in refused.json()["detail"]
    granted = await world.issue(registry_admin, world.east.agency_id, ["registry:read"])
    assert granted.status_code == 201, granted.text


async def test_a_key_can_be_bound_to_one_officer(world: World) -> None:
    officer = await world.new_client(
        world.east, world.east.agency_id, ["rights:read"], officer_id="wang.fang@dc"
    )
    caller = await world.runtime.authenticator.authenticate(f"Bearer {officer.key}")
    assert (caller.officer_id, caller.agency_id) == ("wang.fang@dc", world.east.agency_id)
    for bad in ("王芳", "a b", "x" * 65, ""):
        refused = await world.issue(world.east, world.east.agency_id, ["rights:read"], bad)
        assert refused.status_code == 422, bad
        assert refused.json()["errors"][0]["field"] == "officer_id"


async def test_a_rotated_key_replaces_the_old_one_after_the_grace_period(world: World) -> None:
    client = await world.new_client(world.east, world.east.agency_id, ["registry:read"])
    client_id = client.key.split("_")[1]
    base = f"/agencies/{world.east.agency_id}/clients/{client_id}"

    graced = await world.http.post(
        f"{base}/rotation", json={"grace_seconds": 3600}, headers=world.east.headers
    )
    assert graced.status_code == 201, graced.text
    second = graced.json()
    assert (second["client_id"], second["api_key"].split("_")[1]) == (client_id, client_id)
    assert second["previous_valid_until"] is not None
    assert await answered_eventually(world.runtime, second["api_key"], accepted=True)
    for key in (client.key, second["api_key"]):  # both work during the grace period
        answer = await world.http.get("/agencies", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200

    at_once = await world.http.post(
        f"{base}/rotation", json={"grace_seconds": 0}, headers=world.east.headers
    )
    assert at_once.status_code == 201, at_once.text
    assert await answered_eventually(world.runtime, at_once.json()["api_key"], accepted=True)
    for old in (client.key, second["api_key"]):
        assert await answered_eventually(world.runtime, old, accepted=False)
        answer = await world.http.get("/agencies", headers={"Authorization": f"Bearer {old}"})
        assert answer.status_code == 401

    for grace in (-1, 2592001, "soon"):
        bad = await world.http.post(
            f"{base}/rotation", json={"grace_seconds": grace}, headers=world.east.headers
        )
        assert bad.status_code == 422


async def test_a_revoked_client_cannot_be_rotated_back_to_life(world: World) -> None:
    client = await world.new_client(world.east, world.east.agency_id, ["registry:read"])
    base = f"/agencies/{world.east.agency_id}/clients/{client.key.split('_')[1]}"
    revoked = await world.http.post(
        f"{base}/revoke", json={"reason": "lost"}, headers=world.east.headers
    )
    assert revoked.status_code == 200, revoked.text
    assert await answered_eventually(world.runtime, client.key, accepted=False)
    rotated = await world.http.post(
        f"{base}/rotation", json={"grace_seconds": 0}, headers=world.east.headers
    )
    assert rotated.status_code == 409
    assert "api_key" not in rotated.json()


async def test_an_agency_admin_cannot_take_over_the_operators_key(world: World) -> None:
    """The development agency's own admin key must not rotate (and so obtain) or revoke the
    operator's key, which belongs to the same agency."""
    caller = await world.runtime.authenticator.authenticate(f"Bearer {world.operator.key}")
    dev_admin = await world.new_client(world.operator, caller.agency_id, ADMIN_SCOPES)
    base = f"/agencies/{caller.agency_id}/clients/{caller.client_id}"
    rotated = await world.http.post(
        f"{base}/rotation", json={"grace_seconds": 0}, headers=dev_admin.headers
    )
    revoked = await world.http.post(
        f"{base}/revoke", json={"reason": "coup"}, headers=dev_admin.headers
    )
    assert (rotated.status_code, revoked.status_code) == (403, 403)
    assert "api_key" not in rotated.json()
