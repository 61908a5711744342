"""Funds and subsidies against a real nats-server and both databases: concurrent claims of
one person, kind and month grant exactly one; concurrent approvals spend a fund to its last
yuan and never past it; another agency's conflict names that agency and the day, nothing of
her; bad input is a 422 naming the field, another area's records do not exist."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest

from jinguo_employment.bootstrap import EmploymentService, fund_handlers_for
from jinguo_employment.domain.fund import FundExhaustedError
from jinguo_employment.domain.subsidy import AlreadyClaimedError
from jinguo_employment.handlers.commands import (
    CandidateInput,
    CompleteTraining,
    EmploymentHandlers,
    FillPost,
    GrantSubsidy,
    PublishPost,
    RegisterEmployer,
    ScheduleCourse,
    WageInput,
)
from jinguo_employment.handlers.funds import (
    ApplyForSubsidy,
    ApproveSubsidy,
    FundHandlers,
    NotEligibleError,
    OpenFund,
)
from jinguo_shared.access import Jurisdiction
from jinguo_shared.clock import ProgrammeClock
from jinguo_shared.domain import InvalidCommandError
from jinguo_shared.envelope import CommandContext
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import PublishedAgency, caught_up, publish_agency, publisher

from .conftest import COMMUNITY, context, register_worker

TODAY = date(2026, 12, 1)
OTHER_STREET_COMMUNITY = "110101002001"
DISTRICT = "110101"


class FixedClock(ProgrammeClock):
    def __init__(self, today: date) -> None:
        super().__init__()
        self.day = today

    def today(self) -> date:
        return self.day


@pytest.fixture
def funds(employment: ServiceRuntime) -> FundHandlers:
    employment.clock = FixedClock(TODAY)
    return fund_handlers_for(employment)


def as_agency(command_id: str, agency_id: str, area: str) -> CommandContext:
    return dataclasses.replace(
        context(command_id), agency_id=agency_id, jurisdiction=Jurisdiction.of_area(area)
    )


async def open_fund(funds: FundHandlers, budget: int, name: str = "就业专项资金") -> str:
    result = await funds.open_fund(
        OpenFund(name=name, source="county", year=2026, area_code=DISTRICT, budget=budget),
        context(f"fund-{name}-{budget}"),
    )
    return result.aggregate_id


def assistance(fund_id: str, worker_id: str, month: str, amount: int = 200) -> ApplyForSubsidy:
    return ApplyForSubsidy(
        kind="employment_assistance",
        fund_id=fund_id,
        worker_id=worker_id,
        month=month,
        amount=amount,
        applied_on=date(2026, 11, 3),
    )


async def test_concurrent_double_claims_from_many_agencies_grant_exactly_one(
    outside: Any, employment: ServiceRuntime, funds: FundHandlers
) -> None:
    registry = await publisher(outside, "registry")
    position = await register_worker(registry, "w-claimed")
    fund_id = await open_fund(funds, 100_000)
    await caught_up(employment, position)

    outcomes = await asyncio.gather(
        *[
            funds.apply(
                assistance(fund_id, "w-claimed", "2026-10"),
                as_agency(f"claim-{n}", f"agency-{n}", DISTRICT),
            )
            for n in range(10)
        ],
        return_exceptions=True,
    )
    granted = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(granted) == 1
    assert all(isinstance(o, AlreadyClaimedError) for o in refused), refused
    applied = [e for e in await employment.store.load("subsidy", granted[0].aggregate_id)]
    assert [e.type for e in applied] == ["SubsidyApplied"]
    first_agency = applied[0].envelope.agencyid
    assert {o.extensions["claimed_by_agency"] for o in refused} == {first_agency}  # type: ignore[union-attr]

    # another month, or another kind, is another claim
    other_month = await funds.apply(
        assistance(fund_id, "w-claimed", "2026-11"), as_agency("claim-nov", "agency-0", DISTRICT)
    )
    assert other_month.events


async def test_a_fund_spent_to_its_last_yuan_by_concurrent_approvals_is_never_overspent(
    outside: Any, employment: ServiceRuntime, funds: FundHandlers
) -> None:
    registry = await publisher(outside, "registry")
    position = await register_worker(registry, "w-spent")
    fund_id = await open_fund(funds, 1_000, "彩票公益金")
    await caught_up(employment, position)
    subsidy_ids = [
        (
            await funds.apply(
                assistance(fund_id, "w-spent", f"2026-{month:02d}"), context(f"spend-{month}")
            )
        ).aggregate_id
        for month in range(1, 12)
    ]

    outcomes = await asyncio.gather(
        *[
            funds.approve(s, ApproveSubsidy(approved_on=TODAY), context(f"approve-{s}"))
            for s in subsidy_ids
        ],
        return_exceptions=True,
    )
    approved = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(approved) == 5
    assert all(isinstance(o, FundExhaustedError) for o in refused), refused
    history = await employment.store.load("fund", fund_id)
    commitments = [e.payload for e in history if e.type == "FundCommitted"]
    assert sum(c.amount for c in commitments) == 1_000  # type: ignore[attr-defined]
    assert commitments[-1].committed == 1_000  # type: ignore[attr-defined]

    await caught_up(employment, max((a.position for a in approved), key=_seq))
    statement = await fund_queries(employment).statement(fund_id)
    assert statement is not None
    assert (statement["budget"], statement["committed"], statement["balance"]) == (1_000, 1_000, 0)


def _seq(position: str) -> int:
    return int(position.rsplit(":", 1)[1])


def fund_queries(employment: ServiceRuntime) -> Any:
    from jinguo_employment.projections.funds import FundQueries

    return FundQueries(employment.engine, employment.projections)


# over HTTP, with two agencies --------------------------------------------------------------------


class Office:
    def __init__(self, http: httpx.AsyncClient, agency: PublishedAgency) -> None:
        self.http = http
        self.agency_id = agency.agency_id
        self.headers = {"Authorization": f"Bearer {agency.keys['office']}"}
        self.position = ""

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        params = {"after": self.position} if self.position else {}
        return await self.http.post(path, json=body, headers=self.headers, params=params)

    async def send(self, path: str, body: dict[str, Any]) -> str:
        answer = await self.post(path, body)
        assert answer.status_code in (200, 201), answer.text
        self.position = answer.json()["position"]
        return str(answer.json()["id"])

    async def read(self, path: str, **params: str) -> httpx.Response:
        after = {"after": self.position} if self.position else {}
        return await self.http.get(path, headers=self.headers, params={**after, **params})


@dataclasses.dataclass
class Offices:
    district: Office
    street: Office
    other_street: Office
    placements: dict[str, str]


async def published(registry: Any, name: str, area: str) -> PublishedAgency:
    return await publish_agency(
        registry,
        name=name,
        area=area,
        clients={"office": (["employment:read", "employment:write"], None)},
    )


async def public_welfare_placement(
    handlers: EmploymentHandlers, worker_id: str, area: str, n: int
) -> str:
    employer = await handlers.register_employer(
        RegisterEmployer(
            name=f"社区服务中心{n}", credit_code=f"91110101MA0765432{n}", area_code=area[:9]
        ),
        context(f"pw-employer-{n}"),
    )
    post = await handlers.publish_post(
        PublishPost(
            employer_id=employer.aggregate_id,
            title="社区保洁员",
            occupation_code="4-10-01-05",
            area_code=area,
            wage=WageInput(amount=1800, unit="month"),
            hours_type="part_time",
            openings=2,
            kind="public_welfare",
        ),
        context(f"pw-post-{n}"),
    )
    _, placement_id = await handlers.fill_post(
        post.aggregate_id,
        FillPost(worker_id=worker_id, start_date=date(2026, 3, 2)),
        context(f"pw-fill-{n}"),
    )
    return placement_id


@pytest.fixture
async def offices(
    employment: ServiceRuntime, outside: Any, handlers: EmploymentHandlers
) -> AsyncIterator[Offices]:
    employment.clock = FixedClock(TODAY)
    registry = await publisher(outside, "registry")
    district = await published(registry, "东城区妇联", DISTRICT)
    street = await published(registry, "东华门街道妇联", COMMUNITY[:9])
    other = await published(registry, "景山街道妇联", OTHER_STREET_COMMUNITY[:9])
    last = await register_worker(registry, "w-two-posts", hours=("part_time",), priority=True)
    await employment.projections.wait_for(other.position, ["api_clients"], 15)
    await caught_up(employment, last)
    placements = {
        "other_street": await public_welfare_placement(
            handlers, "w-two-posts", OTHER_STREET_COMMUNITY, 1
        ),
        "street": await public_welfare_placement(handlers, "w-two-posts", COMMUNITY, 2),
    }
    app = EmploymentService().create_app(employment)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://employment"
    ) as http:
        yield Offices(Office(http, district), Office(http, street), Office(http, other), placements)


async def test_another_agencys_claim_shows_its_agency_and_date_never_her_details(
    offices: Offices,
) -> None:
    district, street = offices.district, offices.street
    fund_id = await district.send(
        "/funds",
        {
            "name": "东城区公益性岗位补贴",
            "source": "county",
            "year": 2026,
            "area_code": DISTRICT,
            "budget": 240_000,
            "lines": [{"kind": "post", "amount": 240_000}],
        },
    )
    # 景山's office claims the post subsidy of her post in its street for May
    other = offices.other_street
    other.position = district.position
    first = await other.send(
        "/subsidies",
        {
            "kind": "post",
            "fund_id": fund_id,
            "month": "2026-05",
            "amount": 600,
            "placement_id": offices.placements["other_street"],
            "applied_on": "2026-06-03",
        },
    )
    # 东华门's office claims May again for her other public-welfare post: refused, naming
    # 景山's office and the day, but not which subsidy (it lies outside 东华门)
    street.position = other.position
    answer = await street.post(
        "/subsidies",
        {
            "kind": "post",
            "fund_id": fund_id,
            "month": "2026-05",
            "amount": 600,
            "placement_id": offices.placements["street"],
            "applied_on": "2026-06-04",
        },
    )
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert problem["type"].endswith("/already-claimed")
    assert problem["claimed_by_agency"] == other.agency_id
    assert problem["claimed_by_agency_name"] == "景山街道妇联"
    assert problem["claimed_on"] == "2026-06-03"
    assert "subsidy_id" not in problem
    assert OTHER_STREET_COMMUNITY not in answer.text
    assert first not in answer.text
    # the district sees both streets: it is told which subsidy holds the claim
    district.position = other.position
    seen = await district.post(
        "/subsidies",
        {
            "kind": "post",
            "fund_id": fund_id,
            "month": "2026-05",
            "amount": 600,
            "placement_id": offices.placements["street"],
            "applied_on": "2026-06-04",
        },
    )
    assert seen.status_code == 409
    assert seen.json()["subsidy_id"] == first
    # the subsidy of another street does not exist for 东华门, neither to read nor to approve
    assert (await street.read(f"/subsidies/{first}")).status_code == 404
    refused = await street.post(f"/subsidies/{first}/approve", {})
    assert refused.status_code == 404
    # June is another month: 东华门 claims it
    await street.send(
        "/subsidies",
        {
            "kind": "post",
            "fund_id": fund_id,
            "month": "2026-06",
            "amount": 600,
            "placement_id": offices.placements["street"],
            "applied_on": "2026-07-01",
        },
    )


async def test_subsidies_of_each_kind_through_their_lifecycle_and_the_statement(
    offices: Offices,
) -> None:
    district = offices.district
    fund_id = await district.send(
        "/funds",
        {
            "name": "2026年东城区就业专项资金",
            "source": "county",
            "year": 2026,
            "area_code": DISTRICT,
            "budget": 5_000,
        },
    )
    ids = {
        "post": await district.send(
            "/subsidies",
            {
                "kind": "post",
                "fund_id": fund_id,
                "month": "2026-04",
                "applied_on": "2026-05-04",
                "amount": 600,
                "placement_id": offices.placements["street"],
            },
        ),
        "social_insurance": await district.send(
            "/subsidies",
            {
                "kind": "social_insurance",
                "fund_id": fund_id,
                "month": "2026-04",
                "applied_on": "2026-05-04",
                "amount": 450,
                "worker_id": "w-two-posts",
            },
        ),
        "employment_assistance": await district.send(
            "/subsidies",
            {
                "kind": "employment_assistance",
                "fund_id": fund_id,
                "month": "2026-04",
                "applied_on": "2026-05-04",
                "amount": 300,
                "worker_id": "w-two-posts",
            },
        ),
    }
    for kind, subsidy_id in ids.items():
        await district.send(f"/subsidies/{subsidy_id}/approve", {"approved_on": "2026-05-06"})
        if kind != "employment_assistance":
            await district.send(
                f"/subsidies/{subsidy_id}/payment",
                {"payment_reference": f"国库支付-{kind}", "paid_on": "2026-05-20"},
            )
    await district.send(
        f"/subsidies/{ids['post']}/reconciliation",
        {"statement_reference": "2026年5月对账单", "reconciled_on": "2026-06-02"},
    )
    post = (await district.read(f"/subsidies/{ids['post']}")).json()
    assert post["status"] == "reconciled"
    assert post["payee"] == "employer"
    assert post["payee_id"] is not None
    assert (post["applied_on"], post["approved_on"], post["paid_on"], post["reconciled_on"]) == (
        "2026-05-04",
        "2026-05-06",
        "2026-05-20",
        "2026-06-02",
    )

    statement = (await district.read(f"/funds/{fund_id}/statement")).json()
    assert (statement["budget"], statement["committed"], statement["paid"]) == (5_000, 1_350, 1_050)
    assert (statement["reconciled"], statement["balance"]) == (600, 3_650)
    by_kind = {k["kind"]: k for k in statement["kinds"]}
    assert by_kind["employment_assistance"]["committed"] == 300
    assert by_kind["employment_assistance"]["paid"] == 0
    assert {(row["area_code"], row["kind"]) for row in statement["areas"]} == {
        (COMMUNITY, "post"),
        (COMMUNITY, "social_insurance"),
        (COMMUNITY, "employment_assistance"),
    }
    # a street office does not see the district's fund
    hidden = await offices.street.read(f"/funds/{fund_id}/statement")
    assert hidden.status_code == 404

    year = (await district.read(f"/reports/areas/{DISTRICT}/years/2026")).json()
    assert year["totals"]["subsidies_approved:post"] == 1
    assert year["totals"]["subsidy_yuan_approved:social_insurance"] == 450
    assert year["totals"]["subsidy_yuan_paid:post"] == 600
    assert "3 subsidies approved against funds (1350 yuan" in year["summary"]


async def test_a_rejected_claim_is_free_again_and_money_is_not_committed(
    offices: Offices,
) -> None:
    district = offices.district
    fund_id = await district.send(
        "/funds",
        {
            "name": "社保补贴资金",
            "source": "provincial",
            "year": 2026,
            "area_code": DISTRICT,
            "budget": 1_000,
        },
    )
    body = {
        "kind": "social_insurance",
        "fund_id": fund_id,
        "month": "2026-07",
        "amount": 450,
        "worker_id": "w-two-posts",
    }
    first = await district.send("/subsidies", body)
    await district.send(f"/subsidies/{first}/reject", {"reason": "未提供缴费凭证"})
    again = await district.send("/subsidies", body)
    assert again != first
    paid_before_approval = await district.post(
        f"/subsidies/{again}/payment", {"payment_reference": "x"}
    )
    assert paid_before_approval.status_code == 409
    assert paid_before_approval.json()["type"].endswith("/subsidy-status")
    statement = (await district.read(f"/funds/{fund_id}/statement")).json()
    assert statement["committed"] == 0
    listed = (await district.read("/subsidies", fund_id=fund_id)).json()
    assert [s["status"] for s in listed["items"]] == ["rejected", "applied"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "post", "month": "2026-05", "amount": 600}, "placement_id"),
        ({"kind": "social_insurance", "worker_id": "w", "month": "2026-13", "amount": 1}, "month"),
        (
            {"kind": "employment_assistance", "worker_id": "w", "month": "2026-05", "amount": 0},
            "amount",
        ),
        (
            {
                "kind": "employment_assistance",
                "worker_id": "w",
                "month": "2026-05",
                "amount": 5,
                "applied_on": "2026-12-02",
            },
            "applied_on",
        ),
        ({"kind": "bonus", "worker_id": "w", "month": "2026-05", "amount": 5}, "kind"),
    ],
)
async def test_bad_subsidy_input_is_a_422_naming_the_field(
    offices: Offices, body: dict[str, Any], field: str
) -> None:
    answer = await offices.district.post("/subsidies", {"fund_id": "f", **body})
    assert answer.status_code == 422, answer.text
    assert field in answer.text


async def test_bad_fund_input_and_ineligible_claims_are_refused(offices: Offices) -> None:
    district = offices.district
    lines_too_big = await district.post(
        "/funds",
        {
            "name": "x",
            "source": "county",
            "year": 2026,
            "area_code": DISTRICT,
            "budget": 100,
            "lines": [{"kind": "post", "amount": 101}],
        },
    )
    assert lines_too_big.status_code == 422
    assert "lines" in lines_too_big.text
    negative = await district.post(
        "/funds",
        {"name": "x", "source": "county", "year": 2026, "area_code": DISTRICT, "budget": -1},
    )
    assert negative.status_code == 422
    fund_id = await district.send(
        "/funds",
        {"name": "就业援助", "source": "city", "year": 2026, "area_code": DISTRICT, "budget": 900},
    )
    last_year = await district.post(
        "/subsidies",
        {
            "kind": "employment_assistance",
            "fund_id": fund_id,
            "month": "2025-12",
            "amount": 300,
            "worker_id": "w-two-posts",
        },
    )
    assert last_year.status_code == 422
    assert last_year.json()["field"] == "month"
    cut = await district.post(f"/funds/{fund_id}/budget", {"budget": 100, "reason": "调减"})
    assert cut.status_code == 200
    # an area outside the fund's, and a fund another office cannot see
    outsider = await offices.street.post(
        "/funds",
        {"name": "x", "source": "county", "year": 2026, "area_code": "110102", "budget": 1},
    )
    assert outsider.status_code == 403
    assert (
        await offices.street.post(f"/funds/{fund_id}/budget", {"budget": 5, "reason": "x"})
    ).status_code == 404


async def test_a_training_subsidy_from_a_fund_is_granted_on_its_course_once(
    outside: Any, employment: ServiceRuntime, funds: FundHandlers, handlers: EmploymentHandlers
) -> None:
    registry = await publisher(outside, "registry")
    for worker in ("w-trained", "w-granted-before"):
        position = await register_worker(registry, worker)
    fund_id = await open_fund(funds, 10_000, "职业培训补贴资金")
    course = await handlers.schedule_course(
        ScheduleCourse(
            title="家政服务员培训班",
            trade="家政服务",
            occupation_code="4-10-01-06",
            provider="东城区职业技能培训学校",
            area_code=DISTRICT,
            seats=10,
            starts_on=date(2026, 9, 1),
            ends_on=date(2026, 9, 30),
            subsidy_per_trainee=1_200,
        ),
        context("course-funded"),
    )
    await caught_up(employment, position)
    course_id = course.aggregate_id
    for worker in ("w-trained", "w-granted-before"):
        await handlers.enrol(
            course_id,
            CandidateInput(worker_id=worker, occurred_on=date(2026, 8, 28)),
            context(f"enrol-{worker}"),
        )
        await handlers.complete(
            course_id,
            CompleteTraining(
                worker_id=worker, passed=True, score=88, completed_on=date(2026, 9, 30)
            ),
            context(f"complete-{worker}"),
        )
    await handlers.grant_subsidy(
        course_id,
        GrantSubsidy(worker_id="w-granted-before", granted_on=date(2026, 10, 8)),
        context("old-grant"),
    )

    def training(worker: str, on: date) -> ApplyForSubsidy:
        return ApplyForSubsidy(
            kind="training",
            fund_id=fund_id,
            worker_id=worker,
            course_id=course_id,
            payee="school",
            applied_on=on,
        )

    with pytest.raises(InvalidCommandError):
        await funds.apply(training("w-trained", date(2026, 9, 29)), context("too-early"))
    with pytest.raises(NotEligibleError):
        await funds.apply(training("w-granted-before", date(2026, 10, 9)), context("twice"))
    applied = await funds.apply(training("w-trained", date(2026, 10, 9)), context("training"))
    assert applied.events[0].amount == 1_200  # type: ignore[attr-defined]
    assert applied.events[0].month == "2026-09"  # type: ignore[attr-defined]
    assert applied.events[0].payee_id == "东城区职业技能培训学校"  # type: ignore[attr-defined]
    with pytest.raises(AlreadyClaimedError):
        await funds.apply(training("w-trained", date(2026, 10, 10)), context("again"))
    await funds.approve(
        applied.aggregate_id, ApproveSubsidy(approved_on=date(2026, 10, 12)), context("ok")
    )
    granted = [
        e.payload
        for e in await employment.store.load("course", course_id)
        if e.type == "TrainingSubsidyGranted"
    ]
    assert [(g.worker_id, g.amount) for g in granted] == [  # type: ignore[attr-defined]
        ("w-granted-before", 1_200),
        ("w-trained", 1_200),
    ]
