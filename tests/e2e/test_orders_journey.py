"""End to end through real HTTP: `jinguo up` runs registry, employment and services-orders.

The journey: a resident registered with 低保 → orders housekeeping → a worker certified by
employment is assigned automatically → completes → rating → the month's settlement owes the
full price at the free tier.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from jinguo_registry.domain.validation import make_national_id
from jinguo_shared.clock import ProgrammeClock

from .conftest import created


def test_resident_with_minimum_allowance_gets_free_housekeeping_settled_for_the_month(
    system: tuple[httpx.Client, str],
) -> None:
    http, _ = system
    today = ProgrammeClock().today()  # the servers' business day, not this machine's date
    last_month_day = today.replace(day=1) - timedelta(days=20)
    month = last_month_day.strftime("%Y-%m")
    community = "110101003002"
    # a certified housekeeper: registered, trained and certified by employment
    worker = created(
        http.post(
            "/registry/workers",
            json={
                "name": "李秀梅",
                "national_id": make_national_id("110101", date(1975, 3, 9), 33, True),
                "phone": "13911113333",
                "area_code": community,
            },
        )
    )
    course = created(
        http.post(
            "/employment/courses",
            json={
                "title": "家政服务员培训班",
                "trade": "家政",
                "occupation_code": "4-10-01-06",
                "provider": "东城区职业技能培训学校",
                "area_code": "110101",
                "seats": 10,
                "starts_on": (today - timedelta(days=40)).isoformat(),
                "ends_on": (today + timedelta(days=5)).isoformat(),
                "subsidy_per_trainee": 0,
            },
        )
    )
    created(
        http.post(
            f"/employment/courses/{course['id']}/enrolments",
            params={"after": worker["position"]},
            json={"worker_id": worker["id"]},
        )
    )
    created(
        http.post(
            f"/employment/courses/{course['id']}/completions",
            json={
                "worker_id": worker["id"],
                "passed": True,
                "score": 90,
                "completed_on": str(today),
            },
        )
    )
    created(
        http.post(
            f"/employment/courses/{course['id']}/certificates",
            json={"worker_id": worker["id"], "level": 5, "awarded_on": str(today)},
        )
    )
    # the resident, with 低保: free services
    resident = created(
        http.post(
            "/registry/residents",
            json={
                "name": "王奶奶",
                "national_id": make_national_id("110101", date(1941, 6, 1), 44, True),
                "phone": "13911114444",
                "area_code": community,
                "address": "交道口北二条 5 号",
            },
        )
    )
    eligibility = http.post(
        f"/registry/residents/{resident['id']}/eligibility",
        json={"price_tier": "free", "reason": "minimum_living_allowance"},
    )
    assert eligibility.status_code in (200, 201), eligibility.text
    ok(
        http.put(
            "/orders/services/housekeeping",
            json={
                "category": "housekeeping",
                "name": "家政服务",
                "market_price": 80,
                "low_cost_price": 30,
                "required_certificates": ["4-10-01-06"],
            },
        )
    )
    start = datetime.combine(last_month_day, datetime.min.time(), UTC).replace(hour=9)
    order = created(
        http.post(
            "/orders/orders",
            params={"after": eligibility.json()["position"]},
            json={
                "resident_id": resident["id"],
                "service_code": "housekeeping",
                "address": "交道口北二条 5 号",
                "window_start": start.isoformat(),
                "window_end": (start + timedelta(hours=2)).isoformat(),
            },
        )
    )
    order_id = order["id"]
    # assigned automatically once services-orders has heard of her certificate
    deadline = time.monotonic() + 30
    while True:
        dispatched = http.post(f"/orders/orders/{order_id}/dispatch")
        if dispatched.status_code == 200 or time.monotonic() > deadline:
            break
        assert dispatched.headers["content-type"].startswith("application/problem+json")
        time.sleep(0.2)
    assert dispatched.status_code == 200, dispatched.text
    ok(http.post(f"/orders/orders/{order_id}/accept"))
    ok(http.post(f"/orders/orders/{order_id}/start", json={"at": start.isoformat()}))
    done = ok(
        http.post(
            f"/orders/orders/{order_id}/complete",
            json={"at": (start + timedelta(hours=2)).isoformat()},
        )
    )
    # a completed order cannot move again
    refused = http.post(f"/orders/orders/{order_id}/cancel", json={"by": "staff", "reason": "x"})
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("order-state"), refused.json()
    rated = ok(http.post(f"/orders/orders/{order_id}/rating", json={"score": 5, "comment": "很好"}))
    seen = http.get(f"/orders/orders/{order_id}", params={"after": rated["position"]}).json()
    assert (seen["status"], seen["price_tier"], seen["worker_id"], seen["rating"]) == (
        "completed",
        "free",
        worker["id"],
        5,
    )
    assert seen["address"] == "交道口北二条 5 号"
    bad = http.post("/orders/orders", json={"resident_id": resident["id"]})
    assert bad.status_code == 422
    # the month's settlement: the government owes the full price of a free service
    statement = http.get(
        f"/orders/settlements/{community}/{month}", params={"after": done["position"]}
    ).json()
    assert [
        (line["order_id"], line["price_tier"], line["government_owes"])
        for line in statement["lines"]
    ] == [(order_id, "free", 80)]
    issued = created(
        http.post("/orders/settlements", json={"area_code": community, "month": month})
    )
    again = http.get(
        f"/orders/settlements/{community}/{month}", params={"after": issued["position"]}
    ).json()
    assert again["issued"] is True
    assert again["total_owed"] == 80
    ranking = http.get("/orders/rankings/worker", params={"after": rated["position"]}).json()
    assert ranking[0]["performer_id"] == worker["id"]


def ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body, dict)
    return body
