"""The rights service's feed carries inspections only: a case never leaves, not even its type.

Dongcheng's federation (110101) opens a confidential case and records an inspection that finds
a violation (EmployerViolationFound names no area: the inspection's decides). Partners read it
with keys of the federation, of Xicheng (110102) and of a national agency. Real nats-server,
both databases.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from jinguo_rights.bootstrap import RightsService
from jinguo_shared.eventstore import EventStore
from jinguo_shared.feed import NEXT_POSITION, Feed, FeedDeclaration
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import publish_agency, publisher, runtimes

COMPLAINANT = "李秀兰"
SUMMARY = "丈夫多次殴打，要求帮助申请人身安全保护令"
AGENCIES = {
    "fed": ("110101", {"own": ["rights:admin", "rights:read", "rights:write"]}),
    "west": ("110102", {"reader": ["rights:read"]}),
    "nation": ("", {"reader": ["rights:read"], "stranger": ["registry:read"]}),
}


@pytest.fixture
async def rights(
    jinguo_env: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch, outside: Any
) -> AsyncIterator[ServiceRuntime]:
    monkeypatch.setenv("JINGUO_RIGHTS_DATABASE_URL", database_url)
    await publisher(outside, "registry")
    async with runtimes(RightsService(), jinguo_env["JINGUO_NATS_URL"]) as opener:
        yield await opener()


@pytest.fixture
async def feed(rights: ServiceRuntime, outside: Any) -> AsyncIterator[Any]:
    registry: EventStore = await publisher(outside, "registry")
    keys: dict[str, dict[str, str]] = {}
    clients: dict[str, dict[str, tuple[list[str], str | None]]] = {
        name: {holder: (scopes, None) for holder, scopes in held.items()}
        for name, (_, held) in AGENCIES.items()
    }
    clients["fed"]["ann"] = (["rights:read", "rights:write"], "ann")
    for name, (area, _) in AGENCIES.items():
        published = await publish_agency(registry, name=name, area=area, clients=clients[name])
        keys[name] = published.keys
    await rights.projections.wait_for(published.position, ["api_clients"], 15)
    transport = httpx.ASGITransport(app=RightsService().create_app(rights))
    async with httpx.AsyncClient(transport=transport, base_url="http://jinguo") as http:

        def auth(agency: str, holder: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {keys[agency][holder]}"}

        def command(agency: str, holder: str) -> dict[str, str]:
            return {**auth(agency, holder), "Idempotency-Key": uuid.uuid4().hex}

        appointed = await http.put(
            "/officers/ann", json={"role": "officer"}, headers=command("fed", "own")
        )
        assert appointed.status_code == 200, appointed.text
        ago = (rights.clock.today() - timedelta(days=2)).isoformat()
        case = await http.post(
            "/cases",
            json={
                "channel": "hotline_12338",
                "category": "domestic_violence",
                "urgency": "urgent",
                "area_code": "110101001001",
                "complainant": {"name": COMPLAINANT, "phone": "13800138000"},
                "respondent": {"kind": "person", "name": "张某"},
                "summary": SUMMARY,
                "opened_on": ago,
            },
            headers=command("fed", "ann"),
        )
        assert case.status_code == 201, case.text
        inspection = await http.post(
            "/inspections",
            json={
                "employer_id": "emp-1",
                "employer_name": "某家政公司",
                "area_code": "110101001",
                "inspected_on": ago,
                "findings": [{"topic": "equal_pay", "compliant": False, "note": "同岗不同酬"}],
            },
            headers=command("fed", "ann"),
        )
        assert inspection.status_code == 201, inspection.text

        async def read(agency: str, holder: str, **params: Any) -> httpx.Response:
            return await http.get("/feed", params=params, headers=auth(agency, holder))

        yield read


def short_types(answer: httpx.Response) -> list[str]:
    return [event["type"].split(".")[3] for event in answer.json()]


async def test_the_rights_feed_carries_inspections_never_a_case(feed: Any) -> None:
    national = await feed("nation", "reader", limit=1000)
    assert national.status_code == 200, national.text
    assert short_types(national) == ["InspectionRecorded", "EmployerViolationFound"]
    assert all(e["type"].startswith("org.jinguo.inspections.") for e in national.json())
    assert national.headers[NEXT_POSITION].startswith("INSPECTIONS:")
    for secret in (COMPLAINANT, SUMMARY, "13800138000", "张某", "Case", "RIGHTS"):
        assert secret not in national.text
    refused = await feed("nation", "reader", types="CaseOpened")
    assert refused.status_code == 422
    assert (await feed("nation", "reader", after="RIGHTS:1")).status_code == 400


async def test_an_inspection_is_seen_in_its_area_only(feed: Any) -> None:
    own = await feed("fed", "own", limit=1000)
    assert short_types(own) == ["InspectionRecorded", "EmployerViolationFound"]
    west = await feed("west", "reader", limit=1000)
    assert west.status_code == 200
    assert west.json() == []


async def test_the_feed_needs_the_services_read_scope(feed: Any) -> None:
    refused = await feed("nation", "stranger")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"


async def test_a_confidential_stream_can_never_be_a_feed(rights: ServiceRuntime) -> None:
    with pytest.raises(ValueError, match="confidential"):
        Feed(rights, FeedDeclaration("RIGHTS"))
