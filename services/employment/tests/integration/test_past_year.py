"""A past year entered after the fact: in March 2026 an office types in its 2025, and the 2025
reports count every fact in the month it happened, none in the month it was typed in. Areas are
asked for in either form (`43` or `430000`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest

from jinguo_employment.bootstrap import EmploymentService
from jinguo_shared.clock import ProgrammeClock
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import caught_up, publish_agency, publisher

from .conftest import register_worker

RECORDED_ON = date(2026, 3, 16)
COMMUNITY = "430102001001"
"""长沙市芙蓉区, a street of it, a community of that street."""
ALL_MONTHS = {"from": "2000-01", "to": "2099-12"}


class FixedClock(ProgrammeClock):
    def __init__(self, today: date) -> None:
        super().__init__()
        self.day = today

    def today(self) -> date:
        return self.day


class Office:
    """Hunan's provincial office, over HTTP, remembering the last position it wrote."""

    def __init__(self, http: httpx.AsyncClient, key: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {key}"}
        self.position = ""

    async def post(self, path: str, body: dict[str, Any], after: str = "") -> httpx.Response:
        params = {"after": after} if after else {}
        return await self.http.post(path, json=body, params=params, headers=self.headers)

    async def send(self, path: str, body: dict[str, Any], after: str = "") -> dict[str, Any]:
        answer = await self.post(path, body, after)
        assert answer.status_code in (200, 201), answer.text
        created: dict[str, Any] = answer.json()
        self.position = created["position"]
        return created

    async def read(self, path: str, **params: str) -> dict[str, Any]:
        answer = await self.http.get(
            path, params={"after": self.position, **params}, headers=self.headers
        )
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


@pytest.fixture
async def office(employment: ServiceRuntime, outside: Any) -> AsyncIterator[Office]:
    employment.clock = FixedClock(RECORDED_ON)
    registry = await publisher(outside, "registry")
    agency = await publish_agency(
        registry,
        name="湖南省妇联",
        area="430000",
        clients={"office": (["employment:read", "employment:write"], None)},
    )
    await employment.projections.wait_for(agency.position, ["api_clients"], 15)
    app = EmploymentService().create_app(employment)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://employment"
    ) as http:
        yield Office(http, agency.keys["office"])


def refused_field(answer: httpx.Response) -> str:
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    return str(problem.get("field") or ",".join(e["field"] for e in problem["errors"]))


async def test_a_past_year_entered_after_the_fact_counts_in_its_own_months(
    office: Office, employment: ServiceRuntime, outside: Any
) -> None:
    registry = await publisher(outside, "registry")
    workers = ["w-2025-a", "w-2025-b", "w-2025-c"]
    for worker in workers:
        known = await register_worker(registry, worker, area=COMMUNITY)
    await caught_up(employment, known)

    employer = await office.send(
        "/employers",
        {
            "name": "芙蓉区颐养中心",
            "credit_code": "91430102MA4L123456",
            "area_code": "4301",  # the city, written short
            "occurred_on": "2025-01-10",
        },
    )
    shown = await office.read(f"/employers/{employer['id']}")
    assert shown["area_code"] == "430100"
    [registered] = await employment.store.load("employer", employer["id"])
    assert registered.payload.occurred_on == date(2025, 1, 10)
    post = await office.send(
        "/posts",
        {
            "employer_id": employer["id"],
            "title": "养老护理员",
            "occupation_code": "4-10-01-05",
            "area_code": COMMUNITY,
            "wage": {"amount": 3600, "unit": "month"},
            "hours_type": "full_time",
            "openings": 2,
            "published_on": "2025-02-14",
        },
    )
    course = await office.send(
        "/courses",
        {
            "title": "2025年养老护理员（五级）培训班",
            "trade": "养老护理",
            "occupation_code": "4-10-01-05",
            "provider": "芙蓉区职业技能培训学校",
            "area_code": "430102",
            "seats": 10,
            "starts_on": "2025-05-05",
            "ends_on": "2025-05-30",
            "subsidy_per_trainee": 1500,
            "occurred_on": "2025-04-20",
        },
    )
    enrolments = f"/courses/{course['id']}/enrolments"
    # the course ended ten months ago: enrolments are dated when they happened
    for worker in workers[:2]:
        await office.send(enrolments, {"worker_id": worker, "occurred_on": "2025-04-28"})
    late = await office.post(enrolments, {"worker_id": workers[2], "occurred_on": "2025-06-02"})
    assert refused_field(late) == "occurred_on"
    assert "after course" in late.json()["detail"]
    assert "ended on 2025-05-30" in late.json()["detail"]
    undated = await office.post(enrolments, {"worker_id": workers[2]})
    assert refused_field(undated) == "occurred_on"

    results = f"/courses/{course['id']}"
    for worker, passed in zip(workers[:2], (True, False), strict=True):
        await office.send(
            f"{results}/completions",
            {
                "worker_id": worker,
                "passed": passed,
                "score": 85 if passed else 40,
                "completed_on": "2025-05-30",
            },
        )
    early = await office.post(
        f"{results}/certificates", {"worker_id": workers[0], "awarded_on": "2025-05-29"}
    )
    assert refused_field(early) == "awarded_on"
    await office.send(
        f"{results}/certificates", {"worker_id": workers[0], "awarded_on": "2025-06-15"}
    )
    await office.send(f"{results}/subsidies", {"worker_id": workers[0], "granted_on": "2025-07-08"})

    placements = []
    for worker, start in zip(workers[:2], ("2025-08-01", "2025-09-01"), strict=True):
        placed = await office.send(
            f"/posts/{post['id']}/fill", {"worker_id": worker, "start_date": start}
        )
        placements.append(placed["placement_id"])
    await office.send(
        f"/placements/{placements[0]}/follow-ups",
        {"month": 3, "still_employed": True, "followed_up_on": "2025-11-03"},
        after=office.position,
    )
    await office.send(
        f"/placements/{placements[1]}/end",
        {"reason": "resigned", "ended_on": "2025-12-20"},
        after=office.position,
    )

    report = await office.read("/reports/areas/43", **ALL_MONTHS)
    assert report["area_code"] == "430000"
    assert report["figures"] == {
        "2025-02": {"posts_published": 1, "openings": 2},
        "2025-05": {
            "classes_held": 1,
            "classes:vocational": 1,
            "trained": 2,
            "trained:female": 2,
            "trade:养老护理": 2,
            "passed": 1,
        },
        "2025-06": {"certificates": 1, "certificates:养老护理": 1},
        "2025-07": {"subsidies_granted": 1, "subsidy_yuan": 1500},
        "2025-08": {"placements": 1, "placements:market": 1, "followed_up_3m": 1, "retained_3m": 1},
        "2025-09": {"placements": 1, "placements:market": 1, "posts_filled": 1},
        "2025-12": {"placements_ended": 1},
    }
    assert "2026-03" not in report["figures"]
    # the same province written long, and the same figures from the district and community
    assert await office.read("/reports/areas/430000", **ALL_MONTHS) == report
    district = await office.read("/reports/areas/430102", **ALL_MONTHS)
    assert district["figures"] == report["figures"]
    # the class belongs to the district that held it, the trainees to their community
    community = await office.read(f"/reports/areas/{COMMUNITY}", **ALL_MONTHS)
    classes = {"classes_held", "classes:vocational"}
    assert community["totals"] == {k: n for k, n in report["totals"].items() if k not in classes}

    year = await office.read("/reports/areas/43/years/2025")
    assert year["area_code"] == "430000"
    assert year["totals"] == report["totals"]
    assert year["pass_rate"] == 50.0
    assert year["retention"]["3m"] == 100.0
    assert year["summary"].startswith("trained 2 women (2 people) in 1 trades over 1 classes")
    assert (await office.read("/reports/areas/430000/years/2025")) == year
    recording_year = await office.read("/reports/areas/430000/years/2026")
    assert recording_year["totals"] == {}

    # a list filtered by the province in either form finds the post
    for area in ("43", "430000"):
        listed = await office.read("/posts", area=area)
        assert [p["post_id"] for p in listed["items"]] == [post["id"]], area


async def test_a_date_to_come_is_refused_naming_its_field(office: Office) -> None:
    tomorrow = "2026-03-17"
    employer = {"name": "芙蓉区家政公司", "credit_code": "91430102MA4L654321", "area_code": "43"}
    answer = await office.post("/employers", {**employer, "occurred_on": tomorrow})
    assert refused_field(answer) == "occurred_on"
    assert "in the future" in answer.json()["detail"]
    made = await office.send("/employers", {**employer, "occurred_on": "2026-03-16"})
    post = {
        "employer_id": made["id"],
        "title": "家政服务员",
        "occupation_code": "4-10-01-06",
        "area_code": "430102001",
        "wage": {"amount": 25, "unit": "hour"},
        "hours_type": "part_time",
        "openings": 1,
    }
    answer = await office.post("/posts", {**post, "published_on": tomorrow})
    assert refused_field(answer) == "published_on"
    published = await office.send("/posts", post)
    shown = await office.read(f"/posts/{published['id']}")
    assert shown["published_on"] == RECORDED_ON.isoformat()
    answer = await office.post(
        f"/posts/{published['id']}/close", {"reason": "不再招聘", "occurred_on": tomorrow}
    )
    assert refused_field(answer) == "occurred_on"


async def test_a_post_for_a_whole_city_written_short_matches_across_the_city(
    office: Office, employment: ServiceRuntime, outside: Any
) -> None:
    registry = await publisher(outside, "registry")
    await register_worker(registry, "w-furong", area=COMMUNITY)
    known = await register_worker(registry, "w-yuelu", area="430104002003")
    await register_worker(registry, "w-zhuzhou", area="430202001001")
    employer = {"name": "长沙市养老服务中心", "credit_code": "12430100MB1234567X"}
    made = await office.send("/employers", {**employer, "area_code": "430100"})
    post = await office.send(
        "/posts",
        {
            "employer_id": made["id"],
            "title": "养老护理员",
            "occupation_code": "4-10-01-05",
            "area_code": "4301",
            "wage": {"amount": 4000, "unit": "month"},
            "hours_type": "full_time",
            "openings": 2,
        },
    )
    await caught_up(employment, known)
    ranked = await office.read(f"/posts/{post['id']}/matches")
    found = {m["worker_id"]: m["reasons"] for m in ranked["items"]}
    assert set(found) == {"w-furong", "w-yuelu"}  # 株洲 (4302) is another city
    for reasons in found.values():
        assert "lives in the same city (+3)" in reasons
