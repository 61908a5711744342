"""A realistic demo data set for 东城区, loaded through the registry's own HTTP API.

Deterministic (seeded) and idempotent: every POST carries an Idempotency-Key, so loading twice
changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from jinguo_registry.domain.validation import make_national_id

DISTRICT = "110101"
STREETS: dict[str, tuple[str, list[str]]] = {
    "110101001": ("东华门街道", ["多福巷社区", "银闸社区", "韶九社区", "智德社区"]),
    "110101002": ("景山街道", ["隆福寺社区", "吉祥社区", "黄化门社区"]),
    "110101003": ("交道口街道", ["福祥社区", "大兴社区", "府学社区", "鼓楼苑社区"]),
    "110101004": ("安定门街道", ["交东社区", "分司厅社区", "国子监社区"]),
    "110101005": ("北新桥街道", ["九道湾社区", "北官厅社区", "民安社区", "青龙社区"]),
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = [
    "秀英",
    "桂英",
    "秀兰",
    "玉兰",
    "桂兰",
    "淑珍",
    "凤英",
    "玉梅",
    "丽华",
    "红梅",
    "建华",
    "淑华",
    "玉珍",
    "美玲",
    "春梅",
    "海燕",
    "丽娟",
    "雪梅",
    "晓红",
    "爱华",
    "素芬",
    "慧敏",
]
SKILLS = ["家政", "保洁", "养老护理", "育婴", "中式烹调", "手工编织", "缝纫", "收银", "月嫂"]
OCCUPATIONS = ["4-10-01-05", "4-10-01-06", "4-03-02-01", "4-10-01-03"]
CATEGORY_EVIDENCE = {
    "age_40_50": "户口簿及身份证核验",
    "minimum_living_allowance": "最低生活保障金领取证",
    "zero_employment_household": "零就业家庭认定表",
    "disabled": "残疾人证",
    "long_term_unemployed": "失业登记满一年证明",
}
PROVIDERS = [
    "巾帼家政服务中心",
    "东城区妇字号保洁社",
    "康乐居家养老服务站",
    "阳光月嫂之家",
    "邻里小饭桌",
    "安心陪护服务社",
    "巧手维修服务部",
    "童乐接送服务队",
    "金牌家政有限公司",
    "夕阳红养老照料中心",
    "爱心育婴服务中心",
    "和美社区服务社",
]
AGENCIES = [
    ("东城区妇女联合会", "womens_federation", DISTRICT),
    ("东城区人力资源和社会保障局", "labour_office", DISTRICT),
    ("东城区民政局", "civil_affairs", DISTRICT),
    ("东城区法律援助中心", "legal_aid", DISTRICT),
]
REFERENCE_DAY = date(2026, 11, 1)


@dataclass(frozen=True)
class RegistryDemo:
    agency_ids: list[str] = field(default_factory=list)
    worker_ids: list[str] = field(default_factory=list)
    resident_ids: list[str] = field(default_factory=list)
    provider_ids: list[str] = field(default_factory=list)
    volunteer_ids: list[str] = field(default_factory=list)
    area_codes: list[str] = field(default_factory=list)


class _Loader:
    def __init__(self, client: httpx.AsyncClient, seed: int) -> None:
        self.client = client
        self.seed = seed
        self.counter = 0

    async def post(self, path: str, body: dict[str, Any]) -> str:
        self.counter += 1
        answer = await self.client.post(
            f"/registry{path}",
            json=body,
            headers={"Idempotency-Key": f"demo-{self.seed}-{self.counter}"},
        )
        if answer.status_code == 409 and "existing_id" in answer.json():
            return str(answer.json()["existing_id"])
        if answer.status_code >= 300:
            raise RuntimeError(f"demo: POST {path} answered {answer.status_code}: {answer.text}")
        return str(answer.json()["id"])


def _communities() -> list[str]:
    return [
        f"{street}{n:03d}"
        for street, (_, names) in STREETS.items()
        for n in range(1, len(names) + 1)
    ]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"


async def load_registry_demo(
    client: httpx.AsyncClient, *, seed: int = 2026, workers: int = 300, residents: int = 200
) -> RegistryDemo:
    rng = random.Random(seed)
    loader = _Loader(client, seed)
    communities = _communities()
    demo = RegistryDemo(area_codes=communities)
    for name, kind, area in AGENCIES:
        demo.agency_ids.append(
            await loader.post("/agencies", {"name": name, "kind": kind, "area_code": area})
        )
    for street, (street_name, _) in STREETS.items():
        demo.agency_ids.append(
            await loader.post(
                "/agencies",
                {"name": f"{street_name}办事处", "kind": "street_office", "area_code": street},
            )
        )
    for n in range(workers):
        demo.worker_ids.append(await _worker(loader, rng, n, communities))
    for n in range(residents):
        demo.resident_ids.append(await _resident(loader, rng, n, communities))
    for n, name in enumerate(PROVIDERS):
        demo.provider_ids.append(await _provider(loader, rng, n, name, communities))
    for _ in range(40):
        demo.volunteer_ids.append(
            await loader.post(
                "/volunteers",
                {
                    "name": _name(rng),
                    "phone": _phone(rng),
                    "area_code": rng.choice(communities),
                    "skills": rng.sample(SKILLS, 2),
                    "team": rng.choice([None, "巾帼志愿服务队"]),
                },
            )
        )
    return demo


async def _worker(loader: _Loader, rng: random.Random, n: int, communities: list[str]) -> str:
    age = rng.randint(35, 55)
    born = date(REFERENCE_DAY.year - age, rng.randint(1, 12), rng.randint(1, 28))
    female = rng.random() < 0.92
    worker_id = await loader.post(
        "/workers",
        {
            "name": _name(rng),
            "national_id": make_national_id(DISTRICT, born, n % 100, female),
            "phone": _phone(rng),
            "area_code": rng.choice(communities),
            "hukou": "migrant" if rng.random() < 0.15 else "local",
            "skills": rng.sample(SKILLS, rng.randint(1, 3)),
            "desired_work": {
                "occupation_codes": rng.sample(OCCUPATIONS, 1),
                "hours_types": rng.sample(["full_time", "part_time", "hourly"], 1),
            },
        },
    )
    if rng.random() < 0.4:
        category = (
            "age_40_50" if 40 <= age <= 50 and female else rng.choice(list(CATEGORY_EVIDENCE)[1:])
        )
        await loader.post(
            f"/workers/{worker_id}/categories",
            {
                "category": category,
                "evidence": CATEGORY_EVIDENCE[category],
                "valid_until": (REFERENCE_DAY + timedelta(days=rng.randint(200, 900))).isoformat(),
            },
        )
    if rng.random() < 0.3:
        vocational = rng.random() < 0.5
        await loader.post(
            f"/workers/{worker_id}/certificates",
            {
                "kind": "vocational"
                if vocational
                else rng.choice(["employment_unemployment", "reemployment_preference"]),
                "number": f"DC{2026}{n:05d}",
                "issued_on": (REFERENCE_DAY - timedelta(days=rng.randint(10, 300))).isoformat(),
                "occupation_code": rng.choice(OCCUPATIONS) if vocational else None,
                "level": rng.randint(3, 5) if vocational else None,
            },
        )
    if rng.random() < 0.2:
        await loader.post(
            f"/workers/{worker_id}/home-visits",
            {
                "visited_on": (REFERENCE_DAY - timedelta(days=rng.randint(1, 60))).isoformat(),
                "visitor": "社区妇联主席",
                "notes": "家中老人需照顾，希望就近从事非全日制工作",
            },
        )
    if rng.random() < 0.1:
        await loader.post(
            f"/workers/{worker_id}/reemployment",
            {
                "post_id": f"demo-post-{n}",
                "placement_id": f"demo-placement-{n}",
                "employer_name": rng.choice(PROVIDERS),
                "started_on": (REFERENCE_DAY - timedelta(days=rng.randint(1, 200))).isoformat(),
            },
        )
    return worker_id


async def _resident(loader: _Loader, rng: random.Random, n: int, communities: list[str]) -> str:
    born = date(rng.randint(1935, 1990), rng.randint(1, 12), rng.randint(1, 28))
    community = rng.choice(communities)
    resident_id = await loader.post(
        "/residents",
        {
            "name": _name(rng),
            "national_id": make_national_id(DISTRICT, born, n % 100, rng.random() < 0.6),
            "phone": _phone(rng),
            "area_code": community,
            "address": f"{STREETS[community[:9]][0]}{rng.randint(1, 99)}号院"
            f"{rng.randint(1, 8)}单元",
        },
    )
    if rng.random() < 0.25:
        tier, reason = rng.choice(
            [
                ("free", "minimum_living_allowance"),
                ("free", "extreme_poverty"),
                ("free", "entitled_group"),
                ("low_cost", "elderly_living_alone"),
            ]
        )
        await loader.post(
            f"/residents/{resident_id}/eligibility",
            {
                "price_tier": tier,
                "reason": reason,
                "valid_until": (REFERENCE_DAY + timedelta(days=365)).isoformat(),
            },
        )
    return resident_id


async def _provider(
    loader: _Loader, rng: random.Random, n: int, name: str, communities: list[str]
) -> str:
    provider_id = await loader.post(
        "/providers",
        {
            "name": name,
            "credit_code": f"91110101MA{n:08d}",
            "area_code": rng.choice(communities)[:9],
            "services": rng.sample(
                [
                    "housekeeping",
                    "cleaning",
                    "elderly_care",
                    "meal_delivery",
                    "child_pickup",
                    "repairs",
                    "patient_escort",
                ],
                3,
            ),
            "women_led": rng.random() < 0.7,
        },
    )
    await loader.post(
        f"/providers/{provider_id}/grade",
        {
            "grade": rng.randint(2, 5),
            "graded_on": (REFERENCE_DAY - timedelta(days=rng.randint(30, 300))).isoformat(),
            "assessor": "东城区商务局",
        },
    )
    return provider_id
