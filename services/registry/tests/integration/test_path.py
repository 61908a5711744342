"""Her path over HTTP: facts of the registry, employment and services-orders in business-date
order, paged, seen only within the jurisdiction of her community, gone with her erasure, and
one line per fact however often it arrives. Real nats-server, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from nats.aio.client import Client as NatsClient

from jinguo_contracts.employment import (
    PlacementFollowedUpV1,
    PlacementStartedV1,
    TraineeEnrolledV1,
    TrainingCompletedV1,
)
from jinguo_contracts.orders import OrderRatedV1, ServiceCompletedV1
from jinguo_registry.bootstrap import handlers_for
from jinguo_registry.domain.validation import make_national_id
from jinguo_registry.handlers.commands import AssessCategory, Erase, RegisterWorker
from jinguo_shared.http.conventions import encode_cursor
from jinguo_shared.testing import publish, publisher

from .test_programme_year import A1, A2, COUNTY, STREET_A, STREET_B, County, context, county
from .test_projections import snapshot

__all__ = ["county"]

BEIJING = timezone(timedelta(hours=8))


async def register(county: County, n: int) -> str:
    worker = await handlers_for(county.runtime).register_worker(
        RegisterWorker(
            name=f"李秀英{n}",
            national_id=make_national_id("430102", date(1978, 4, 1 + n), 80 + n, female=True),
            phone=f"1360000{n:04d}",
            area_code=A1,
            occurred_on=date(2026, 1, 10),
        ),
        context(f"path-register-{n}"),
    )
    county.position = worker.position
    return worker.aggregate_id


def delivered(worker_id: str, order_id: str) -> ServiceCompletedV1:
    # 00:30 in Beijing on 11 May is still 10 May in UTC: the business date is the 11th
    started = datetime(2026, 5, 10, 22, 30, tzinfo=BEIJING)
    return ServiceCompletedV1(
        order_id=order_id,
        worker_id=worker_id,
        service_code="housekeeping",
        area_code=A2,
        started_at=started,
        completed_at=started + timedelta(hours=2),
        price_tier="low_cost",
    )


async def her_story(county: County, outside: NatsClient, worker_id: str) -> list[str]:
    """Her facts, published out of business-date order by the services that record them."""
    employment = await publisher(outside, "employment")
    orders = await publisher(outside, "orders")
    positions = [
        await publish(
            employment,
            "worker",
            worker_id,
            PlacementStartedV1(
                worker_id=worker_id,
                placement_id="pl-1",
                post_id="post-1",
                employer_id="e1",
                area_code=A1,
                hours_type="full_time",
                kind="public_welfare",
                start_date=date(2026, 6, 1),
            ),
            f"placed-{worker_id}",
        ),
        await publish(orders, "order", "o-1", delivered(worker_id, "o-1"), f"o1-{worker_id}"),
        await publish(
            orders,
            "order",
            "o-1",
            OrderRatedV1(
                order_id="o-1",
                score=5,
                comment=None,
                worker_id=worker_id,
                area_code=A2,
                occurred_on=date(2026, 5, 12),
            ),
            f"o1-rated-{worker_id}",
        ),
        await publish(
            employment,
            "course",
            "c-1",
            TraineeEnrolledV1(
                course_id="c-1",
                worker_id=worker_id,
                seats_taken=1,
                gender="female",
                area_code=A1,
                occurred_on=date(2026, 3, 2),
                course_kind="vocational",
            ),
            f"enrolled-{worker_id}",
        ),
        await publish(
            employment,
            "course",
            "c-1",
            TrainingCompletedV1(
                course_id="c-1",
                worker_id=worker_id,
                passed=True,
                score=88,
                trade="家政服务",
                area_code=A1,
                gender="female",
                completed_on=date(2026, 4, 30),
            ),
            f"completed-{worker_id}",
        ),
    ]
    assessed = await handlers_for(county.runtime).assess_category(
        worker_id,
        AssessCategory(
            category="age_40_50",
            evidence="身份证核验：1978年生",
            valid_until=date(2027, 12, 31),
            occurred_on=date(2026, 2, 1),
        ),
        context(f"assessed-{worker_id}"),
    )
    return [*positions, assessed.position]


async def until_seen(county: County, positions: list[str]) -> None:
    for position in positions:
        await county.runtime.projections.wait_for(position, ["worker_path"], 15)


async def whole_path(county: County, office: str, worker_id: str, limit: int) -> list[Any]:
    lines: list[Any] = []
    cursor: str | None = None
    while True:
        params = {"limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        answer = await county[office].get(f"/workers/{worker_id}/path", **params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        lines += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return lines


async def test_her_path_shows_the_three_services_in_business_date_order(
    county: County, outside: NatsClient
) -> None:
    worker_id = await register(county, 1)
    await until_seen(county, [county.position, *await her_story(county, outside, worker_id)])
    lines = await whole_path(county, A1, worker_id, limit=2)  # paged two by two
    assert [(line["happened_on"], line["service"], line["kind"]) for line in lines] == [
        ("2026-01-10", "registry", "registered"),
        ("2026-02-01", "registry", "category_assessed"),
        ("2026-03-02", "employment", "course_enrolled"),
        ("2026-04-30", "employment", "course_completed"),
        ("2026-05-11", "orders", "service_delivered"),
        ("2026-05-12", "orders", "service_rated"),
        ("2026-06-01", "employment", "placement_started"),
    ]
    assert lines[4]["summary"] == "delivered housekeeping, 2 h"
    assert (lines[4]["area_code"], lines[4]["ref"]) == (A2, "o-1")
    # no line repeats her name, her ID number or the category's evidence
    text = str(lines)
    for personal in ("李秀英", "身份证", "430102197804"):
        assert personal not in text
    # the offices above her community see it too, in one page
    assert await whole_path(county, COUNTY, worker_id, limit=200) == lines
    assert await whole_path(county, STREET_A, worker_id, limit=50) == lines
    # read your writes across services: the position employment answered makes the read wait
    employment = await publisher(outside, "employment")
    followed = await publish(
        employment,
        "worker",
        worker_id,
        PlacementFollowedUpV1(
            worker_id=worker_id,
            placement_id="pl-1",
            month=3,
            still_employed=True,
            followed_up_on=date(2026, 9, 1),
            area_code=A1,
            start_date=date(2026, 6, 1),
        ),
        f"followed-{worker_id}",
    )
    answer = await county[A1].get(f"/workers/{worker_id}/path", after=followed)
    last = answer.json()["items"][-1]
    assert last["kind"] == "placement_followed_up"
    assert last["summary"] == "3-month follow-up: still employed"


async def test_outside_her_jurisdiction_her_path_does_not_exist(
    county: County, outside: NatsClient
) -> None:
    worker_id = await register(county, 2)
    await until_seen(county, [county.position, *await her_story(county, outside, worker_id)])
    for office in (A2, STREET_B):
        answer = await county[office].get(f"/workers/{worker_id}/path")
        assert answer.status_code == 404, office
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert (await county[A1].get("/workers/nobody/path")).status_code == 404
    for cursor in (
        "not ours",
        encode_cursor([1, 2, 3]),
        encode_cursor(["2026-01-10", "2026-01-10T00:00:00", "x"]),  # a time without its zone
        encode_cursor(["2026-01-10", "x"]),
    ):
        answer = await county[A1].get(f"/workers/{worker_id}/path", cursor=cursor)
        assert answer.status_code == 400, cursor
    answer = await county[A1].get(f"/workers/{worker_id}/path", limit="201")
    assert answer.status_code == 422


async def test_a_fact_delivered_again_stays_one_line(county: County, outside: NatsClient) -> None:
    worker_id = await register(county, 3)
    positions = await her_story(county, outside, worker_id)
    await until_seen(county, [county.position, *positions])
    before = await snapshot(county.runtime, "worker_path")
    # the same messages redelivered to the projector: skipped by their sequence
    js = county.runtime.nc.jetstream()
    orders_seq = int(positions[1].split(":")[1])
    message = await js.get_msg("ORDERS", seq=orders_seq, direct=True)

    class Redelivered:
        def __init__(self, message: Any) -> None:
            self.subject, self.data, self.headers = message.subject, message.data, None
            self.metadata = type("M", (), {"sequence": type("S", (), {"stream": message.seq})})

    await county.runtime.projections.apply_messages("ORDERS", [Redelivered(message)])  # type: ignore[list-item]
    # the same fact published again by a retry with an event id of its own: the same line
    orders = await publisher(outside, "orders")
    again = await publish(orders, "order", "o-1", delivered(worker_id, "o-1"), f"again-{worker_id}")
    await until_seen(county, [again])
    after = await snapshot(county.runtime, "worker_path")
    mine = [row for row in after["worker_path"] if row[0] == worker_id]
    assert len(mine) == 7
    assert [row[:3] for row in after["worker_path"]] == [row[:3] for row in before["worker_path"]]


async def test_her_erasure_takes_her_path(county: County, outside: NatsClient) -> None:
    worker_id = await register(county, 4)
    await until_seen(county, [county.position, *await her_story(county, outside, worker_id)])
    assert len(await whole_path(county, A1, worker_id, limit=50)) == 7
    erased = await handlers_for(county.runtime).erase_worker(
        worker_id, Erase(reason="her request"), context(f"erase-{worker_id}")
    )
    await until_seen(county, [erased.position])
    await county.runtime.projections.wait_for(erased.position, ["worker_directory"], 15)
    assert (await county[A1].get(f"/workers/{worker_id}/path")).status_code == 404
    rows = (await snapshot(county.runtime, "worker_path"))["worker_path"]
    assert [row for row in rows if row[0] == worker_id] == []
    # a fact of another service arriving after her erasure is never served
    orders = await publisher(outside, "orders")
    late = await publish(orders, "order", "o-9", delivered(worker_id, "o-9"), f"late-{worker_id}")
    await until_seen(county, [late])
    assert (await county[A1].get(f"/workers/{worker_id}/path")).status_code == 404


async def test_a_rebuild_gives_the_same_path(county: County, outside: NatsClient) -> None:
    for n in (5, 6):
        worker_id = await register(county, n)
        await until_seen(county, [county.position, *await her_story(county, outside, worker_id)])
    live = await snapshot(county.runtime, "worker_path")
    assert len(live["worker_path"]) == 14
    [rebuilt] = await county.runtime.projections.rebuild("worker_path")
    assert rebuilt.generation == 2
    assert await snapshot(county.runtime, "worker_path") == live
