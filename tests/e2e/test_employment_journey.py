"""End to end through real HTTP: `jinguo up` runs the registry and the employment service.

The journey: a worker registered in the registry → enrolled → trained → certified →
recommended → placed → the registry shows her re-employed.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import httpx

from jinguo_registry.domain.validation import make_national_id
from jinguo_shared.clock import ProgrammeClock

from .conftest import created


def test_registered_trained_certified_recommended_placed_and_reemployed(
    system: tuple[httpx.Client, str],
) -> None:
    http, _ = system
    today = ProgrammeClock().today()  # the servers' business day, not this machine's date
    # the registry registers her, hard to employ (4050)
    worker = created(
        http.post(
            "/registry/workers",
            json={
                "name": "孙桂兰",
                "national_id": make_national_id("110101", date(1978, 4, 9), 31, True),
                "phone": "13911112222",
                "area_code": "110101003002",
                "skills": ["养老护理"],
                "desired_work": {"occupation_codes": ["4-10-01-05"], "hours_types": ["full_time"]},
            },
        )
    )
    worker_id = worker["id"]
    assessed = created(
        http.post(
            f"/registry/workers/{worker_id}/categories",
            json={"category": "age_40_50", "evidence": "户口簿", "valid_until": "2030-12-31"},
        )
    )
    # enrolled in a course: the pool learns of her from the registry's events
    course = created(
        http.post(
            "/employment/courses",
            json={
                "title": "养老护理员（五级）培训班",
                "trade": "养老护理",
                "occupation_code": "4-10-01-05",
                "provider": "东城区职业技能培训学校",
                "area_code": "110101",
                "seats": 30,
                "starts_on": (today - timedelta(days=40)).isoformat(),
                "ends_on": (today + timedelta(days=5)).isoformat(),
                "subsidy_per_trainee": 1500,
            },
        )
    )
    course_id = course["id"]
    created(
        http.post(
            f"/employment/courses/{course_id}/enrolments",
            params={"after": assessed["position"]},
            json={"worker_id": worker_id},
        )
    )
    # trained and certified, subsidy granted once
    created(
        http.post(
            f"/employment/courses/{course_id}/completions",
            json={"worker_id": worker_id, "passed": True, "score": 92, "completed_on": str(today)},
        )
    )
    created(
        http.post(
            f"/employment/courses/{course_id}/certificates",
            json={"worker_id": worker_id, "level": 4, "awarded_on": str(today)},
        )
    )
    for attempt in range(2):
        subsidy = http.post(
            f"/employment/courses/{course_id}/subsidies",
            json={"worker_id": worker_id, "granted_on": str(today)},
            headers={"Idempotency-Key": f"subsidy-{attempt}"},
        )
        assert subsidy.status_code == 201
    trainees = http.get(
        f"/employment/courses/{course_id}", params={"after": subsidy.json()["position"]}
    ).json()["trainees"]
    assert [(t["status"], t["certificate_level"], t["subsidy"]) for t in trainees] == [
        ("passed", 4, 1500)
    ]
    # a public-welfare post; matching ranks her with reasons, a person recommends her
    employer = created(
        http.post(
            "/employment/employers",
            json={
                "name": "交道口街道社区服务中心",
                "credit_code": "12110101MB1234567X",
                "area_code": "110101003",
            },
        )
    )
    post = created(
        http.post(
            "/employment/posts",
            json={
                "employer_id": employer["id"],
                "title": "社区养老护理员（公益性岗位）",
                "occupation_code": "4-10-01-05",
                "area_code": "110101003001",
                "wage": {"amount": 3800, "unit": "month"},
                "hours_type": "full_time",
                "openings": 1,
                "requirements": {"vocational_certificate": True},
                "kind": "public_welfare",
            },
        )
    )
    matches = http.get(
        f"/employment/posts/{post['id']}/matches", params={"after": post["position"]}
    ).json()["items"]
    [match] = [m for m in matches if m["worker_id"] == worker_id]
    assert match["priority"] is True
    assert any("certificate" in reason for reason in match["reasons"])
    assert any("same street" in reason for reason in match["reasons"])
    created(
        http.post(f"/employment/posts/{post['id']}/recommendations", json={"worker_id": worker_id})
    )
    # placed by a person
    placed = created(
        http.post(
            f"/employment/posts/{post['id']}/fill",
            json={"worker_id": worker_id, "start_date": str(today)},
        )
    )
    assert placed["placement_id"]
    # the registry shows her re-employed (its policy followed PostFilled)
    dossier: dict[str, Any] = {}
    for _ in range(200):
        dossier = http.get(f"/registry/workers/{worker_id}").json()
        if dossier.get("status") == "reemployed":
            break
        time.sleep(0.05)
    assert dossier["status"] == "reemployed"
    [reemployment] = dossier["reemployments"]
    assert reemployment["placement_id"] == placed["placement_id"]
    assert reemployment["employer_name"] == "交道口街道社区服务中心"
    # the post is full now: another fill is a problem, naming why
    again = http.post(
        f"/employment/posts/{post['id']}/fill",
        json={"worker_id": worker_id, "start_date": str(today)},
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    report = http.get(
        "/employment/reports/areas/110101/years/" + str(today.year),
        params={"after": placed["position"]},
    ).json()
    assert report["totals"]["placements"] == 1
    assert "trained 1 women" in report["summary"]


def test_bad_employment_input_is_a_problem_naming_the_field(
    system: tuple[httpx.Client, str],
) -> None:
    http, _ = system
    answer = http.post(
        "/employment/posts",
        json={
            "employer_id": "e",
            "title": "t",
            "occupation_code": "4-10-1-5",
            "area_code": "110101",
            "wage": {"amount": -1, "unit": "month"},
            "hours_type": "sometimes",
            "openings": 0,
        },
    )
    assert answer.status_code == 422
    fields = {e["field"] for e in answer.json()["errors"]}
    assert {"occupation_code", "wage.amount", "hours_type", "openings"} <= fields
    unknown = http.post(
        "/employment/posts/nope/fill", json={"worker_id": "nobody", "start_date": "2026-11-02"}
    )
    assert unknown.status_code == 404
    assert unknown.json()["type"].endswith("/not-found")
    assert httpx.get(str(http.base_url) + "/employment/posts").status_code == 401


def eventually(read: Any, wanted: Any, seconds: float = 30.0) -> Any:
    """Reactions cross services asynchronously: read until the state arrives (bounded)."""
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if value == wanted or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def officer_key(http: httpx.Client, officer_id: str) -> str:
    """A key of the development agency bound to one of its officers: inspections are recorded
    by an officer with a credential of her own."""
    [agency] = [a for a in http.get("/registry/agencies").json() if "开发" in a["name"]]
    issued = created(
        http.post(
            f"/registry/agencies/{agency['agency_id']}/clients",
            json={
                "name": officer_id,
                "scopes": ["rights:read", "rights:write"],
                "officer_id": officer_id,
            },
        )
    )
    key = str(issued["api_key"])
    probe = {"Authorization": f"Bearer {key}"}
    assert eventually(lambda: http.get("/rights/officers", headers=probe).status_code, 200) == 200
    return key


def test_an_inspection_suspends_the_employer_and_its_posts_until_rectified(
    system: tuple[httpx.Client, str],
) -> None:
    http, _ = system
    employer = created(
        http.post(
            "/employment/employers",
            json={
                "name": "东城某家政公司",
                "credit_code": "91110101MA7654321Y",
                "area_code": "110101003",
            },
        )
    )
    post = created(
        http.post(
            "/employment/posts",
            json={
                "employer_id": employer["id"],
                "title": "家政服务员",
                "occupation_code": "4-10-01-06",
                "area_code": "110101003001",
                "wage": {"amount": 30, "unit": "hour"},
                "hours_type": "hourly",
                "openings": 3,
                "kind": "market",
            },
        )
    )
    officer = {"Authorization": f"Bearer {officer_key(http, 'zhao.inspector')}"}
    appointed = http.put("/rights/officers/zhao.inspector", json={"role": "officer"})
    assert appointed.status_code in (200, 201), appointed.text
    inspection = created(
        http.post(
            "/rights/inspections",
            headers=officer,
            json={
                "employer_id": employer["id"],
                "employer_name": "东城某家政公司",
                "area_code": "110101003001",
                "inspected_on": date.today().isoformat(),
                "findings": [
                    {"topic": "protected_periods", "compliant": False, "note": "孕期员工被辞退"},
                    {"topic": "labour_contract", "compliant": True},
                ],
            },
        )
    )

    def employer_status() -> str:
        return str(http.get(f"/employment/employers/{employer['id']}").json()["status"])

    def post_status() -> str:
        return str(http.get(f"/employment/posts/{post['id']}").json()["status"])

    assert eventually(employer_status, "suspended") == "suspended"
    assert eventually(post_status, "suspended") == "suspended"
    refused = http.post(
        "/employment/posts",
        json={
            "employer_id": employer["id"],
            "title": "保洁员",
            "occupation_code": "4-10-01-06",
            "area_code": "110101003001",
            "wage": {"amount": 28, "unit": "hour"},
            "hours_type": "hourly",
            "openings": 1,
            "kind": "market",
        },
    )
    assert refused.status_code in (409, 422), refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")

    rectified = http.post(
        f"/rights/inspections/{inspection['id']}/rectification",
        headers=officer,
        json={"rectified_on": date.today().isoformat()},
    )
    assert rectified.status_code in (200, 201), rectified.text
    assert eventually(employer_status, "active") == "active"
    assert eventually(post_status, "open") == "open"
