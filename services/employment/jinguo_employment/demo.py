"""Demo data for the employment service, loaded through its own HTTP API after the registry's.

Employers, courses (enrolled, completed, certified, subsidised), posts, recommendations,
placements, follow-ups and an ended placement, funds and subsidies of each kind at every step
(applied, approved, paid, reconciled, rejected), for the workers the registry demo registered
(taken from the job-seeker pool, which learns them from the registry's events). Every POST
carries an ``Idempotency-Key`` made of the seed and the request itself, so loading twice changes
nothing: the same request is the same command, and a post already worked on (what a post's
matches are depends on what was done before) is left as it is. Course and placement dates are
counted from today, because enrolment and follow-ups follow the calendar; on a later day what
was done already is refused and skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from datetime import date, timedelta
from typing import Any, Final

import httpx
import orjson

from jinguo_shared.clock import ProgrammeClock
from jinguo_shared.services import DemoProgress, DemoSteps

EMPLOYERS: Final = (
    ("东城区巾帼家政服务中心", "110101001"),
    ("北京市东城区东华门物业管理有限公司", "110101001"),
    ("东四社区养老驿站", "110101002"),
    ("北京金牌家政有限公司", "110101003"),
    ("东城区和平里社区卫生服务中心", "110101004"),
    ("北新桥街道社区服务中心", "110101005"),
    ("交道口街道社区服务中心", "110101003"),
    ("北京康乐居家养老服务有限公司", "110101004"),
)
COURSES: Final = (
    ("养老护理员（五级）培训班", "养老护理", "4-10-01-05", "vocational", 1500),
    ("家政服务员培训班", "家政服务", "4-10-01-06", "vocational", 1200),
    ("SYB 创业培训班", "创业", None, "syb", 1000),
)
"""SYB trains for no occupation: its graduates bring a business plan, not a certificate."""
BUSINESS_PLANS: Final = (
    ("社区家政服务店", "居民服务业", 3, 50_000),
    ("社区早餐店", "餐饮业", 2, 30_000),
    ("手工编织工作室", "手工业", 4, 20_000),
)
POSTS: Final = (
    ("社区养老护理员", "4-10-01-05", "full_time", "public_welfare", 3800, "month"),
    ("居家养老护理员", "4-10-01-05", "part_time", "market", 35, "hour"),
    ("家政服务员", "4-10-01-06", "hourly", "market", 40, "hour"),
    ("社区保洁（公益性岗位）", "4-10-01-06", "full_time", "public_welfare", 3500, "month"),
    ("育婴员", "4-10-01-02", "full_time", "market", 6000, "month"),
    ("社区食堂厨师", "4-03-02-01", "full_time", "market", 5200, "month"),
    ("小饭桌帮厨", "4-03-02-01", "part_time", "market", 30, "hour"),
    ("病患陪护", "4-10-01-05", "temporary", "market", 260, "day"),
    ("社区巡防（公益性岗位）", "4-10-01-06", "full_time", "public_welfare", 3600, "month"),
    ("月嫂", "4-10-01-02", "seasonal", "market", 12000, "month"),
)
FUNDED_COURSE: Final = 1
"""The course whose training subsidies are paid from a fund, applied for and approved; the
others' are granted on the course itself, as before funds existed."""
TRAINEES_PER_COURSE: Final = 12
COURSE_BEGAN_DAYS_AGO: Final = 45
CREDIT_CHARS: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"


class _Api:
    def __init__(self, client: httpx.AsyncClient, seed: int) -> None:
        self._client = client
        self._seed = seed
        self.refused = 0

    async def post(self, path: str, body: dict[str, Any], *, refusable: bool = False) -> Any:
        content = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(path.encode() + b"\n" + content).hexdigest()[:32]
        answer = await self._client.post(
            f"/employment{path}",
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
            f"demo data: POST /employment{path} answered {answer.status_code}: {answer.text}"
        )

    async def get(self, path: str, **params: Any) -> Any:
        answer = await self._client.get(f"/employment{path}", params=params)
        answer.raise_for_status()
        return answer.json()


async def _seekers(api: _Api, wanted: int) -> list[dict[str, Any]]:
    """The pool as the registry demo left it; waits (bounded) for the pool to catch up."""
    seekers: list[dict[str, Any]] = []
    for _ in range(150):
        seekers, cursor = [], None
        while True:
            page = await api.get("/seekers", limit=200, **({"cursor": cursor} if cursor else {}))
            seekers += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        if len(seekers) >= wanted:
            break
        await asyncio.sleep(0.2)
    return seekers


async def _first_load_day(api: _Api) -> date:
    """The day the demo was first loaded (its first course began 45 days before it), else
    today in the programme's time zone: loaded again, every request is the same as then."""
    courses = (await api.get("/courses", limit=200))["items"]
    first = [c for c in courses if c["title"] == COURSES[0][0]]
    if first:
        return date.fromisoformat(first[0]["starts_on"]) + timedelta(days=COURSE_BEGAN_DAYS_AGO)
    return ProgrammeClock().today()


async def load_employment_demo(
    client: httpx.AsyncClient,
    progress: DemoProgress,
    *,
    seed: int = 2026,
    expected_workers: int = 300,
) -> str:
    """A step is the job seekers found, an employer, a trainee, a post, or the follow-ups."""
    rng = random.Random(f"{seed}:employment")
    api = _Api(client, seed)
    steps = DemoSteps(
        progress, 2 + len(EMPLOYERS) + len(COURSES) * TRAINEES_PER_COURSE + len(POSTS)
    )
    today = await _first_load_day(api)
    seekers = await _seekers(api, expected_workers)
    if not seekers:
        steps.finish()
        return "employment demo: no job seekers in the pool yet; nothing loaded"
    steps.step()

    employer_ids = []
    for n, (name, street) in enumerate(EMPLOYERS):
        code = (
            "91" + street[:6] + "MA0" + "".join(rng.choice(CREDIT_CHARS) for _ in range(6)) + f"{n}"
        )
        answer = await api.post(
            "/employers", {"name": name, "credit_code": code, "area_code": street}
        )
        employer_ids.append(answer["id"])
        steps.step()

    trainees = 0
    passed_total = 0
    trained_by_fund: list[tuple[str, str]] = []
    for title, trade, occupation, kind, subsidy in COURSES:
        course = await api.post(
            "/courses",
            {
                "title": title,
                "trade": trade,
                **({"occupation_code": occupation} if occupation else {}),
                "provider": "东城区职业技能培训学校",
                "area_code": "110101",
                "seats": 30,
                "starts_on": (today - timedelta(days=COURSE_BEGAN_DAYS_AGO)).isoformat(),
                "ends_on": (today + timedelta(days=3)).isoformat(),
                "subsidy_per_trainee": subsidy,
                "kind": kind,
            },
        )
        for seeker in rng.sample(seekers, TRAINEES_PER_COURSE):
            worker = {"worker_id": seeker["worker_id"]}
            await api.post(f"/courses/{course['id']}/enrolments", worker)
            passed = rng.random() < 0.92
            completion: dict[str, Any] = {
                **worker,
                "passed": passed,
                "score": rng.randint(75, 98) if passed else rng.randint(40, 59),
                "completed_on": today.isoformat(),
            }
            if kind == "syb" and passed:
                business, industry, jobs, capital = rng.choice(BUSINESS_PLANS)
                completion["business_plan"] = {
                    "business": business,
                    "trade": industry,
                    "jobs_planned": jobs,
                    "capital_yuan": capital,
                }
            await api.post(f"/courses/{course['id']}/completions", completion)
            trainees += 1
            if passed:
                passed_total += 1
                if kind == "vocational":
                    await api.post(
                        f"/courses/{course['id']}/certificates",
                        {**worker, "level": rng.choice((5, 5, 4)), "awarded_on": today.isoformat()},
                    )
                if (
                    len(trained_by_fund) < TRAINEES_PER_COURSE
                    and title == COURSES[FUNDED_COURSE][0]
                ):
                    trained_by_fund.append((course["id"], seeker["worker_id"]))
                else:
                    await api.post(
                        f"/courses/{course['id']}/subsidies",
                        {**worker, "granted_on": today.isoformat()},
                    )
            steps.step()

    posts = 0
    last = ""
    for n, (title, occupation, hours, kind, amount, unit) in enumerate(POSTS):
        post = await api.post(
            "/posts",
            {
                "employer_id": employer_ids[n % len(employer_ids)],
                "title": title,
                "occupation_code": occupation,
                "area_code": rng.choice(seekers)["area_code"],
                "wage": {"amount": amount, "unit": unit},
                "hours_type": hours,
                "openings": rng.randint(1, 3),
                "requirements": {"skills": [], "vocational_certificate": False},
                "kind": kind,
            },
        )
        posts += 1
        steps.step()
        last = post["position"]
        started = today - timedelta(days=rng.randint(100, 230))
        shown = await api.get(f"/posts/{post['id']}", after=post["position"])
        if shown["candidates"] or shown["openings_left"] < shown["openings"]:
            continue  # worked on by an earlier load: its matches are others now
        matches = (await api.get(f"/posts/{post['id']}/matches", limit=3))["items"]
        for match in matches[:2]:
            await api.post(
                f"/posts/{post['id']}/recommendations",
                {"worker_id": match["worker_id"]},
                refusable=True,
            )
        if matches:
            placed = await api.post(
                f"/posts/{post['id']}/fill",
                {"worker_id": matches[0]["worker_id"], "start_date": started.isoformat()},
                refusable=True,
            )
            last = placed["position"] if placed else last

    listed = await api.get("/placements", limit=200, **({"after": last} if last else {}))
    placements = [p["placement_id"] for p in listed["items"]]
    followed = 0
    for placement_id in placements:
        placement = await api.get(f"/placements/{placement_id}")
        start = date.fromisoformat(placement["start_date"])
        for month, due in ((3, placement["due_3"]), (6, placement["due_6"])):
            if date.fromisoformat(due) <= today:
                still = rng.random() < 0.9
                answer = await api.post(
                    f"/placements/{placement_id}/follow-ups",
                    {"month": month, "still_employed": still, "followed_up_on": due},
                    refusable=True,
                )
                followed += answer is not None
                if not still:
                    await api.post(
                        f"/placements/{placement_id}/end",
                        {
                            "reason": "resigned",
                            "ended_on": (start + timedelta(days=80)).isoformat(),
                        },
                        refusable=True,
                    )
                    break
    subsidies = await _funds_and_subsidies(api, today, seekers, placements, trained_by_fund)
    steps.finish()
    return (
        f"employment demo: {len(employer_ids)} employers, {len(COURSES)} courses with"
        f" {trainees} trainees ({passed_total} passed), {posts} posts, {len(placements)}"
        f" placements, {followed} follow-ups, {subsidies}"
    )


def _age(birth_date: str, on: date) -> int:
    born = date.fromisoformat(birth_date)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


async def _funds_and_subsidies(
    api: _Api,
    today: date,
    seekers: list[dict[str, Any]],
    placements: list[str],
    trained_by_fund: list[tuple[str, str]],
) -> str:
    """Two funds of this year, and subsidies of each kind for this month taken through their
    steps: most approved and paid, some reconciled, one rejected. A claim the rules refuse (a
    worker who is not hard to employ, a placement ended) is skipped."""
    month = f"{today.year:04d}-{today.month:02d}"
    on = today.isoformat()
    special = await api.post(
        "/funds",
        {
            "name": f"{today.year}年东城区就业专项资金",
            "source": "county",
            "year": today.year,
            "area_code": "110101",
            "budget": 400_000,
            "lines": [{"kind": "post", "amount": 240_000}],
            "occurred_on": date(today.year, 1, 1).isoformat(),
        },
    )
    lottery = await api.post(
        "/funds",
        {
            "name": f"{today.year}年彩票公益金妇女就业援助项目",
            "source": "lottery",
            "year": today.year,
            "area_code": "110101",
            "budget": 30_000,
            "occurred_on": date(today.year, 1, 1).isoformat(),
        },
    )
    claims: list[dict[str, Any]] = []
    for placement_id in placements:
        placement = await api.get(f"/placements/{placement_id}")
        if placement["kind"] != "public_welfare" or placement["worker_id"] is None:
            continue
        claims.append(
            {
                "kind": "post",
                "fund_id": special["id"],
                "month": month,
                "amount": 600,
                "placement_id": placement_id,
                "applied_on": on,
            }
        )
        claims.append(
            {
                "kind": "social_insurance",
                "fund_id": special["id"],
                "month": month,
                "amount": 480,
                "worker_id": placement["worker_id"],
                "applied_on": on,
            }
        )
    fifties = [
        s
        for s in seekers
        if _age(s["birth_date"], today) >= (40 if s["gender"] == "female" else 50)
    ]
    for seeker in fifties[:6]:
        claims.append(
            {
                "kind": "employment_assistance",
                "fund_id": lottery["id"],
                "month": month,
                "amount": 300,
                "worker_id": seeker["worker_id"],
                "applied_on": on,
            }
        )
    for course_id, worker_id in trained_by_fund:
        claims.append(
            {
                "kind": "training",
                "fund_id": special["id"],
                "course_id": course_id,
                "worker_id": worker_id,
                "payee": "school",
                "applied_on": on,
            }
        )
    counts = dict.fromkeys(("applied", "approved", "paid", "reconciled", "rejected"), 0)
    for n, claim in enumerate(claims):
        applied = await api.post("/subsidies", claim, refusable=True)
        if applied is None:
            continue
        counts["applied"] += 1
        subsidy = f"/subsidies/{applied['id']}"
        if n % 7 == 3:
            if await api.post(
                f"{subsidy}/reject",
                {"reason": "材料不全，退回补正", "rejected_on": on},
                refusable=True,
            ):
                counts["rejected"] += 1
            continue
        if n % 5 == 4 or not await api.post(
            f"{subsidy}/approve", {"approved_on": on}, refusable=True
        ):
            continue
        counts["approved"] += 1
        if n % 3 == 2:
            continue
        await api.post(
            f"{subsidy}/payment", {"payment_reference": f"国库集中支付-{n:04d}", "paid_on": on}
        )
        counts["paid"] += 1
        if n % 2 == 0:
            await api.post(
                f"{subsidy}/reconciliation",
                {"statement_reference": f"{month} 银行对账单", "reconciled_on": on},
            )
            counts["reconciled"] += 1
    return "2 funds, subsidies " + ", ".join(f"{k} {v}" for k, v in counts.items())
