"""Inspection and acceptance of a community's year, commendation of a worker, and the
activities the sheet counts, as the offices of a district, a street and a community use them
(the three levels of test_programme_year's county)."""

from __future__ import annotations

from datetime import date
from typing import Any

from jinguo_registry.bootstrap import handlers_for
from jinguo_registry.domain.validation import make_national_id
from jinguo_registry.handlers.commands import RegisterWorker

from .test_programme_year import A1, A2, COUNTY, STREET_A, STREET_B, County, context, county

__all__ = ["county"]


def figure(sheet: dict[str, Any], code: str) -> Any:
    return next(i for i in sheet["indicators"] if i["code"] == code)["value"]


async def test_a_community_is_inspected_from_above_and_rectifies(county: County) -> None:
    street, a1 = county[STREET_A], county[A1]
    inspection = {
        "area_code": A1,
        "year": 2026,
        "inspected_on": "2026-12-01",
        "scores": {"women_reemployed": 90, "home_visits": 60},
        "findings": "9月份入户走访台账缺失",
        "result": "rectification_required",
    }
    assert (await a1.post("/area-inspections", inspection)).status_code == 403
    assert (await county[STREET_B].post("/area-inspections", inspection)).status_code == 403
    for bad in ({"scores": {"happiness": 90}}, {"scores": {"home_visits": 120}}):
        answer = await street.post("/area-inspections", {**inspection, **bad})
        assert answer.status_code == 422, bad
    recorded = await county.ok(await street.post("/area-inspections", inspection))
    again = await street.post("/area-inspections", inspection)
    assert again.status_code == 409
    # only the inspecting office accepts the rectification
    rectified = {"notes": "已补齐台账", "accepted_on": "2026-12-03"}
    path = f"/area-inspections/{recorded['id']}/rectification"
    assert (await county[COUNTY].post(path, rectified)).status_code == 403
    await county.ok(await street.post(path, rectified), 200)
    [listed] = (await a1.get("/area-inspections", year="2026", after=county.position)).json()
    assert (listed["result"], listed["rectification"]) == ("passed", "已补齐台账")
    assert figure(await county.sheet(county[COUNTY], COUNTY, "2026"), "areas_inspected") == 1


async def test_a_worker_is_nominated_and_awarded_by_the_level_of_the_title(county: County) -> None:
    runtime = county.runtime
    worker = await handlers_for(runtime).register_worker(
        RegisterWorker(
            name="王秀兰",
            national_id=make_national_id("430102", date(1975, 6, 1), 70, female=True),
            phone="13500000070",
            area_code=A1,
        ),
        context("star"),
    )
    county.position = worker.position
    await runtime.projections.wait_for(county.position, ["worker_directory"], 10)
    nomination = {
        "title": "post_star",
        "level": "district",
        "year": 2026,
        "nominee_kind": "worker",
        "nominee_id": worker.aggregate_id,
        "nominee_name": "王秀兰",
        "area_code": A1,
        "reason": "全年服务居民312人次",
        "nominated_on": "2026-11-20",
    }
    elsewhere = await county[A2].post("/awards", {**nomination, "area_code": A2})
    assert elsewhere.status_code == 422  # she does not live in A2
    outside = await county[STREET_B].post("/awards", nomination)
    assert outside.status_code == 403
    award = await county.ok(await county[A1].post("/awards", nomination))
    assert (await county[A1].post("/awards", nomination)).status_code == 409
    grant = {"granted_on": "2026-12-04"}
    # a district title is the district's to award: not the street's, nor the nominating office's
    assert (await county[STREET_A].post(f"/awards/{award['id']}/grant", grant)).status_code == 403
    assert (await county[A1].post(f"/awards/{award['id']}/grant", grant)).status_code == 403
    await county.ok(await county[COUNTY].post(f"/awards/{award['id']}/grant", grant), 200)
    declined = await county[COUNTY].post(f"/awards/{award['id']}/decline", {"reason": "x"})
    assert declined.status_code == 409
    dossier = (
        await county[A1].get(f"/workers/{worker.aggregate_id}", after=county.position)
    ).json()
    assert [(a["title"], a["level"], a["granted_on"]) for a in dossier["awards"]] == [
        ("post_star", "district", "2026-12-04")
    ]
    sheet = await county.sheet(county[STREET_A], STREET_A, "2026")
    assert figure(sheet, "awards_granted") == 1


async def test_activities_count_where_and_when_they_were_held(county: County) -> None:
    street = county[STREET_A]
    fair = {
        "kind": "job_fair",
        "title": "春风行动巾帼专场招聘会",
        "held_on": "2026-03-06",
        "area_code": STREET_A,
        "participants": 420,
        "referrals": 37,
    }
    visit = {
        "kind": "caring_visit",
        "title": "春节走访慰问困难家庭",
        "held_on": "2026-01-20",
        "area_code": A1,
        "participants": 6,
        "households_visited": 12,
        "aid_yuan": 2500,
        "aid_in_kind": "米、油",
    }
    await county.ok(await street.post("/activities", fair))
    await county.ok(await county[A1].post("/activities", visit))
    for bad in (
        {**fair, "kind": "publicity"},  # referrals at a publicity campaign
        {**visit, "households_visited": 0},
        {**fair, "held_on": "2099-01-01"},
    ):
        assert (await street.post("/activities", bad)).status_code == 422, bad
    assert (await county[STREET_B].post("/activities", fair)).status_code == 403
    sheet = await county.sheet(county[COUNTY], COUNTY, "2026Q1")
    assert (figure(sheet, "job_fairs"), figure(sheet, "fair_referrals")) == (1, 37)
    assert (figure(sheet, "caring_visit_households"), figure(sheet, "aid_yuan")) == (12, 2500)
    listed = (await street.get("/activities", year="2026", after=county.position)).json()
    assert [a["kind"] for a in listed] == ["caring_visit", "job_fair"]
    # a wider area asked for narrows to the office's own: A2 held none
    assert (await county[A2].get("/activities", area=STREET_A)).json() == []
