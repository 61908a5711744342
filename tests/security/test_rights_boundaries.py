"""The rights service's trust boundary, attacked over HTTP (real NATS, both databases).

Five agencies hold keys, each as the registry issues them: the agency's own key (every rights
scope, no officer), a read-only key (no officer) and one key per officer, bound to her. In
Dongcheng (东城区, 110101): the women's federation (officers ann and otto, supervisor sam), one
of its street offices (110101001: officer bob, supervisor dora) and the legal-aid centre (cat).
Elsewhere: Xicheng's federation (110102: officer eve, supervisor wen) and the city's (110000:
supervisor cy). Ann opens a domestic-violence case in a community of dora's street.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from jinguo_contracts.registry import WorkerErasedV1
from jinguo_rights.bootstrap import RightsService
from jinguo_shared.eventstore import EventStore
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import publish, publish_agency, publisher, runtimes

COMMUNITY = "110101001001"
"""In street 110101001 of Dongcheng (110101), Beijing (110000)."""
AGENCIES: dict[str, tuple[str, str, dict[str, str]]] = {
    "fed": (
        "womens_federation",
        "110101",
        {"ann": "officer", "otto": "officer", "sam": "supervisor"},
    ),
    "street": ("street_office", "110101001", {"bob": "officer", "dora": "supervisor"}),
    "aid": ("legal_aid", "110101", {"cat": "officer"}),
    "west": ("womens_federation", "110102", {"eve": "officer", "wen": "supervisor"}),
    "city": ("womens_federation", "110000", {"cy": "supervisor"}),
}
ALL = ["rights:admin", "rights:read", "rights:write"]
WORK = ["rights:read", "rights:write"]
EMERGENCY = "110转来：当事人正在遭受暴力，需核实住址"


@dataclass(frozen=True)
class Agency:
    agency_id: str
    keys: dict[str, str]
    """"own" (every scope, no officer), "reader" (rights:read, no officer), and each officer."""

    def headers(self, holder: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[holder]}", **extra}


@pytest.fixture
async def rights(
    jinguo_env: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch, outside: Any
) -> AsyncIterator[ServiceRuntime]:
    monkeypatch.setenv("JINGUO_RIGHTS_DATABASE_URL", database_url)
    await publisher(outside, "registry")  # the registry's stream, as the registry creates it
    async with runtimes(RightsService(), jinguo_env["JINGUO_NATS_URL"]) as opener:
        yield await opener()


@pytest.fixture
async def http(rights: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    app = RightsService().create_app(rights)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rights") as client:
        yield client


@pytest.fixture
async def agencies(
    rights: ServiceRuntime, http: httpx.AsyncClient, outside: Any
) -> dict[str, Agency]:
    """The agencies and their keys as the registry publishes them; each agency appoints its
    officers in the rights service with its own key."""
    registry: EventStore = await publisher(outside, "registry")
    made: dict[str, Agency] = {}
    position = ""
    for name, (kind, area, officers) in AGENCIES.items():
        clients: dict[str, tuple[list[str], str | None]] = {
            "own": (ALL, None),
            "reader": (["rights:read"], None),
            **{officer: (WORK, officer) for officer in officers},
        }
        agency = await publish_agency(registry, name=name, area=area, clients=clients, kind=kind)
        position = agency.position
        made[name] = Agency(agency.agency_id, agency.keys)
    await rights.projections.wait_for(position, ["api_clients"], 15)
    for name, (_, _, officers) in AGENCIES.items():
        for officer, role in officers.items():
            appointed = await http.put(
                f"/officers/{officer}", json={"role": role}, headers=made[name].headers("own")
            )
            assert appointed.status_code == 200, appointed.text
    return made


def days_ago(rights: ServiceRuntime, days: int) -> str:
    return (rights.clock.today() - timedelta(days=days)).isoformat()


def intake(opened_on: str, **changes: Any) -> dict[str, Any]:
    return {
        "channel": "hotline_12338",
        "category": "domestic_violence",
        "urgency": "urgent",
        "area_code": COMMUNITY,
        "complainant": {"name": "李秀兰", "phone": "13800138000"},
        "respondent": {"kind": "person", "name": "张某"},
        "summary": "丈夫多次殴打，要求帮助申请人身安全保护令",
        "opened_on": opened_on,
        **changes,
    }


@pytest.fixture
async def case(
    http: httpx.AsyncClient, rights: ServiceRuntime, agencies: dict[str, Agency]
) -> dict[str, str]:
    """Ann's domestic-violence case, and the position to read it at."""
    opened = await http.post(
        "/cases", json=intake(days_ago(rights, 3)), headers=agencies["fed"].headers("ann")
    )
    assert opened.status_code == 201, opened.text
    return {"id": opened.json()["id"], "after": opened.json()["position"]}


async def read(
    http: httpx.AsyncClient, agency: Agency, holder: str, case_id: str, **params: str
) -> httpx.Response:
    return await http.get(
        f"/cases/{case_id}",
        params={"purpose": "办理案件", **params},
        headers=agency.headers(holder),
    )


def is_problem(response: httpx.Response, status: int) -> bool:
    return (
        response.status_code == status
        and response.headers["content-type"] == "application/problem+json"
        and "李秀兰" not in response.text
    )


# officers act with keys of their own ----------------------------------------------------------


async def test_a_case_is_opened_worked_and_read_only_with_the_officers_own_key(
    http: httpx.AsyncClient, agencies: dict[str, Agency], case: dict[str, str]
) -> None:
    fed, case_id = agencies["fed"], case["id"]
    # the read-only key naming the supervisor: what used to read every case of the agency
    for holder in ("reader", "own"):
        named = agencies["fed"].headers(holder, **{"Jinguo-Officer": "sam"})
        refused = [
            await http.get(f"/cases/{case_id}", params={"purpose": "检查"}, headers=named),
            await http.get("/cases", params={"purpose": "检查"}, headers=named),
            await http.get("/deadlines/overdue", params={"purpose": "检查"}, headers=named),
            await http.get(f"/cases/{case_id}/access-log", headers=named),
            await http.get("/access-log", headers=named),
            await http.get("/referrals", headers=named),
        ]
        assert all(is_problem(r, 403) for r in refused), [r.text for r in refused]
    own = fed.headers("own", **{"Jinguo-Officer": "sam"})
    writes = [
        await http.post("/cases", json=intake("2026-11-20"), headers=own),
        await http.post(
            f"/cases/{case_id}/closure",
            json={"outcome": "violence_stopped", "complainant_satisfied": True},
            headers=own,
        ),
        await http.post("/deadlines/escalations", headers=own),
    ]
    assert [w.status_code for w in writes] == [403, 403, 403]
    # an officer's key acts as her and nobody else: naming another officer is refused
    hers = await read(http, fed, "ann", case_id, after=case["after"])
    assert hers.status_code == 200
    as_sam = await http.get(
        f"/cases/{case_id}",
        params={"purpose": "检查"},
        headers=fed.headers("ann", **{"Jinguo-Officer": "sam"}),
    )
    assert is_problem(as_sam, 403)
    as_herself = await http.get(
        f"/cases/{case_id}",
        params={"purpose": "检查"},
        headers=fed.headers("ann", **{"Jinguo-Officer": "ann"}),
    )
    assert as_herself.json()["access"]["basis"] == "assigned_officer"
    # otto, an officer of the same agency not assigned: as if there were no case
    assert is_problem(await read(http, fed, "otto", case_id), 404)


async def test_an_officer_of_another_agency_finds_and_changes_nothing(
    http: httpx.AsyncClient, agencies: dict[str, Agency], case: dict[str, str]
) -> None:
    case_id = case["id"]
    for name, officer in (("street", "bob"), ("street", "dora"), ("aid", "cat")):
        agency = agencies[name]
        assert is_problem(await read(http, agency, officer, case_id, after=case["after"]), 404)
        listed = await http.get(
            "/cases", params={"purpose": "清单"}, headers=agency.headers(officer)
        )
        assert listed.json()["items"] == []
        closed = await http.post(
            f"/cases/{case_id}/closure",
            json={"outcome": "violence_stopped", "complainant_satisfied": True},
            headers=agency.headers(officer),
        )
        assert is_problem(closed, 404)
        log = await http.get(f"/cases/{case_id}/access-log", headers=agency.headers(officer))
        assert is_problem(log, 404)


# emergencies ----------------------------------------------------------------------------------


async def test_an_emergency_read_across_agencies_takes_a_supervisor_and_is_listed(
    http: httpx.AsyncClient, agencies: dict[str, Agency], case: dict[str, str]
) -> None:
    fed, street, case_id = agencies["fed"], agencies["street"], case["id"]
    # an officer of another agency: refused, even with a reason
    bob = await read(
        http, street, "bob", case_id, after=case["after"], emergency="true", purpose=EMERGENCY
    )
    assert is_problem(bob, 404)
    # her supervisor, with a reason: allowed and flagged
    assert (
        await read(http, street, "dora", case_id, emergency="true", purpose="急")
    ).status_code == 422
    dora = await read(http, street, "dora", case_id, emergency="true", purpose=EMERGENCY)
    assert dora.status_code == 200, dora.text
    assert dora.json()["access"]["basis"] == "emergency"
    # a colleague of the case's own agency, in an emergency, with a reason
    otto = await read(
        http, fed, "otto", case_id, emergency="true", purpose="承办人休假，当事人来电求助"
    )
    assert otto.json()["access"]["basis"] == "emergency"
    # the owning agency's supervisor lists every emergency read of its cases
    listed = await http.get(
        "/access-log",
        params={"emergency": "true", "after": otto.json()["access"]["recorded_at"]},
        headers=fed.headers("sam"),
    )
    assert listed.status_code == 200, listed.text
    reads = [
        (r["case_id"], r["viewer_agency_id"], r["officer_id"], r["purpose"], r["emergency"])
        for r in listed.json()["items"]
    ]
    assert reads == [
        (case_id, street.agency_id, "dora", EMERGENCY, True),
        (case_id, fed.agency_id, "otto", "承办人休假，当事人来电求助", True),
    ]
    # nobody else lists them: not an officer of the agency, not the reading agency
    assert (await http.get("/access-log", headers=fed.headers("ann"))).status_code == 403
    theirs = await http.get("/access-log", headers=street.headers("dora"))
    assert theirs.json()["items"] == []


# jurisdiction ---------------------------------------------------------------------------------


async def test_another_jurisdiction_reads_and_writes_nothing(
    http: httpx.AsyncClient,
    rights: ServiceRuntime,
    agencies: dict[str, Agency],
    case: dict[str, str],
) -> None:
    fed, west, city, case_id = agencies["fed"], agencies["west"], agencies["city"], case["id"]
    # Xicheng's supervisor, even in an emergency: there is no such case
    for params in ({}, {"emergency": "true", "purpose": EMERGENCY}):
        assert is_problem(
            await read(http, west, "wen", case_id, after=case["after"], **params), 404
        )
    # a list or a report asked for Dongcheng: refused; asked for nothing: her own area only
    for path in ("/cases", "/inspections", "/reports"):
        asked = await http.get(
            path, params={"area": "110101", "purpose": "检查"}, headers=west.headers("wen")
        )
        assert is_problem(asked, 403), (path, asked.text)
    # she cannot place a case or an inspection in Dongcheng
    outside = await http.post(
        "/cases", json=intake(days_ago(rights, 1)), headers=west.headers("eve")
    )
    assert is_problem(outside, 403)
    inspection = {
        "employer_id": "emp-1",
        "employer_name": "某家政公司",
        "area_code": "110101001",
        "inspected_on": days_ago(rights, 2),
        "findings": [{"topic": "equal_pay", "compliant": False, "note": "同岗不同酬"}],
    }
    assert is_problem(
        await http.post("/inspections", json=inspection, headers=west.headers("eve")), 403
    )
    recorded = await http.post("/inspections", json=inspection, headers=fed.headers("ann"))
    assert recorded.status_code == 201, recorded.text
    # nor find or change Dongcheng's inspection
    listed = await http.get(
        "/inspections", params={"after": recorded.json()["position"]}, headers=west.headers("wen")
    )
    assert listed.json()["items"] == []
    rectified = await http.post(
        f"/inspections/{recorded.json()['id']}/rectification",
        json={"rectified_on": days_ago(rights, 1)},
        headers=west.headers("eve"),
    )
    assert is_problem(rectified, 404)
    # the city's supervisor covers Dongcheng: a flagged emergency read is open to her
    cy = await read(http, city, "cy", case_id, emergency="true", purpose=EMERGENCY)
    assert cy.json()["access"]["basis"] == "emergency"
    # the street office's jurisdiction is its street: a case of the district's other streets
    elsewhere = await http.post(
        "/cases",
        json=intake(days_ago(rights, 1), area_code="110101002001"),
        headers=fed.headers("ann"),
    )
    assert elsewhere.status_code == 201
    street = agencies["street"]
    assert is_problem(
        await read(
            http,
            street,
            "dora",
            elsewhere.json()["id"],
            after=elsewhere.json()["position"],
            emergency="true",
            purpose=EMERGENCY,
        ),
        404,
    )


async def test_a_case_is_referred_only_to_an_agency_covering_its_area(
    http: httpx.AsyncClient, agencies: dict[str, Agency], case: dict[str, str]
) -> None:
    fed, case_id = agencies["fed"], case["id"]
    refer = f"/cases/{case_id}/referrals"
    for target in (agencies["west"].agency_id, "no-such-agency"):
        refused = await http.post(
            refer, json={"to_agency_id": target, "reason": "转介处理"}, headers=fed.headers("ann")
        )
        assert is_problem(refused, 422), refused.text
        assert refused.json()["field"] == "to_agency_id"
    aid = agencies["aid"]
    referred = await http.post(
        refer,
        json={"to_agency_id": aid.agency_id, "reason": "法律援助"},
        headers=fed.headers("ann"),
    )
    assert referred.status_code == 201, referred.text
    inbox = await http.get(
        "/referrals", params={"after": referred.json()["position"]}, headers=aid.headers("cat")
    )
    assert [r["case_id"] for r in inbox.json()] == [case_id]
    # Xicheng sees no referral to it, and cannot answer Dongcheng's
    assert (await http.get("/referrals", headers=agencies["west"].headers("eve"))).json() == []
    referral_id = inbox.json()[0]["referral_id"]
    answered = await http.post(
        f"/cases/{case_id}/referrals/{referral_id}/answer",
        json={"accepted": True, "reason": "受理"},
        headers=agencies["west"].headers("eve"),
    )
    assert is_problem(answered, 404)


# reports --------------------------------------------------------------------------------------


async def test_reports_of_another_agency_are_refused_and_shared_ones_hide_small_counts(
    http: httpx.AsyncClient, agencies: dict[str, Agency], case: dict[str, str]
) -> None:
    fed, street, west = agencies["fed"], agencies["street"], agencies["west"]
    for holder in ("reader", "sam"):
        theirs = await http.get(
            "/reports", params={"agency_id": street.agency_id}, headers=fed.headers(holder)
        )
        assert is_problem(theirs, 403), theirs.text
    own = await http.get(
        "/reports",
        params={"agency_id": fed.agency_id, "after": case["after"]},
        headers=fed.headers("reader"),
    )
    assert own.status_code == 200, own.text
    assert (own.json()["cases"], own.json()["by_category"]["domestic_violence"]) == (1, 1)
    # shared across the agencies of a jurisdiction: one case in the street is "<5", and
    # nothing beside it adds up to it
    for agency in (street, agencies["city"], fed):
        shared = await http.get("/reports", headers=agency.headers("reader"))
        figures = shared.json()
        assert figures["cases"] == "<5", figures
        assert figures["by_category"]["domestic_violence"] == "<5"
        assert figures["by_channel"]["hotline_12338"] == "<5"
        assert figures["closure_rate"] == "withheld"
        assert "small_counts" in figures
        assert 1 not in [*figures["by_category"].values(), *figures["by_channel"].values()]
    elsewhere = (await http.get("/reports", headers=west.headers("reader"))).json()
    assert (elsewhere["area"], elsewhere["cases"]) == ("110102", 0)


# erasure --------------------------------------------------------------------------------------


async def test_an_erased_complainant_is_no_longer_linked_to_her_cases(
    http: httpx.AsyncClient, rights: ServiceRuntime, agencies: dict[str, Agency], outside: Any
) -> None:
    fed = agencies["fed"]
    worker_id = f"w{uuid.uuid4().hex}"
    hers = intake(days_ago(rights, 2), complainant={"worker_id": worker_id, "name": "王桂英"})
    opened = await http.post("/cases", json=hers, headers=fed.headers("ann"))
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    seen = await read(http, fed, "ann", case_id, after=opened.json()["position"])
    history = f"/complainants/{worker_id}/access-log"
    listed = await http.get(
        history, params={"after": seen.json()["access"]["recorded_at"]}, headers=fed.headers("sam")
    )
    assert len(listed.json()) == 1

    registry = await publisher(outside, "registry")
    await publish(
        registry,
        "worker",
        worker_id,
        WorkerErasedV1(worker_id=worker_id, reason="本人申请"),
        worker_id,
    )
    for _ in range(1000):  # until the erasure policy has unlinked her case (bounded)
        if (await http.get(history, headers=fed.headers("sam"))).json() == []:
            break
        await asyncio.sleep(0.02)
    assert (await http.get(history, headers=fed.headers("sam"))).json() == []
    case = (await read(http, fed, "sam", case_id)).json()
    assert worker_id not in str(case)
    assert (case["complainant_worker_id"], case["complainant_name"], case["summary"]) == (
        None,
        None,
        None,
    )
    report = await http.get(
        "/reports", params={"agency_id": fed.agency_id}, headers=fed.headers("sam")
    )
    assert report.json()["cases"] == 1
    again = await http.post("/cases", json=hers, headers=fed.headers("ann"))
    assert is_problem(again, 422)


# dates and sizes ------------------------------------------------------------------------------


async def test_a_case_opened_before_2016_is_read_listed_and_escalated(
    http: httpx.AsyncClient, agencies: dict[str, Agency]
) -> None:
    fed = agencies["fed"]
    opened = await http.post(
        "/cases",
        json=intake("2015-06-01", category="labour", urgency="normal"),
        headers=fed.headers("ann"),
    )
    assert opened.status_code == 201, opened.text
    case_id, after = opened.json()["id"], opened.json()["position"]
    found = await read(http, fed, "ann", case_id, after=after)
    assert found.status_code == 200, found.text
    deadline = found.json()["deadline"]
    assert deadline["due_on"] == "2015-06-15"
    assert deadline["overdue_days"] > 2500
    assert deadline["years_without_holidays"][0] == 2015
    assert 2016 in deadline["years_without_holidays"]
    for path in ("/cases", "/deadlines/overdue"):
        listed = await http.get(path, params={"purpose": "督办"}, headers=fed.headers("sam"))
        assert listed.status_code == 200, listed.text
        assert case_id in [item["case_id"] for item in listed.json()["items"]]
    swept = await http.post("/deadlines/escalations", headers=fed.headers("sam"))
    assert swept.status_code == 200, swept.text
    assert case_id in swept.json()["escalated"]
    report = await http.get(
        "/reports", params={"agency_id": fed.agency_id}, headers=fed.headers("sam")
    )
    assert report.status_code == 200, report.text
    before_1990 = await http.post("/cases", json=intake("1989-12-31"), headers=fed.headers("ann"))
    assert is_problem(before_1990, 422)
    assert before_1990.json()["field"] == "opened_on"


async def test_oversized_and_malformed_input_is_refused_never_a_server_error(
    http: httpx.AsyncClient, rights: ServiceRuntime, agencies: dict[str, Agency]
) -> None:
    ann = agencies["fed"].headers("ann")
    finding = {"topic": "equal_pay", "compliant": False}
    inspection = {
        "employer_id": "emp-1",
        "employer_name": "某家政公司",
        "area_code": "110101001",
        "inspected_on": days_ago(rights, 2),
    }
    for note in ("查" * 501, "查" * 60_000):
        too_long = await http.post(
            "/inspections", json=inspection | {"findings": [finding | {"note": note}]}, headers=ann
        )
        assert is_problem(too_long, 422), too_long.status_code
        assert too_long.json()["errors"][0]["field"] == "findings.0.note"
    largest = [
        {"topic": topic, "compliant": False, "note": "查" * 500}
        for topic in (
            "labour_contract",
            "equal_pay",
            "protected_periods",
            "working_hours",
            "social_insurance",
        )
    ]
    accepted = await http.post("/inspections", json=inspection | {"findings": largest}, headers=ann)
    assert accepted.status_code == 201, accepted.text
    too_many = await http.post(
        "/inspections", json=inspection | {"findings": [*largest, largest[0]]}, headers=ann
    )
    assert is_problem(too_many, 422)
    long_id = "x" * 65
    for response in (
        await http.get(f"/cases/{long_id}", params={"purpose": "检查"}, headers=ann),
        await http.get("/inspections", params={"employer_id": long_id}, headers=ann),
        await http.get("/reports", params={"agency_id": long_id}, headers=ann),
        await http.post("/cases", json=intake("2026-11-20", summary="述" * 4001), headers=ann),
        await http.post(
            "/cases",
            json=intake("2026-11-20", complainant={"worker_id": "w.1.>", "name": "李秀兰"}),
            headers=ann,
        ),
        await http.get("/cases", params={"purpose": "检查", "cursor": "x" * 2000}, headers=ann),
    ):
        assert response.status_code in (400, 422), (response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    whole = await http.post(
        "/cases", content=b'{"summary": "' + b"x" * 300_000 + b'"}', headers=ann
    )
    assert whole.status_code == 413
