"""Small guaranteed loans over HTTP, real NATS, both databases: her community's women's congress
certifies, the township federation files, the county federation gives its opinion, the bank
decides, pays out and records repayments; each office only its own step, only in its area.

Agencies of Dongcheng (东城区, 110101): the women's congress of community 110101001001, the
federation of street 110101001, the district (county-level) federation and a bank's branch;
Xicheng's (110102) federation, which must find none of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from jinguo_contracts.access import AgencyKind
from jinguo_contracts.examples import registered_worker
from jinguo_contracts.registry import WorkerErasedV1
from jinguo_employment.bootstrap import EmploymentService
from jinguo_shared.db import pii_keys
from jinguo_shared.eventstore import EventStore
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import caught_up, publish, publish_agency, publish_history, publisher

COMMUNITY, STREET, COUNTY = "110101001001", "110101001", "110101"
SCOPES = ["employment:read", "employment:write"]
OFFICES: dict[str, tuple[AgencyKind, str]] = {
    "congress": ("womens_federation", COMMUNITY),
    "township": ("womens_federation", STREET),
    "county": ("womens_federation", COUNTY),
    "bank": ("bank", COUNTY),
    "xicheng": ("womens_federation", "110102"),
    "community_office": ("community_office", COMMUNITY),
}


@dataclass
class Loans:
    http: httpx.AsyncClient
    runtime: ServiceRuntime
    registry: EventStore
    keys: dict[str, str]
    today: date
    syb_course: str

    def days_ago(self, days: int) -> str:
        return str(self.today - timedelta(days=days))

    async def post(
        self, office: str, path: str, body: dict[str, Any], key: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[office]}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.http.post(path, json=body, headers=headers)

    async def get(self, office: str, path: str, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[office]}"}
        return await self.http.get(path, params=params, headers=headers)

    async def done(self, office: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self.post(office, path, body)
        assert answer.is_success, answer.text
        result = answer.json()
        assert isinstance(result, dict)
        return result

    async def register(self, worker_id: str, area: str = COMMUNITY) -> str:
        worker = registered_worker(
            worker_id,
            area=area,
            skills=["家政服务"],
            occupation_codes=["4-10-01-06"],
            hours_types=["full_time"],
            priority=False,
        )
        position = await publish_history(self.registry, worker_id, worker, f"reg-{worker_id}")
        await caught_up(self.runtime, position)
        return position

    async def trained(self, worker_id: str) -> None:
        """She passed the SYB course (创业培训) long before she applies."""
        await self.done(
            "county",
            f"/courses/{self.syb_course}/enrolments",
            {"worker_id": worker_id, "occurred_on": self.days_ago(260)},
        )
        await self.done(
            "county",
            f"/courses/{self.syb_course}/completions",
            {
                "worker_id": worker_id,
                "passed": True,
                "score": 85,
                "completed_on": self.days_ago(230),
            },
        )

    def application(self, worker_id: str, **changes: Any) -> dict[str, Any]:
        return {
            "worker_id": worker_id,
            "amount": 30_000,
            "term_months": 12,
            "purpose": "开办社区家政服务店：租赁门面、购置保洁设备",
            "business_name": "巾帼家政服务店",
            "trade": "家政服务",
            "jobs_created": 4,
            "guarantee": "guarantor",
            "guarantor": "李秀兰",
            "applied_on": self.days_ago(220),
        } | changes

    async def loan(self, office: str, loan_id: str, position: str) -> dict[str, Any]:
        answer = await self.get(office, f"/loans/{loan_id}", after=position)
        assert answer.status_code == 200, answer.text
        found = answer.json()
        assert isinstance(found, dict)
        return found


@pytest.fixture
async def loans(
    jinguo_env: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch, outside: Any
) -> AsyncIterator[Loans]:
    monkeypatch.setenv("JINGUO_EMPLOYMENT_DATABASE_URL", database_url)
    registry = await publisher(outside, "registry")
    async with runtimes_of(jinguo_env) as runtime:
        keys, position = {}, ""
        for name, (kind, area) in OFFICES.items():
            agency = await publish_agency(
                registry, name=name, area=area, kind=kind, clients={name: (SCOPES, None)}
            )
            keys[name], position = agency.keys[name], agency.position
        await runtime.projections.wait_for(position, ["api_clients"], 15)
        app = EmploymentService().create_app(runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://employment") as http:
            today = runtime.clock.today()
            world = Loans(http, runtime, registry, keys, today, "")
            course = await world.done(
                "county",
                "/courses",
                {
                    "title": "2026年第一期巾帼创业SYB培训班",
                    "trade": "创业",
                    "provider": "东城区创业指导中心",
                    "area_code": COUNTY,
                    "seats": 30,
                    "kind": "syb",
                    "starts_on": world.days_ago(260),
                    "ends_on": world.days_ago(230),
                    "subsidy_per_trainee": 0,
                },
            )
            world.syb_course = course["id"]
            yield world


def runtimes_of(env: dict[str, str]) -> Any:
    from contextlib import asynccontextmanager

    from jinguo_shared.testing import runtimes

    @asynccontextmanager
    async def opened() -> AsyncIterator[ServiceRuntime]:
        async with runtimes(EmploymentService(), env["JINGUO_NATS_URL"]) as opener:
            yield await opener()

    return opened()


async def snapshot(runtime: ServiceRuntime, name: str) -> dict[str, list[tuple[Any, ...]]]:
    projection = runtime.projections.active(name)
    rows = {}
    async with runtime.engine.connect() as connection:
        for table in projection.metadata.sorted_tables:
            result = await connection.execute(select(table))
            rows[table.name.rsplit("_g", 1)[0]] = sorted(tuple(r) for r in result)
    return rows


def problem(answer: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    if code is not None:
        assert body["type"].endswith(f"/{code}"), body
    assert isinstance(body, dict)
    return body


async def test_the_loan_across_three_levels_then_the_bank_and_its_repayments(
    loans: Loans,
) -> None:
    await loans.register("w-loan")
    await loans.trained("w-loan")
    # her community's congress records the application; a retry with the same key is harmless
    first = await loans.post("congress", "/loans", loans.application("w-loan"), key="apply-1")
    again = await loans.post("congress", "/loans", loans.application("w-loan"), key="apply-1")
    assert first.status_code == again.status_code == 201, again.text
    loan_id = first.json()["id"]
    assert again.json()["id"] == loan_id
    path = f"/loans/{loan_id}"

    # the township cannot certify for the community, Xicheng cannot see it at all
    problem(await loans.post("township", f"{path}/certify", {}), 403, "wrong-office")
    problem(await loans.post("community_office", f"{path}/certify", {}), 403, "wrong-office")
    problem(await loans.post("xicheng", f"{path}/certify", {}), 404)
    # the township cannot file before the congress certified
    problem(await loans.post("township", f"{path}/file", {}), 409, "loan-step-out-of-order")
    # nor the bank approve before the county's opinion
    approval = {"amount": 30_000, "annual_rate_percent": 4.35, "term_months": 12}
    problem(await loans.post("bank", f"{path}/approve", approval), 409, "loan-step-out-of-order")

    await loans.done("congress", f"{path}/certify", {"occurred_on": loans.days_ago(215)})
    # a step dated before the previous one, or in the future, is refused with its field
    early = {"occurred_on": loans.days_ago(216)}
    assert problem(await loans.post("township", f"{path}/file", early), 422)["field"] == (
        "filed_on"
    )
    future = {"occurred_on": str(loans.today + timedelta(days=1))}
    problem(await loans.post("township", f"{path}/file", future), 422)
    await loans.done("township", f"{path}/file", {"occurred_on": loans.days_ago(210)})
    problem(await loans.post("township", f"{path}/opinion", {"favourable": True}), 403)
    await loans.done(
        "county", f"{path}/opinion", {"favourable": True, "occurred_on": loans.days_ago(200)}
    )
    problem(await loans.post("county", f"{path}/approve", approval), 403, "wrong-office")
    await loans.done("bank", f"{path}/approve", approval | {"occurred_on": loans.days_ago(190)})
    paid = await loans.done("bank", f"{path}/disburse", {"occurred_on": loans.days_ago(180)})

    found = await loans.loan("county", loan_id, paid["position"])
    assert found["stage"] == "disbursed"
    assert found["guarantor"] == "李秀兰"
    assert found["syb_course_id"] == loans.syb_course
    schedule = found["schedule"]
    assert len(schedule) == 12
    assert sum(i["amount"] for i in schedule) == 30_000
    due_by_now = [i for i in schedule if date.fromisoformat(i["due_on"]) < loans.today]
    assert len(due_by_now) >= 5

    # nothing repaid: overdue in her county, invisible from Xicheng
    overdue = await loans.get("county", "/loans", status="overdue", area=COUNTY)
    assert [row["loan_id"] for row in overdue.json()["items"]] == [loan_id]
    problem(await loans.get("xicheng", "/loans", status="overdue", area=COUNTY), 403)
    assert (await loans.get("xicheng", "/loans", status="overdue")).json()["items"] == []
    problem(await loans.get("xicheng", path), 404)

    # she pays every instalment due so far: no longer overdue, still being repaid
    owed = sum(i["amount"] for i in due_by_now)
    repaid = await loans.post(
        "bank", f"{path}/repayments", {"amount": owed, "paid_on": str(loans.today)}, key="pay-1"
    )
    assert repaid.status_code == 201, repaid.text
    retried = await loans.post(
        "bank", f"{path}/repayments", {"amount": owed, "paid_on": str(loans.today)}, key="pay-1"
    )
    assert retried.json()["position"] == repaid.json()["position"]
    problem(
        await loans.post(
            "county", f"{path}/repayments", {"amount": 1, "paid_on": str(loans.today)}
        ),
        403,
    )
    found = await loans.loan("bank", loan_id, repaid.json()["position"])
    assert (found["repaid"], found["outstanding"]) == (owed, 30_000 - owed)
    still = await loans.get("county", "/loans", status="overdue", area=COUNTY)
    assert still.json()["items"] == []
    # the rest: repaid
    rest = await loans.done(
        "bank", f"{path}/repayments", {"amount": 30_000 - owed, "paid_on": str(loans.today)}
    )
    assert (await loans.loan("bank", loan_id, rest["position"]))["stage"] == "repaid"

    # the year's figures count the money, the woman and the jobs, in the month paid out
    disbursed_on = date.fromisoformat(loans.days_ago(180))
    report = await loans.get(
        "county",
        f"/reports/areas/{COUNTY}/years/{disbursed_on.year}",
        after=rest["position"],
    )
    totals = report.json()["totals"]
    assert totals["loans_disbursed"] == 1
    assert totals["loans_disbursed:female"] == 1
    assert totals["loan_yuan"] == 30_000
    assert totals["loan_jobs_created"] == 4
    assert "1 small guaranteed loans paid out (30000 yuan)" in report.json()["summary"]

    # a replay rebuilds the loan book and the figures exactly as they are live
    names = ["loans", "employment_reports"]
    live = {name: await snapshot(loans.runtime, name) for name in names}
    assert live["loans"]["loans"]
    rebuilt = await loans.runtime.projections.rebuild(*names)
    assert {p.generation for p in rebuilt} == {2}
    for name in names:
        assert await snapshot(loans.runtime, name) == live[name], name


async def test_a_refusal_ends_the_loan_and_keeps_its_reason(loans: Loans) -> None:
    await loans.register("w-refused")
    await loans.trained("w-refused")
    applied = await loans.done("congress", "/loans", loans.application("w-refused"))
    path = f"/loans/{applied['id']}"
    await loans.done("congress", f"{path}/certify", {"occurred_on": loans.days_ago(215)})
    await loans.done("township", f"{path}/file", {"occurred_on": loans.days_ago(210)})
    unfavourable = {"favourable": False, "occurred_on": loans.days_ago(200)}
    problem(await loans.post("county", f"{path}/opinion", unfavourable), 422)
    refused = await loans.done(
        "county", f"{path}/opinion", unfavourable | {"reason": "同类门店过于集中，带动就业不足"}
    )
    found = await loans.loan("township", applied["id"], refused["position"])
    assert (found["stage"], found["refused_step"]) == ("refused", "opinion")
    assert found["refusal_reason"] == "同类门店过于集中，带动就业不足"
    approval = {"amount": 30_000, "annual_rate_percent": 4.35, "term_months": 12}
    problem(await loans.post("bank", f"{path}/approve", approval), 409, "loan-step-out-of-order")
    listed = await loans.get("county", "/loans", status="refused", after=refused["position"])
    assert [row["loan_id"] for row in listed.json()["items"]] == [applied["id"]]

    # the congress refuses another at its own step
    other = await loans.done("congress", "/loans", loans.application("w-refused", amount=8_000))
    gone = await loans.done(
        "congress", f"/loans/{other['id']}/refuse", {"reason": "未在本社区实际居住"}
    )
    found = await loans.loan("congress", other["id"], gone["position"])
    assert (found["stage"], found["refused_step"]) == ("refused", "certification")


async def test_without_syb_training_no_loan(loans: Loans) -> None:
    await loans.register("w-untrained")
    answer = await loans.post("congress", "/loans", loans.application("w-untrained"))
    body = problem(answer, 409, "syb-training-required")
    assert body["field"] == "worker_id"
    # trained after she applied does not count for that application
    await loans.trained("w-untrained")
    late = loans.application("w-untrained", applied_on=loans.days_ago(240))
    problem(await loans.post("congress", "/loans", late), 409, "syb-training-required")
    # a worker outside the caller's area does not exist for it
    problem(await loans.post("xicheng", "/loans", loans.application("w-untrained")), 404)


async def test_the_syb_rule_is_a_setting(loans: Loans, monkeypatch: pytest.MonkeyPatch) -> None:
    await loans.register("w-no-syb")
    monkeypatch.setenv("JINGUO_EMPLOYMENT_LOANS_REQUIRE_SYB", "false")
    app = EmploymentService().create_app(loans.runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://employment"
    ) as lenient:
        answer = await lenient.post(
            "/loans",
            json=loans.application("w-no-syb"),
            headers={"Authorization": f"Bearer {loans.keys['congress']}"},
        )
    assert answer.status_code == 201, answer.text
    found = await loans.loan("congress", answer.json()["id"], answer.json()["position"])
    assert found["syb_course_id"] is None


async def test_an_erased_borrower_is_named_nowhere(loans: Loans) -> None:
    await loans.register("w-erased")
    await loans.trained("w-erased")
    applied = await loans.done("congress", "/loans", loans.application("w-erased"))
    certified = await loans.done("congress", f"/loans/{applied['id']}/certify", {})
    key = select(pii_keys).where(pii_keys.c.subject_id == "w-erased")
    async with loans.runtime.engine.connect() as connection:
        assert (await connection.execute(key)).first() is not None  # the guarantor is sealed
    erased = await publish(
        loans.registry,
        "worker",
        "w-erased",
        WorkerErasedV1(worker_id="w-erased", reason="本人申请"),
        "erase-w-erased",
    )
    await caught_up(loans.runtime, erased, certified["position"])
    found = await loans.loan("county", applied["id"], erased)
    assert (found["worker_id"], found["guarantor"]) == (None, None)
    assert found["stage"] == "certified"
    # her key in this service is gone: the guarantor sealed in the log can never be read again
    async with loans.runtime.engine.connect() as connection:
        assert (await connection.execute(key)).first() is None
    problem(await loans.post("congress", "/loans", loans.application("w-erased")), 404)
