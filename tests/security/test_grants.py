"""Personal-data grants and the record of every disclosure made under one.

An agency's admin (`registry:admin`, or the operator) lets one of its own API clients receive
named personal fields of one service's events for a stated purpose; every process learns it,
and its withdrawal, through its `api_clients` projection. A service that hands such fields to
the client records a `PersonalDataDisclosed` per data subject on its own stream, listed to the
subject's administrators. The attacks: another agency's admin, a client granting itself, no
purpose, fields that are not personal or confidential, a withdrawn or ended grant, a disclosure
beyond the grant, reading another jurisdiction's history, and erasure. Over real HTTP (the
registry's app), a real nats-server, SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import HTTPException

from jinguo_contracts.access import SCOPES
from jinguo_registry.bootstrap import DEV_KEY_FILE, RegistryService
from jinguo_registry.domain.validation import make_national_id
from jinguo_shared import disclosures
from jinguo_shared.disclosures import PageDisclosures
from jinguo_shared.http.security import Caller, PersonalDataGrant
from jinguo_shared.natsauth import service_projections
from jinguo_shared.projections.disclosures import Disclosures
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.services import discover_services
from jinguo_shared.testing import runtimes

EAST, WEST = "110101", "110102"
PURPOSE = "就业援助回访: 联系登记失业人员"


@dataclass
class Key:
    agency_id: str
    key: str

    @property
    def client_id(self) -> str:
        return self.key.split("_")[1]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class World:
    http: httpx.AsyncClient
    runtime: ServiceRuntime
    operator: Key
    east: Key
    west: Key
    partner: Key
    """A client of the east agency that reads registry events: the one grants are made to."""

    async def stream_length(self) -> int:
        return (await self.runtime.nc.jetstream().stream_info("REGISTRY")).state.messages

    async def caller(self, key: Key) -> Caller:
        return await self.runtime.authenticator.authenticate(f"Bearer {key.key}")

    def grants_path(self, agency_id: str, client_id: str, service: str = "registry") -> str:
        return f"/agencies/{agency_id}/clients/{client_id}/grants/{service}"

    async def grant(
        self, by: Key, client: Key, service: str = "registry", **body: Any
    ) -> httpx.Response:
        body = {"fields": ["name", "phone"], "purpose": PURPOSE} | body
        return await self.http.put(
            self.grants_path(client.agency_id, client.client_id, service),
            content=orjson.dumps(body),
            headers=by.headers | {"Content-Type": "application/json"},
        )

    async def withdraw(self, by: Key, client: Key, service: str = "registry") -> httpx.Response:
        path = self.grants_path(client.agency_id, client.client_id, service) + "/withdraw"
        return await self.http.post(path, json={"reason": "项目结束"}, headers=by.headers)

    async def new_client(self, by: Key, agency_id: str, scopes: list[str]) -> Key:
        answer = await self.http.post(
            f"/agencies/{agency_id}/clients",
            json={"name": "partner", "scopes": scopes},
            headers=by.headers,
        )
        assert answer.status_code == 201, answer.text
        client = Key(agency_id, answer.json()["api_key"])
        await self.runtime.projections.wait_for(answer.json()["position"], ["api_clients"], 10)
        return client

    async def register_worker(self, by: Key, area: str, serial: int) -> str:
        answer = await self.http.post(
            "/workers",
            json={
                "name": "王秀英",
                "national_id": make_national_id(area, date(1975, 3, 15), serial, female=True),
                "phone": "13800138000",
                "area_code": f"{area}001001",
            },
            headers=by.headers,
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])


async def seen_eventually(
    runtime: ServiceRuntime, key: Key, wanted: Callable[[PersonalDataGrant | None], bool]
) -> float:
    """Seconds until the key's registry grant, as this process sees it, is as wanted (2 s at
    most): each process learns grants from its api_clients projection, then forgets its cache."""
    started = time.monotonic()
    for _ in range(200):
        caller = await runtime.authenticator.authenticate(f"Bearer {key.key}")
        if wanted(caller.personal_data_grant("registry")):
            return time.monotonic() - started
        await asyncio.sleep(0.01)
    raise AssertionError("the grant is not as wanted after 2 s")


def held(grant: PersonalDataGrant | None) -> bool:
    return grant is not None


def gone(grant: PersonalDataGrant | None) -> bool:
    return grant is None


@pytest.fixture
async def world(jinguo_env: dict[str, str]) -> AsyncIterator[World]:
    service = RegistryService()
    async with runtimes(service, jinguo_env["JINGUO_NATS_URL"]) as open_registry:
        runtime = await open_registry()
        await service.seed_development(runtime)
        operator = Key("", (runtime.settings.data_dir / DEV_KEY_FILE).read_text().strip())
        transport = httpx.ASGITransport(app=service.create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:
            await accepted_eventually(runtime, operator)
            world = World(http, runtime, operator, operator, operator, operator)
            agencies = []
            for name, area in (("东城区妇联", EAST), ("西城区妇联", WEST)):
                registered = await http.post(
                    "/agencies",
                    json={"name": name, "kind": "womens_federation", "area_code": area},
                    headers=operator.headers,
                )
                assert registered.status_code == 201, registered.text
                agencies.append(registered.json()["id"])
            east, west = [await world.new_client(operator, a, sorted(SCOPES)) for a in agencies]
            partner = await world.new_client(east, east.agency_id, ["registry:read"])
            yield World(http, runtime, operator, east, west, partner)


async def accepted_eventually(runtime: ServiceRuntime, key: Key) -> None:
    for _ in range(200):
        with contextlib.suppress(HTTPException):
            await runtime.authenticator.authenticate(f"Bearer {key.key}")
            return
        await asyncio.sleep(0.05)


# --- grants ---------------------------------------------------------------------------------


async def test_an_admin_grants_its_own_client_named_fields_for_a_purpose(world: World) -> None:
    granted = await world.grant(world.east, world.partner)
    assert granted.status_code == 200, granted.text
    await seen_eventually(world.runtime, world.partner, held)
    grant = (await world.caller(world.partner)).personal_data_grant("registry")
    assert grant is not None
    assert (grant.fields, grant.purpose, grant.valid_until) == ({"name", "phone"}, PURPOSE, None)
    assert grant.covers("phone")
    assert not grant.covers("national_id")
    assert (await world.caller(world.partner)).personal_data_grant("orders") is None
    # the same grant again records nothing; another replaces it
    before = await world.stream_length()
    assert (await world.grant(world.east, world.partner)).status_code == 200
    assert await world.stream_length() == before
    everything = await world.grant(world.operator, world.partner, fields=["*"])
    assert everything.status_code == 200, everything.text  # the operator administers any agency
    await world.runtime.projections.wait_for(everything.json()["position"], ["api_clients"], 10)
    await seen_eventually(world.runtime, world.partner, lambda g: g is not None and g.covers("*"))


async def test_another_agencys_admin_cannot_grant_your_client(world: World) -> None:
    before = await world.stream_length()
    refused = await world.grant(world.west, world.partner)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    # nor by naming its own agency in the path and the other's client
    sideways = await world.http.put(
        world.grants_path(world.west.agency_id, world.partner.client_id),
        json={"fields": ["name"], "purpose": PURPOSE},
        headers=world.west.headers,
    )
    assert sideways.status_code == 404, sideways.text
    assert (await world.grant(world.east, world.partner)).status_code == 200
    assert (await world.withdraw(world.west, world.partner)).status_code == 403
    assert await world.stream_length() == before + 1


async def test_a_client_cannot_grant_itself(world: World) -> None:
    before = await world.stream_length()
    itself = await world.grant(world.east, world.east)
    assert itself.status_code == 403, itself.text
    assert "itself" in itself.json()["detail"]
    # a client without registry:admin grants nothing, not even to itself
    for client in (world.partner, world.east):
        refused = await world.grant(world.partner, client)
        assert refused.status_code == 403, refused.text
    assert await world.stream_length() == before


@pytest.mark.parametrize(
    ("service", "body", "field"),
    [
        ("registry", {"purpose": None}, "purpose"),
        ("registry", {"purpose": "   "}, "purpose"),
        ("registry", {"purpose": "x" * 501}, "purpose"),
        ("registry", {"fields": []}, "fields"),
        ("registry", {"fields": ["name", "name"]}, "fields"),
        ("registry", {"fields": ["n" * 41]}, "fields"),
        ("registry", {"fields": ["area_code"]}, "fields"),  # not personal: needs no grant
        ("registry", {"fields": ["*", "name"]}, "fields"),
        ("orders", {"fields": ["name"]}, "fields"),  # a field of another service's
        ("rights", {"fields": ["complainant_name"]}, "data_service"),  # never leaves rights
        ("registry", {"valid_until": "2020-01-01T00:00:00+08:00"}, "valid_until"),
        ("registry", {"valid_until": "2099-01-01T00:00:00+08:00"}, "valid_until"),
        ("registry", {"valid_until": "2030-01-01T00:00:00"}, "valid_until"),  # no offset
        ("Registry", {}, "data_service"),
    ],
)
async def test_a_grant_states_its_purpose_and_names_personal_fields_only(
    world: World, service: str, body: dict[str, Any], field: str
) -> None:
    before = await world.stream_length()
    refused = await world.grant(world.east, world.partner, service, **body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    named = [e["field"] for e in problem.get("errors", [])] + [problem.get("field")]
    assert any(field in str(name) for name in named), problem
    assert await world.stream_length() == before


async def test_a_grant_needs_a_client_that_reads_the_service(world: World) -> None:
    refused = await world.grant(world.east, world.partner, "orders", fields=["address"])
    assert refused.status_code == 409, refused.text
    assert "orders:read" in refused.json()["detail"]
    revoked = await world.new_client(world.east, world.east.agency_id, ["registry:read"])
    path = f"/agencies/{world.east.agency_id}/clients/{revoked.client_id}/revoke"
    assert (
        await world.http.post(path, json={"reason": "x"}, headers=world.east.headers)
    ).is_success
    assert (await world.grant(world.east, revoked)).status_code == 409


async def test_a_withdrawn_grant_stops_at_once_in_every_service(
    world: World, jinguo_env: dict[str, str]
) -> None:
    """Each process caches its callers (here for an hour); the withdrawal makes every process
    of every service forget them once its api_clients projection has applied it."""
    granted = await world.grant(world.east, world.partner)
    assert granted.status_code == 200, granted.text
    async with contextlib.AsyncExitStack() as stack:
        processes = [world.runtime]
        for definition in discover_services()[1:]:
            opener = await stack.enter_async_context(
                runtimes(definition, jinguo_env["JINGUO_NATS_URL"])
            )
            processes.append(await opener("all"))
        for runtime in processes:
            runtime.authenticator._ttl = 3600  # only the withdrawal may make it forget
            await runtime.projections.wait_for(granted.json()["position"], ["api_clients"], 15)
            await seen_eventually(runtime, world.partner, held)
        withdrawn = await world.withdraw(world.east, world.partner)
        assert withdrawn.status_code == 200, withdrawn.text
        for runtime in processes:
            await runtime.projections.wait_for(withdrawn.json()["position"], ["api_clients"], 15)
            assert await seen_eventually(runtime, world.partner, gone) < 0.5
    assert (await world.withdraw(world.east, world.partner)).status_code == 404


def test_a_grant_ends_by_itself_at_its_end() -> None:
    now = datetime.now(UTC)
    ended = PersonalDataGrant("registry", frozenset({"name"}), PURPOSE, now - timedelta(seconds=1))
    running = PersonalDataGrant("registry", frozenset({"name"}), PURPOSE, now + timedelta(hours=1))
    caller = Caller("c", "a", frozenset({"registry:read"}), grants=(ended,))
    assert caller.personal_data_grant("registry") is None
    caller = Caller("c", "a", frozenset({"registry:read"}), grants=(running,))
    assert caller.personal_data_grant("registry") == running


# --- disclosures ----------------------------------------------------------------------------


async def granted_partner(world: World) -> Caller:
    granted = await world.grant(world.east, world.partner)
    assert granted.status_code == 200, granted.text
    await world.runtime.projections.wait_for(granted.json()["position"], ["api_clients"], 10)
    await seen_eventually(world.runtime, world.partner, held)
    return await world.caller(world.partner)


async def listed(world: World, by: Key, subject_id: str, position: str) -> httpx.Response:
    return await world.http.get(
        f"/disclosures/{subject_id}", params={"after": position}, headers=by.headers
    )


async def test_each_disclosure_is_recorded_once_per_subject_and_listed(world: World) -> None:
    partner = await granted_partner(world)
    one, two = [await world.register_worker(world.east, EAST, serial) for serial in (1, 2)]
    page = PageDisclosures()
    for n in range(3):
        page.disclosed(one, f"{EAST}001001", f"event-{n}", ["name"] if n else ["phone"])
    page.disclosed(two, f"{EAST}001001", "event-9", ["name"])
    before = await world.stream_length()
    position = await disclosures.record(world.runtime.store, partner, page)
    assert position is not None
    assert await world.stream_length() == before + 2  # one per subject, in one atomic append

    answer = await listed(world, world.east, one, position)
    assert answer.status_code == 200, answer.text
    [record] = answer.json()["items"]
    assert record["client_id"] == world.partner.client_id
    assert record["agency_id"] == world.east.agency_id
    assert (record["fields"], record["purpose"], record["channel"]) == (
        ["name", "phone"],
        PURPOSE,
        "feed",
    )
    assert record["event_ids"] == ["event-0", "event-1", "event-2"]
    assert datetime.fromisoformat(record["disclosed_at"]) <= datetime.now(UTC)
    assert await disclosures.record(world.runtime.store, partner, PageDisclosures()) is None


async def test_a_disclosure_beyond_the_grant_is_refused_and_not_made(world: World) -> None:
    partner = await granted_partner(world)
    worker = await world.register_worker(world.east, EAST, 3)
    before = await world.stream_length()
    beyond = PageDisclosures()
    beyond.disclosed(worker, f"{EAST}001001", "event-1", ["name", "national_id"])
    with pytest.raises(HTTPException) as refused:
        await disclosures.record(world.runtime.store, partner, beyond)
    assert refused.value.status_code == 403
    assert "national_id" in str(refused.value.detail)
    within = PageDisclosures()
    within.disclosed(worker, f"{EAST}001001", "event-1", ["name"])
    for ungranted in (await world.caller(world.east), await world.caller(world.west)):
        with pytest.raises(HTTPException):
            await disclosures.record(world.runtime.store, ungranted, within)
    assert await world.stream_length() == before


async def test_only_the_subjects_administrators_read_her_disclosures(world: World) -> None:
    partner = await granted_partner(world)
    worker = await world.register_worker(world.east, EAST, 4)
    page = PageDisclosures()
    page.disclosed(worker, f"{EAST}001001", "event-1", ["phone"])
    position = await disclosures.record(world.runtime.store, partner, page)
    assert position is not None
    assert len((await listed(world, world.east, worker, position)).json()["items"]) == 1
    # another jurisdiction's admin learns nothing, not even that there is something
    assert (await listed(world, world.west, worker, position)).json()["items"] == []
    # a reader, even the very client that received the data, is not an administrator
    refused = await listed(world, world.partner, worker, position)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    for path, status in (
        (f"/disclosures/{'x' * 65}", 422),
        (f"/disclosures/{worker}?cursor=not-ours", 400),
        (f"/disclosures/{worker}?limit=0", 422),
    ):
        assert (await world.http.get(path, headers=world.east.headers)).status_code == status


async def test_erasure_keeps_the_disclosures_and_they_name_no_one(world: World) -> None:
    partner = await granted_partner(world)
    worker = await world.register_worker(world.east, EAST, 5)
    page = PageDisclosures()
    page.disclosed(worker, f"{EAST}001001", "event-1", ["name", "phone"])
    position = await disclosures.record(world.runtime.store, partner, page)
    assert position is not None
    erased = await world.http.post(
        f"/workers/{worker}/erase", json={"reason": "本人申请删除"}, headers=world.east.headers
    )
    assert erased.status_code == 200, erased.text
    answer = await listed(world, world.east, worker, erased.json()["position"])
    [record] = answer.json()["items"]
    assert record["fields"] == ["name", "phone"]
    js = world.runtime.nc.jetstream()
    stored = await js.get_msg("REGISTRY", seq=int(position.split(":")[1]), direct=True)
    assert stored.subject == f"registry.disclosure.{worker}.PersonalDataDisclosed"
    assert stored.data is not None
    for personal in ("王秀英", "13800138000", make_national_id(EAST, date(1975, 3, 15), 5, True)):
        assert personal not in stored.data.decode()
        assert personal not in answer.text
    assert orjson.loads(stored.data)["source"] == "/jinguo/registry"


def test_the_disclosures_projection_needs_no_consumer_of_its_own() -> None:
    """It follows the service's own stream, which the service's projections follow already:
    the NATS lanes (README, "NATS permissions") stay as they were."""
    for definition in discover_services():
        own = Disclosures.of(definition.name)
        assert own.subjects == (f"{definition.name}.disclosure.>",)
        others = {s for p in definition.projections for s in p.streams()}
        assert set(own.streams()) <= others, definition.name
        assert own in service_projections(definition)
