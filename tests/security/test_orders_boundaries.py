"""services-orders: a key acts only within its agency's jurisdiction.

Two street-level agencies in two districts of Beijing (东城 110101 and 西城 110102) each have a
resident, a certified worker, a provider and a volunteer, and orders in every state that
matters. Each attack below is what a stolen or careless key of 西城 would try on 东城's records:
every single record answers 404 as if it did not exist, lists leave 东城 out, reports on 东城
are refused (403), and every write is refused. A city-level agency (北京市 110100) sees both
districts, and the service catalogue (one price list for the whole programme) is the platform
operator's alone.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jinguo_contracts.access import OPERATOR_SCOPE
from jinguo_contracts.examples import registered_resident, registered_worker
from jinguo_contracts.registry import (
    ProviderRegisteredV1,
    VolunteerRegisteredV1,
)
from jinguo_orders.bootstrap import OrdersService, handlers_for, queries_for
from jinguo_orders.entrypoints.http import create_app
from jinguo_shared.envelope import CommandContext
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

DONGCHENG, XICHENG = "110101", "110102"
HOUSEKEEPING = "4-10-01-06"
BEIJING = ZoneInfo("Asia/Shanghai")
# last month, so that its settlement can be issued; a weekday morning in Beijing
LAST_MONTH = (date.today().replace(day=1) - timedelta(days=20)).replace(day=10)
NINE = datetime(LAST_MONTH.year, LAST_MONTH.month, LAST_MONTH.day, 9, tzinfo=BEIJING)
MONTH = LAST_MONTH.strftime("%Y-%m")


def community(district: str) -> str:
    return f"{district}001001"


@dataclass
class District:
    """One district's agency key and its records (as `register_district` names them)."""

    code: str
    key: str
    orders: dict[str, str] = field(default_factory=dict)
    """Order ids by the state they were left in."""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def community(self) -> str:
        return community(self.code)

    @property
    def resident(self) -> str:
        return f"r-{self.code}"

    @property
    def worker(self) -> str:
        return f"w-{self.code}"

    @property
    def provider(self) -> str:
        return f"p-{self.code}"

    @property
    def volunteer(self) -> str:
        return f"v-{self.code}"


@dataclass
class World:
    http: httpx.AsyncClient
    runtime: ServiceRuntime
    east: District
    """东城, the district under attack."""
    west: District
    """西城, whose key attacks."""
    city: dict[str, str]
    """Headers of a city-level agency (北京市)."""
    operator: dict[str, str]

    async def send(
        self, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> httpx.Response:
        return await self.http.request(method, path, json=body, headers=headers)

    async def ok(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
        answer = await self.send(method, path, headers, body)
        assert answer.is_success, f"{method} {path}: {answer.status_code} {answer.text}"
        result = answer.json()
        if isinstance(result, dict) and "position" in result:
            await caught_up(self.runtime, result["position"])
        return result


def context() -> CommandContext:
    command_id = str(uuid.uuid4())
    return CommandContext(command_id=command_id, correlation_id=command_id, actor="test")


async def issue_key(registry: EventStore, area: str, scopes: list[str]) -> tuple[str, str]:
    """An agency of `area` and an API key of it, as the registry publishes them."""
    agency = await publish_agency(
        registry, name=f"agency {area}", area=area, clients={"key": (scopes, None)}
    )
    return agency.keys["key"], agency.position


async def register_district(registry: EventStore, district: str) -> list[str]:
    """A resident with 低保 (free services), a worker, a provider and a volunteer."""
    area = community(district)
    resident, worker = f"r-{district}", f"w-{district}"
    positions = [
        await publish_history(
            registry, resident, registered_resident(resident, area=area), f"resident-{resident}"
        ),
        await publish_history(
            registry, worker, registered_worker(worker, area=area), f"register-{worker}"
        ),
        await publish(
            registry,
            "provider",
            f"p-{district}",
            ProviderRegisteredV1(
                provider_id=f"p-{district}",
                name=f"家政公司 {district}",
                credit_code="91110101MA0000000X",
                area_code=area,
                services=["cleaning"],
                women_led=True,
            ),
            f"provider-{district}",
        ),
        await publish(
            registry,
            "volunteer",
            f"v-{district}",
            VolunteerRegisteredV1(
                volunteer_id=f"v-{district}", name="x", phone="x", area_code=area
            ),
            f"volunteer-{district}",
        ),
    ]
    return positions


async def fill_district(world: World, district: District) -> None:
    """Orders placed, dispatched and delivered with the district's own key."""
    headers = district.headers

    async def place(n: int, service: str = "housekeeping") -> str:
        start = NINE + timedelta(days=n)
        body = {
            "resident_id": district.resident,
            "service_code": service,
            "address": "东四北大街 1 号",
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=2)).isoformat(),
        }
        placed = await world.ok("POST", "/orders", headers, body)
        return str(placed["id"])

    done = await place(0)
    await world.ok("POST", f"/orders/{done}/dispatch", headers)
    for move, body in (
        ("accept", None),
        ("start", {"at": NINE.isoformat()}),
        ("complete", {"at": (NINE + timedelta(hours=2)).isoformat()}),
        ("rating", {"score": 5, "comment": "很细心"}),
    ):
        await world.ok("POST", f"/orders/{done}/{move}", headers, body)
    assigned = await place(1)
    await world.ok("POST", f"/orders/{assigned}/dispatch", headers)
    placed = await place(2, "cleaning")
    district.orders.update({"completed": done, "assigned": assigned, "placed": placed})
    await world.ok(
        "POST",
        f"/time-bank/{district.volunteer}/earned",
        headers,
        {"entry_id": "e1", "hours": 2, "activity": "陪护", "served_on": LAST_MONTH.isoformat()},
    )


@pytest.fixture
async def world(
    jinguo_env: dict[str, str],
    database_url: str,
    outside: NatsClient,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[World]:
    monkeypatch.setenv("JINGUO_ORDERS_DATABASE_URL", database_url)
    registry = await publisher(outside, "registry")
    async with runtimes(OrdersService(), jinguo_env["JINGUO_NATS_URL"]) as opener:
        runtime = await opener()
        handlers = handlers_for(runtime)
        keys, positions = {}, []
        for name, area, scopes in (
            ("east", DONGCHENG, ["orders:read", "orders:write"]),
            ("west", XICHENG, ["orders:read", "orders:write"]),
            ("city", "110100", ["orders:read", "orders:write"]),
            ("operator", "110000", ["orders:read", "orders:write", OPERATOR_SCOPE]),
        ):
            keys[name], position = await issue_key(registry, area, scopes)
            positions.append(position)
        for district in (DONGCHENG, XICHENG):
            positions += await register_district(registry, district)
            await handlers.qualify_worker(f"w-{district}", HOUSEKEEPING, "C-1", context())
        await caught_up(runtime, *positions)
        app = create_app(runtime, handlers, queries_for(runtime))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders") as http:

            def headers(name: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {keys[name]}"}

            world = World(
                http,
                runtime,
                District(DONGCHENG, keys["east"]),
                District(XICHENG, keys["west"]),
                headers("city"),
                headers("operator"),
            )
            for code, category, required in (
                ("housekeeping", "housekeeping", [HOUSEKEEPING]),
                ("cleaning", "cleaning", []),
            ):
                await world.ok(
                    "PUT",
                    f"/services/{code}",
                    world.operator,
                    {
                        "category": category,
                        "name": code,
                        "market_price": 80,
                        "low_cost_price": 30,
                        "required_certificates": required,
                    },
                )
            await fill_district(world, world.east)
            await fill_district(world, world.west)
            yield world


async def test_every_single_record_of_another_district_is_not_found(world: World) -> None:
    west, east = world.west.headers, world.east
    for order_id in east.orders.values():
        for path in (f"/orders/{order_id}", f"/orders/{order_id}/history"):
            answer = await world.send("GET", path, west)
            assert answer.status_code == 404, (path, answer.text)
            assert answer.json()["detail"] == f"no order {order_id}"
            assert east.resident not in answer.text
    missing = await world.send("GET", "/orders/no-such-order", west)
    assert (missing.status_code, missing.json()["detail"]) == (404, "no order no-such-order")
    answer = await world.send("GET", f"/time-bank/{east.volunteer}", west)
    assert answer.status_code == 404
    own = await world.ok("GET", f"/time-bank/{world.west.volunteer}", west)
    assert own["balance"] == 2


async def test_lists_leave_another_district_out(world: World) -> None:
    west, east = world.west, world.east
    orders = await world.ok("GET", "/orders?limit=200", west.headers)
    assert {o["order_id"] for o in orders["items"]} == set(west.orders.values())
    assert {o["area_code"] for o in orders["items"]} == {west.community}
    by_worker = await world.ok("GET", f"/orders?worker_id={east.worker}", west.headers)
    assert by_worker["items"] == []
    residents = await world.ok("GET", "/residents", west.headers)
    assert [r["resident_id"] for r in residents["items"]] == [west.resident]
    volunteers = await world.ok("GET", "/volunteers", west.headers)
    assert [v["volunteer_id"] for v in volunteers] == [west.volunteer]
    workers = await world.ok("GET", "/rankings/worker", west.headers)
    assert [w["performer_id"] for w in workers] == [west.worker]
    for path in ("/orders?area=110101", "/orders?area=110101001", "/rankings/worker?area=110101"):
        answer = await world.send("GET", path, west.headers)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["type"].endswith("outside-jurisdiction")
    # asking for the whole city narrows to the caller's own district, never beyond it
    wide = await world.ok("GET", "/orders?area=11&limit=200", west.headers)
    assert {o["area_code"] for o in wide["items"]} == {west.community}


async def test_reports_and_settlements_of_another_district_are_refused(world: World) -> None:
    west, east = world.west.headers, world.east
    report = await world.send("GET", f"/settlements/{east.community}/{MONTH}", west)
    assert report.status_code == 403
    assert report.json()["type"].endswith("outside-jurisdiction")
    issue = await world.send(
        "POST", "/settlements", west, {"area_code": east.community, "month": MONTH}
    )
    assert issue.status_code == 403, issue.text
    issued = await world.ok(
        "POST", "/settlements", east.headers, {"area_code": east.community, "month": MONTH}
    )
    assert issued["id"] == f"{east.community}-{MONTH}"
    again = await world.send(
        "POST", "/settlements", west, {"area_code": east.community, "month": MONTH}
    )
    assert again.status_code == 403, "an issued settlement is no less refused"
    statement = await world.ok("GET", f"/settlements/{east.community}/{MONTH}", east.headers)
    assert (statement["issued"], statement["total_owed"]) == (True, 80)


async def test_every_write_on_another_district_is_refused(world: World) -> None:
    west, east = world.west.headers, world.east
    moves: list[tuple[str, str, dict[str, Any] | None]] = [
        ("placed", "dispatch", None),
        ("placed", "assign", {"worker_id": world.west.worker}),
        ("placed", "assign", {"provider_id": world.west.provider}),
        ("placed", "cancel", {"by": "staff", "reason": "重复"}),
        ("assigned", "accept", None),
        ("assigned", "reject", {"reason": "太远"}),
        ("assigned", "no-show", {"party": "resident"}),
        ("assigned", "cancel", {"by": "staff", "reason": "重复"}),
        ("completed", "rating", {"score": 1, "comment": "差"}),
        ("completed", "follow-up", {"called_on": LAST_MONTH.isoformat(), "satisfied": False}),
    ]
    for state, move, body in moves:
        order_id = east.orders[state]
        answer = await world.send("POST", f"/orders/{order_id}/{move}", west, body)
        assert answer.status_code == 404, (move, answer.text)
    accepted = east.orders["assigned"]
    await world.ok("POST", f"/orders/{accepted}/accept", east.headers)
    for move, body in (("start", {}), ("complete", {})):
        answer = await world.send("POST", f"/orders/{accepted}/{move}", west, body)
        assert answer.status_code == 404, (move, answer.text)
    ordered_for_east = await world.send(
        "POST",
        "/orders",
        west,
        {
            "resident_id": east.resident,
            "service_code": "cleaning",
            "address": "x",
            "window_start": NINE.isoformat(),
            "window_end": (NINE + timedelta(hours=1)).isoformat(),
        },
    )
    assert ordered_for_east.status_code == 404, ordered_for_east.text
    day = LAST_MONTH.isoformat()
    for entry, body in (
        ("earned", {"entry_id": "x1", "hours": 1, "activity": "x", "served_on": day}),
        ("spent", {"entry_id": "x2", "hours": 1, "purpose": "x", "spent_on": day}),
    ):
        answer = await world.send("POST", f"/time-bank/{east.volunteer}/{entry}", west, body)
        assert answer.status_code == 404, answer.text
    # nothing of 东城 changed
    for state, order_id in east.orders.items():
        order = await world.ok("GET", f"/orders/{order_id}", east.headers)
        assert order["status"] == ("accepted" if state == "assigned" else state)
    bank = await world.ok("GET", f"/time-bank/{east.volunteer}", east.headers)
    assert bank["balance"] == 2


async def test_dispatch_never_reaches_a_worker_or_provider_of_another_district(
    world: World,
) -> None:
    west, east = world.west, world.east
    start = NINE + timedelta(days=5)
    body = {
        "resident_id": west.resident,
        "service_code": "housekeeping",
        "address": "x",
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=2)).isoformat(),
    }
    # 西城's only housekeeper is booked in this window; 东城's is free and qualified
    first = (await world.ok("POST", "/orders", west.headers, body))["id"]
    await world.ok("POST", f"/orders/{first}/dispatch", west.headers)
    order_id = (await world.ok("POST", "/orders", west.headers, body))["id"]
    dispatched = await world.send("POST", f"/orders/{order_id}/dispatch", west.headers)
    assert dispatched.status_code == 409, dispatched.text
    manual = await world.send(
        "POST", f"/orders/{order_id}/assign", west.headers, {"worker_id": east.worker}
    )
    assert manual.status_code == 404, manual.text
    by_provider = await world.send(
        "POST", f"/orders/{order_id}/assign", west.headers, {"provider_id": east.provider}
    )
    assert by_provider.status_code == 404, by_provider.text
    order = await world.ok("GET", f"/orders/{order_id}", west.headers)
    assert (order["status"], order["worker_id"]) == ("placed", None)
    # the city sees both districts and may send 东城's housekeeper across the boundary
    await world.ok("POST", f"/orders/{order_id}/dispatch", world.city)
    order = await world.ok("GET", f"/orders/{order_id}", world.city)
    assert (order["status"], order["worker_id"]) == ("assigned", east.worker)
    # 西城 may still cancel its own order, which gives 东城's worker her window back
    await world.ok(
        "POST", f"/orders/{order_id}/cancel", west.headers, {"by": "staff", "reason": "改期"}
    )
    booked = await world.runtime.store.load("worker", east.worker)
    assert [e.type for e in booked][-1] == "WorkerReleased"


async def test_a_city_agency_sees_both_districts(world: World) -> None:
    city = world.city
    orders = await world.ok("GET", "/orders?limit=200", city)
    areas = {o["area_code"] for o in orders["items"]}
    assert areas == {world.east.community, world.west.community}
    for district in (world.east, world.west):
        order = await world.ok("GET", f"/orders/{district.orders['completed']}", city)
        assert order["resident_id"] == district.resident
        await world.ok("GET", f"/settlements/{district.community}/{MONTH}", city)
        await world.ok("GET", f"/time-bank/{district.volunteer}", city)
    ranked = await world.ok("GET", "/rankings/worker", city)
    assert {w["performer_id"] for w in ranked} == {world.east.worker, world.west.worker}
    only_east = await world.ok("GET", "/rankings/worker?area=110101", city)
    assert [w["performer_id"] for w in only_east] == [world.east.worker]


async def test_only_the_platform_operator_changes_the_catalogue(world: World) -> None:
    prices = {"category": "cleaning", "name": "保洁", "market_price": 1, "low_cost_price": 0}
    for headers in (world.east.headers, world.city):
        answer = await world.send("PUT", "/services/cleaning", headers, prices)
        assert answer.status_code == 403, answer.text
    catalogue = await world.ok("GET", "/services", world.west.headers)
    assert {s["service_code"]: s["market_price"] for s in catalogue} == {
        "cleaning": 80,
        "housekeeping": 80,
    }
    await world.ok("PUT", "/services/cleaning", world.operator, prices)


async def test_oversized_and_malformed_input_on_every_write_is_refused(world: World) -> None:
    east, operator = world.east.headers, world.operator
    placed, done = world.east.orders["placed"], world.east.orders["completed"]
    volunteer = world.east.volunteer
    day = LAST_MONTH.isoformat()
    service = {"category": "cleaning", "name": "保洁", "market_price": 60, "low_cost_price": 20}
    order = {
        "resident_id": world.east.resident,
        "service_code": "cleaning",
        "address": "x",
        "window_start": NINE.isoformat(),
        "window_end": (NINE + timedelta(hours=1)).isoformat(),
    }
    long = "长" * 2001
    attempts: list[tuple[str, str, dict[str, str], Any]] = [
        ("PUT", "/services/cleaning", operator, service | {"name": long}),
        ("PUT", "/services/cleaning", operator, service | {"required_certificates": [long]}),
        (
            "PUT",
            "/services/cleaning",
            operator,
            service | {"required_certificates": [f"4-10-01-{n:02d}" for n in range(11)]},
        ),
        ("PUT", f"/services/{'x' * 41}", operator, service),
        ("POST", "/orders", east, order | {"address": long}),
        ("POST", "/orders", east, order | {"notes": long}),
        ("POST", "/orders", east, order | {"resident_id": "r" * 65}),
        ("POST", "/orders", east, order | {"window_start": "2026-13-01T09:00:00+08:00"}),
        ("POST", f"/orders/{placed}/assign", east, {"worker_id": "w" * 65}),
        ("POST", f"/orders/{placed}/reject", east, {"reason": long}),
        ("POST", f"/orders/{placed}/cancel", east, {"by": "staff", "reason": long}),
        ("POST", f"/orders/{placed}/no-show", east, {"party": "worker", "notes": long}),
        ("POST", f"/orders/{'o' * 65}/dispatch", east, None),
        ("POST", f"/orders/{done}/rating", east, {"score": 5, "comment": long}),
        ("POST", f"/orders/{done}/rating", east, {"score": 6}),
        (
            "POST",
            f"/orders/{done}/follow-up",
            east,
            {"called_on": day, "satisfied": True, "notes": long},
        ),
        ("POST", "/settlements", east, {"area_code": "1" * 13, "month": MONTH}),
        ("POST", "/settlements", east, {"area_code": world.east.community, "month": "0000-01"}),
        (
            "POST",
            f"/time-bank/{volunteer}/earned",
            east,
            {"entry_id": "e" * 65, "hours": 1, "activity": "x", "served_on": day},
        ),
        (
            "POST",
            f"/time-bank/{volunteer}/spent",
            east,
            {"entry_id": "s", "hours": 1, "purpose": long, "spent_on": day},
        ),
        ("GET", f"/orders?worker_id={'w' * 65}", east, None),
    ]
    js = world.runtime.nc.jetstream()
    before = (await js.stream_info("ORDERS")).state.last_seq
    for method, path, headers, body in attempts:
        answer = await world.send(method, path, headers, body)
        assert answer.status_code == 422, (method, path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    malformed = await world.http.post(
        "/orders", content=b'{"resident_id": ', headers=east | {"Content-Type": "application/json"}
    )
    assert malformed.status_code == 422, malformed.text
    not_ours = await world.send("GET", f"/orders?cursor={'c' * 1001}", east, None)
    assert not_ours.status_code == 400, not_ours.text  # a cursor the API never gave out
    assert (await js.stream_info("ORDERS")).state.last_seq == before
