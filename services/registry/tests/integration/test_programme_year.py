"""The programme's year over HTTP, as three levels of offices use it: a county (区), its streets
(街道) and their communities (社区). Plans go up and are approved or returned; a half-year is
closed community by community, accepted (or returned) by the street, then the street's report by
the county; a late correction is a revision, and the sheet shows "as reported" beside "as known
now". Each office sees only its own area and what lies below it. Real nats-server, SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import orjson
import pytest

from jinguo_contracts.inspections import RightsFiguresPublishedV1
from jinguo_contracts.registry import TaxRelief
from jinguo_registry.bootstrap import DEV_KEY_FILE, RegistryService, handlers_for
from jinguo_registry.domain.validation import make_national_id
from jinguo_registry.handlers.commands import (
    IssueCertificate,
    RecordReemployment,
    RegisterWorker,
)
from jinguo_registry.handlers.spells import SpellHandlers
from jinguo_shared.envelope import CommandContext
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import publish, publisher, runtimes

from .test_projections import snapshot

RELIEF = TaxRelief(
    months=18,
    taxes=["business_tax_or_vat", "personal_income_tax"],
    business_name="文艺路巧手缝纫店",
    tax_office="国家税务总局长沙市芙蓉区税务局",
)
COUNTY, STREET_A, STREET_B = "430102", "430102001", "430102002"
A1, A2, B1 = "430102001001", "430102001002", "430102002001"
AREAS = [
    ("430000", "湖南省"),
    ("430100", "长沙市"),
    (COUNTY, "芙蓉区"),
    (STREET_A, "文艺路街道"),
    (STREET_B, "朝阳街道"),
    (A1, "韭菜园社区"),
    (A2, "燕山街社区"),
    (B1, "车站北路社区"),
]


@dataclass
class Office:
    agency_id: str
    http: httpx.AsyncClient

    async def post(self, path: str, body: Any = None, **params: str) -> httpx.Response:
        return await self.http.post(path, json=body, params=params)

    async def put(self, path: str, body: Any) -> httpx.Response:
        return await self.http.put(path, json=body)

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.http.get(path, params=params)


@dataclass
class County:
    runtime: ServiceRuntime
    offices: dict[str, Office]
    position: str = ""

    def __getitem__(self, area: str) -> Office:
        return self.offices[area]

    async def ok(self, answer: httpx.Response, status: int = 201) -> dict[str, Any]:
        assert answer.status_code == status, answer.text
        body: dict[str, Any] = answer.json()
        self.position = body.get("position", self.position)
        return body

    async def sheet(self, office: Office, area: str, period: str, **params: str) -> Any:
        answer = await office.get(f"/sheets/{area}/{period}", after=self.position, **params)
        assert answer.status_code == 200, answer.text
        return answer.json()


def context(command_id: str) -> CommandContext:
    return CommandContext(command_id=command_id, correlation_id=command_id, actor="test")


@pytest.fixture
async def county(jinguo_env: dict[str, str]) -> AsyncIterator[County]:
    service = RegistryService()
    async with runtimes(service, jinguo_env["JINGUO_NATS_URL"]) as open_registry:
        runtime = await open_registry()
        await service.seed_development(runtime)
        key = (runtime.settings.data_dir / DEV_KEY_FILE).read_text().strip()
        transport = httpx.ASGITransport(app=service.create_app(runtime))
        clients: list[httpx.AsyncClient] = []

        def client(api_key: str) -> httpx.AsyncClient:
            http = httpx.AsyncClient(
                transport=transport,
                base_url="http://registry",
                headers={"Authorization": f"Bearer {api_key}"},
            )
            clients.append(http)
            return http

        operator = Office("", client(key))
        world = County(runtime, {"": operator})
        await runtime.projections.wait_for_head("REGISTRY", ["api_clients"], 10)
        for code, name in AREAS:
            await world.ok(await operator.post("/areas", {"area_code": code, "name": name}))
        kinds = {6: "womens_federation", 9: "street_office", 12: "community_office"}
        for code, name in AREAS[2:]:
            agency = await world.ok(
                await operator.post(
                    "/agencies",
                    {"name": f"{name}妇联", "kind": kinds[len(code)], "area_code": code},
                )
            )
            issued = await world.ok(
                await operator.post(
                    f"/agencies/{agency['id']}/clients",
                    {"name": "office", "scopes": ["registry:read", "registry:write"]},
                )
            )
            world.offices[code] = Office(agency["id"], client(issued["api_key"]))
        await runtime.projections.wait_for(world.position, ["api_clients"], 10)
        try:
            yield world
        finally:
            for http in clients:
                await http.aclose()


async def reemploy_women(runtime: ServiceRuntime, area: str, started: list[date], n0: int) -> str:
    handlers = handlers_for(runtime)
    spells = SpellHandlers(runtime.executor, runtime.clock.today)
    position = ""
    for n, started_on in enumerate(started, start=n0):
        registered = await handlers.register_worker(
            RegisterWorker(
                name=f"测试{n}",
                national_id=make_national_id("430102", date(1976, 3, 1 + n % 28), n, female=True),
                phone=f"139{n:08d}",
                area_code=area,
                occurred_on=started_on,  # a spell starts on or after her registration
            ),
            context(f"register-{n}"),
        )
        result = await spells.record_placement(
            registered.aggregate_id,
            RecordReemployment(
                post_id=f"post-{n}",
                placement_id=f"placement-{n}",
                employer_name="长沙家政公司",
                started_on=started_on,
            ),
            context(f"reemploy-{n}"),
        )
        position = f"{result.stream}:{result.seq}"
    return position


async def test_plans_go_up_and_come_back_with_a_reason(county: County) -> None:
    a1, street, whole = county[A1], county[STREET_A], county[COUNTY]
    plan = {"targets": {"women_reemployed": 10, "volunteer_rate": 10}}
    # a community submits its own plan; neither it nor a sibling decides on it
    await county.ok(await a1.put(f"/plans/{A1}/2026", plan), 200)
    assert (await a1.post(f"/plans/{A1}/2026/approve")).status_code == 403
    assert (await county[A2].post(f"/plans/{A1}/2026/approve")).status_code == 404
    assert (await county[STREET_B].post(f"/plans/{A1}/2026/approve")).status_code == 404
    # the street returns it with a reason; resubmitted, approved
    await county.ok(
        await street.post(f"/plans/{A1}/2026/return", {"reason": "目标低于上年实绩"}), 200
    )
    returned = (await a1.get(f"/plans/{A1}/2026", after=county.position)).json()
    assert (returned["decision"], returned["reason"]) == ("returned", "目标低于上年实绩")
    again = {"targets": {"women_reemployed": 12, "volunteer_rate": 10}}
    await county.ok(await a1.put(f"/plans/{A1}/2026", again), 200)
    await county.ok(await whole.post(f"/plans/{A1}/2026/approve"), 200)
    approved = (await a1.get(f"/plans/{A1}/2026", after=county.position)).json()
    assert approved["decision"] == "approved"
    assert approved["targets"]["women_reemployed"] == 12
    # an unknown indicator or another area's office is refused, and nothing is recorded
    unknown = await county[A2].put(f"/plans/{A2}/2026", {"targets": {"happiness": 1}})
    assert unknown.status_code == 422
    assert "happiness" in unknown.json()["detail"]
    assert (await county[A2].put(f"/plans/{A1}/2027", plan)).status_code in (403, 404)


async def test_a_half_year_closes_up_three_levels_with_a_return_and_a_revision(
    county: County,
) -> None:
    runtime = county.runtime
    a1, a2, b1 = county[A1], county[A2], county[B1]
    street_a, street_b, whole = county[STREET_A], county[STREET_B], county[COUNTY]
    county.position = await reemploy_women(
        runtime, A1, [date(2026, 2, 3), date(2026, 5, 20), date(2026, 8, 1)], 0
    )
    county.position = await reemploy_women(runtime, A2, [date(2026, 3, 9)], 10)
    await county.ok(await a1.put(f"/plans/{A1}/2026", {"targets": {"women_reemployed": 4}}), 200)
    await county.ok(await street_a.post(f"/plans/{A1}/2026/approve"), 200)

    # by business date: two in the first half, the August one in the second
    h1 = await county.sheet(a1, A1, "2026H1")
    by_code = {i["code"]: i for i in h1["indicators"]}
    assert by_code["women_reemployed"]["value"] == 2
    assert by_code["women_reemployed"]["trend"] == [0, 1, 0, 0, 1, 0]
    assert (by_code["women_reemployed"]["target"], by_code["women_reemployed"]["progress"]) == (
        4,
        50.0,
    )
    # the street may not close before its communities; a period not yet over cannot close
    assert (await street_a.post(f"/period-reports/{STREET_A}/2026H1")).status_code == 409
    assert (await a1.post(f"/period-reports/{A1}/2027")).status_code == 409

    await county.ok(await a1.post(f"/period-reports/{A1}/2026H1", after=county.position))
    await county.ok(await a2.post(f"/period-reports/{A2}/2026H1", after=county.position))
    await county.ok(await b1.post(f"/period-reports/{B1}/2026H1", after=county.position))
    # a submitted report is not submitted twice, and only the level above decides
    assert (await a1.post(f"/period-reports/{A1}/2026H1")).status_code == 409
    assert (await a1.post(f"/period-reports/{A1}/2026H1/accept")).status_code == 403
    assert (await street_b.post(f"/period-reports/{A1}/2026H1/accept")).status_code == 404
    await county.ok(await street_a.post(f"/period-reports/{A1}/2026H1/accept"), 200)
    await county.ok(
        await street_a.post(f"/period-reports/{A2}/2026H1/return", {"reason": "缺少3月台账"}),
        200,
    )
    refused = await street_a.post(f"/period-reports/{STREET_A}/2026H1", after=county.position)
    assert refused.status_code == 409
    assert A2 in refused.json()["detail"]
    await county.ok(await a2.post(f"/period-reports/{A2}/2026H1", after=county.position))
    await county.ok(await street_a.post(f"/period-reports/{A2}/2026H1/accept"), 200)
    await county.ok(await street_b.post(f"/period-reports/{B1}/2026H1/accept"), 200)
    await county.ok(
        await street_a.post(f"/period-reports/{STREET_A}/2026H1", after=county.position)
    )
    await county.ok(
        await street_b.post(f"/period-reports/{STREET_B}/2026H1", after=county.position)
    )
    await county.ok(await whole.post(f"/period-reports/{STREET_A}/2026H1/accept"), 200)
    await county.ok(await whole.post(f"/period-reports/{STREET_B}/2026H1/accept"), 200)
    await county.ok(await whole.post(f"/period-reports/{COUNTY}/2026H1", after=county.position))

    sheet = await county.sheet(whole, COUNTY, "2026H1")
    reemployed = next(i for i in sheet["indicators"] if i["code"] == "women_reemployed")
    assert (reemployed["value"], reemployed["as_reported"], reemployed["difference"]) == (3, 3, 0)
    assert [c["code"] for c in sheet["children"]] == [STREET_A, STREET_B]
    assert sheet["children"][0]["values"]["women_reemployed"] == 3
    assert sheet["report"]["decision"] == "submitted"

    # a late correction: a June re-employment entered in December changes "as known now" only
    filed_on = date.fromisoformat(sheet["report"]["as_reported_on"])
    county.position = await reemploy_women(runtime, A1, [date(2026, 6, 12)], 20)
    late = await county.sheet(a1, A1, "2026H1")
    now = next(i for i in late["indicators"] if i["code"] == "women_reemployed")
    assert (now["value"], now["as_reported"], now["difference"]) == (3, 2, 1)
    # revised by the community itself (not the street), after acceptance
    revision = {"reason": "补录6月份再就业1人"}
    assert (
        await street_a.post(f"/period-reports/{A1}/2026H1/revisions", revision)
    ).status_code == 403
    await county.ok(
        await a1.post(f"/period-reports/{A1}/2026H1/revisions", revision, after=county.position)
    )
    revised = await county.sheet(a1, A1, "2026H1")
    now = next(i for i in revised["indicators"] if i["code"] == "women_reemployed")
    assert (now["value"], now["as_reported"], now["difference"]) == (3, 3, 0)
    assert revised["report"]["revision"] == 1
    # the street's report rolls up its communities' reports: it learns of the correction only
    # when it revises too
    street_sheet = await county.sheet(street_a, STREET_A, "2026H1")
    now = next(i for i in street_sheet["indicators"] if i["code"] == "women_reemployed")
    assert (now["value"], now["as_reported"]) == (4, 3)
    await county.ok(
        await street_a.post(
            f"/period-reports/{STREET_A}/2026H1/revisions",
            {"reason": "韭菜园社区补录"},
            after=county.position,
        )
    )
    street_sheet = await county.sheet(street_a, STREET_A, "2026H1")
    now = next(i for i in street_sheet["indicators"] if i["code"] == "women_reemployed")
    assert (now["value"], now["as_reported"]) == (4, 4)
    # "as reported on" the day before the revision was filed is what was reported then
    if filed_on < date.today():  # pragma: no cover - both filed today in a test run
        earlier = await county.sheet(a1, A1, "2026H1", as_reported_on=filed_on.isoformat())
        assert (
            next(i for i in earlier["indicators"] if i["code"] == "women_reemployed")["as_reported"]
            == 2
        )


async def test_an_office_sees_only_its_area_and_below(county: County) -> None:
    street_a = county[STREET_A]
    assert (await street_a.get(f"/sheets/{STREET_A}/2026")).status_code == 200
    assert (await street_a.get(f"/sheets/{A1}/2026")).status_code == 200
    for outside in (STREET_B, B1, COUNTY, "430000"):
        answer = await street_a.get(f"/sheets/{outside}/2026")
        assert answer.status_code == 403, outside
        assert answer.headers["content-type"] == "application/problem+json"
    listed = (await street_a.get("/areas", after=county.position)).json()
    assert {a["area_code"] for a in listed} == {STREET_A, A1, A2}
    # nor may it register an area, or a station, outside its own
    assert (
        await street_a.post("/areas", {"area_code": "430102003", "name": "x"})
    ).status_code == 403
    station = {"area_code": B1, "kind": "womens_home", "name": "车站北路社区妇女之家"}
    assert (await street_a.post("/stations", station)).status_code == 403


async def test_bad_periods_and_codes_are_problems(county: County) -> None:
    office = county[COUNTY]
    for path in (f"/sheets/{COUNTY}/2026H3", f"/sheets/{COUNTY}/2026-13", "/sheets/999999/2026"):
        answer = await office.get(path)
        assert answer.status_code == 422, path
        assert answer.headers["content-type"] == "application/problem+json"
    assert (await office.get("/sheets/430102009/2026")).status_code == 404


async def test_the_programme_projections_replay_to_the_same_rows(county: County) -> None:
    runtime = county.runtime
    county.position = await reemploy_women(runtime, A1, [date(2025, 11, 3), date(2026, 1, 5)], 30)
    await county.ok(await county[A1].put(f"/plans/{A1}/2026", {"targets": {"placements": 3}}), 200)
    await county.ok(
        await county[""].put(
            f"/areas/{A1}/population/2026", {"households": 3, "residents": 9, "women": 5}
        ),
        200,
    )
    handlers = handlers_for(runtime)
    worker = await handlers.register_worker(
        RegisterWorker(
            name="明白卡",
            national_id=make_national_id("430102", date(1970, 1, 1), 99, female=True),
            phone="13900000099",
            area_code=A2,
        ),
        context("card-holder"),
    )
    issued = await handlers.issue_certificate(
        worker.aggregate_id,
        IssueCertificate(
            kind="tax_relief", number="MB-2026-001", issued_on=date(2026, 4, 1), relief=RELIEF
        ),
        context("card"),
    )
    street, whole = county[STREET_A], county[COUNTY]
    inspection = {
        "area_code": A1,
        "year": 2026,
        "scores": {"placements": 80},
        "findings": "台账完整",
        "result": "passed",
    }
    await county.ok(await street.post("/area-inspections", inspection))
    activity = {"kind": "publicity", "title": "三八维权周", "area_code": A1, "participants": 80}
    await county.ok(await county[A1].post("/activities", activity))
    station = {"area_code": A1, "kind": "womens_home", "name": "韭菜园社区妇女之家"}
    await county.ok(await county[A1].post("/stations", station))
    nomination = {
        "title": "model_womens_home",
        "level": "district",
        "year": 2026,
        "nominee_kind": "area",
        "nominee_id": A1,
        "nominee_name": "韭菜园社区妇女之家",
        "area_code": A1,
        "reason": "活动48次",
    }
    award = await county.ok(await street.post("/awards", nomination))
    await county.ok(await whole.post(f"/awards/{award['id']}/grant", {}), 200)
    for area in (A1, A2):
        await county.ok(await county[area].post(f"/period-reports/{area}/2026H1"))
    await county.ok(await street.post(f"/period-reports/{A1}/2026H1/accept"), 200)
    returned = {"reason": "补充台账"}
    await county.ok(await street.post(f"/period-reports/{A2}/2026H1/return", returned), 200)
    names = [
        "programme_register",
        "programme_figures",
        "recognition",
        "closed_periods",
        "known_areas",
    ]
    await runtime.projections.wait_for(f"{issued.stream}:{issued.seq}", names, 10)
    await runtime.projections.wait_for(county.position, names, 10)
    live = {name: await snapshot(runtime, name) for name in names}
    empty = {t for tables in live.values() for t, rows in tables.items() if not rows}
    assert empty == {"programme_rights"}  # rights figures: test_rights_figures_reach_the_sheet
    await runtime.projections.rebuild(*names)
    assert {name: await snapshot(runtime, name) for name in names} == live


async def test_a_past_year_entered_now_counts_in_the_months_it_happened(county: County) -> None:
    a1 = county[A1]
    recorded_in = date.today().strftime("%Y-%m")
    for n, day in enumerate(("2025-03-04", "2025-03-20", "2025-11-02")):
        registered = await a1.post(
            "/workers",
            {
                "name": f"补录{n}",
                "national_id": make_national_id("430102", date(1978, 5, 1 + n), 40 + n, True),
                "phone": f"1370000000{n}",
                "area_code": A1,
                "occurred_on": day,
            },
        )
        await county.ok(registered)
    tomorrow = await a1.post(
        "/workers",
        {
            "name": "明天",
            "national_id": make_national_id("430102", date(1979, 1, 1), 50, True),
            "phone": "13700000009",
            "area_code": A1,
            "occurred_on": "2099-01-01",
        },
    )
    assert tomorrow.status_code == 422
    assert tomorrow.json()["field"] == "occurred_on"

    year = await county.sheet(a1, A1, "2025")
    registered_2025 = next(i for i in year["indicators"] if i["code"] == "women_registered")
    assert registered_2025["value"] == 3
    assert registered_2025["trend"] == [0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0]
    this_month = await county.sheet(a1, A1, recorded_in)
    assert (
        next(i for i in this_month["indicators"] if i["code"] == "women_registered")["value"] == 0
    )
    # the monthly area report counts by the same business date
    report = await a1.get(
        f"/reports/areas/{A1}", month_from="2025-01", month_to=recorded_in, after=county.position
    )
    assert report.json()["figures"]["2025-03"]["registered"] == 2
    assert "registered" not in report.json()["figures"].get(recorded_in, {})


async def test_a_closed_period_takes_a_fact_only_as_a_correction(county: County) -> None:
    runtime = county.runtime
    a1, a2, street_a = county[A1], county[A2], county[STREET_A]
    handlers = handlers_for(runtime)
    holders = []
    for n, area in ((60, A1), (61, A2)):
        registered = await handlers.register_worker(
            RegisterWorker(
                name=f"持证{n}",
                national_id=make_national_id("430102", date(1972, 2, 2), n, female=True),
                phone=f"1360000{n:04d}",
                area_code=area,
            ),
            context(f"holder-{n}"),
        )
        holders.append(registered.aggregate_id)
        county.position = registered.position
    for office, area in ((a1, A1), (a2, A2)):
        await county.ok(await office.post(f"/period-reports/{area}/2026H1", after=county.position))
    await county.ok(await street_a.post(f"/period-reports/{A1}/2026H1/accept"), 200)
    await county.ok(
        await street_a.post(f"/period-reports/{A2}/2026H1/return", {"reason": "补充台账"}), 200
    )
    await runtime.projections.wait_for(county.position, ["closed_periods"], 10)

    def card(number: str, issued_on: str) -> dict[str, Any]:
        relief = RELIEF.model_dump()
        return {"kind": "tax_relief", "number": number, "issued_on": issued_on, "relief": relief}

    # A1's first half is closed: a card dated in April is refused, and says how to correct it
    before = (await runtime.nc.jetstream().stream_info("REGISTRY")).state.messages
    refused = await a1.post(f"/workers/{holders[0]}/certificates", card("MB-1", "2026-04-01"))
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"].endswith("/period-closed")
    assert (problem["period"], problem["field"], problem["area_code"]) == (
        "2026H1",
        "issued_on",
        A1,
    )
    assert "correction" in problem["detail"]
    assert (await runtime.nc.jetstream().stream_info("REGISTRY")).state.messages == before
    # the second half is open; A2's report was returned, so its first half is open again
    await county.ok(
        await a1.post(f"/workers/{holders[0]}/certificates", card("MB-2", "2026-08-01"))
    )
    await county.ok(
        await a2.post(f"/workers/{holders[1]}/certificates", card("MB-3", "2026-04-01"))
    )
    # as a correction, with its reason in the event's envelope
    corrected = await county.ok(
        await a1.post(
            f"/workers/{holders[0]}/certificates",
            card("MB-1", "2026-04-01"),
            correction="补录4月份明白卡",
        )
    )
    stream, seq = corrected["position"].split(":")
    stored = await runtime.nc.jetstream().get_msg(stream, int(seq), direct=True)
    assert orjson.loads(stored.data)["correction"] == "补录4月份明白卡"
    # a report closed above (the street's, once submitted) closes the period below too
    late = await a2.post(f"/period-reports/{A2}/2026H1", after=county.position)
    await county.ok(late)
    await county.ok(await street_a.post(f"/period-reports/{A2}/2026H1/accept"), 200)
    await county.ok(
        await street_a.post(f"/period-reports/{STREET_A}/2026H1", after=county.position)
    )
    await runtime.projections.wait_for(county.position, ["closed_periods"], 10)
    refused = await a2.post(f"/workers/{holders[1]}/certificates", card("MB-4", "2026-05-01"))
    assert refused.status_code == 409
    assert refused.json()["area_code"] in (A2, STREET_A)


async def test_rights_figures_reach_the_sheet_as_published_small_cells_and_all(
    county: County, outside: Any
) -> None:
    """The rights service publishes aggregates (never a case); the sheet shows its cells as
    they are, "<5" included, and a rate over a protected cell is none."""
    inspections = await publisher(outside, "inspections")
    for area, level, opened, closed in ((A1, "community", "<5", "<5"), (STREET_A, "street", 7, 6)):
        county.position = await publish(
            inspections,
            "figures",
            f"{area}-2026",
            RightsFiguresPublishedV1(
                figures_id=f"{area}-2026",
                kind="area",
                area_code=area,
                area_level=level,
                agency_id=None,
                year=2026,
                figures={
                    "cases_opened": {"2026": opened, "2026H1": opened},
                    "opened_and_closed": {"2026": closed, "2026H1": closed},
                    "domestic_violence_stopped": {"2026": 0},
                },
            ),
            f"figures-{area}",
        )
    street = await county.sheet(county[STREET_A], STREET_A, "2026")
    by_code = {i["code"]: i for i in street["indicators"]}
    assert (by_code["cases_opened"]["value"], by_code["closure_rate"]["value"]) == (7, 85.7)
    [a1] = [c for c in street["children"] if c["code"] == A1]
    assert (a1["values"]["cases_opened"], a1["values"]["closure_rate"]) == ("<5", None)
    assert by_code["cases_opened"]["service"] == "rights"


async def test_a_code_the_register_lacks_is_refused_with_a_problem(county: County) -> None:
    before = (await county.runtime.nc.jetstream().stream_info("REGISTRY")).state.messages
    unknown = await county[STREET_A].post(
        "/workers",
        {
            "name": "无此社区",
            "national_id": make_national_id("430102", date(1977, 7, 7), 80, True),
            "phone": "13700000080",
            "area_code": "430102001099",
        },
    )
    assert unknown.status_code == 422
    assert unknown.json()["type"].endswith("/unknown-area")
    assert unknown.json()["field"] == "area_code"
    assert (await county.runtime.nc.jetstream().stream_info("REGISTRY")).state.messages == before


async def test_a_registration_names_the_station_that_took_it(county: County) -> None:
    a1 = county[A1]
    home = await county.ok(
        await a1.post("/stations", {"area_code": A1, "kind": "womens_home", "name": "妇女之家"})
    )
    street_station = await county.ok(
        await county[STREET_B].post(
            "/stations", {"area_code": STREET_B, "kind": "labour_security_station", "name": "站"}
        )
    )
    worker = {
        "name": "经妇女之家登记",
        "national_id": make_national_id("430102", date(1974, 4, 4), 90, True),
        "phone": "13700000090",
        "area_code": A1,
    }
    wrong = await a1.post("/workers", {**worker, "station_id": street_station["id"]})
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "station_id"
    registered = await county.ok(await a1.post("/workers", {**worker, "station_id": home["id"]}))
    dossier = (await a1.get(f"/workers/{registered['id']}", after=county.position)).json()
    assert dossier["station_id"] == home["id"]
    listed = (await a1.get("/stations", after=county.position)).json()
    assert [s["name"] for s in listed] == ["妇女之家"]
