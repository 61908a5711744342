"""A realistic demo data set for 北京市东城区, loaded through the registry's own HTTP API.

Deterministic: everything comes from ``random.Random`` streams seeded with ``seed`` and from a
fixed reference day, never from the clock. Idempotent: every POST carries
``Idempotency-Key: demo-<seed>-<n>``, so loading the same seed twice changes nothing; a worker or
resident already registered under the same national ID (answered 409) is taken as it is.

The names, IDs and phone numbers are made up; the area codes and street and community names are
those of 东城区, for a data set that reads like the real thing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

import httpx

from jinguo_registry.domain.validation import MAX_SEQUENCE, make_national_id
from jinguo_shared.services import DemoProgress, DemoSteps

REFERENCE_DAY: Final = date(2026, 11, 1)
"""Every date in the data set is counted from this day, so the data set never changes."""

# --- where: one district, its streets (街道) and communities (社区) ---------------------------

DISTRICT: Final = "110101"
DISTRICT_NAME: Final = "北京市东城区"
STREETS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "110101001": ("东华门街道", ("多福巷社区", "银闸社区", "东厂社区", "智德社区")),
    "110101002": ("景山街道", ("隆福寺社区", "吉祥社区", "黄化门社区")),
    "110101003": ("交道口街道", ("交东社区", "福祥社区", "大兴社区", "府学社区", "菊儿社区")),
    "110101004": ("安定门街道", ("国子监社区", "分司厅社区", "五道营社区", "钟楼湾社区")),
    "110101005": ("北新桥街道", ("九道湾社区", "北官厅社区", "民安社区", "海运仓社区")),
}
DISTRICT_AGENCIES: Final = (
    ("北京市东城区妇女联合会", "womens_federation"),
    ("北京市东城区人力资源和社会保障局", "labour_office"),
    ("北京市东城区民政局", "civil_affairs"),
    ("北京市东城区法律援助中心", "legal_aid"),
)

# --- who: names, birthplaces, phone numbers ------------------------------------------------

SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡杜"
)
WOMEN_GIVEN: Final = (
    *("秀英", "桂英", "秀兰", "玉兰", "桂兰", "淑珍", "凤英", "玉梅", "丽华", "红梅", "淑华"),
    *("玉珍", "美玲", "春梅", "海燕", "丽娟", "雪梅", "晓红", "爱华", "素芬", "慧敏", "红霞"),
    *("彩霞", "艳玲", "春燕", "晓燕", "丽萍", "秀云", "金凤", "月琴", "建英", "淑芬", "桂芳"),
    *("芳", "静", "敏", "丽", "燕", "娟", "霞", "萍"),
)
MEN_GIVEN: Final = (
    *("建国", "建军", "志强", "国庆", "卫东", "立新", "永刚", "海涛", "振华", "德明", "宝山"),
    *("伟", "强", "军", "勇", "斌"),
)
BEIJING_BIRTHPLACES: Final = ("110101", "110101", "110101", "110101", "110102", "110105")
"""Where a local (北京户口) person's ID was issued: mostly 东城, some 西城 and 朝阳."""
MIGRANT_BIRTHPLACES: Final = (
    *("130102", "130203", "410102", "410303", "370102", "340102"),
    *("420102", "510104", "230102", "140105", "210102", "360102"),
)
"""Where a migrant (流动人口) worker's ID was issued: 河北, 河南, 山东, 安徽, 湖北, 四川 …"""
MOBILE_PREFIXES: Final = (
    *("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152"),
    *("155", "156", "158", "159", "176", "177", "180", "182", "185", "186", "187", "188"),
    *("189", "198", "199"),
)

# --- workers: skills, trades, hard-to-employ categories, certificates ----------------------

OCCUPATIONS: Final = {
    "4-10-01-05": ("养老护理员", "养老护理"),
    "4-10-01-06": ("家政服务员", "家政服务"),
    "4-10-01-02": ("育婴员", "育婴"),
    "4-03-02-01": ("中式烹调师", "中式烹调"),
}
"""GB/T 6565-2015 code -> (occupation, the skill a worker names for it)."""
OTHER_SKILLS: Final = ("保洁", "收银", "缝纫", "手工编织", "月嫂", "小时工", "病患陪护", "面点")
HOURS_TYPES: Final = ("full_time", "part_time", "hourly", "seasonal", "temporary")
HOURS_WEIGHTS: Final = (30, 35, 25, 5, 5)
CATEGORIES: Final = {
    "minimum_living_allowance": 30,
    "long_term_unemployed": 35,
    "zero_employment_household": 20,
    "disabled": 15,
}
"""The categories other than age_40_50, with how often each is assessed."""
DISABILITIES: Final = ("肢体残疾四级", "肢体残疾三级", "听力残疾四级", "视力残疾四级")
HOME_VISIT_NOTES: Final = (
    "家中有老人需要照顾，希望就近从事非全日制工作",
    "孩子上初中，白天有空，希望做小时工",
    "丈夫下岗，家庭收入低，已介绍参加养老护理员培训",
    "身体状况良好，有家政服务经验，推荐公益性岗位",
    "住房困难，已转介街道民政科",
    "已参加育婴员培训，等待鉴定结果",
    "对再就业有顾虑，已讲解再就业优惠政策",
)
EMPLOYERS: Final = (
    *("东城区巾帼家政服务中心", "北京市东城区东华门物业管理有限公司", "东四社区养老驿站"),
    *("北京金牌家政有限公司", "东城区和平里社区卫生服务中心", "北新桥街道公益性岗位（保洁）"),
    *("交道口街道公益性岗位（巡防）", "北京康乐居家养老服务有限公司"),
)

# --- residents, providers, volunteers -------------------------------------------------------

ELIGIBILITY: Final[tuple[tuple[str, str, int], ...]] = (
    ("free", "minimum_living_allowance", 35),
    ("free", "extreme_poverty", 15),
    ("free", "entitled_group", 15),
    ("low_cost", "elderly_living_alone", 35),
)
"""(price tier, reason, weight) for the ~25% of residents who get free or low-cost services."""
PROVIDERS: Final[tuple[tuple[str, tuple[str, ...], bool], ...]] = (
    ("东城区巾帼家政服务中心", ("housekeeping", "cleaning", "elderly_care"), True),
    ("北京市东城区妇字号保洁服务社", ("cleaning", "housekeeping"), True),
    ("康乐居家养老服务站", ("elderly_care", "meal_delivery", "patient_escort"), False),
    ("阳光月嫂之家", ("maternity_nurse", "infant_care"), True),
    ("邻里小饭桌", ("meal_delivery",), True),
    ("安心陪护服务社", ("patient_escort", "elderly_care"), True),
    ("巧手维修服务部", ("repairs",), False),
    ("童乐接送服务队", ("child_pickup",), True),
    ("北京金牌家政有限公司", ("housekeeping", "cleaning", "infant_care"), False),
    ("夕阳红养老照料中心", ("elderly_care", "meal_delivery"), False),
    ("巾帼助老助餐服务社", ("meal_delivery", "elderly_care"), True),
    ("和美社区服务社", ("housekeeping", "repairs", "child_pickup"), True),
)
"""(name, services, women-led 妇字号). Graded 1-5 under GB/T 31772."""
PROVIDER_ASSESSORS: Final = ("北京市家政服务协会", "东城区商务局")
VOLUNTEER_SKILLS: Final = (
    *("陪伴聊天", "助餐送餐", "代购代办", "陪同就医", "法律咨询", "心理疏导"),
    *("理发", "家电维修", "健康讲座", "儿童课业辅导"),
)
VOLUNTEER_TEAMS: Final = ("巾帼志愿服务队", "邻里守望志愿队", "银发互助队", None)
VOLUNTEERS: Final = 40

CREDIT_CODE_CHARS: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters of a unified social credit code (GB 32100): no I, O, S, V, Z."""
ORG_CODE_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
"""Weights of the organisation code's check character (GB 11714)."""


KEYS_PER_BLOCK: Final = 1_000_000
"""Each kind of data numbers its POSTs in its own block (agencies ``demo-<seed>-1`` …, workers
``demo-<seed>-1000001`` …, residents ``demo-<seed>-2000001`` …) and draws from its own random
stream: loading more or fewer workers leaves the keys and the data of every other kind as they
were, and the first workers as they were too."""


@dataclass(frozen=True)
class RegistryDemo:
    """The ids the demo created (or found already there), and its communities."""

    agency_ids: list[str]
    worker_ids: list[str]
    resident_ids: list[str]
    provider_ids: list[str]
    volunteer_ids: list[str]
    area_codes: list[str]
    household_ids: list[str]


class _Registry:
    """Posts to the registry API, one Idempotency-Key per POST, counted in order from the
    first key of its block."""

    def __init__(self, client: httpx.AsyncClient, seed: int, block: int) -> None:
        self._client = client
        self._seed = seed
        self._count = block * KEYS_PER_BLOCK
        self._position: str | None = None

    async def post(
        self, path: str, body: dict[str, Any], *, existing_ok: bool = False
    ) -> dict[str, Any]:
        """The answer's JSON body. With ``existing_ok``, a 409 that names the ``existing_id``
        answers ``{"id": existing_id}``."""
        self._count += 1
        response = await self._client.post(
            f"/registry{path}",
            json=body,
            headers={"Idempotency-Key": f"demo-{self._seed}-{self._count}"},
        )
        if response.is_success:
            body = _json_object(response, path) if response.content else {}
            if isinstance(body.get("position"), str):
                self._position = body["position"]
            return body
        if existing_ok and response.status_code == httpx.codes.CONFLICT:
            existing = _json_object(response, path).get("existing_id")
            if isinstance(existing, str) and existing:
                return {"id": existing}
        raise RuntimeError(
            f"demo data: POST /registry{path} answered {response.status_code}: {response.text}"
        )

    async def lookup(self, national_id: str) -> dict[str, Any]:
        """Her person, by national ID: a read (no key), waiting for the writes made so far."""
        response = await self._client.post(
            "/registry/persons/lookup",
            json={"national_id": national_id},
            params={"after": self._position} if self._position else None,
        )
        if not response.is_success:
            raise RuntimeError(
                f"demo data: person look-up answered {response.status_code}: {response.text}"
            )
        return _json_object(response, "/persons/lookup")

    async def create(self, path: str, body: dict[str, Any], *, existing_ok: bool = False) -> str:
        """The id of what the POST created (or found, with ``existing_ok``)."""
        created = (await self.post(path, body, existing_ok=existing_ok)).get("id")
        if not isinstance(created, str) or not created:
            raise RuntimeError(f"demo data: POST /registry{path} answered no id")
        return created


def _json_object(response: httpx.Response, path: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise RuntimeError(
            f"demo data: POST /registry{path} answered {response.status_code} without a JSON"
            f" object: {response.text}"
        )
    return body


class _People:
    """Names, birth dates, national IDs and phone numbers, all from the one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._issued: set[str] = set()

    def name(self, female: bool) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice(WOMEN_GIVEN if female else MEN_GIVEN)

    def phone(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def born(self, age: int) -> date:
        """A birth date that makes the person exactly ``age`` on the reference day."""
        latest = REFERENCE_DAY.replace(year=REFERENCE_DAY.year - age)
        earliest = latest.replace(year=latest.year - 1) + timedelta(days=1)
        return earliest + timedelta(days=self.rng.randrange((latest - earliest).days + 1))

    def national_id(self, area6: str, born: date, n: int, female: bool) -> str:
        """A valid number, different from every one issued before in this load."""
        for attempt in range(MAX_SEQUENCE):
            number = make_national_id(area6, born, (n + attempt) % MAX_SEQUENCE, female)
            if number not in self._issued:
                self._issued.add(number)
                return number
        raise RuntimeError(f"demo data: no national ID left for {area6} {born}")


def _communities() -> list[str]:
    return [
        f"{street}{number:03d}"
        for street, (_, names) in STREETS.items()
        for number in range(1, len(names) + 1)
    ]


def _community_name(code: str) -> str:
    _, names = STREETS[code[:9]]
    return names[int(code[9:]) - 1]


def _credit_code(rng: random.Random, kind: str) -> str:
    """A unified social credit code (GB 32100) with valid check characters: ``kind`` is the
    registering authority and type (``91`` an enterprise, ``92`` a sole trader, ``52`` a
    private non-enterprise unit), then the area, a GB 11714 organisation code and a check."""
    body = "MA0" + "".join(rng.choice(CREDIT_CODE_CHARS) for _ in range(5))
    values = [int(char, 36) for char in body]  # GB 11714: 0-9 as they are, A=10 … Z=35
    organisation_check = 11 - sum(v * w for v, w in zip(values, ORG_CODE_WEIGHTS, strict=True)) % 11
    organisation = body + {10: "X", 11: "0"}.get(organisation_check, str(organisation_check))
    first17 = kind + DISTRICT + organisation
    total = sum(CREDIT_CODE_CHARS.index(char) * pow(3, i, 31) for i, char in enumerate(first17))
    return first17 + CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def _days_before(rng: random.Random, least: int, most: int) -> str:
    return (REFERENCE_DAY - timedelta(days=rng.randint(least, most))).isoformat()


def _days_after(rng: random.Random, least: int, most: int) -> str:
    return (REFERENCE_DAY + timedelta(days=rng.randint(least, most))).isoformat()


# --- one function per kind ------------------------------------------------------------------


async def _agencies(registry: _Registry) -> list[str]:
    ids = [
        await registry.create("/agencies", {"name": name, "kind": kind, "area_code": DISTRICT})
        for name, kind in DISTRICT_AGENCIES
    ]
    for street, (street_name, _) in STREETS.items():
        body = {"name": f"{street_name}办事处", "kind": "street_office", "area_code": street}
        ids.append(await registry.create("/agencies", body))
    return ids


async def _worker(
    registry: _Registry, people: _People, seed: int, n: int, communities: list[str]
) -> str:
    rng = people.rng
    female = rng.random() < 0.9
    age = rng.randint(35, 55) if female else rng.randint(40, 58)
    born = people.born(age)
    migrant = rng.random() < 0.15
    birthplace = rng.choice(MIGRANT_BIRTHPLACES if migrant else BEIJING_BIRTHPLACES)
    trades = rng.sample(sorted(OCCUPATIONS), rng.randint(1, 2))
    skills = [OCCUPATIONS[code][1] for code in trades]
    skills += rng.sample(OTHER_SKILLS, rng.randint(0, 2))
    hours = rng.sample(HOURS_TYPES, rng.randint(1, 2), counts=HOURS_WEIGHTS)
    worker_id = await registry.create(
        "/workers",
        {
            "name": people.name(female),
            "national_id": people.national_id(birthplace, born, n, female),
            "phone": people.phone(),
            "area_code": rng.choice(communities),
            "hukou": "migrant" if migrant else "local",
            "skills": skills,
            "desired_work": {"occupation_codes": trades, "hours_types": sorted(set(hours))},
            # registered through the year, as offices enter them (not drawn from `rng`, so the
            # rest of the demo stays as it was)
            "occurred_on": _registered_on(n).isoformat(),
        },
        existing_ok=True,
    )
    assessed = rng.random() < 0.4
    if assessed:
        await _assess(registry, rng, worker_id, female=female, age=age)
    if rng.random() < 0.3:
        await _certify(registry, rng, worker_id, seed, n, trades, preference=assessed)
    if rng.random() < 0.15:
        await _visit(registry, rng, worker_id, communities)
    if rng.random() < 0.08:
        await _reemploy(registry, rng, worker_id, seed, n)
    return worker_id


def _registered_on(n: int) -> date:
    return date(2026, 1, 5) + timedelta(days=n * 37 % 290)


async def _assess(
    registry: _Registry, rng: random.Random, worker_id: str, *, female: bool, age: int
) -> None:
    """One hard-to-employ category (就业困难人员认定), with its evidence."""
    if female and 40 <= age <= 50:
        category = "age_40_50"
        evidence = f"户口簿、居民身份证核验：女，现年{age}周岁（4050人员）"
    else:
        category = rng.choices(list(CATEGORIES), weights=list(CATEGORIES.values()))[0]
        evidence = _evidence(rng, category)
    await registry.post(
        f"/workers/{worker_id}/categories",
        {"category": category, "evidence": evidence, "valid_until": _days_after(rng, 730, 1095)},
    )


def _evidence(rng: random.Random, category: str) -> str:
    if category == "minimum_living_allowance":
        return f"最低生活保障金领取证 东民低字第{rng.randint(1000, 9999)}号"
    if category == "long_term_unemployed":
        return f"就业失业登记证明：连续失业{rng.randint(12, 30)}个月"
    if category == "disabled":
        return f"残疾人证（{rng.choice(DISABILITIES)}），区残联核验"
    return "零就业家庭认定表（社区居委会入户核实，街道审核）"


async def _certify(
    registry: _Registry,
    rng: random.Random,
    worker_id: str,
    seed: int,
    n: int,
    trades: list[str],
    *,
    preference: bool,
) -> None:
    """就业创业证 for every certified worker; 再就业优惠证 for some of the hard to employ; a
    vocational certificate (职业技能等级证书) for half of them."""
    issued = REFERENCE_DAY - timedelta(days=rng.randint(30, 700))
    await registry.post(
        f"/workers/{worker_id}/certificates",
        {
            "kind": "employment_unemployment",
            "number": f"JY{DISTRICT}-{seed}-{n:05d}",
            "issued_on": issued.isoformat(),
            "valid_until": None,
            "occupation_code": None,
            "level": None,
        },
    )
    if preference and rng.random() < 0.6:
        await registry.post(
            f"/workers/{worker_id}/certificates",
            {
                "kind": "reemployment_preference",
                "number": f"ZY{DISTRICT}-{seed}-{n:05d}",
                "issued_on": issued.isoformat(),
                "valid_until": (issued + timedelta(days=3 * 365)).isoformat(),
                "occupation_code": None,
                "level": None,
            },
        )
    if rng.random() < 0.5:
        await registry.post(
            f"/workers/{worker_id}/certificates",
            {
                "kind": "vocational",
                "number": f"ZS{DISTRICT}-{seed}-{n:05d}",
                "issued_on": _days_before(rng, 10, 400),
                "valid_until": None,
                "occupation_code": rng.choice(trades),
                "level": rng.choice((5, 5, 4, 4, 3)),
            },
        )


async def _visit(
    registry: _Registry, rng: random.Random, worker_id: str, communities: list[str]
) -> None:
    """A home visit (入户走访) by the community's women's federation chair."""
    community = _community_name(rng.choice(communities))
    await registry.post(
        f"/workers/{worker_id}/home-visits",
        {
            "visited_on": _days_before(rng, 1, 120),
            "visitor": f"{community}妇联主席{rng.choice(SURNAMES)}{rng.choice(WOMEN_GIVEN)}",
            "notes": rng.choice(HOME_VISIT_NOTES),
        },
    )


async def _reemploy(
    registry: _Registry, rng: random.Random, worker_id: str, seed: int, n: int
) -> None:
    """A placement through the programme, on a day after she registered."""
    post_id = f"demo-post-{seed}-{rng.randint(1, 40):03d}"
    employer = rng.choice(EMPLOYERS)
    started_on = max(date.fromisoformat(_days_before(rng, 10, 240)), _registered_on(n))
    await registry.post(
        f"/workers/{worker_id}/spells",
        {
            "kind": "placement",
            "post_id": post_id,
            "placement_id": f"demo-placement-{seed}-{n:05d}",
            "employer_name": employer,
            "started_on": started_on.isoformat(),
        },
    )


SPELL_STORIES: Final = 5
"""The first workers, whose paths show every kind of spell."""


async def _spells(registry: _Registry, worker_ids: list[str], seed: int) -> None:
    """Her path as it really happens, once per kind: a job she found herself that ended
    (失业再登记) and flexible work after it, a breakfast stall and a company of her own, a
    placement, and a woman who lost her job and draws unemployment benefit (领失业金). The
    first workers registered earliest, so every date lies after her registration."""

    async def start(n: int, body: dict[str, Any]) -> str:
        started = await registry.post(f"/workers/{worker_ids[n]}/spells", body)
        spell_id = started.get("spell_id")
        if not isinstance(spell_id, str):
            raise RuntimeError("demo data: a spell started without its spell_id")
        return spell_id

    async def end(n: int, spell_id: str, ended_on: date, reason: str) -> None:
        await registry.post(
            f"/workers/{worker_ids[n]}/spells/{spell_id}/end",
            {"ended_on": ended_on.isoformat(), "reason": reason},
        )

    shop = await start(
        0, {"kind": "found_herself", "employer_name": "交道口超市", "started_on": "2026-03-02"}
    )
    await end(0, shop, date(2026, 8, 31), "合同期满未续签")
    await start(
        0,
        {
            "kind": "flexible",
            "employer_name": "社区保洁钟点工",
            "hours_type": "hourly",
            "started_on": "2026-09-21",
        },
    )
    business = {"name": "秀英早点铺", "trade": "餐饮", "jobs_created": 1}
    await start(1, {"kind": "self_employed", "business": business, "started_on": "2026-04-01"})
    company = {
        "name": "东城区巾帼巧手家政服务有限公司",
        "licence_no": "91110101MA01JG2026",
        "trade": "家政",
        "jobs_created": 6,
    }
    await start(2, {"kind": "business", "business": company, "started_on": "2026-05-18"})
    laid_off = await start(
        3, {"kind": "found_herself", "employer_name": "东四服装厂", "started_on": "2026-05-11"}
    )
    await end(3, laid_off, date(2026, 9, 30), "企业裁员")
    await registry.post(
        f"/workers/{worker_ids[3]}/unemployment-benefit",
        {"from_on": "2026-10-01", "until": "2027-09-30", "monthly_yuan": 1850},
    )
    await start(
        4,
        {
            "kind": "placement",
            "post_id": f"demo-post-{seed}-story",
            "placement_id": f"demo-placement-{seed}-story",
            "employer_name": EMPLOYERS[2],
            "hours_type": "full_time",
            "started_on": "2026-07-01",
        },
    )


TAX_RELIEF: Final = {
    "months": 18,
    "taxes": [
        "business_tax_or_vat",
        "urban_maintenance_construction_tax",
        "education_surcharge",
        "local_education_surcharge",
        "personal_income_tax",
    ],
    "business_name": "东城区秀兰家政服务部",
    "licence_no": "92110101MA01XL0Q3N",
    "tax_office": "国家税务总局北京市东城区税务局",
}
"""A laid-off woman's own business and its 明白卡: "减免一年半税收" (seed 004)."""


async def _certificate_rules(registry: _Registry) -> list[str]:
    """Three women who show the certificate rules: a 4050 woman who qualifies for both
    certificates and holds none (应发未发), one whose 再就业优惠证 was renewed at its review (年审),
    and one with a 明白卡 for her business, whose old 再就业优惠证 has lapsed and is due for
    review."""
    women = [
        ("周桂英", date(1981, 3, 8), "110101001002"),
        ("郑淑华", date(1978, 9, 21), "110101003004"),
        ("何秀兰", date(1979, 6, 2), "110101005003"),
    ]
    ids = [
        await registry.create(
            "/workers",
            {
                "name": name,
                "national_id": make_national_id("110101", born, 491 + n, female=True),
                "phone": f"1391010{n:04d}",
                "area_code": community,
                "skills": ["家政服务"],
                "occurred_on": "2026-02-16",
            },
            existing_ok=True,
        )
        for n, (name, born, community) in enumerate(women)
    ]
    unlisted, reviewed, business = ids
    for worker_id in (unlisted, reviewed):
        await registry.post(
            f"/workers/{worker_id}/categories",
            {
                "category": "age_40_50",
                "evidence": "户口簿、居民身份证核验：女，40周岁以上（4050人员）",
                "valid_until": "2028-12-31",
                "occurred_on": "2026-02-16",
            },
        )
    for worker_id, number, valid_until in (
        (reviewed, "ZY110101-2024-0417", "2026-10-31"),
        (business, "ZY110101-2024-0418", "2026-10-15"),
    ):
        await registry.post(
            f"/workers/{worker_id}/certificates",
            {
                "kind": "reemployment_preference",
                "number": number,
                "issued_on": "2024-11-01",
                "valid_until": valid_until,
            },
        )
    await registry.post(
        f"/workers/{reviewed}/certificates/ZY110101-2024-0417/review",
        {
            "reviewed_on": REFERENCE_DAY.isoformat(),
            "outcome": "renewed",
            "valid_until": "2027-10-31",
        },
    )
    await registry.post(
        f"/workers/{business}/certificates",
        {
            "kind": "tax_relief",
            "number": "MBK110101-2026-0143",
            "issued_on": "2026-04-08",
            "valid_until": "2027-10-07",
            "relief": TAX_RELIEF,
        },
    )
    return ids


async def _resident(registry: _Registry, people: _People, n: int, communities: list[str]) -> str:
    rng = people.rng
    female = rng.random() < 0.6
    age = rng.randint(60, 92) if rng.random() < 0.6 else rng.randint(28, 59)
    born = people.born(age)
    community = rng.choice(communities)
    resident_id = await registry.create(
        "/residents",
        {
            "name": people.name(female),
            "national_id": people.national_id(rng.choice(BEIJING_BIRTHPLACES), born, n, female),
            "phone": people.phone(),
            "area_code": community,
            "address": _address(rng, community),
        },
        existing_ok=True,
    )
    if rng.random() < 0.25:
        await _eligibility(registry, rng, resident_id, age)
    return resident_id


def _address(rng: random.Random, community: str) -> str:
    lane = _community_name(community).removesuffix("社区")
    building, unit = rng.randint(1, 6), rng.randint(1, 4)
    room = f"{rng.randint(1, 6)}0{rng.randint(1, 4)}"
    return f"{DISTRICT_NAME}{lane}{rng.randint(1, 60)}号院{building}号楼{unit}单元{room}"


async def _eligibility(registry: _Registry, rng: random.Random, resident_id: str, age: int) -> None:
    """Free (低保, 特困, 优抚) or low-cost (孤老, only for those over 70) services."""
    choices = [row for row in ELIGIBILITY if age >= 70 or row[1] != "elderly_living_alone"]
    tier, reason, _ = rng.choices(choices, weights=[row[2] for row in choices])[0]
    permanent = reason == "entitled_group"
    await registry.post(
        f"/residents/{resident_id}/eligibility",
        {
            "price_tier": tier,
            "reason": reason,
            "valid_until": None if permanent else _days_after(rng, 730, 1095),
        },
    )


async def _provider(
    registry: _Registry,
    rng: random.Random,
    provider: tuple[str, tuple[str, ...], bool],
    communities: list[str],
) -> str:
    name, services, women_led = provider
    kind = rng.choice(("52", "92")) if women_led and rng.random() < 0.4 else "91"
    provider_id = await registry.create(
        "/providers",
        {
            "name": name,
            "credit_code": _credit_code(rng, kind),
            "area_code": rng.choice(communities)[:9],
            "services": list(services),
            "women_led": women_led,
        },
    )
    await registry.post(
        f"/providers/{provider_id}/grade",
        {
            "grade": rng.choices((1, 2, 3, 4, 5), weights=(1, 3, 5, 4, 2))[0],
            "graded_on": _days_before(rng, 30, 400),
            "assessor": rng.choice(PROVIDER_ASSESSORS),
        },
    )
    return provider_id


async def _volunteer(registry: _Registry, people: _People, communities: list[str]) -> str:
    rng = people.rng
    return await registry.create(
        "/volunteers",
        {
            "name": people.name(rng.random() < 0.7),
            "phone": people.phone(),
            "area_code": rng.choice(communities),
            "skills": rng.sample(VOLUNTEER_SKILLS, rng.randint(1, 3)),
            "team": rng.choice(VOLUNTEER_TEAMS),
        },
    )


# --- households: two zero-employment households (零就业家庭), one cleared (清零) ----------------

Member = tuple[str, int, bool, str, str]
"""(relation, age, female, roles: "worker", "resident" or "both", 低保 as a resident: "低保"/"")"""
HOUSEHOLDS: Final[tuple[tuple[str, str | None, tuple[Member, ...]], ...]] = (
    # recognised in March; the wife found a place through the programme in June: cleared
    (
        "2026-03-10",
        "2026-06-01",
        (
            ("head", 50, False, "worker", ""),
            ("spouse", 46, True, "both", "低保"),
            ("parent", 76, True, "resident", ""),
        ),
    ),
    # recognised in April, still waiting: a mother on 低保 and her grown son
    (
        "2026-04-15",
        None,
        (("head", 48, True, "both", "低保"), ("child", 22, False, "resident", "")),
    ),
)


async def _household(
    registry: _Registry,
    people: _People,
    n: int,
    household: tuple[str, str | None, tuple[Member, ...]],
    community: str,
) -> str:
    """A household of people registered in their roles (one woman as worker and resident),
    recognised as a zero-employment household; the first is cleared by the re-employment of
    its first woman registered as a worker."""
    recognised_on, reemployed_on, members = household
    address = _address(people.rng, community)
    household_id = await registry.create(
        "/households", {"area_code": community, "address": address, "occurred_on": "2026-01-05"}
    )
    woman_worker = None
    for m, (relation, age, female, roles, allowance) in enumerate(members):
        number = people.national_id("110101", people.born(age), 400 + 10 * n + m, female)
        person = {"name": people.name(female), "national_id": number, "phone": people.phone()}
        registered = {**person, "area_code": community, "occurred_on": "2026-01-05"}
        if roles in ("worker", "both"):
            worker = await registry.post("/workers", registered, existing_ok=True)
            woman_worker = woman_worker or (worker["id"] if female else None)
        if roles in ("resident", "both"):
            resident_id = await registry.create(
                "/residents", {**registered, "address": address}, existing_ok=True
            )
            if allowance:
                await registry.post(
                    f"/residents/{resident_id}/eligibility",
                    {"price_tier": "free", "reason": "minimum_living_allowance"},
                )
        found = await registry.lookup(number)
        await registry.post(
            f"/households/{household_id}/members",
            {"person_id": found["person_id"], "relation": relation, "occurred_on": "2026-01-05"},
            existing_ok=True,
        )
    await registry.post(
        f"/households/{household_id}/zero-employment", {"recognised_on": recognised_on}
    )
    if reemployed_on is not None and woman_worker is not None:
        await registry.post(
            f"/workers/{woman_worker}/reemployment",
            {
                "post_id": f"demo-post-household-{n}",
                "placement_id": f"demo-placement-household-{n}",
                "employer_name": EMPLOYERS[n % len(EMPLOYERS)],
                "started_on": reemployed_on,
            },
        )
    return household_id


async def load_registry_demo(
    client: httpx.AsyncClient,
    progress: DemoProgress,
    *,
    seed: int = 2026,
    workers: int = 300,
    residents: int = 200,
) -> RegistryDemo:
    """Load the demo data set through ``client`` (its base URL and Authorization header set);
    a step is the agencies, or one person or provider.

    Raises ``RuntimeError`` with the answer's body if the API refuses anything.
    """
    steps = DemoSteps(
        progress, 1 + workers + residents + len(PROVIDERS) + VOLUNTEERS + len(HOUSEHOLDS)
    )
    communities = _communities()
    agency_ids = await _agencies(_Registry(client, seed, 0))
    steps.step()

    registry, people = _Registry(client, seed, 1), _People(random.Random(seed))
    worker_ids = []
    for n in range(workers):
        worker_ids.append(await _worker(registry, people, seed, n, communities))
        steps.step()

    if len(worker_ids) >= SPELL_STORIES:
        await _spells(_Registry(client, seed, 5), worker_ids, seed)

    worker_ids += await _certificate_rules(_Registry(client, seed, 6))

    registry, people = _Registry(client, seed, 2), _People(random.Random(f"{seed}:residents"))
    resident_ids = []
    for n in range(residents):
        resident_ids.append(await _resident(registry, people, n, communities))
        steps.step()

    registry, rng = _Registry(client, seed, 3), random.Random(f"{seed}:providers")
    provider_ids = []
    for provider in PROVIDERS:
        provider_ids.append(await _provider(registry, rng, provider, communities))
        steps.step()

    registry, people = _Registry(client, seed, 4), _People(random.Random(f"{seed}:volunteers"))
    volunteer_ids = []
    for _ in range(VOLUNTEERS):
        volunteer_ids.append(await _volunteer(registry, people, communities))
        steps.step()

    registry, people = _Registry(client, seed, 7), _People(random.Random(f"{seed}:households"))
    household_ids = []
    for n, household in enumerate(HOUSEHOLDS):
        household_ids.append(await _household(registry, people, n, household, communities[n]))
        steps.step()

    return RegistryDemo(
        agency_ids=agency_ids,
        worker_ids=worker_ids,
        resident_ids=resident_ids,
        provider_ids=provider_ids,
        volunteer_ids=volunteer_ids,
        area_codes=communities,
        household_ids=household_ids,
    )
