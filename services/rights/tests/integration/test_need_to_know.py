"""Need to know, over HTTP against a real nats-server and both databases: who sees a case,
that everyone else gets a 404, and that every read leaves a CaseViewed."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import Agency

CASE = {
    "channel": "hotline_12338",
    "category": "domestic_violence",
    "urgency": "urgent",
    "area_code": "110101001001",
    "complainant": {"name": "李秀兰", "phone": "13800138000"},
    "respondent": {"kind": "person", "name": "张某"},
    "summary": "丈夫多次殴打，要求帮助申请人身安全保护令",
    "opened_on": "2026-11-20",
}
PURPOSE = {"purpose": "办理案件"}


async def appoint(http: httpx.AsyncClient, agency: Agency, officer: str, role: str) -> str:
    response = await http.put(f"/officers/{officer}", json={"role": role}, headers=agency.headers())
    assert response.status_code == 200, response.text
    return str(response.json()["position"])


async def setup(http: httpx.AsyncClient, agencies: dict[str, Agency]) -> dict[str, Any]:
    fed, street, aid = (
        agencies["womens_federation"],
        agencies["street_office"],
        agencies["legal_aid"],
    )
    await appoint(http, fed, "ann", "officer")
    await appoint(http, fed, "otto", "officer")
    await appoint(http, fed, "sam", "supervisor")
    await appoint(http, street, "bob", "officer")
    await appoint(http, street, "dora", "supervisor")
    position = await appoint(http, aid, "cat", "officer")
    opened = await http.post(
        "/cases", json=CASE, headers=fed.headers("ann") | {"Idempotency-Key": "case-1"}
    )
    assert opened.status_code == 201, opened.text
    return {
        "fed": fed,
        "street": street,
        "aid": aid,
        "case_id": opened.json()["id"],
        "after": opened.json()["position"],
        "roster": position,
    }


async def read(
    http: httpx.AsyncClient, agency: Agency, officer: str, case_id: str, **params: Any
) -> httpx.Response:
    return await http.get(
        f"/cases/{case_id}", params={**PURPOSE, **params}, headers=agency.headers(officer)
    )


async def test_visibility_for_every_role(
    http: httpx.AsyncClient, agencies: dict[str, Agency]
) -> None:
    s = await setup(http, agencies)
    fed, street, aid, case_id = s["fed"], s["street"], s["aid"], s["case_id"]

    # the assigned officer (she opened it) and her agency's supervisor see it
    mine = await read(http, fed, "ann", case_id, after=s["after"])
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["access"]["basis"] == "assigned_officer"
    assert body["complainant_name"] == "李秀兰"
    assert body["summary"] == CASE["summary"]
    assert body["deadline"]["due_on"] == "2026-11-25"  # urgent: 3 working days
    supervisor = await read(http, fed, "sam", case_id)
    assert supervisor.json()["access"]["basis"] == "supervisor"

    # another officer of the same agency, another agency, an unknown officer: as if no case
    nowhere = await read(http, fed, "ann", "no-such-case")
    assert nowhere.status_code == 404
    for agency, officer in ((fed, "otto"), (street, "bob"), (aid, "cat"), (fed, "nobody")):
        refused = await read(http, agency, officer, case_id)
        assert refused.status_code == 404, (officer, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == nowhere.json()["type"]
        assert "李秀兰" not in refused.text

    # referred to the legal-aid centre: still hidden until it accepts
    referred = await http.post(
        f"/cases/{case_id}/referrals",
        json={"to_agency_id": aid.agency_id, "reason": "需要法律援助申请保护令"},
        headers=fed.headers("ann"),
    )
    assert referred.status_code == 201, referred.text
    assert (
        await read(http, aid, "cat", case_id, after=referred.json()["position"])
    ).status_code == 404
    inbox = await http.get("/referrals", params={"status": "pending"}, headers=aid.headers("cat"))
    [referral] = inbox.json()
    assert referral["case_id"] == case_id
    assert "summary" not in referral
    answered = await http.post(
        f"/cases/{case_id}/referrals/{referral['referral_id']}/answer",
        json={"accepted": True, "reason": "受理法律援助"},
        headers=aid.headers("cat"),
    )
    assert answered.status_code == 200, answered.text
    accepted = await read(http, aid, "cat", case_id, after=answered.json()["position"])
    assert accepted.status_code == 200
    assert accepted.json()["access"]["basis"] == "accepted_referral"
    # the street office, never referred, still sees nothing
    assert (await read(http, street, "bob", case_id)).status_code == 404

    # an emergency: any officer of the owning agency, or a supervisor of another, with a reason
    assert (await read(http, street, "bob", case_id, emergency="true")).status_code == 404
    too_short = await read(http, street, "dora", case_id, emergency="true", purpose="急")
    assert too_short.status_code == 422
    emergency = await read(
        http,
        street,
        "dora",
        case_id,
        emergency="true",
        purpose="110转来：当事人正在遭受暴力，需核实住址",
    )
    assert emergency.status_code == 200, emergency.text
    assert emergency.json()["access"]["basis"] == "emergency"
    colleague = await read(
        http, fed, "otto", case_id, emergency="true", purpose="承办人休假，当事人来电求助"
    )
    assert colleague.status_code == 200, colleague.text
    assert colleague.json()["access"]["basis"] == "emergency"


async def test_every_read_of_a_case_leaves_a_case_viewed(
    http: httpx.AsyncClient, agencies: dict[str, Agency]
) -> None:
    s = await setup(http, agencies)
    fed, street, case_id = s["fed"], s["street"], s["case_id"]
    reads = [
        await read(http, fed, "ann", case_id, after=s["after"], purpose="首次回访"),
        await read(http, fed, "sam", case_id, purpose="督办检查"),
        await read(http, fed, "otto", case_id, purpose="随便看看"),  # refused: not recorded
        await read(
            http, street, "dora", case_id, emergency="true", purpose="紧急：当事人失联，需联系方式"
        ),
    ]
    assert [r.status_code for r in reads] == [200, 200, 404, 200]
    listed = await http.get(
        "/cases", params={"purpose": "每日工作清单"}, headers=fed.headers("ann")
    )
    assert [item["case_id"] for item in listed.json()["items"]] == [case_id]
    due = await http.get(
        "/deadlines/due-soon", params={"purpose": "期限提醒"}, headers=fed.headers("sam")
    )
    assert due.status_code == 200, due.text
    last = due.json()["items"][0]["access"]["recorded_at"]

    log = await http.get(
        f"/cases/{case_id}/access-log", params={"after": last}, headers=fed.headers("sam")
    )
    assert log.status_code == 200, log.text
    views = [(v["officer_id"], v["basis"], v["purpose"], v["emergency"]) for v in log.json()]
    assert views == [
        ("ann", "assigned_officer", "首次回访", False),
        ("sam", "supervisor", "督办检查", False),
        ("dora", "emergency", "紧急：当事人失联，需联系方式", True),
        ("ann", "assigned_officer", "每日工作清单", False),
        ("sam", "supervisor", "期限提醒", False),
    ]
    assert all(v["viewed_at"] for v in log.json())
    flagged = await http.get(
        f"/cases/{case_id}/access-log", params={"emergency": "true"}, headers=fed.headers("sam")
    )
    assert [v["officer_id"] for v in flagged.json()] == ["dora"]
    # and across all of the agency's cases, a page at a time
    agency_wide = await http.get(
        "/access-log", params={"emergency": "true", "limit": 1}, headers=fed.headers("sam")
    )
    assert agency_wide.status_code == 200, agency_wide.text
    [emergency_read] = agency_wide.json()["items"]
    assert (emergency_read["case_id"], emergency_read["viewer_agency_id"]) == (
        case_id,
        street.agency_id,
    )
    assert (await http.get("/access-log", headers=fed.headers("ann"))).status_code == 403

    # her whole access history, by complainant
    complainant = (await read(http, fed, "sam", case_id)).json()["complainant_id"]
    history = await http.get(f"/complainants/{complainant}/access-log", headers=fed.headers("sam"))
    assert len(history.json()) >= 5

    # the access log is for the owning agency's supervisors only
    assert (
        await http.get(f"/cases/{case_id}/access-log", headers=fed.headers("ann"))
    ).status_code == 403
    assert (
        await http.get(f"/cases/{case_id}/access-log", headers=street.headers("bob"))
    ).status_code == 404
    assert (
        await http.get(f"/complainants/{complainant}/access-log", headers=fed.headers("ann"))
    ).status_code == 403
    # a read without a purpose is refused, naming the field
    missing = await http.get(f"/cases/{case_id}", headers=fed.headers("ann"))
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "purpose"


async def test_who_may_change_a_case(http: httpx.AsyncClient, agencies: dict[str, Agency]) -> None:
    s = await setup(http, agencies)
    fed, street, case_id = s["fed"], s["street"], s["case_id"]
    close = {"outcome": "violence_stopped", "complainant_satisfied": True}
    # someone who may not see it: 404; someone who may see it but not do this: 403
    assert (
        await http.post(f"/cases/{case_id}/closure", json=close, headers=fed.headers("otto"))
    ).status_code == 404
    assert (
        await http.post(f"/cases/{case_id}/closure", json=close, headers=street.headers("bob"))
    ).status_code == 404
    reassign = await http.post(
        f"/cases/{case_id}/assignment", json={"officer_id": "otto"}, headers=fed.headers("ann")
    )
    assert reassign.status_code == 403
    assert reassign.json()["type"].endswith("/forbidden")
    # the supervisor reassigns: now otto sees it and ann does not
    moved = await http.post(
        f"/cases/{case_id}/assignment", json={"officer_id": "otto"}, headers=fed.headers("sam")
    )
    assert moved.status_code == 200, moved.text
    assert (
        await read(http, fed, "otto", case_id, after=moved.json()["position"])
    ).status_code == 200
    assert (await read(http, fed, "ann", case_id)).status_code == 404
    closed = await http.post(f"/cases/{case_id}/closure", json=close, headers=fed.headers("otto"))
    assert closed.status_code == 200, closed.text
    again = await http.post(f"/cases/{case_id}/closure", json=close, headers=fed.headers("otto"))
    assert again.status_code == 409
    # bad input names the field
    bad = await http.post(
        "/cases",
        json={**CASE, "channel": "fax", "complainant": {"name": "x", "phone": "123"}},
        headers=fed.headers("ann"),
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"channel", "complainant.phone"}
    no_officer = await http.post("/cases", json=CASE, headers=fed.headers())
    assert no_officer.status_code == 403
    assert no_officer.json()["type"].endswith("/forbidden")


async def test_a_retried_intake_opens_one_case(
    http: httpx.AsyncClient, agencies: dict[str, Agency]
) -> None:
    s = await setup(http, agencies)
    fed = s["fed"]
    again = await http.post(
        "/cases", json=CASE, headers=fed.headers("ann") | {"Idempotency-Key": "case-1"}
    )
    assert again.status_code == 201
    assert again.json()["id"] == s["case_id"]
    other_body = await http.post(
        "/cases",
        json={**CASE, "summary": "另一件事情"},
        headers=fed.headers("ann") | {"Idempotency-Key": "case-1"},
    )
    assert other_body.status_code == 422
    listed = await http.get(
        "/cases",
        params={"purpose": "核对", "after": again.json()["position"]},
        headers=fed.headers("sam"),
    )
    assert len(listed.json()["items"]) == 1
