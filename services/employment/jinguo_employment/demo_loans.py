"""Demo small guaranteed loans, loaded after the rest of the employment demo: the offices of one
community's path (its women's congress, its street's federation, the district federation and
a bank), an SYB class of the year before, and one loan at each stage: waiting at each step,
refused by the county, paid out and repaid on schedule, paid out and overdue.

Every request carries an ``Idempotency-Key`` made of the request itself and is dated from the
day the employment demo was first loaded, so loading twice records nothing new.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

import httpx
import orjson

from jinguo_shared.clock import ProgrammeClock
from jinguo_shared.services import DemoProgress, DemoSteps

SYB_CLASS: Final = "2025年巾帼创业SYB培训班"
BANK_NAME: Final = "中国农业银行北京东城支行"
COUNTY_FEDERATION: Final = "北京市东城区妇女联合会"
SCOPES: Final = ["employment:read", "employment:write"]
BUSINESSES: Final = (
    ("巾帼家政服务店", "家政服务", 30_000, 4, "guarantor", "李秀兰（事业单位职工）"),
    ("社区小饭桌", "餐饮", 50_000, 6, "credit_community", None),
    ("手工布艺工作室", "手工艺品", 20_000, 3, "guarantee_fund", None),
    ("母婴护理服务部", "母婴护理", 80_000, 8, "guarantor", "王桂芳（个体工商户）"),
    ("便民洗衣店", "洗染服务", 40_000, 3, "collateral", "商铺租赁合同及设备抵押"),
    ("社区果蔬店", "零售", 30_000, 2, "guarantor", "张玉梅（教师）"),
    ("养老助餐点", "餐饮", 100_000, 10, "credit_community", None),
    ("美容美发店", "美容美发", 50_000, 3, "guarantor", "刘淑珍（公务员）"),
)
STAGES: Final = (
    "applied",
    "certified",
    "filed",
    "endorsed",
    "approved",
    "refused",
    "repaid",
    "overdue",
)
"""Where each business's loan stops (in the order of BUSINESSES)."""


@dataclass
class _Offices:
    client: httpx.AsyncClient
    seed: int
    keys: dict[str, str] = field(default_factory=dict)

    async def _operator(self, path: str, body: dict[str, Any], key: str | None) -> Any:
        headers = {"Idempotency-Key": key} if key else {}
        answer = await self.client.post(path, json=body, headers=headers)
        if not answer.is_success:
            raise RuntimeError(f"demo data: POST {path} answered {answer.text}")
        return answer.json()

    async def agency(self, name: str, kind: str, area: str, known: list[dict[str, Any]]) -> str:
        found = next((a for a in known if a["name"] == name and a["area_code"] == area), None)
        if found is not None:
            return str(found["agency_id"])
        registered = await self._operator(
            "/registry/agencies",
            {"name": name, "kind": kind, "area_code": area},
            f"loans-demo-{self.seed}-agency-{area}-{kind}",
        )
        return str(registered["id"])

    async def key_for(self, office: str, agency_id: str) -> None:
        """A key of the agency's own; on a later load the client gets a new key at once."""
        clients = f"/registry/agencies/{agency_id}/clients"
        issued = await self._operator(
            clients,
            {"name": f"loans demo: {office}", "scopes": SCOPES},
            f"loans-demo-{self.seed}-client-{agency_id}",
        )
        api_key = issued["api_key"]
        if api_key is None:
            rotated = await self._operator(
                f"{clients}/{issued['client_id']}/rotation",
                {"grace_seconds": 0},
                None,
            )
            api_key = rotated["api_key"]
        self.keys[office] = api_key
        for _ in range(200):  # until the employment service has learnt the key
            known = await self.client.get(
                "/employment/loans", params={"limit": 1}, headers=self.auth(office)
            )
            if known.status_code == 200:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"demo data: the employment service did not learn {office}'s key")

    def auth(self, office: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[office]}"}

    async def post(self, office: str, path: str, body: dict[str, Any]) -> Any:
        content = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(path.encode() + b"\n" + content).hexdigest()[:32]
        answer = await self.client.post(
            f"/employment{path}",
            content=content,
            headers={
                **self.auth(office),
                "Idempotency-Key": f"loans-demo-{self.seed}-{digest}",
                "Content-Type": "application/json",
            },
        )
        if not answer.is_success:
            raise RuntimeError(
                f"demo data: POST /employment{path} answered {answer.status_code}: {answer.text}"
            )
        return answer.json()


def _borrowers(seekers: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """The community with the most women seeking work, and its first women by id."""
    women = [s for s in seekers if s.get("gender") == "female" and len(s["area_code"]) == 12]
    if not women:
        return "", []
    counts = Counter(s["area_code"] for s in women)
    community = min(counts, key=lambda code: (-counts[code], code))
    ids = sorted(s["worker_id"] for s in women if s["area_code"] == community)
    return community, ids[: len(BUSINESSES)]


async def _seekers(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    seekers: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/employment/seekers", params=params)).json()
        seekers += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return seekers


async def _first_load_day(client: httpx.AsyncClient) -> date:
    """The day the loans were first loaded (the SYB class began 420 days before), else today
    in the programme's time zone: loaded again, every request is the same as then."""
    courses = (await client.get("/employment/courses", params={"kind": "syb", "limit": 200})).json()
    first = [c for c in courses["items"] if c["title"] == SYB_CLASS]
    if first:
        return date.fromisoformat(first[0]["starts_on"]) + timedelta(days=420)
    return ProgrammeClock().today()


async def load_loans_demo(
    client: httpx.AsyncClient, progress: DemoProgress, *, seed: int = 2026
) -> str:
    """A step is the offices' keys, the SYB class, or one loan."""
    steps = DemoSteps(progress, 2 + len(BUSINESSES))
    today = await _first_load_day(client)
    community, borrowers = _borrowers(await _seekers(client))
    if len(borrowers) < len(BUSINESSES):
        steps.finish()
        return "loans demo: too few women in one community; nothing loaded"
    street, county = community[:9], community[:6]
    offices = _Offices(client, seed)
    known = (await client.get("/registry/agencies")).json()
    for office, name, kind, area in (
        ("congress", f"{community}社区妇代会", "womens_federation", community),
        ("township", f"{street}街道妇联", "womens_federation", street),
        ("county", COUNTY_FEDERATION, "womens_federation", county),
        ("bank", BANK_NAME, "bank", county),
    ):
        await offices.key_for(office, await offices.agency(name, kind, area, known))
    steps.step()

    def ago(days: int) -> str:
        return (today - timedelta(days=days)).isoformat()

    course = await offices.post(
        "county",
        "/courses",
        {
            "title": SYB_CLASS,
            "trade": "创业",
            "provider": "东城区创业指导中心",
            "area_code": county,
            "seats": 30,
            "starts_on": ago(420),
            "ends_on": ago(400),
            "subsidy_per_trainee": 0,
            "kind": "syb",
            "occurred_on": ago(430),
        },
    )
    for worker_id in borrowers:
        trainee = {"worker_id": worker_id}
        await offices.post(
            "county", f"/courses/{course['id']}/enrolments", trainee | {"occurred_on": ago(425)}
        )
        await offices.post(
            "county",
            f"/courses/{course['id']}/completions",
            trainee | {"passed": True, "score": 88, "completed_on": ago(400)},
        )
    steps.step()

    paid_out = 0
    for worker_id, business, stage in zip(borrowers, BUSINESSES, STAGES, strict=True):
        await _loan(offices, worker_id, business, stage, ago)
        paid_out += stage in ("repaid", "overdue")
        steps.step()
    steps.finish()
    return (
        f"loans demo: {len(borrowers)} loans in community {community}, one at each stage,"
        f" {paid_out} paid out (one repaid, one overdue), one refused by the county"
    )


async def _loan(
    offices: _Offices, worker_id: str, business: tuple[Any, ...], stage: str, ago: Any
) -> None:
    name, trade, amount, jobs, guarantee, guarantor = business
    paid_out = stage in ("repaid", "overdue")
    start = 380 if stage == "repaid" else 330
    term = 6 if stage == "repaid" else 24
    applied = await offices.post(
        "congress",
        "/loans",
        {
            "worker_id": worker_id,
            "amount": amount,
            "term_months": term,
            "purpose": f"开办{name}：租赁门面、购置设备、流动资金",
            "business_name": name,
            "trade": trade,
            "jobs_created": jobs,
            "guarantee": guarantee,
            **({"guarantor": guarantor} if guarantor else {}),
            "applied_on": ago(start),
        },
    )
    path = f"/loans/{applied['id']}"
    if stage == "applied":
        return
    await offices.post("congress", f"{path}/certify", {"occurred_on": ago(start - 5)})
    if stage == "certified":
        return
    await offices.post("township", f"{path}/file", {"occurred_on": ago(start - 10)})
    if stage == "filed":
        return
    if stage == "refused":
        await offices.post(
            "county",
            f"{path}/opinion",
            {
                "favourable": False,
                "reason": "同类店铺在本社区已饱和，带动就业有限，建议调整经营项目后再申请",
                "occurred_on": ago(start - 20),
            },
        )
        return
    await offices.post(
        "county", f"{path}/opinion", {"favourable": True, "occurred_on": ago(start - 20)}
    )
    if stage == "endorsed":
        return
    await offices.post(
        "bank",
        f"{path}/approve",
        {
            "amount": amount,
            "annual_rate_percent": 4.35,
            "term_months": term,
            "occurred_on": ago(start - 30),
        },
    )
    if not paid_out:
        return
    disbursed = await offices.post("bank", f"{path}/disburse", {"occurred_on": ago(start - 40)})
    loan = (
        await offices.client.get(
            f"/employment{path}",
            params={"after": disbursed["position"]},
            headers=offices.auth("bank"),
        )
    ).json()
    # repaid on schedule: every instalment on its day; overdue: the first three only
    schedule = loan["schedule"] if stage == "repaid" else loan["schedule"][:3]
    for instalment in schedule:
        await offices.post(
            "bank",
            f"{path}/repayments",
            {"amount": instalment["amount"], "paid_on": instalment["due_on"]},
        )
