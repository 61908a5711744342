"""A year entered after the fact: in February 2026 a street office types in its orders of March
2025 with the dates they happened. The area report and the settlement count them in 2025's
months, however late they were recorded; a date in the future is refused; a street's key reads
its own street's report only; and a replay of the report gives the same rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jinguo_contracts.access import OPERATOR_SCOPE
from jinguo_contracts.registry import VolunteerRegisteredV1
from jinguo_orders.bootstrap import OrdersService, queries_for
from jinguo_orders.entrypoints.http import create_app
from jinguo_orders.handlers.commands import OrdersHandlers
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import caught_up, publish, publish_agency, publisher, runtimes

from .conftest import context, register_resident, register_worker
from .test_orders import HOUSEKEEPING, snapshot

BEIJING = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 2, 10, 10, tzinfo=BEIJING)
"""The day the office types it all in."""
STREET, OTHER_STREET = "110101001", "110101002"
COMMUNITY = f"{STREET}001"
SCOPES = ["orders:read", "orders:write"]


@dataclass
class Office:
    http: httpx.AsyncClient
    runtime: ServiceRuntime
    keys: dict[str, dict[str, str]]
    """Headers by holder: street, other_street, district, province, operator."""

    async def send(self, method: str, path: str, body: Any = None, *, who: str = "street") -> Any:
        answer = await self.http.request(method, path, json=body, headers=self.keys[who])
        assert answer.is_success, f"{method} {path}: {answer.status_code} {answer.text}"
        result = answer.json()
        if isinstance(result, dict) and "position" in result:
            await caught_up(self.runtime, result["position"])
        return result

    async def refused(self, method: str, path: str, body: Any, status: int) -> dict[str, Any]:
        answer = await self.http.request(method, path, json=body, headers=self.keys["street"])
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem: dict[str, Any] = answer.json()
        return problem

    async def report(self, code: str, who: str = "street", **months: str) -> dict[str, Any]:
        params = {"from": months.get("since", "2025-01"), "to": months.get("until", "2026-12")}
        answer = await self.http.get(
            f"/reports/areas/{code}", params=params, headers=self.keys[who]
        )
        assert answer.status_code == 200, answer.text
        report: dict[str, Any] = answer.json()
        return report


@pytest.fixture
async def office(
    jinguo_env: dict[str, str],
    database_url: str,
    outside: NatsClient,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Office]:
    monkeypatch.setenv("JINGUO_ORDERS_DATABASE_URL", database_url)
    registry = await publisher(outside, "registry")
    async with runtimes(OrdersService(), jinguo_env["JINGUO_NATS_URL"]) as opener:
        runtime = await opener()
        handlers = OrdersHandlers(
            runtime.executor, queries_for(runtime), runtime.clock, lambda: NOW
        )
        keys, positions = {}, []
        for holder, area, scopes in (
            ("street", STREET, SCOPES),
            ("other_street", OTHER_STREET, SCOPES),
            ("district", "110101", SCOPES),
            ("province", "110000", SCOPES),
            ("operator", "110000", [*SCOPES, OPERATOR_SCOPE]),
        ):
            agency = await publish_agency(
                registry, name=holder, area=area, clients={"key": (scopes, None)}
            )
            keys[holder] = {"Authorization": f"Bearer {agency.keys['key']}"}
            positions.append(agency.position)
        positions.append(await register_resident(registry, "r-free", "free"))
        positions.append(await register_resident(registry, "r-low", "low_cost"))
        positions.append(await register_worker(registry, "w-1"))
        volunteer = VolunteerRegisteredV1(
            volunteer_id="v-1", name="x", phone="x", area_code=COMMUNITY
        )
        positions.append(await publish(registry, "volunteer", "v-1", volunteer, "vol-1"))
        qualified = await handlers.qualify_worker("w-1", HOUSEKEEPING, "C-1", context("q-1"))
        await caught_up(runtime, qualified.position, *positions)
        app = create_app(runtime, handlers, queries_for(runtime))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders") as http:
            office = Office(http, runtime, keys)
            await office.send(
                "PUT",
                "/services/housekeeping",
                {
                    "category": "housekeeping",
                    "name": "家政服务",
                    "market_price": 80,
                    "low_cost_price": 30,
                    "required_certificates": [HOUSEKEEPING],
                },
                who="operator",
            )
            yield office


def window(day: date, hours: float = 2) -> dict[str, str]:
    start = datetime(day.year, day.month, day.day, 9, tzinfo=BEIJING)
    return {
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=hours)).isoformat(),
    }


async def deliver(office: Office, resident: str, requested: date, served: date, score: int) -> str:
    """An order of the past, every move with the day it happened."""
    placed = await office.send(
        "POST",
        "/orders",
        {
            "resident_id": resident,
            "service_code": "housekeeping",
            "address": "东四北大街 1 号",
            "occurred_on": requested.isoformat(),
            **window(served, 2.5),
        },
    )
    order = f"/orders/{placed['id']}"
    dispatched_on = {"occurred_on": (requested + timedelta(days=1)).isoformat()}
    await office.send("POST", f"{order}/dispatch", dispatched_on)
    await office.send("POST", f"{order}/accept", dispatched_on)
    times = window(served, 2.5)
    await office.send("POST", f"{order}/start", {"at": times["window_start"]})
    await office.send("POST", f"{order}/complete", {"at": times["window_end"]})
    rated_on = (served + timedelta(days=1)).isoformat()
    await office.send("POST", f"{order}/rating", {"score": score, "occurred_on": rated_on})
    called_on = (served + timedelta(days=3)).isoformat()
    await office.send("POST", f"{order}/follow-up", {"called_on": called_on, "satisfied": True})
    return str(placed["id"])


async def enter_last_year(office: Office) -> tuple[str, str, str]:
    """Two orders of March 2025 and banked hours of April 2025, typed in on 10 February 2026;
    and one order of this February entered without dates."""
    free = await deliver(office, "r-free", date(2025, 3, 1), date(2025, 3, 5), 5)
    low = await deliver(office, "r-low", date(2025, 3, 10), date(2025, 3, 12), 3)
    await office.send(
        "POST",
        "/time-bank/v-1/earned",
        {"entry_id": "e-2025", "hours": 2.5, "activity": "陪护", "served_on": "2025-04-01"},
    )
    placed = await office.send(
        "POST",
        "/orders",
        {
            "resident_id": "r-free",
            "service_code": "housekeeping",
            "address": "东四北大街 1 号",
            **window(date(2026, 2, 9)),
        },
    )
    return free, low, str(placed["id"])


MARCH_2025 = {
    "orders_requested": 2,
    "orders_delivered": 2,
    "served_free": 1,
    "served_low_cost": 1,
    "service_centihours": 500,
    "ratings": 2,
    "rating_sum": 8,
    "follow_up_calls": 2,
    "follow_ups_satisfied": 2,
}


async def test_a_year_entered_after_the_fact_counts_in_its_own_months(office: Office) -> None:
    free, low, this_year = await enter_last_year(office)
    report = await office.report(STREET)
    assert report["figures"] == {
        "2025-03": MARCH_2025,
        "2025-04": {"volunteer_centihours_earned": 250},
        # placed after its window had passed: requested by that day at the latest
        "2026-02": {"orders_requested": 1},
    }
    assert report["average_satisfaction"] == {"2025-03": 4.0}
    assert report["average_satisfaction_overall"] == 4.0
    assert report["totals"]["orders_requested"] == 3
    # rolled up: the district and the province count the same, in each of their code forms
    assert (await office.report("110101", who="district"))["figures"] == report["figures"]
    for code in ("11", "110000"):
        province = await office.report(code, who="province", since="2025-01", until="2025-12")
        assert province["area_code"] == "110000"
        assert set(province["figures"]) == {"2025-03", "2025-04"}
        assert province["figures"]["2025-03"] == MARCH_2025
    assert (await office.report(COMMUNITY))["figures"]["2025-03"] == MARCH_2025

    # the settlement of March 2025 owes for both; February 2026's has none of them
    issued = await office.send("POST", "/settlements", {"area_code": COMMUNITY, "month": "2025-03"})
    assert issued["position"]
    statement = await office.send("GET", f"/settlements/{COMMUNITY}/2025-03")
    assert statement["issued"] is True
    assert [(line["order_id"], line["completed_on"]) for line in statement["lines"]] == [
        (free, "2025-03-05"),
        (low, "2025-03-12"),
    ]
    assert statement["total_owed"] == 80 + 50
    assert (await office.send("GET", f"/settlements/{COMMUNITY}/2026-02"))["lines"] == []
    order = await office.send("GET", f"/orders/{this_year}")
    assert order["status"] == "placed"
    # lists take an area in every form too: 110000 is the province, as 11 is
    for code in ("11", "110000", "110101", STREET, COMMUNITY):
        listed = await office.send("GET", f"/orders?area={code}", who="province")
        assert {o["order_id"] for o in listed["items"]} == {free, low, this_year}, code


async def test_a_date_in_the_future_or_before_the_request_is_refused(office: Office) -> None:
    tomorrow = (NOW.date() + timedelta(days=1)).isoformat()
    order = {
        "resident_id": "r-free",
        "service_code": "housekeeping",
        "address": "东四北大街 1 号",
        **window(date(2025, 6, 2)),
    }
    problem = await office.refused("POST", "/orders", {**order, "occurred_on": tomorrow}, 422)
    assert problem["field"] == "occurred_on"
    placed = await office.send("POST", "/orders", {**order, "occurred_on": "2025-06-01"})
    path = f"/orders/{placed['id']}"
    problem = await office.refused("POST", f"{path}/dispatch", {"occurred_on": tomorrow}, 422)
    assert problem["field"] == "occurred_on"
    problem = await office.refused("POST", f"{path}/dispatch", {"occurred_on": "2025-05-31"}, 422)
    assert problem["field"] == "occurred_on"
    assert "before order" in problem["detail"]
    await office.send("POST", f"{path}/dispatch", {"occurred_on": "2025-06-01"})
    await office.send("POST", f"{path}/accept", {"occurred_on": "2025-06-01"})
    problem = await office.refused(
        "POST", f"{path}/start", {"at": "2025-05-31T09:00:00+08:00"}, 422
    )
    assert problem["field"] == "at"
    problem = await office.refused(
        "POST", f"{path}/start", {"at": f"{tomorrow}T09:00:00+08:00"}, 422
    )
    assert problem["field"] == "at"
    earned = {"entry_id": "e-x", "hours": 1, "activity": "陪护", "served_on": tomorrow}
    problem = await office.refused("POST", "/time-bank/v-1/earned", earned, 422)
    assert problem["field"] == "served_on"
    report = await office.report(STREET)
    assert report["figures"] == {"2025-06": {"orders_requested": 1}}


async def test_a_street_reads_its_own_report_only(office: Office) -> None:
    await enter_last_year(office)
    assert (await office.report(STREET))["totals"]["orders_delivered"] == 2
    for code in (OTHER_STREET, f"{OTHER_STREET}001", "110101", "11"):
        problem = await office.refused("GET", f"/reports/areas/{code}", None, 403)
        assert problem["status"] == 403
    other = await office.report(OTHER_STREET, who="other_street")
    assert (other["figures"], other["totals"]) == ({}, {})
    problem = await office.refused("GET", f"/reports/areas/{STREET}0", None, 422)
    assert problem["field"] == "area_code"


async def test_a_replay_of_the_report_gives_the_same_rows(office: Office) -> None:
    await enter_last_year(office)
    names = ["orders_reports", "settlements"]
    live = {name: await snapshot(office.runtime, name) for name in names}
    assert len(live["orders_reports"]["orders_month_counts"]) > 30
    rebuilt = await office.runtime.projections.rebuild(*names)
    assert {p.generation for p in rebuilt} == {2}
    for name in names:
        assert await snapshot(office.runtime, name) == live[name], name
