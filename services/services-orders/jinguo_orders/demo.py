"""Demo data for services-orders, loaded through its own HTTP API after registry and employment.

The catalogue; orders in every state (placed, assigned, accepted, in service, completed, rated,
followed up, rejected and re-dispatched, cancelled, no-show) for the residents the registry demo
registered, dispatched automatically to the workers employment certified (or to providers);
last month's settlement for the community with the most free and low-cost services; and a time
bank. About 160 requests, each with an ``Idempotency-Key`` made of the seed and the request
itself, so that sending one again is the same command. Loaded again once all its orders are
there, it places none: what the next order would be depends on what the first load found.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import httpx
import orjson

from jinguo_shared.services import DemoProgress, DemoSteps

CATALOGUE: Final = (
    ("housekeeping", "housekeeping", "家政服务", 80, 30, ("4-10-01-06",)),
    ("cleaning", "cleaning", "保洁", 60, 20, ()),
    ("elderly_care", "elderly_care", "居家养老照料", 100, 40, ("4-10-01-05",)),
    ("child_pickup", "child_pickup", "接送", 30, 10, ()),
    ("infant_care", "infant_care", "婴幼儿托管", 120, 50, ()),
    ("meal_delivery", "meal_delivery", "送餐/小饭桌", 15, 5, ()),
    ("repairs", "repairs", "维修", 90, 40, ()),
    ("patient_escort", "patient_escort", "陪护", 150, 60, ()),
    ("maternity_nurse", "maternity_nurse", "月嫂", 300, 150, ()),
)
BEIJING: Final = ZoneInfo("Asia/Shanghai")
"""The demo's community lives in Beijing: its services happen in daytime there."""
COMPLETED: Final = 14
OPEN_STATES: Final = (
    "placed",
    "placed",
    "assigned",
    "assigned",
    "accepted",
    "accepted",
    "in_service",
    "in_service",
    "cancelled",
    "cancelled",
    "no_show",
    "rejected",
)


class _Api:
    def __init__(self, client: httpx.AsyncClient, seed: int) -> None:
        self._client = client
        self._seed = seed
        self.refused = 0

    async def send(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, refusable: bool = False
    ) -> Any:
        content = orjson.dumps(body or {}, option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(f"{method} {path}\n".encode() + content).hexdigest()[:32]
        answer = await self._client.request(
            method,
            f"/orders{path}",
            content=content,
            headers={
                "Idempotency-Key": f"demo-{self._seed}-{digest}",
                "Content-Type": "application/json",
            },
        )
        if answer.is_success:
            return answer.json()
        if refusable and answer.status_code == httpx.codes.CONFLICT:
            self.refused += 1
            return None
        raise RuntimeError(
            f"demo data: {method} /orders{path} answered {answer.status_code}: {answer.text}"
        )

    async def get(self, path: str, **params: Any) -> Any:
        answer = await self._client.get(f"/orders{path}", params=params)
        answer.raise_for_status()
        return answer.json()


async def _residents(api: _Api, wanted: int) -> list[dict[str, Any]]:
    """The residents as the registry demo left them; waits (bounded) for them to arrive."""
    found: list[dict[str, Any]] = []
    for _ in range(150):
        found = (await api.get("/residents", limit=200))["items"]
        if len(found) >= wanted:
            break
        await asyncio.sleep(0.2)
    return found


async def load_orders_demo(
    client: httpx.AsyncClient,
    progress: DemoProgress,
    *,
    seed: int = 2026,
    expected_residents: int = 200,
) -> str:
    """A step is the residents found, the catalogue, an order, or the settlement and time bank."""
    rng = random.Random(f"{seed}:orders")
    api = _Api(client, seed)
    steps = DemoSteps(progress, 3 + COMPLETED + len(OPEN_STATES))
    residents = await _residents(api, expected_residents)
    if not residents:
        steps.finish()
        return "orders demo: no residents known yet; nothing loaded"
    steps.step()
    for code, category, name, market, low, required in CATALOGUE:
        await api.send(
            "PUT",
            f"/services/{code}",
            {
                "category": category,
                "name": name,
                "market_price": market,
                "low_cost_price": low,
                "required_certificates": list(required),
            },
        )
    steps.step()
    placed_before = (await api.get("/orders", limit=200))["items"]
    if len(placed_before) >= COMPLETED + len(OPEN_STATES):
        steps.finish()
        found = Counter(str(o["status"]) for o in placed_before)
        summary = ", ".join(f"{count} {state}" for state, count in sorted(found.items()))
        return f"orders demo: {len(CATALOGUE)} services, orders {summary} (loaded before)"
    helped = [r for r in residents if r["price_tier"] != "market"] or residents
    others = [r for r in residents if r["price_tier"] == "market"] or residents
    today = datetime.now(BEIJING).date()
    last_month = today.replace(day=1) - timedelta(days=1)
    delivered: Counter[str] = Counter()
    states: Counter[str] = Counter()

    async def order(
        resident: dict[str, Any], day: date, hour: int, requested: date | None = None
    ) -> str:
        service = rng.choice(CATALOGUE)[0]
        start = datetime(day.year, day.month, day.day, hour, tzinfo=BEIJING)
        body = {
            "resident_id": resident["resident_id"],
            "service_code": service,
            "address": "北京市东城区" + rng.choice(("东四北大街", "交道口南大街", "和平里")),
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=2)).isoformat(),
        }
        if requested is not None:
            body["occurred_on"] = requested.isoformat()
        placed = await api.send("POST", "/orders", body)
        return str(placed["id"])

    async def dispatched(order_id: str, on: date | None = None) -> bool:
        body = {"occurred_on": on.isoformat()} if on is not None else None
        sent = await api.send("POST", f"/orders/{order_id}/dispatch", body, refusable=True)
        return sent is not None

    # delivered last month, entered with the days each move happened: completed, most rated,
    # some followed up
    for n in range(COMPLETED):
        resident = helped[n % len(helped)] if n % 4 else rng.choice(others)
        day = last_month.replace(day=1 + (n * 2) % 27)
        order_id = await order(resident, day, 8 + 2 * (n % 5), day - timedelta(days=2))
        steps.step()
        if not await dispatched(order_id, day - timedelta(days=1)):
            states["placed"] += 1
            continue
        start = datetime(day.year, day.month, day.day, 8 + 2 * (n % 5), tzinfo=BEIJING)
        accepted_on = (day - timedelta(days=1)).isoformat()
        await api.send("POST", f"/orders/{order_id}/accept", {"occurred_on": accepted_on})
        await api.send("POST", f"/orders/{order_id}/start", {"at": start.isoformat()})
        await api.send(
            "POST",
            f"/orders/{order_id}/complete",
            {"at": (start + timedelta(hours=2)).isoformat()},
        )
        states["completed"] += 1
        if resident["price_tier"] != "market":
            delivered[resident["area_code"]] += 1
        if n % 5 != 4:
            await api.send(
                "POST",
                f"/orders/{order_id}/rating",
                {
                    "score": rng.choice((5, 5, 4, 4, 3)),
                    "comment": rng.choice(("很满意", "细心")),
                    "occurred_on": (day + timedelta(days=1)).isoformat(),
                },
            )
        if n % 3 == 0:
            await api.send(
                "POST",
                f"/orders/{order_id}/follow-up",
                {"called_on": (day + timedelta(days=2)).isoformat(), "satisfied": True},
            )
    # next week: one order in every other state
    for n, state in enumerate(OPEN_STATES):
        day = today + timedelta(days=7 + n % 5)
        order_id = await order(rng.choice(residents), day, 8 + 2 * (n % 4))
        steps.step()
        if state == "placed" or not await dispatched(order_id):
            states["placed"] += 1
            continue
        if state == "cancelled":
            await api.send(
                "POST", f"/orders/{order_id}/cancel", {"by": "resident", "reason": "家人回来照顾"}
            )
        elif state == "rejected":
            await api.send("POST", f"/orders/{order_id}/reject", {"reason": "时间冲突"})
            await dispatched(order_id)
        elif state in ("accepted", "in_service", "no_show"):
            await api.send("POST", f"/orders/{order_id}/accept")
            if state == "in_service":
                await api.send("POST", f"/orders/{order_id}/start", {})
            if state == "no_show":
                await api.send("POST", f"/orders/{order_id}/no-show", {"party": "resident"})
        states[state] += 1
    settled = ""
    if delivered:
        area, _ = delivered.most_common(1)[0]
        month = last_month.strftime("%Y-%m")
        issued = await api.send(
            "POST", "/settlements", {"area_code": area, "month": month}, refusable=True
        )
        if issued is not None:
            statement = await api.get(f"/settlements/{area}/{month}", after=issued["position"])
            settled = f", {month} settled for {area}: {statement['total_owed']} yuan owed"
    volunteers = await api.get("/volunteers", limit=5)
    for n, volunteer in enumerate(volunteers):
        path = f"/time-bank/{volunteer['volunteer_id']}"
        await api.send(
            "POST",
            f"{path}/earned",
            {
                "entry_id": f"demo-earned-{n}",
                "hours": 2 + n,
                "activity": "陪伴独居老人",
                "served_on": (today - timedelta(days=20)).isoformat(),
            },
        )
        if n % 2 == 0:
            await api.send(
                "POST",
                f"{path}/spent",
                {
                    "entry_id": f"demo-spent-{n}",
                    "hours": 1.5,
                    "purpose": "家中维修",
                    "spent_on": (today - timedelta(days=3)).isoformat(),
                },
            )
    steps.finish()
    summary = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
    return (
        f"orders demo: {len(CATALOGUE)} services, orders {summary}{settled},"
        f" {len(volunteers)} time-bank accounts"
    )
