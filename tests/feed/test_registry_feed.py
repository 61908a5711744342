"""The registry's partner feed, attacked over HTTP (its app, a real nats-server, both databases).

Dongcheng (东城区, 110101) registers two workers in a community of its street 110101001 and one
in another street, and records a home visit (an event that names no area). Xicheng (110102)
registers one of its own. Partners read with keys of Dongcheng, of its street office, of
Xicheng and of a national agency; one Dongcheng key lacks the read scope.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from nats.js.errors import NotFoundError

from jinguo_contracts.access import ApiClientPersonalDataGrantedV1
from jinguo_registry.bootstrap import RegistryService
from jinguo_registry.domain.validation import make_national_id
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore
from jinguo_shared.feed import BATCH_MEDIA_TYPE, NEXT_POSITION
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import PublishedAgency, publish_agency, publisher, runtimes

EAST_STREET = "110101001001"
EAST_OTHER_STREET = "110101002001"
WEST = "110102001001"
NOTES = "家访：丈夫失业，孩子辅导费用紧张"
PERSONAL = ("name", "national_id", "phone", "notes")
KEYS = {
    "east": ("110101", {"clerk": ["registry:read", "registry:write"], "stranger": ["orders:read"]}),
    "street": ("110101001", {"reader": ["registry:read"]}),
    "west": ("110102", {"clerk": ["registry:read", "registry:write"]}),
    "nation": ("", {"reader": ["registry:read"]}),
}


@dataclass
class Scene:
    http: httpx.AsyncClient
    keys: dict[str, dict[str, str]]
    agencies: dict[str, PublishedAgency]
    people: dict[str, dict[str, str]]
    """By worker id: the personal values sent for her."""
    visited: str
    outside: Any

    def auth(self, agency: str, holder: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[agency][holder]}"}

    async def feed(self, agency: str, holder: str = "reader", **params: Any) -> httpx.Response:
        return await self.http.get("/feed", params=params, headers=self.auth(agency, holder))

    async def everything(self, agency: str, holder: str = "reader", **params: Any) -> list[Any]:
        """The whole feed, page after page from the beginning, as a partner onboards."""
        events: list[Any] = []
        after: str | None = None
        while True:
            position = {"after": after} if after else {}
            answer = await self.feed(agency, holder, **params, **position)
            assert answer.status_code == 200, answer.text
            page = answer.json()
            if not page:
                return events
            events += page
            after = answer.headers[NEXT_POSITION]

    async def register(self, agency: str, area: str, number: int) -> str:
        name = f"王秀{chr(0x4E00 + number)}"
        national_id = make_national_id(area[:6], date(1978, 3, number + 1), number, female=True)
        phone = f"139{number:08d}"
        answer = await self.http.post(
            "/workers",
            json={"name": name, "national_id": national_id, "phone": phone, "area_code": area},
            headers={**self.auth(agency, "clerk"), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert answer.status_code == 201, answer.text
        worker_id: str = answer.json()["id"]
        self.people[worker_id] = {"name": name, "national_id": national_id, "phone": phone}
        return worker_id


@pytest.fixture
async def registry(jinguo_env: dict[str, str]) -> AsyncIterator[ServiceRuntime]:
    async with runtimes(RegistryService(), jinguo_env["JINGUO_NATS_URL"]) as opener:
        yield await opener()


@pytest.fixture
async def scene(registry: ServiceRuntime, outside: Any) -> AsyncIterator[Scene]:
    store: EventStore = await publisher(outside, "registry")
    keys, agencies = {}, {}
    for agency, (area, clients) in KEYS.items():
        published = await publish_agency(
            store,
            name=agency,
            area=area,
            clients={holder: (scopes, None) for holder, scopes in clients.items()},
        )
        keys[agency] = published.keys
        agencies[agency] = published
    await registry.projections.wait_for(published.position, ["api_clients"], 15)
    app = RegistryService().create_app(registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://jinguo") as http:
        made = Scene(http, keys, agencies, {}, "", outside)
        first = await made.register("east", EAST_STREET, 1)
        await made.register("east", EAST_STREET, 2)
        await made.register("east", EAST_OTHER_STREET, 3)
        await made.register("west", WEST, 4)
        visit = await http.post(
            f"/workers/{first}/home-visits",
            json={"visited_on": "2026-01-05", "visitor": "刘芳", "notes": NOTES},
            headers={**made.auth("east", "clerk"), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert visit.status_code == 201, visit.text
        made.visited = first
        yield made


async def sealed_values(nc: Any) -> set[str]:
    """The personal fields' values as the log holds them (sealed), read as an admin."""
    sealed = set()
    seq = 1
    with contextlib.suppress(NotFoundError):
        while True:
            stored = await nc.jetstream().get_msg("REGISTRY", seq=seq, direct=True)
            body = json.loads(stored.data)
            values = (body["data"].get(name) for name in PERSONAL)
            sealed |= {v for v in values if isinstance(v, str) and v.startswith("pii:")}
            seq += 1
    return sealed


def subject_ids(events: list[Any], event_type: str) -> set[str]:
    return {e["subject"].split("/")[1] for e in events if e["type"].split(".")[3] == event_type}


async def test_a_partner_replays_from_the_beginning_without_gaps_or_repeats(scene: Scene) -> None:
    whole = await scene.everything("nation", limit=1000)
    paged = await scene.everything("nation", limit=2)
    assert [e["id"] for e in paged] == [e["id"] for e in whole]
    assert len({e["id"] for e in whole}) == len(whole)
    positions = [int(e["jinguoposition"].split(":")[1]) for e in whole]
    assert positions == sorted(positions)
    assert subject_ids(whole, "WorkerRegistered") == set(scene.people)
    assert subject_ids(whole, "HomeVisitRecorded") == {scene.visited}
    assert not [e for e in whole if "ApiClient" in e["type"]], "keys and grants never leave"
    registered = next(e for e in whole if e["type"].endswith("WorkerRegistered.v1"))
    assert registered["specversion"] == "1.0"
    assert registered["type"] == "org.jinguo.registry.WorkerRegistered.v1"
    assert registered["source"] == "http://127.0.0.1:8000/registry"
    assert registered["dataschema"] == "urn:jinguo:registry:WorkerRegistered:v1"
    assert registered["subject"].startswith("worker/")
    again = await scene.everything("nation", limit=1000)
    assert [e["id"] for e in again] == [e["id"] for e in whole], "ids are stable: receivers dedupe"


async def test_a_page_says_where_the_next_starts(scene: Scene) -> None:
    first = await scene.feed("nation", limit=3)
    assert first.headers["content-type"] == BATCH_MEDIA_TYPE
    following = first.headers[NEXT_POSITION]
    assert following == first.json()[-1]["jinguoposition"]
    assert f"after={following.replace(':', '%3A')}" in first.headers["link"]
    assert 'rel="next"' in first.headers["link"]
    second = await scene.feed("nation", limit=3, after=following)
    assert second.json()[0]["jinguoposition"] != following
    end = await scene.feed("nation", limit=1000)
    last = end.headers[NEXT_POSITION]
    empty = await scene.feed("nation", after=last)
    assert empty.json() == []
    assert empty.headers[NEXT_POSITION] == last, "an empty page stays where it was"


async def test_personal_fields_never_appear_sealed_or_clear(scene: Scene) -> None:
    answer = await scene.feed("east", "clerk", limit=1000)
    assert answer.status_code == 200
    text = answer.text
    for person in scene.people.values():
        for value in person.values():
            assert value not in text
    assert NOTES not in text
    sealed = await sealed_values(scene.outside)
    clear = {value for person in scene.people.values() for value in person.values()}
    assert len(sealed) == 3 * len(scene.people) + 1
    assert sealed.isdisjoint(clear | {NOTES})
    assert not [value for value in sealed if value in text]
    for event in answer.json():
        if event["type"].endswith("WorkerRegistered.v1"):
            assert {"name", "national_id", "phone"}.isdisjoint(event["data"])
            assert event["data"]["area_code"].startswith("110101")


async def test_a_caller_sees_only_its_jurisdiction(scene: Scene) -> None:
    west = await scene.everything("west", "clerk", limit=1000)
    assert west, "Xicheng sees its own"
    assert all(
        e["data"]["area_code"].startswith("110102") for e in west if "area_code" in e["data"]
    )
    assert not subject_ids(west, "HomeVisitRecorded"), "nor Dongcheng's events without an area"
    east = await scene.everything("east", "clerk", limit=1000)
    assert subject_ids(east, "HomeVisitRecorded") == {scene.visited}, "the worker's area decides"
    assert len(subject_ids(east, "WorkerRegistered")) == 3
    street = await scene.everything("street", limit=1000)
    assert len(subject_ids(street, "WorkerRegistered")) == 2


async def test_area_narrows_within_the_jurisdiction_and_never_beyond(scene: Scene) -> None:
    narrowed = await scene.everything("east", "clerk", area="110101001", limit=1000)
    assert len(subject_ids(narrowed, "WorkerRegistered")) == 2
    beyond = await scene.feed("east", "clerk", area="110102")
    assert beyond.status_code == 403
    assert beyond.headers["content-type"] == "application/problem+json"
    street_wider = await scene.everything("street", area="110101", limit=1000)
    assert len(subject_ids(street_wider, "WorkerRegistered")) == 2, "never wider than its own"


async def test_types_filter_on_the_server_and_here(scene: Scene) -> None:
    one = await scene.everything("nation", types="WorkerRegistered")
    assert {e["type"] for e in one} == {"org.jinguo.registry.WorkerRegistered.v1"}
    assert len(one) == 4
    two = await scene.everything(
        "nation", types="org.jinguo.registry.HomeVisitRecorded.v1, WorkerRegistered", limit=2
    )
    assert len(two) == 5


async def test_without_the_read_scope_or_a_key_nothing(scene: Scene) -> None:
    refused = await scene.feed("east", "stranger")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    anonymous = await scene.http.get("/feed")
    assert anonymous.status_code == 401


async def test_long_poll_returns_when_an_event_is_appended(scene: Scene) -> None:
    end = (await scene.feed("east", "clerk", limit=1000)).headers[NEXT_POSITION]
    started = time.monotonic()
    waiting = asyncio.create_task(scene.feed("east", "clerk", after=end, wait=20))
    await asyncio.sleep(0.5)
    assert not waiting.done()
    worker = await scene.register("east", EAST_STREET, 9)
    answer = await waiting
    assert time.monotonic() - started < 5
    assert subject_ids(answer.json(), "WorkerRegistered") == {worker}


async def test_long_poll_ignores_what_the_caller_may_not_see(scene: Scene) -> None:
    end = (await scene.feed("west", "clerk", limit=1000)).headers[NEXT_POSITION]
    started = time.monotonic()
    waiting = asyncio.create_task(scene.feed("west", "clerk", after=end, wait=1.5))
    await scene.register("east", EAST_STREET, 10)
    answer = await waiting
    assert answer.json() == []
    assert time.monotonic() - started >= 1.4
    assert answer.headers[NEXT_POSITION] != end, "it moves past what it may not see"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"after": "REGISTRY:999999"}, 400),
        ({"after": "EMPLOYMENT:1"}, 400),
        ({"after": "RIGHTS:1"}, 400),
        ({"after": "REGISTRY:9223372036854775808"}, 400),
        ({"after": "REGISTRY:99999999999999999999"}, 422),
        ({"after": "REGISTRY:-1"}, 422),
        ({"after": "REGISTRY"}, 422),
        ({"after": "' OR 1=1 --"}, 422),
        ({"types": "NoSuchEvent"}, 422),
        ({"types": "ApiClientIssued"}, 422),
        ({"types": "ApiClientPersonalDataGranted"}, 422),
        ({"types": "CaseOpened"}, 422),
        ({"types": "registry.>"}, 422),
        ({"types": ","}, 422),
        ({"types": "WorkerRegistered," * 200}, 422),
        ({"limit": 0}, 422),
        ({"limit": 1001}, 422),
        ({"limit": "many"}, 422),
        ({"wait": 31}, 422),
        ({"wait": -1}, 422),
        ({"wait": "nan"}, 422),
        ({"area": "11; DROP TABLE"}, 422),
        ({"area": "1101010010011"}, 422),
    ],
)
async def test_hostile_parameters_are_problems(
    scene: Scene, params: dict[str, Any], status: int
) -> None:
    answer = await scene.feed("nation", **params)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


async def test_long_poll_filtered_on_the_server_waits_past_other_events(scene: Scene) -> None:
    end = (await scene.feed("nation", types="WorkerRegistered", limit=1000)).headers[NEXT_POSITION]
    waiting = asyncio.create_task(
        scene.feed("nation", types="WorkerRegistered", after=end, wait=20)
    )
    visit = await scene.http.post(
        f"/workers/{scene.visited}/home-visits",
        json={"visited_on": "2026-01-06", "visitor": "刘芳", "notes": NOTES},
        headers={**scene.auth("east", "clerk"), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert visit.status_code == 201
    await asyncio.sleep(0.3)
    assert not waiting.done()
    worker = await scene.register("west", WEST, 11)
    answer = await waiting
    assert [e["subject"] for e in answer.json()] == [f"worker/{worker}"]


async def disclosures_in_the_log(nc: Any) -> list[dict[str, Any]]:
    records = []
    seq = 1
    with contextlib.suppress(NotFoundError):
        while True:
            stored = await nc.jetstream().get_msg("REGISTRY", seq=seq, direct=True)
            if stored.subject.endswith(".PersonalDataDisclosed"):
                records.append(json.loads(stored.data)["data"])
            seq += 1
    return records


async def test_a_grant_opens_its_fields_only_and_every_disclosure_is_recorded(
    scene: Scene, registry: ServiceRuntime
) -> None:
    nation = scene.agencies["nation"]
    client_id = scene.keys["nation"]["reader"].split("_")[1]
    purpose = "区人社局就业援助：联系登记失业人员"
    grant = ApiClientPersonalDataGrantedV1(
        agency_id=nation.agency_id,
        client_id=client_id,
        data_service="registry",
        fields=["name", "phone"],
        purpose=purpose,
    )
    store: EventStore = await publisher(scene.outside, "registry")
    context = CommandContext(command_id="grant-1", correlation_id="grant-1", actor="test")
    seq = await store.append(
        "agency", nation.agency_id, int(nation.position.split(":")[1]), [grant], context
    )
    await registry.projections.wait_for(f"REGISTRY:{seq}", ["api_clients"], 15)
    assert await disclosures_in_the_log(scene.outside) == []

    deadline = time.monotonic() + 5
    while True:  # the authenticator learns the grant within about 0.1 s
        answer = await scene.feed("nation", types="WorkerRegistered", limit=1000)
        registered = answer.json()
        if all("name" in e["data"] for e in registered) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)

    for event in registered:
        person = scene.people[event["subject"].split("/")[1]]
        assert (event["data"]["name"], event["data"]["phone"]) == (person["name"], person["phone"])
        assert "national_id" not in event["data"], "only the fields granted"
    records = await disclosures_in_the_log(scene.outside)
    disclosed = {r["subject_id"] for r in records}
    assert disclosed == {e["subject"].split("/")[1] for e in registered if "name" in e["data"]}
    assert disclosed == set(scene.people)
    for record in records:
        assert (record["client_id"], record["purpose"], record["channel"]) == (
            client_id,
            purpose,
            "feed",
        )
        assert set(record["fields"]) <= {"name", "phone"}
        assert not {v for p in scene.people.values() for v in p.values()} & set(
            json.dumps(record, ensure_ascii=False).split('"')
        ), "a record names fields, never their values"
    others = await scene.feed("east", "clerk", types="WorkerRegistered", limit=1000)
    assert all("name" not in e["data"] for e in others.json()), "no grant, no personal field"
