"""Her re-employment spells and unemployment benefit over HTTP, as a community office records
them: a job that ends makes her unemployed again (失业再登记), a new one re-employs her, each
figure counts a spell once, and another area's office finds nothing. Real nats-server, SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from jinguo_registry.domain.validation import make_national_id

from .test_programme_year import A1, B1, County, Office, county
from .test_projections import snapshot

__all__ = ["county"]  # the fixture, shared with the programme's year


async def register(county: County, office: Office, n: int, on: str = "2026-01-10") -> str:
    body = {
        "name": f"测试{n}",
        "national_id": make_national_id("430102", date(1978, 4, 1 + n % 28), 90 + n, female=True),
        "phone": f"137{n:08d}",
        "area_code": A1,
        "occurred_on": on,
    }
    return str((await county.ok(await office.post("/workers", body)))["id"])


async def dossier(county: County, office: Office, worker_id: str) -> dict[str, Any]:
    answer = await office.get(f"/workers/{worker_id}", after=county.position)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def listed(county: County, office: Office, **params: str) -> set[str]:
    answer = await office.get("/workers", after=county.position, **params)
    assert answer.status_code == 200, answer.text
    return {row["worker_id"] for row in answer.json()["items"]}


async def figures(county: County, office: Office, period: str) -> dict[str, Any]:
    sheet = await county.sheet(office, A1, period)
    return {i["code"]: i["value"] for i in sheet["indicators"]}


async def test_a_spell_ended_and_a_new_one_started(county: County) -> None:
    a1 = county[A1]
    worker = await register(county, a1, 1)
    # she finds a job herself in March
    job = {"kind": "found_herself", "employer_name": "韭菜园超市", "started_on": "2026-03-02"}
    first = await county.ok(await a1.post(f"/workers/{worker}/spells", job))
    assert (await dossier(county, a1, worker))["status"] == "reemployed"
    # the same spell under another request is a duplicate, named in the problem
    duplicate = await a1.post(f"/workers/{worker}/spells", job)
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["existing_id"] == first["spell_id"]

    # the job ends: unemployed again from that day
    ended = {"ended_on": "2026-08-31", "reason": "合同期满未续签"}
    await county.ok(await a1.post(f"/workers/{worker}/spells/{first['spell_id']}/end", ended), 200)
    file = await dossier(county, a1, worker)
    assert (file["status"], file["unemployed_again_on"]) == ("unemployed_again", "2026-08-31")
    assert worker in await listed(county, a1, status="unemployed_again")
    assert worker not in await listed(county, a1, status="reemployed")

    # flexible work from September: re-employed again, with both spells in her file
    # (sent twice with one Idempotency-Key: one spell, the same answer)
    flexible = {"kind": "flexible", "hours_type": "hourly", "started_on": "2026-09-21"}
    sent = [
        await a1.http.post(
            f"/workers/{worker}/spells", json=flexible, headers={"Idempotency-Key": "flexible-1"}
        )
        for _ in range(2)
    ]
    second = await county.ok(sent[0])
    assert sent[1].json()["spell_id"] == second["spell_id"]
    file = await dossier(county, a1, worker)
    assert file["status"] == "reemployed"
    assert [(s["spell_id"], s["kind"], s["ended_on"]) for s in file["spells"]] == [
        (first["spell_id"], "found_herself", "2026-08-31"),
        (second["spell_id"], "flexible", None),
    ]
    assert worker in await listed(county, a1, status="reemployed")

    # a business of her own next door: counted once per spell, by kind, with the jobs it gives
    neighbour = await register(county, a1, 2)
    company = {
        "name": "巧手家政服务有限公司",
        "licence_no": "91430102MA4L2026XX",
        "trade": "家政",
        "jobs_created": 4,
    }
    await county.ok(
        await a1.post(
            f"/workers/{neighbour}/spells",
            {"kind": "business", "business": company, "started_on": "2026-04-15"},
        )
    )
    year = await figures(county, a1, "2026")
    assert year["women_reemployed"] == 3
    assert (
        year["women_reemployed_found_herself"],
        year["women_reemployed_flexible"],
        year["women_self_employed"],
        year["women_reemployed_placement"],
    ) == (1, 1, 1, 0)
    assert (year["business_jobs_created"], year["unemployed_again"]) == (4, 1)
    first_half = await figures(county, a1, "2026H1")
    assert (first_half["women_reemployed"], first_half["unemployed_again"]) == (2, 0)

    # rebuilt from the log, the spells' read models are the same rows
    names = ["worker_directory", "area_reports", "programme_figures"]
    live = {name: await snapshot(county.runtime, name) for name in names}
    await county.runtime.projections.rebuild(*names)
    for name in names:
        assert await snapshot(county.runtime, name) == live[name], name


async def test_an_other_areas_office_finds_no_spell_and_bad_input_is_a_problem(
    county: County,
) -> None:
    a1, b1 = county[A1], county[B1]
    worker = await register(county, a1, 3)
    job = {"kind": "found_herself", "employer_name": "超市", "started_on": "2026-03-02"}
    assert (await b1.post(f"/workers/{worker}/spells", job)).status_code == 404
    started = await county.ok(await a1.post(f"/workers/{worker}/spells", job))
    end = {"ended_on": "2026-04-01", "reason": "辞职"}
    assert (
        await b1.post(f"/workers/{worker}/spells/{started['spell_id']}/end", end)
    ).status_code == 404
    assert (await b1.post(f"/workers/{worker}/unemployment-benefit/end", end)).status_code == 404
    assert (await b1.get(f"/workers/{worker}")).status_code == 404

    tomorrow = (county.runtime.clock.today() + timedelta(days=1)).isoformat()
    refused = [
        (f"/workers/{worker}/spells", {**job, "started_on": tomorrow}, "started_on"),
        (f"/workers/{worker}/spells", {**job, "started_on": "2026-01-09"}, "started_on"),
        (f"/workers/{worker}/spells", {"kind": "found_herself"}, "employer_name"),
        (
            f"/workers/{worker}/spells",
            {"kind": "business", "business": {"name": "店", "trade": "餐饮"}},
            "business.licence_no",
        ),
        (
            f"/workers/{worker}/spells/{started['spell_id']}/end",
            {"ended_on": "2026-03-01", "reason": "x"},
            "ended_on",
        ),
        (
            f"/workers/{worker}/unemployment-benefit",
            {"from_on": tomorrow, "until": "2027-12-31", "monthly_yuan": 1800},
            "from_on",
        ),
    ]
    for path, body, field in refused:
        answer = await a1.post(path, body)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert field in answer.text, (field, answer.text)
    unknown = await a1.post(f"/workers/{worker}/spells/no-such-spell/end", end)
    assert unknown.status_code == 404
    assert (await dossier(county, a1, worker))["status"] == "reemployed"


async def test_she_draws_unemployment_benefit_until_its_end_date(county: County) -> None:
    a1 = county[A1]
    today = county.runtime.clock.today()
    drawing, ran_out = await register(county, a1, 4), await register(county, a1, 5)
    month_ago, next_year = today - timedelta(days=30), today + timedelta(days=330)
    granted = await county.ok(
        await a1.post(
            f"/workers/{drawing}/unemployment-benefit",
            {"from_on": str(month_ago), "until": str(next_year), "monthly_yuan": 1850},
        )
    )
    assert granted["benefit_id"]
    await county.ok(
        await a1.post(
            f"/workers/{ran_out}/unemployment-benefit",
            {
                "from_on": "2026-02-01",
                "until": str(today - timedelta(days=1)),
                "monthly_yuan": 1700,
            },
        )
    )
    second = await a1.post(
        f"/workers/{drawing}/unemployment-benefit",
        {"from_on": str(today), "until": str(next_year), "monthly_yuan": 1900},
    )
    assert second.status_code == 409, second.text
    file = await dossier(county, a1, drawing)
    assert (file["draws_benefit"], file["benefit_until"], file["benefit_monthly_yuan"]) == (
        True,
        str(next_year),
        1850,
    )
    assert not (await dossier(county, a1, ran_out))["draws_benefit"]
    on_benefit = await listed(county, a1, draws_benefit="true")
    assert drawing in on_benefit
    assert ran_out not in on_benefit
    assert ran_out in await listed(county, a1, draws_benefit="false")

    # she finds work: the benefit stops that day
    await county.ok(
        await a1.post(
            f"/workers/{drawing}/unemployment-benefit/end",
            {"ended_on": str(today - timedelta(days=1)), "reason": "实现再就业"},
        ),
        200,
    )
    file = await dossier(county, a1, drawing)
    assert (file["draws_benefit"], file["benefit_until"]) == (False, str(today - timedelta(days=1)))
    year = await figures(county, a1, str(today.year))
    began = [month_ago, date(2026, 2, 1)]
    assert year["benefit_recipients"] == sum(day.year == today.year for day in began)
