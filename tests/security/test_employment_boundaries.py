"""The employment service's trust boundary, attacked over HTTP (real NATS, both databases).

Three agencies hold keys: the street offices of two districts of Beijing, Dongcheng (东城区,
110101) and Xicheng (西城区, 110102), and a city-level agency (北京市, 110100). Dongcheng's
office registers an employer, publishes a post, runs a course and places one of its workers.
Xicheng's key must find none of it (404 for every record, nothing in its lists, 403 for the
reports) and change none of it. A command relating two districts (placing Xicheng's worker in
Dongcheng's post) needs a key whose jurisdiction covers both: the city's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from jinguo_contracts.examples import registered_worker
from jinguo_contracts.registry import WorkerErasedV1
from jinguo_employment.bootstrap import EmploymentService
from jinguo_shared.eventstore import EventStore
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import (
    caught_up,
    publish,
    publish_agency,
    publish_history,
    publisher,
    runtimes,
)

DONGCHENG, XICHENG, BEIJING = "110101", "110102", "110100"
SCOPES = ["employment:read", "employment:write"]


@dataclass(frozen=True)
class Agency:
    name: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass(frozen=True)
class Dongcheng:
    """What Dongcheng's office recorded, and the workers of both districts."""

    employer: str
    post: str
    course: str
    placement: str
    worker: str
    """Dongcheng's, trained, certified and placed."""
    other_worker: str
    """Dongcheng's too, not hard to employ, in no course and no post."""
    neighbour: str
    """Xicheng's, hard to employ, wanting the same work: in the same city."""
    xicheng_employer: str
    xicheng_post: str


@pytest.fixture
async def employment(
    jinguo_env: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch, outside: Any
) -> AsyncIterator[ServiceRuntime]:
    monkeypatch.setenv("JINGUO_EMPLOYMENT_DATABASE_URL", database_url)
    await publisher(outside, "registry")  # the registry's stream, as the registry creates it
    async with runtimes(EmploymentService(), jinguo_env["JINGUO_NATS_URL"]) as opener:
        yield await opener()


@pytest.fixture
async def registry(outside: Any) -> EventStore:
    return await publisher(outside, "registry")


@pytest.fixture
async def agencies(employment: ServiceRuntime, registry: EventStore) -> dict[str, Agency]:
    """Keys issued as the registry issues them; employment learns them from its events."""
    made: dict[str, Agency] = {}
    position = ""
    for name, area in (("dongcheng", DONGCHENG), ("xicheng", XICHENG), ("beijing", BEIJING)):
        agency = await publish_agency(
            registry, name=name, area=area, clients={name: (SCOPES, None)}
        )
        position = agency.position
        made[name] = Agency(name, agency.keys[name])
    await employment.projections.wait_for(position, ["api_clients"], 15)
    return made


@pytest.fixture
async def http(employment: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    app = EmploymentService().create_app(employment)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://employment") as client:
        yield client


async def register_worker(
    registry: EventStore, worker_id: str, area: str, *, priority: bool
) -> str:
    worker = registered_worker(
        worker_id,
        area=area,
        skills=["养老护理"],
        occupation_codes=["4-10-01-05"],
        hours_types=["full_time"],
        priority=priority,
    )
    return await publish_history(registry, worker_id, worker, f"register-{worker_id}")


def created(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert isinstance(body, dict)
    return body


def post_body(employer_id: str, area_code: str, kind: str = "public_welfare") -> dict[str, Any]:
    return {
        "employer_id": employer_id,
        "title": "社区养老护理员",
        "occupation_code": "4-10-01-05",
        "area_code": area_code,
        "wage": {"amount": 3800, "unit": "month"},
        "hours_type": "full_time",
        "openings": 3,
        "kind": kind,
    }


@pytest.fixture
async def dongcheng(
    employment: ServiceRuntime,
    registry: EventStore,
    agencies: dict[str, Agency],
    http: httpx.AsyncClient,
) -> Dongcheng:
    today = employment.clock.today()
    worker, other, neighbour = "w-dongcheng-1", "w-dongcheng-2", "w-xicheng"
    await register_worker(registry, worker, "110101001001", priority=True)
    await register_worker(registry, other, "110101002003", priority=False)
    registered = await register_worker(registry, neighbour, "110102001001", priority=True)
    as_dongcheng = agencies["dongcheng"].headers

    employer = created(
        await http.post(
            "/employers",
            json={
                "name": "东四社区养老驿站",
                "credit_code": "91110101MA01234567",
                "area_code": "110101001",
            },
            headers=as_dongcheng,
        )
    )
    post = created(
        await http.post(
            "/posts", json=post_body(employer["id"], "110101001001"), headers=as_dongcheng
        )
    )
    course = created(
        await http.post(
            "/courses",
            json={
                "title": "养老护理员（五级）培训班",
                "trade": "养老护理",
                "occupation_code": "4-10-01-05",
                "provider": "东城区职业技能培训学校",
                "area_code": DONGCHENG,
                "seats": 20,
                "starts_on": str(today - timedelta(days=30)),
                "ends_on": str(today + timedelta(days=30)),
                "subsidy_per_trainee": 1500,
            },
            headers=as_dongcheng,
        )
    )
    trainee = {"worker_id": worker}
    created(
        await http.post(
            f"/courses/{course['id']}/enrolments",
            params={"after": registered},
            json=trainee,
            headers=as_dongcheng,
        )
    )
    for path, body in (
        ("completions", {"passed": True, "score": 90, "completed_on": str(today)}),
        ("certificates", {"awarded_on": str(today)}),
        ("subsidies", {"granted_on": str(today)}),
    ):
        created(
            await http.post(
                f"/courses/{course['id']}/{path}", json={**trainee, **body}, headers=as_dongcheng
            )
        )
    created(
        await http.post(
            f"/posts/{post['id']}/recommendations",
            params={"after": post["position"]},
            json=trainee,
            headers=as_dongcheng,
        )
    )
    placed = created(
        await http.post(
            f"/posts/{post['id']}/fill",
            json={**trainee, "start_date": str(today - timedelta(days=120))},
            headers=as_dongcheng,
        )
    )
    as_xicheng = agencies["xicheng"].headers
    xicheng_employer = created(
        await http.post(
            "/employers",
            json={
                "name": "西城区巾帼家政服务中心",
                "credit_code": "91110102MA07654321",
                "area_code": "110102001",
            },
            headers=as_xicheng,
        )
    )
    xicheng_post = created(
        await http.post(
            "/posts",
            json=post_body(xicheng_employer["id"], "110102001001", kind="market"),
            headers=as_xicheng,
        )
    )
    await caught_up(employment, registered, placed["position"], xicheng_post["position"])
    return Dongcheng(
        employer=employer["id"],
        post=post["id"],
        course=course["id"],
        placement=placed["placement_id"],
        worker=worker,
        other_worker=other,
        neighbour=neighbour,
        xicheng_employer=xicheng_employer["id"],
        xicheng_post=xicheng_post["id"],
    )


async def stream_end(employment: ServiceRuntime) -> int:
    info = await employment.nc.jetstream().stream_info("EMPLOYMENT")
    return int(info.state.last_seq)


async def listed(http: httpx.AsyncClient, agency: Agency, path: str, key: str) -> set[str]:
    answer = await http.get(path, params={"limit": 200}, headers=agency.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    items = body["items"] if isinstance(body, dict) else body
    return {item[key] for item in items}


LISTS = (
    ("/employers", "employer_id"),
    ("/posts", "post_id"),
    ("/placements", "placement_id"),
    ("/seekers", "worker_id"),
    ("/courses", "course_id"),
)


async def test_another_district_finds_none_of_dongchengs_records(
    http: httpx.AsyncClient, agencies: dict[str, Agency], dongcheng: Dongcheng
) -> None:
    xicheng = agencies["xicheng"]
    d = dongcheng
    for path in (
        f"/employers/{d.employer}",
        f"/posts/{d.post}",
        f"/posts/{d.post}/matches",
        f"/placements/{d.placement}",
        f"/seekers/{d.worker}",
        f"/courses/{d.course}",
    ):
        answer = await http.get(path, headers=xicheng.headers)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    # the same reads with Dongcheng's own key find every one of them
    for path in (f"/employers/{d.employer}", f"/placements/{d.placement}", f"/seekers/{d.worker}"):
        assert (await http.get(path, headers=agencies["dongcheng"].headers)).status_code == 200

    assert await listed(http, xicheng, "/employers", "employer_id") == {d.xicheng_employer}
    assert await listed(http, xicheng, "/posts", "post_id") == {d.xicheng_post}
    assert await listed(http, xicheng, "/placements", "placement_id") == set()
    assert await listed(http, xicheng, "/courses", "course_id") == set()
    assert await listed(http, xicheng, "/seekers", "worker_id") == {d.neighbour}
    due = await http.get(
        "/placements/follow-ups-due", params={"on": "2030-01-01"}, headers=xicheng.headers
    )
    assert due.json() == []
    # asking for Dongcheng's area by name is refused, not answered with an empty page
    for path, _ in LISTS:
        answer = await http.get(path, params={"area": "110101001"}, headers=xicheng.headers)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["type"].endswith("/outside-jurisdiction")


async def test_another_district_changes_none_of_dongchengs_records(
    employment: ServiceRuntime,
    http: httpx.AsyncClient,
    agencies: dict[str, Agency],
    dongcheng: Dongcheng,
) -> None:
    d, today = dongcheng, str(employment.clock.today())
    neighbour = {"worker_id": d.neighbour}
    trainee = {"worker_id": d.worker}
    before = await stream_end(employment)
    attempts: list[tuple[str, dict[str, Any], int]] = [
        (f"/employers/{d.employer}/suspend", {"reason": "检查"}, 404),
        (f"/employers/{d.employer}/reinstate", {"reason": "整改"}, 404),
        (f"/posts/{d.post}/close", {"reason": "满员"}, 404),
        (f"/posts/{d.post}/suspend", {"reason": "暂停"}, 404),
        (f"/posts/{d.post}/recommendations", neighbour, 404),
        (f"/posts/{d.post}/applications", neighbour, 404),
        (f"/posts/{d.post}/fill", {**neighbour, "start_date": today}, 404),
        (
            f"/placements/{d.placement}/follow-ups",
            {"month": 3, "still_employed": False, "followed_up_on": today},
            404,
        ),
        (f"/placements/{d.placement}/end", {"reason": "dismissed", "ended_on": today}, 404),
        (f"/courses/{d.course}/enrolments", neighbour, 404),
        (f"/courses/{d.course}/enrolments/{d.worker}/withdraw", {"reason": "退出"}, 404),
        (
            f"/courses/{d.course}/completions",
            {**trainee, "passed": False, "score": 10, "completed_on": today},
            404,
        ),
        (f"/courses/{d.course}/certificates", {**trainee, "awarded_on": today}, 404),
        (f"/courses/{d.course}/subsidies", {**trainee, "granted_on": today}, 404),
        # publishing for Dongcheng's employer, or anything into Dongcheng's area
        ("/posts", post_body(d.employer, "110102001001"), 404),
        (
            "/employers",
            {"name": "冒名单位", "credit_code": "91110101MA0ABCDEF1", "area_code": "110101001"},
            403,
        ),
        (
            "/courses",
            {
                "title": "冒名培训班",
                "trade": "家政服务",
                "occupation_code": "4-10-01-06",
                "provider": "某学校",
                "area_code": "110101002",
                "seats": 5,
                "starts_on": today,
                "ends_on": today,
                "subsidy_per_trainee": 0,
            },
            403,
        ),
    ]
    attempts.append(("/posts", post_body(d.xicheng_employer, "110101001001"), 403))
    for path, body, status in attempts:
        answer = await http.post(path, json=body, headers=agencies["xicheng"].headers)
        assert answer.status_code == status, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    # registering Dongcheng's employer again says it exists, but neither where nor under which id
    again = await http.post(
        "/employers",
        json={
            "name": "东四社区养老驿站",
            "credit_code": "91110101MA01234567",
            "area_code": "110102",
        },
        headers=agencies["xicheng"].headers,
    )
    assert again.status_code == 409
    assert d.employer not in again.text
    assert "110101" not in again.text
    assert await stream_end(employment) == before


async def test_reports_stop_at_the_jurisdiction(
    employment: ServiceRuntime,
    http: httpx.AsyncClient,
    agencies: dict[str, Agency],
    dongcheng: Dongcheng,
) -> None:
    year = employment.clock.today().year
    cases = [
        ("xicheng", "110101", 403),
        ("xicheng", "1101", 403),  # the city around it
        ("xicheng", "11", 403),
        ("xicheng", "110102", 200),
        ("xicheng", "110102001", 200),
        ("dongcheng", "110101", 200),
        ("beijing", "1101", 200),
        ("beijing", "110101", 200),
        ("beijing", "110102001", 200),
        ("beijing", "11", 403),
    ]
    for agency, area, status in cases:
        for path in (f"/reports/areas/{area}", f"/reports/areas/{area}/years/{year}"):
            answer = await http.get(path, headers=agencies[agency].headers)
            assert answer.status_code == status, (agency, path, answer.text)
    dongcheng_report = await http.get(
        "/reports/areas/110101", headers=agencies["dongcheng"].headers
    )
    assert dongcheng_report.json()["totals"]["placements"] == 1


async def test_a_city_agency_sees_both_districts(
    http: httpx.AsyncClient, agencies: dict[str, Agency], dongcheng: Dongcheng
) -> None:
    beijing, d = agencies["beijing"], dongcheng
    assert {d.post, d.xicheng_post} <= await listed(http, beijing, "/posts", "post_id")
    assert {d.worker, d.other_worker, d.neighbour} <= await listed(
        http, beijing, "/seekers", "worker_id"
    )
    assert await listed(http, beijing, "/placements", "placement_id") == {d.placement}
    for path in (f"/posts/{d.post}", f"/seekers/{d.neighbour}", f"/courses/{d.course}"):
        assert (await http.get(path, headers=beijing.headers)).status_code == 200
    narrowed = await http.get("/seekers", params={"area": XICHENG}, headers=beijing.headers)
    assert {s["worker_id"] for s in narrowed.json()["items"]} == {d.neighbour}


async def test_a_command_relating_two_districts_needs_a_key_covering_both(
    employment: ServiceRuntime,
    http: httpx.AsyncClient,
    agencies: dict[str, Agency],
    dongcheng: Dongcheng,
) -> None:
    d, today = dongcheng, employment.clock.today()
    as_dongcheng, as_beijing = agencies["dongcheng"].headers, agencies["beijing"].headers
    neighbour = {"worker_id": d.neighbour}
    # Dongcheng's office cannot see Xicheng's worker, so it can neither rank, recommend,
    # place nor train her, although she lives in the same city and wants the post's work
    ranked = await http.get(f"/posts/{d.post}/matches", headers=as_dongcheng)
    assert d.neighbour not in {m["worker_id"] for m in ranked.json()["items"]}
    city_ranked = await http.get(f"/posts/{d.post}/matches", headers=as_beijing)
    assert d.neighbour in {m["worker_id"] for m in city_ranked.json()["items"]}
    for path, body in (
        (f"/posts/{d.post}/recommendations", neighbour),
        (f"/posts/{d.post}/applications", neighbour),
        (f"/posts/{d.post}/fill", {**neighbour, "start_date": str(today)}),
        (f"/courses/{d.course}/enrolments", neighbour),
    ):
        answer = await http.post(path, json=body, headers=as_dongcheng)
        assert answer.status_code == 404, (path, answer.text)

    # the city-level agency covers both districts: it recommends her for Dongcheng's post
    created(await http.post(f"/posts/{d.post}/recommendations", json=neighbour, headers=as_beijing))
    # a public-welfare post goes first to her (hard to employ), a rule Dongcheng's office meets
    # when it places its other worker, but the refusal does not name whom it cannot see
    refused = await http.post(
        f"/posts/{d.post}/fill",
        json={"worker_id": d.other_worker, "start_date": str(today)},
        headers=as_dongcheng,
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/priority-candidate-waiting")
    assert refused.json()["waiting_candidates"] == []
    assert d.neighbour not in refused.text
    # the city places her; the placement belongs to the post's district
    placed = created(
        await http.post(
            f"/posts/{d.post}/fill",
            json={**neighbour, "start_date": str(today)},
            headers=as_beijing,
        )
    )
    await caught_up(employment, placed["position"])
    post = (await http.get(f"/posts/{d.post}", headers=as_dongcheng)).json()
    assert d.neighbour not in {c["worker_id"] for c in post["candidates"]}
    assert post["openings_left"] == 1
    assert placed["placement_id"] in await listed(
        http, agencies["dongcheng"], "/placements", "placement_id"
    )
    assert (await http.get(f"/seekers/{d.neighbour}", headers=as_dongcheng)).status_code == 404
    # and Xicheng's office, which sees her, does not see where she works
    dossier = (
        await http.get(f"/seekers/{d.neighbour}", headers=agencies["xicheng"].headers)
    ).json()
    assert dossier["placements"] == []


async def test_suspending_an_employer_suspends_its_posts_in_every_district(
    employment: ServiceRuntime,
    http: httpx.AsyncClient,
    agencies: dict[str, Agency],
    dongcheng: Dongcheng,
) -> None:
    """An employer's rule, not the caller's choice: its posts follow it wherever they are."""
    d = dongcheng
    elsewhere = created(
        await http.post(
            "/posts",
            json=post_body(d.employer, "110102001001", kind="market"),
            headers=agencies["beijing"].headers,
        )
    )
    await caught_up(employment, elsewhere["position"])
    suspended = await http.post(
        f"/employers/{d.employer}/suspend",
        json={"reason": "劳动保障监察"},
        headers=agencies["dongcheng"].headers,
    )
    assert suspended.status_code == 200, suspended.text
    assert elsewhere["id"] not in suspended.text
    history = await employment.store.load("post", elsewhere["id"])
    assert [e.type for e in history] == ["PostPublished", "PostSuspended"]


async def test_one_idempotency_key_enrols_in_one_course_only(
    employment: ServiceRuntime,
    http: httpx.AsyncClient,
    agencies: dict[str, Agency],
    dongcheng: Dongcheng,
) -> None:
    """Found: enrolling one worker in two courses with one key left the second course empty."""
    d, today = dongcheng, employment.clock.today()
    as_dongcheng = agencies["dongcheng"].headers
    second = created(
        await http.post(
            "/courses",
            json={
                "title": "家政服务员培训班",
                "trade": "家政服务",
                "occupation_code": "4-10-01-06",
                "provider": "东城区妇联培训中心",
                "area_code": DONGCHENG,
                "seats": 20,
                "starts_on": str(today - timedelta(days=10)),
                "ends_on": str(today + timedelta(days=50)),
                "subsidy_per_trainee": 1200,
            },
            headers=as_dongcheng,
        )
    )
    trainee = {"worker_id": d.other_worker}
    key = {**as_dongcheng, "Idempotency-Key": "enrol-2026-001"}
    first = created(await http.post(f"/courses/{d.course}/enrolments", json=trainee, headers=key))
    retried = created(await http.post(f"/courses/{d.course}/enrolments", json=trainee, headers=key))
    assert retried == first
    reused = await http.post(f"/courses/{second['id']}/enrolments", json=trainee, headers=key)
    assert reused.status_code == 422, reused.text
    assert reused.json()["type"].endswith("/idempotency-key-reused")
    await caught_up(employment, first["position"], second["position"])
    course = (await http.get(f"/courses/{second['id']}", headers=as_dongcheng)).json()
    assert course["trainees"] == []
    # nothing was swallowed: with a key of its own the second enrolment is recorded
    enrolled = created(
        await http.post(
            f"/courses/{second['id']}/enrolments",
            json=trainee,
            headers={**as_dongcheng, "Idempotency-Key": "enrol-2026-002"},
        )
    )
    course = (
        await http.get(
            f"/courses/{second['id']}",
            params={"after": enrolled["position"]},
            headers=as_dongcheng,
        )
    ).json()
    assert [t["worker_id"] for t in course["trainees"]] == [d.other_worker]
    history = [e.type for e in await employment.store.load("course", d.course)]
    assert history.count("TraineeEnrolled") == 2  # her first, and Dongcheng's trained worker


LONG_ID = "x" * 65
LONG_NAME = "名" * 201
LONG_TEXT = "长" * 2001


def oversized() -> list[tuple[str, dict[str, Any]]]:
    """One oversized string or list on every write endpoint (ids need not exist: the input is
    refused before anything is looked up)."""
    employer = {"name": "东四社区养老驿站", "credit_code": "91110101MA01234567"}
    course = {
        "title": "养老护理员培训班",
        "trade": "养老护理",
        "occupation_code": "4-10-01-05",
        "provider": "东城区职业技能培训学校",
        "area_code": DONGCHENG,
        "seats": 5,
        "starts_on": "2026-01-05",
        "ends_on": "2026-02-05",
        "subsidy_per_trainee": 0,
    }
    post = post_body("e1", "110101001001")
    return [
        ("/employers", {**employer, "name": LONG_NAME, "area_code": "110101"}),
        ("/employers", {**employer, "area_code": "1" * 10_000}),
        ("/employers/e1/suspend", {"reason": LONG_TEXT}),
        ("/employers/e1/reinstate", {"reason": LONG_TEXT}),
        (f"/employers/{LONG_ID}/suspend", {"reason": "检查"}),
        ("/posts", {**post, "title": LONG_NAME}),
        ("/posts", {**post, "employer_id": LONG_ID}),
        ("/posts", {**post, "requirements": {"skills": ["技" * 61]}}),
        ("/posts", {**post, "requirements": {"skills": ["养老护理"] * 21}}),
        ("/posts", {**post, "requirements": {"notes": LONG_TEXT}}),
        ("/posts/p1/close", {"reason": LONG_TEXT}),
        ("/posts/p1/suspend", {"reason": LONG_TEXT}),
        ("/posts/p1/recommendations", {"worker_id": LONG_ID}),
        ("/posts/p1/applications", {"worker_id": LONG_ID}),
        (
            "/posts/p1/fill",
            {"worker_id": "w1", "start_date": "2026-01-05", "override_reason": LONG_TEXT},
        ),
        (
            f"/placements/{LONG_ID}/follow-ups",
            {"month": 3, "still_employed": True, "followed_up_on": "2026-04-05"},
        ),
        ("/placements/pl1/end", {"reason": "other", "ended_on": "2026-04-05", "notes": LONG_TEXT}),
        ("/courses", {**course, "trade": "养" * 61}),
        ("/courses", {**course, "provider": LONG_NAME}),
        ("/courses/c1/enrolments", {"worker_id": LONG_ID}),
        ("/courses/c1/enrolments/w1/withdraw", {"reason": LONG_TEXT}),
        (
            "/courses/c1/completions",
            {"worker_id": LONG_ID, "passed": True, "score": 90, "completed_on": "2026-01-05"},
        ),
        ("/courses/c1/certificates", {"worker_id": LONG_ID, "awarded_on": "2026-01-05"}),
        ("/courses/c1/subsidies", {"worker_id": LONG_ID, "granted_on": "2026-01-05"}),
    ]


async def test_oversized_and_malformed_input_is_refused_on_every_write(
    employment: ServiceRuntime, http: httpx.AsyncClient, agencies: dict[str, Agency]
) -> None:
    as_dongcheng = agencies["dongcheng"].headers
    before = await stream_end(employment)
    for path, body in oversized():
        answer = await http.post(path, json=body, headers=as_dongcheng)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["type"].endswith("/invalid-request"), (path, answer.text)
    # a day to look ahead to lies within the programme's planning years
    beyond = await http.get(
        "/placements/follow-ups-due", params={"on": "2999-01-01"}, headers=as_dongcheng
    )
    assert beyond.status_code == 422
    assert beyond.json()["field"] == "on"
    assert await stream_end(employment) == before


async def test_an_erased_worker_is_linked_to_nothing_employment_serves(
    employment: ServiceRuntime,
    registry: EventStore,
    http: httpx.AsyncClient,
    agencies: dict[str, Agency],
    dongcheng: Dongcheng,
) -> None:
    d, as_dongcheng = dongcheng, agencies["dongcheng"].headers
    report_before = (await http.get("/reports/areas/110101", headers=as_dongcheng)).json()
    erased = await publish(
        registry, "worker", d.worker, WorkerErasedV1(worker_id=d.worker, reason="本人申请"), "erase"
    )
    await caught_up(employment, erased)
    served = [
        (await http.get(path, headers=as_dongcheng)).text
        for path in (
            f"/posts/{d.post}",
            f"/placements/{d.placement}",
            "/placements",
            f"/courses/{d.course}",
            "/seekers",
        )
    ]
    assert all(d.worker not in text for text in served)
    assert (await http.get(f"/seekers/{d.worker}", headers=as_dongcheng)).status_code == 404
    placement = (await http.get(f"/placements/{d.placement}", headers=as_dongcheng)).json()
    assert (placement["worker_id"], placement["post_id"]) == (None, d.post)
    [trainee] = (await http.get(f"/courses/{d.course}", headers=as_dongcheng)).json()["trainees"]
    assert trainee == {**trainee, "worker_id": None, "area_code": None, "certificate_no": None}
    assert trainee["status"] == "passed"
    report_after = (await http.get("/reports/areas/110101", headers=as_dongcheng)).json()
    assert report_after == report_before
    again = await http.post(
        f"/courses/{d.course}/enrolments", json={"worker_id": d.worker}, headers=as_dongcheng
    )
    assert again.status_code == 404
