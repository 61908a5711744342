"""Training results by course kind, against a real nats-server and both databases: SYB trains
for no occupation and certifies nobody; trained, passed and the share re-employed within 3 and
6 months of the course's end, counted once per woman and course, from the registry's spells,
its older `WorkerReemployed` and employment's own placements."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from jinguo_contracts.registry import (
    ReemploymentSpellStartedV1,
    SpellKind,
    WorkerErasedV1,
    WorkerReemployedV1,
)
from jinguo_employment.bootstrap import EmploymentService
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import caught_up, publish_agency, publish_history, publisher

from .conftest import register_worker
from .test_past_year import Office, office, refused_field

__all__ = ["office"]

COMMUNITY = "430102001001"
VOCATIONAL = ["w-v1", "w-v2", "w-v3", "w-v4"]
SYB = ["w-s1", "w-s2", "w-s3"]


def vocational_course() -> dict[str, Any]:
    return {
        "title": "2025年家政服务员培训班",
        "trade": "家政服务",
        "occupation_code": "4-10-01-06",
        "provider": "芙蓉区职业技能培训学校",
        "area_code": "430102",
        "seats": 10,
        "starts_on": "2025-05-05",
        "ends_on": "2025-05-30",
        "subsidy_per_trainee": 1200,
        "occurred_on": "2025-04-20",
    }


def syb_course(**changes: Any) -> dict[str, Any]:
    return {
        "title": "2025年巾帼创业SYB培训班",
        "trade": "创业",
        "provider": "芙蓉区就业训练中心",
        "area_code": "430102",
        "seats": 10,
        "starts_on": "2025-09-01",
        "ends_on": "2025-09-26",
        "subsidy_per_trainee": 1000,
        "kind": "syb",
        "occurred_on": "2025-08-20",
        **changes,
    }


async def spell(registry: Any, worker: str, n: int, kind: SpellKind, on: str) -> str:
    started = ReemploymentSpellStartedV1(
        worker_id=worker,
        spell_id=f"{worker}-spell-{n}",
        kind=kind,
        started_on=date.fromisoformat(on),
        area_code=COMMUNITY,
        gender="female",
    )
    return await publish_history(registry, worker, [started], f"spell-{worker}-{n}")


async def test_syb_with_an_occupation_is_refused_naming_the_field(office: Office) -> None:
    answer = await office.post("/courses", syb_course(occupation_code="4-10-01-02"))
    assert refused_field(answer) == "occupation_code"
    without = {k: v for k, v in vocational_course().items() if k != "occupation_code"}
    assert refused_field(await office.post("/courses", without)) == "occupation_code"


async def test_results_by_course_kind_count_each_woman_once_per_course(
    office: Office, employment: ServiceRuntime, outside: Any
) -> None:
    registry = await publisher(outside, "registry")
    for worker in [*VOCATIONAL, *SYB]:
        known = await register_worker(registry, worker, area=COMMUNITY, codes=("4-10-01-06",))
    await caught_up(employment, known)

    vocational = await office.send("/courses", vocational_course())
    syb = await office.send("/courses", syb_course())
    shown = await office.read(f"/courses/{syb['id']}")
    assert (shown["kind"], shown["occupation_code"]) == ("syb", None)
    plan = {"business": "社区家政服务店", "trade": "居民服务业", "jobs_planned": 3}
    for course, workers, ended, results in (
        (vocational, VOCATIONAL, "2025-05-30", (True, True, False, True)),
        (syb, SYB, "2025-09-26", (True, True, False)),
    ):
        for worker, passed in zip(workers, results, strict=True):
            await office.send(
                f"/courses/{course['id']}/enrolments",
                {"worker_id": worker, "occurred_on": ended},
            )
            completion: dict[str, Any] = {
                "worker_id": worker,
                "passed": passed,
                "score": 80 if passed else 40,
                "completed_on": ended,
            }
            if course is syb and passed:
                completion["business_plan"] = plan
            await office.send(f"/courses/{course['id']}/completions", completion)
    # a business plan completes SYB only; SYB certifies nobody
    late = await office.post(
        f"/courses/{vocational['id']}/completions",
        {
            "worker_id": VOCATIONAL[0],
            "passed": True,
            "score": 80,
            "completed_on": "2025-05-30",
            "business_plan": plan,
        },
    )
    assert refused_field(late) == "business_plan"
    certified = await office.post(
        f"/courses/{syb['id']}/certificates", {"worker_id": SYB[0], "awarded_on": "2025-10-01"}
    )
    assert certified.status_code == 409, certified.text
    assert certified.json()["type"].endswith("/syb-awards-no-certificate")
    [completed] = [
        e for e in await employment.store.load("course", syb["id"]) if e.type == "TrainingCompleted"
    ][:1]
    assert completed.payload.course_kind == "syb"
    assert completed.payload.business_plan.business == "社区家政服务店"

    # vocational, ended 2025-05-30: 3 months to 2025-08-30, 6 months to 2025-11-30
    await spell(registry, "w-v1", 1, "found_herself", "2025-07-15")
    await publish_history(
        registry,
        "w-v2",
        [
            WorkerReemployedV1(
                worker_id="w-v2",
                post_id="p-old",
                placement_id="pl-old",
                employer_name="芙蓉区颐养中心",
                started_on=date(2025, 10, 20),
                area_code=COMMUNITY,
            )
        ],
        "reemployed-w-v2",
    )
    await spell(registry, "w-v3", 1, "flexible", "2025-05-01")  # before her course ended
    await spell(registry, "w-v4", 1, "flexible", "2025-06-10")
    last = await spell(registry, "w-v4", 2, "self_employed", "2025-07-01")  # counted once
    # SYB, ended 2025-09-26: 3 months to 2025-12-26; its 6 months end after today (2026-03-16)
    last = await spell(registry, "w-s1", 1, "business", "2025-11-01")
    employer = await office.send(
        "/employers",
        {
            "name": "芙蓉区巾帼家政服务中心",
            "credit_code": "91430102MA4L654321",
            "area_code": "430102",
            "occurred_on": "2025-01-10",
        },
    )
    post = await office.send(
        "/posts",
        {
            "employer_id": employer["id"],
            "title": "家政服务员",
            "occupation_code": "4-10-01-06",
            "area_code": COMMUNITY,
            "wage": {"amount": 3600, "unit": "month"},
            "hours_type": "full_time",
            "openings": 1,
            "published_on": "2025-10-01",
        },
    )
    await office.send(
        f"/posts/{post['id']}/fill", {"worker_id": "w-s2", "start_date": "2025-10-10"}
    )
    await caught_up(employment, last)

    for area in ("43", "430102", COMMUNITY):
        year = await office.read(f"/reports/areas/{area}/years/2025")
        assert year["training"] == {
            "vocational": {
                "trained": 4,
                "passed": 3,
                "pass_rate": 75.0,
                "reemployed": {
                    "3m": {"trainees": 4, "reemployed": 2, "share": 50.0},
                    "6m": {"trainees": 4, "reemployed": 3, "share": 75.0},
                },
            },
            "syb": {
                "trained": 3,
                "passed": 2,
                "pass_rate": 66.7,
                "reemployed": {
                    "3m": {"trainees": 3, "reemployed": 2, "share": 66.7},
                    "6m": {"trainees": 0, "reemployed": 0, "share": None},
                },
            },
        }, area
        assert "3 completed SYB entrepreneurship training" in year["summary"]
    elsewhere = await office.read("/reports/areas/430103/years/2025")
    assert elsewhere["training"]["vocational"]["trained"] == 0
    assert (await office.read("/reports/areas/43/years/2024"))["training"]["syb"]["trained"] == 0

    per_course = await office.read(f"/courses/{syb['id']}/results")
    assert per_course["kind"] == "syb"
    assert per_course["results"]["reemployed"]["3m"] == {
        "trainees": 3,
        "reemployed": 2,
        "share": 66.7,
    }
    missing = await office.http.get("/courses/no-such-course/results", headers=office.headers)
    assert missing.status_code == 404

    # erased, she leaves the results: her completion and her spells go with her id
    erased = await publish_history(
        registry, "w-v4", [WorkerErasedV1(worker_id="w-v4", reason="本人申请")], "erase-w-v4"
    )
    await caught_up(employment, erased)
    after = (await office.read("/reports/areas/43/years/2025"))["training"]["vocational"]
    assert (after["trained"], after["passed"]) == (3, 2)
    assert after["reemployed"]["3m"] == {"trainees": 3, "reemployed": 1, "share": 33.3}


async def test_another_province_sees_no_course_results(
    office: Office, employment: ServiceRuntime, outside: Any
) -> None:
    course = await office.send("/courses", syb_course())
    registry = await publisher(outside, "registry")
    agency = await publish_agency(
        registry,
        name="广东省妇联",
        area="440000",
        clients={"other": (["employment:read"], None)},
    )
    await employment.projections.wait_for(agency.position, ["api_clients"], 15)
    app = EmploymentService().create_app(employment)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://employment"
    ) as http:
        answer = await http.get(
            f"/courses/{course['id']}/results",
            params={"after": office.position},
            headers={"Authorization": f"Bearer {agency.keys['other']}"},
        )
    assert answer.status_code == 404, answer.text
