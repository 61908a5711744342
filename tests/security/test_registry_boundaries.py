"""The registry: a key acts for its own agency, within its own jurisdiction.

The platform operator (the bootstrap key, `platform:admin`) registers three agencies: 东城区妇联
(district 110101), 西城区妇联 (district 110102) and 北京市妇联 (the city, 110100), and issues
each an admin key. Each attack below is what a stolen or careless key of one agency would try
on another's: administer its API clients, grant itself the platform's scope, read or write its
people. Over real HTTP (the registry's app), a real nats-server, SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import HTTPException

from jinguo_contracts.access import SCOPES
from jinguo_registry.bootstrap import DEV_KEY_FILE, RegistryService, handlers_for, issue_agency_key
from jinguo_registry.domain.organisations import BOOTSTRAP
from jinguo_registry.domain.validation import make_national_id
from jinguo_registry.handlers.commands import IssueApiClient, RegisterAgency, RevokeApiClient
from jinguo_shared.envelope import CommandContext
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.services import discover_services
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


# --- jurisdiction: reads and writes of people and organisations ----------------------------


@dataclass
class District:
    """What one district's agency registered, with its key."""

    agency: Agency
    area: str
    worker: str
    national_id: str
    certificate: str
    resident: str
    provider: str
    volunteer: str

    @property
    def community(self) -> str:
        return f"{self.area}001001"


async def created(world: World, by: Agency, path: str, body: dict[str, Any]) -> str:
    answer = await world.http.post(path, json=body, headers=by.headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def register_district(world: World, by: Agency, area: str, n: int) -> District:
    community = f"{area}001001"
    yesterday = world.runtime.clock.today() - timedelta(days=1)
    national_id = make_national_id(area, date(1975, 3, n), n, female=True)
    worker = await created(
        world,
        by,
        "/workers",
        {
            "name": f"测试{n}",
            "national_id": national_id,
            "phone": f"1380000{n:04d}",
            "area_code": community,
            "skills": ["家政"],
        },
    )
    await created(
        world,
        by,
        f"/workers/{worker}/categories",
        {
            "category": "minimum_living_allowance",
            "evidence": "低保证",
            "valid_until": str(yesterday + timedelta(days=200)),
        },
    )
    certificate = f"R-{n}"
    await created(
        world,
        by,
        f"/workers/{worker}/certificates",
        {"kind": "reemployment_preference", "number": certificate, "issued_on": str(yesterday)},
    )
    await created(
        world,
        by,
        f"/workers/{worker}/home-visits",
        {"visited_on": str(yesterday), "visitor": "社工", "notes": "家中有老人"},
    )
    resident = await created(
        world,
        by,
        "/residents",
        {
            "name": f"居民{n}",
            "national_id": make_national_id(area, date(1940, 5, n), n, female=True),
            "phone": f"1390000{n:04d}",
            "area_code": community,
            "address": "某胡同 1 号",
        },
    )
    provider = await created(
        world,
        by,
        "/providers",
        {
            "name": f"家政服务社{n}",
            "credit_code": f"92{area}MA0000000{n}",
            "area_code": community,
            "services": ["housekeeping"],
        },
    )
    volunteer = await created(
        world,
        by,
        "/volunteers",
        {"name": f"志愿者{n}", "phone": f"1370000{n:04d}", "area_code": community},
    )
    return District(by, area, worker, national_id, certificate, resident, provider, volunteer)


@dataclass
class Districts:
    world: World
    east: District
    west: District

    async def position(self) -> str:
        info = await self.world.runtime.nc.jetstream().stream_info("REGISTRY")
        return f"REGISTRY:{info.state.last_seq}"


@pytest.fixture
async def districts(world: World) -> Districts:
    east = await register_district(world, world.east, EAST, 1)
    west = await register_district(world, world.west, WEST, 2)
    return Districts(world, east, west)


LISTS = {
    "/workers": "worker_id",
    "/certificates": "worker_id",
    "/residents": "resident_id",
    "/providers": "provider_id",
    "/volunteers": "volunteer_id",
}


def ids_of(district: District, path: str) -> str:
    return {
        "/workers": district.worker,
        "/certificates": district.worker,
        "/residents": district.resident,
        "/providers": district.provider,
        "/volunteers": district.volunteer,
    }[path]


async def listed(world: World, by: Agency, path: str, **params: str) -> httpx.Response:
    return await world.http.get(path, params={"limit": "200", **params}, headers=by.headers)


async def test_lists_show_only_the_callers_jurisdiction(districts: Districts) -> None:
    world, east, west = districts.world, districts.east, districts.west
    after = await districts.position()
    for path, id_field in LISTS.items():
        for params in ({}, {"area": "11"}, {"area": "1101"}):  # none, or a wider one asked
            answer = await listed(world, west.agency, path, after=after, **params)
            assert answer.status_code == 200, answer.text
            shown = {row[id_field] for row in answer.json()["items"]}
            assert ids_of(west, path) in shown, path
            assert ids_of(east, path) not in shown, (path, params)
        outside = await listed(world, west.agency, path, area=EAST)
        assert outside.status_code == 403, path
        assert outside.json()["type"].endswith("/outside-jurisdiction")
        city = await listed(world, world.city, path, after=after)
        assert {ids_of(east, path), ids_of(west, path)} <= {
            row[id_field] for row in city.json()["items"]
        }


async def test_a_dossier_outside_the_jurisdiction_does_not_exist(districts: Districts) -> None:
    world, east, west = districts.world, districts.east, districts.west
    after = await districts.position()
    outside = await world.http.get(
        f"/workers/{east.worker}", params={"after": after}, headers=west.agency.headers
    )
    nobody = await world.http.get(
        "/workers/00000000-0000-0000-0000-000000000000", headers=west.agency.headers
    )
    assert (outside.status_code, nobody.status_code) == (404, 404)
    assert outside.json()["type"] == nobody.json()["type"]
    assert "测试1" not in outside.text
    for by in (east.agency, world.city):
        seen = await world.http.get(f"/workers/{east.worker}", headers=by.headers)
        assert seen.status_code == 200
        assert seen.json()["name"] == "测试1"


async def test_reports_outside_or_wider_than_the_jurisdiction_are_refused(
    districts: Districts,
) -> None:
    world, west = districts.world, districts.west
    after = await districts.position()
    for area in (EAST, CITY, "110000", f"{EAST}001"):
        refused = await world.http.get(f"/reports/areas/{area}", headers=west.agency.headers)
        assert refused.status_code == 403, area
        assert refused.json()["type"].endswith("/outside-jurisdiction")
    own = await world.http.get(
        f"/reports/areas/{WEST}", params={"after": after}, headers=west.agency.headers
    )
    assert own.status_code == 200
    assert own.json()["totals"]["registered"] == 1
    for area in (EAST, WEST, CITY):
        assert (
            await world.http.get(f"/reports/areas/{area}", headers=world.city.headers)
        ).status_code == 200


async def test_no_write_reaches_a_record_outside_the_jurisdiction(districts: Districts) -> None:
    world, east, west = districts.world, districts.east, districts.west
    day = str(world.runtime.clock.today() - timedelta(days=1))
    attacks: list[tuple[str, str, dict[str, Any]]] = [
        ("PATCH", f"/workers/{east.worker}", {"phone": "13912345678"}),
        (
            "POST",
            f"/workers/{east.worker}/categories",
            {"category": "disabled", "evidence": "x", "valid_until": "2030-01-01"},
        ),
        (
            "POST",
            f"/workers/{east.worker}/certificates",
            {"kind": "tax_relief", "number": "T-9", "issued_on": day},
        ),
        ("POST", f"/workers/{east.worker}/certificates/{east.certificate}/revoke", {"reason": "x"}),
        (
            "POST",
            f"/workers/{east.worker}/home-visits",
            {"visited_on": day, "visitor": "x", "notes": "x"},
        ),
        (
            "POST",
            f"/workers/{east.worker}/reemployment",
            {"post_id": "p", "placement_id": "pl", "employer_name": "x", "started_on": day},
        ),
        ("POST", f"/workers/{east.worker}/erase", {"reason": "x"}),
        (
            "POST",
            f"/residents/{east.resident}/eligibility",
            {"price_tier": "free", "reason": "minimum_living_allowance"},
        ),
        ("POST", f"/residents/{east.resident}/erase", {"reason": "x"}),
        (
            "POST",
            f"/providers/{east.provider}/grade",
            {"grade": 1, "graded_on": day, "assessor": "x"},
        ),
        ("POST", f"/providers/{east.provider}/suspend", {"reason": "x"}),
        ("POST", f"/providers/{east.provider}/reinstatement", {"reason": "x"}),
    ]
    before = await world.stream_length()
    for method, path, body in attacks:
        answer = await world.http.request(method, path, json=body, headers=west.agency.headers)
        assert answer.status_code == 404, (path, answer.text)
    assert await world.stream_length() == before


async def test_no_write_places_a_record_outside_the_jurisdiction(districts: Districts) -> None:
    world, west = districts.world, districts.west
    community = f"{EAST}002003"
    placements: list[tuple[str, dict[str, Any]]] = [
        (
            "/workers",
            {
                "name": "外区",
                "national_id": make_national_id(WEST, date(1980, 1, 9), 9, female=True),
                "phone": "13800009999",
                "area_code": community,
            },
        ),
        (
            "/residents",
            {
                "name": "外区",
                "national_id": make_national_id(WEST, date(1950, 1, 9), 9, female=True),
                "phone": "13800009998",
                "area_code": community,
                "address": "某胡同 2 号",
            },
        ),
        (
            "/providers",
            {"name": "外区服务社", "credit_code": "92110102MA00000099", "area_code": community},
        ),
        ("/volunteers", {"name": "外区", "phone": "13800009997", "area_code": community}),
    ]
    before = await world.stream_length()
    for path, body in placements:
        answer = await world.http.post(path, json=body, headers=west.agency.headers)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["type"].endswith("/outside-jurisdiction")
    moved = await world.http.patch(
        f"/workers/{west.worker}", json={"area_code": community}, headers=west.agency.headers
    )
    assert moved.status_code == 403
    assert await world.stream_length() == before


async def test_registering_someone_registered_elsewhere_tells_nothing_about_her(
    districts: Districts,
) -> None:
    """West's office has her ID card in hand and tries to register her: it learns that she is
    registered with an agency outside its jurisdiction, and nothing else (no worker id, no
    area, none of her data), and nothing is recorded."""
    world, east, west = districts.world, districts.east, districts.west
    before = await world.stream_length()
    answer = await world.http.post(
        "/workers",
        json={
            "name": "测试1",
            "national_id": east.national_id,
            "phone": "13800000001",
            "area_code": f"{WEST}001001",
        },
        headers=west.agency.headers,
    )
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert problem["type"].endswith("/registered-elsewhere")
    assert "existing_id" not in problem
    for secret in (east.worker, EAST, east.community):
        assert secret not in answer.text
    assert await world.stream_length() == before
    # her own agency is told who she is, as before
    again = await world.http.post(
        "/workers",
        json={
            "name": "测试1",
            "national_id": east.national_id,
            "phone": "13800000001",
            "area_code": east.community,
        },
        headers=east.agency.headers,
    )
    assert (again.status_code, again.json()["existing_id"]) == (409, east.worker)


async def test_a_provider_is_reinstated_only_when_suspended_and_offers_only_catalogue_kinds(
    districts: Districts,
) -> None:
    world, west = districts.world, districts.west
    reinstate = f"/providers/{west.provider}/reinstatement"
    before = await world.stream_length()
    refused = await world.http.post(reinstate, json={"reason": "x"}, headers=west.agency.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/provider-not-suspended")
    unknown = await world.http.post(
        "/providers",
        json={
            "name": "巾帼手工编织合作社",
            "credit_code": "92110102MA00000088",
            "area_code": west.community,
            "services": ["housekeeping", "sewing_repairs", "postpartum_care"],
        },
        headers=west.agency.headers,
    )
    assert unknown.status_code == 422, unknown.text
    (error,) = unknown.json()["errors"]
    assert error["field"] == "services"
    assert "postpartum_care, sewing_repairs" in error["message"]
    assert await world.stream_length() == before
    suspend = f"/providers/{west.provider}/suspend"
    suspended = await world.http.post(suspend, json={"reason": "x"}, headers=west.agency.headers)
    assert suspended.status_code == 200, suspended.text
    back = await world.http.post(
        reinstate, json={"reason": "整改验收合格"}, headers=west.agency.headers
    )
    assert back.status_code == 200, back.text
    again = await world.http.post(reinstate, json={"reason": "x"}, headers=west.agency.headers)
    assert again.status_code == 409, again.text


async def test_the_agency_directory_is_shared(districts: Districts) -> None:
    world, east, west = districts.world, districts.east, districts.west
    agencies = await world.http.get("/agencies", headers=west.agency.headers)
    assert east.agency.agency_id in {a["agency_id"] for a in agencies.json()}


# --- oversized and malformed input ---------------------------------------------------------

LONG = "长" * 2001
"""Longer than any text field takes (2,000 characters at most)."""


def oversized_requests(d: District, client_id: str) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, body, the field named in the problem) for every write endpoint."""
    worker, agency = f"/workers/{d.worker}", f"/agencies/{d.agency.agency_id}"
    person = {"name": "王", "phone": "13800000000", "area_code": d.community}
    national_id = make_national_id(d.area, date(1970, 1, 1), 77, female=True)
    return [
        ("POST", "/workers", {**person, "national_id": national_id, "skills": [LONG]}, "skills.0"),
        (
            "POST",
            "/workers",
            {**person, "national_id": national_id, "skills": ["x"] * 31},
            "skills",
        ),
        (
            "POST",
            "/workers",
            {**person, "national_id": national_id, "desired_work": {"hours_types": ["hourly"] * 6}},
            "desired_work.hours_types",
        ),
        ("PATCH", worker, {"skills": ["家政", "x" * 51]}, "skills.1"),
        (
            "POST",
            f"{worker}/categories",
            {"category": "disabled", "evidence": LONG, "valid_until": "2030-01-01"},
            "evidence",
        ),
        (
            "POST",
            f"{worker}/certificates",
            {"kind": "tax_relief", "number": "N" * 41, "issued_on": "2026-01-01"},
            "number",
        ),
        ("POST", f"{worker}/certificates/{d.certificate}/revoke", {"reason": LONG}, "reason"),
        (
            "POST",
            f"{worker}/home-visits",
            {"visited_on": "2026-01-01", "visitor": "x" * 101, "notes": "ok"},
            "visitor",
        ),
        (
            "POST",
            f"{worker}/reemployment",
            {
                "post_id": "p" * 65,
                "placement_id": "q",
                "employer_name": "x",
                "started_on": "2026-01-01",
            },
            "post_id",
        ),
        ("POST", f"{worker}/erase", {"reason": LONG}, "reason"),
        (
            "POST",
            "/residents",
            {**person, "national_id": national_id, "address": "址" * 301},
            "address",
        ),
        (
            "POST",
            f"/residents/{d.resident}/eligibility",
            {"price_tier": "free", "reason": "x" * 1000},
            "reason",
        ),
        ("POST", f"/residents/{d.resident}/erase", {"reason": LONG}, "reason"),
        (
            "POST",
            "/providers",
            {
                "name": "服务社",
                "credit_code": "92110102MA00000077",
                "area_code": d.community,
                "services": ["s" * 51],
            },
            "services.0",
        ),
        (
            "POST",
            f"/providers/{d.provider}/grade",
            {"grade": 3, "graded_on": "2026-01-01", "assessor": "x" * 101},
            "assessor",
        ),
        ("POST", f"/providers/{d.provider}/suspend", {"reason": LONG}, "reason"),
        ("POST", f"/providers/{d.provider}/reinstatement", {"reason": LONG}, "reason"),
        ("POST", "/volunteers", {**person, "skills": ["x" * 51]}, "skills.0"),
        ("POST", "/volunteers", {**person, "team": "x" * 101}, "team"),
        (
            "POST",
            "/agencies",
            {"name": "x" * 201, "kind": "legal_aid", "area_code": d.area},
            "name",
        ),
        ("POST", f"{agency}/clients", {"name": "x", "scopes": ["s" * 41]}, "scopes.0"),
        (
            "POST",
            f"{agency}/clients",
            {"name": "x", "scopes": [f"registry:read{n}" for n in range(21)]},
            "scopes",
        ),
        (
            "POST",
            f"{agency}/clients/{client_id}/rotation",
            {"grace_seconds": 10**30},
            "grace_seconds",
        ),
        ("POST", f"{agency}/clients/{client_id}/revoke", {"reason": LONG}, "reason"),
        ("POST", f"/workers/{'w' * 65}/erase", {"reason": "x"}, "worker_id"),
    ]


async def test_oversized_input_is_a_problem_naming_the_field_and_records_nothing(
    districts: Districts,
) -> None:
    """Found: skills items had no length limit; a request could make an event larger than
    NATS's 1 MB limit, answered 500."""
    world, west = districts.world, districts.west
    operator = world.operator
    client_id = west.agency.key.split("_")[1]
    before = await world.stream_length()
    for method, path, body, field in oversized_requests(west, client_id):
        by = operator if path == "/agencies" else west.agency
        answer = await world.http.request(method, path, json=body, headers=by.headers)
        assert answer.status_code == 422, (path, field, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in answer.json()["errors"]], (path, answer.text)
    huge = {"name": "王", "national_id": "x", "skills": ["x" * 50] * 6000}
    too_large = await world.http.post("/workers", json=huge, headers=west.agency.headers)
    assert too_large.status_code == 413
    assert await world.stream_length() == before


# --- revocation reaches every service ------------------------------------------------------


async def test_a_revoked_key_is_refused_by_every_service_once_the_revocation_is_visible(
    jinguo_env: dict[str, str],
) -> None:
    """Found: a revoked key kept working for up to 5 s (each process cached it). Every
    service learns clients from its own api_clients projection; here each runs as two
    processes (a projector and an API process) that have both cached the key as valid, for an
    hour if nothing else made them forget it. Once the revocation's position is visible to a
    service, both its processes refuse the key. (bench/revocation.py measures the delay under
    `jinguo up`.)"""
    async with contextlib.AsyncExitStack() as stack:
        processes: list[tuple[str, ServiceRuntime]] = []
        for definition in discover_services():
            opener = await stack.enter_async_context(
                runtimes(definition, jinguo_env["JINGUO_NATS_URL"])
            )
            for role in ("all", "api"):
                runtime = await opener(role)
                runtime.authenticator._ttl = 3600  # only the revocation may make it forget
                processes.append((f"{definition.name} ({role})", runtime))
        registry = processes[0][1]
        issued = await issue_agency_key(
            registry,
            RegisterAgency(name="东城区妇联", kind="womens_federation", area_code=EAST),
            IssueApiClient(name="partner", scopes=["registry:read", "rights:read"]),
        )
        for name, runtime in processes:
            assert await answered_eventually(runtime, issued.api_key, accepted=True), name

        revoked = await handlers_for(registry).revoke_api_client(
            issued.agency_id,
            issued.client_id,
            RevokeApiClient(reason="leaked"),
            CommandContext(command_id="revoke", correlation_id="revoke", actor="test"),
            grantor=BOOTSTRAP,
        )
        still_accepted = []
        for name, runtime in processes:
            await runtime.projections.wait_for(revoked.position, ["api_clients"], 15)
            if not await answered_eventually(runtime, issued.api_key, accepted=False):
                still_accepted.append(name)
        assert still_accepted == []
