"""The demo's programme year, loaded once every service has entered its data: the district's
register of areas with their population, a station per community, the 2026 plans (one returned
and submitted again), the first half-year closed up three levels and accepted by the city, a
community's third quarter returned with a reason, and a late correction revised into a closed
report. Each office acts with a key of its own, as offices do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import httpx

from jinguo_registry.demo import DISTRICT, DISTRICT_AGENCIES, STREETS
from jinguo_shared.services import DemoProgress, DemoSteps

CITY: Final = "110100"
AREAS: Final = (("110000", "北京市"), (CITY, "北京市市辖区"), (DISTRICT, "东城区"))
CITY_AGENCY: Final = "北京市妇女联合会"
OFFICE_SCOPES: Final = ["registry:read", "registry:write"]
COMMUNITY_TARGETS: Final = {
    "women_reemployed": 3,
    "women_registered": 10,
    "home_visits": 4,
    "tax_relief_cards": 2,
    "trainees": 5,
    "job_information_items": 4,
    "volunteer_rate": 10,
}
ACTIVITIES: Final = (
    {
        "kind": "caring_visit",
        "title": "春节走访慰问困难单亲母亲家庭",
        "held_on": "2026-02-10",
        "area_code": "110101001",
        "participants": 8,
        "households_visited": 35,
        "aid_yuan": 17500,
        "aid_in_kind": "米、油、棉被",
    },
    {
        "kind": "job_fair",
        "title": "春风行动巾帼专场招聘会",
        "held_on": "2026-03-06",
        "area_code": DISTRICT,
        "participants": 420,
        "referrals": 37,
        "results": "38家用人单位，提供岗位260个",
    },
    {
        "kind": "publicity",
        "title": "三八维权周法律宣传",
        "held_on": "2026-03-08",
        "area_code": DISTRICT,
        "participants": 600,
        "results": "发放《妇女权益保障法》宣传册1200份",
    },
    {
        "kind": "guidance_meeting",
        "title": "下岗失业妇女就业指导会",
        "held_on": "2026-09-15",
        "area_code": "110101003",
        "participants": 56,
        "referrals": 9,
    },
)
RETURNED_PLAN: Final = "110101002001"
RETURNED_REPORT: Final = "110101003002"
REVISED: Final = "110101001001"
CLOSED_HALF: Final = "2026H1"


class DemoRefused(RuntimeError):
    pass


@dataclass
class Office:
    area: str
    client: httpx.AsyncClient

    async def send(
        self, method: str, path: str, body: Any = None, *, done: int = 200, **params: str
    ) -> dict[str, Any]:
        """The answer's body; a 409 that says the step was done already counts as done."""
        given = {name: value for name, value in params.items() if value}
        answer = await self.client.request(method, f"/registry{path}", json=body, params=given)
        if answer.status_code in (200, 201):
            result: dict[str, Any] = answer.json()
            return result
        detail = answer.text
        if answer.status_code == 409 and any(
            word in detail for word in ("already", "is submitted", "is accepted", "is approved")
        ):
            return {}
        raise DemoRefused(
            f"demo data: {method} /registry{path} answered {answer.status_code}: {detail}"
        )


def _communities() -> list[tuple[str, str, str]]:
    return [
        (street, f"{street}{n:03d}", name)
        for street, (_, names) in STREETS.items()
        for n, name in enumerate(names, start=1)
    ]


def _population(index: int) -> dict[str, int]:
    households = 1800 + (index * 373) % 1900
    residents = households * 26 // 10
    return {"households": households, "residents": residents, "women": residents * 51 // 100}


def _summed(parts: list[dict[str, int]]) -> dict[str, int]:
    return {key: sum(part[key] for part in parts) for key in ("households", "residents", "women")}


async def register_demo_areas(client: httpx.AsyncClient) -> None:
    """The register comes first: once it holds an area, every service refuses codes it lacks."""
    operator = Office("", client)
    communities = _communities()
    for code, name in AREAS:
        await operator.send("POST", "/areas", {"area_code": code, "name": name})
    community_population = {code: _population(i) for i, (_, code, _) in enumerate(communities)}
    street_population = {}
    for street, (street_name, _) in STREETS.items():
        await operator.send("POST", "/areas", {"area_code": street, "name": street_name})
        street_population[street] = _summed(
            [p for code, p in community_population.items() if code.startswith(street)]
        )
    for _, code, name in communities:
        await operator.send("POST", "/areas", {"area_code": code, "name": name})
    populations = {
        **community_population,
        **street_population,
        DISTRICT: _summed(list(street_population.values())),
    }
    for code, counts in populations.items():
        await operator.send("PUT", f"/areas/{code}/population/2026", counts)


async def load_programme_demo(client: httpx.AsyncClient, progress: DemoProgress) -> str:
    operator = Office("", client)
    communities = _communities()
    steps = DemoSteps(progress, 7)
    done = await client.get(f"/registry/period-reports/{REVISED}/{CLOSED_HALF}")
    if done.status_code == 200 and done.json()["revision"] >= 1:
        steps.finish()
        return _summary(len(communities))

    offices = await _offices(operator, communities)
    try:
        await _year(offices, communities, steps)
    finally:
        for office in offices.values():
            await office.client.aclose()
    return _summary(len(communities))


async def _year(
    offices: dict[str, Office], communities: list[tuple[str, str, str]], steps: DemoSteps
) -> None:
    for _, code, name in communities:
        station = {"area_code": code, "kind": "womens_home", "name": f"{name}妇女之家"}
        await offices[code].send("POST", "/stations", station)
    steps.step()

    await _plans(offices, communities)
    steps.step()
    await _activities(offices)  # held in the year, entered before its first half closes
    steps.step()
    position = await _close_first_half(offices, communities)
    steps.step()
    community = offices[RETURNED_REPORT]
    await community.send("POST", f"/period-reports/{RETURNED_REPORT}/2026Q3", after=position)
    street = offices[RETURNED_REPORT[:9]]
    await street.send(
        "POST",
        f"/period-reports/{RETURNED_REPORT}/2026Q3/return",
        {"reason": "缺少9月份入户走访台账，请补齐后重新报送"},
    )
    steps.step()
    await _late_correction(offices[REVISED])
    steps.step()
    await _inspection_and_awards(offices)
    steps.step()


def _summary(communities: int) -> str:
    return (
        f"programme year: {communities} communities in 5 streets, 2026 plans approved (one"
        f" returned first), {CLOSED_HALF} accepted by the city, a returned 2026Q3 report"
        f" ({RETURNED_REPORT}), a revision after closing ({REVISED}), {len(ACTIVITIES)}"
        " activities, an inspection with rectification, 2 titles awarded and 1 declined"
    )


async def _offices(operator: Office, communities: list[tuple[str, str, str]]) -> dict[str, Office]:
    """An agency for the city and each community (the district's and the streets' exist), and
    a key for each office."""
    listed = await operator.client.get("/registry/agencies")
    known = {(a["name"], a["area_code"]): a["agency_id"] for a in listed.json()}
    wanted = [(CITY_AGENCY, "womens_federation", CITY), (DISTRICT_AGENCIES[0][0], "", DISTRICT)]
    wanted += [(f"{name}办事处", "street_office", s) for s, (name, _) in STREETS.items()]
    wanted += [(f"{name}居民委员会", "community_office", code) for _, code, name in communities]
    offices = {}
    position = ""
    for name, kind, area in wanted:
        agency_id = known.get((name, area))
        if agency_id is None:
            body = {"name": name, "kind": kind, "area_code": area}
            agency_id = (await operator.send("POST", "/agencies", body))["id"]
        issued = await operator.send(
            "POST", f"/agencies/{agency_id}/clients", {"name": "年度工作", "scopes": OFFICE_SCOPES}
        )
        position = issued["position"]
        headers = {"Authorization": f"Bearer {issued['api_key']}"}
        offices[area] = Office(
            area,
            httpx.AsyncClient(base_url=str(operator.client.base_url), headers=headers, timeout=30),
        )
    await operator.client.get("/registry/areas", params={"after": position})
    return offices


async def _plans(offices: dict[str, Office], communities: list[tuple[str, str, str]]) -> None:
    """Every community files its 2026 targets, the street approves them (one it returns first,
    too low); each street files the sum, the district approves; the district's, the city."""
    for street, code, _ in communities:
        office, above = offices[code], offices[street]
        low = code == RETURNED_PLAN
        targets = {**COMMUNITY_TARGETS, "women_reemployed": 1} if low else COMMUNITY_TARGETS
        await office.send("PUT", f"/plans/{code}/2026", {"targets": targets})
        if low:
            reason = {"reason": "再就业目标低于上年实绩(3人)，请调整后重新报送"}
            await above.send("POST", f"/plans/{code}/2026/return", reason)
            await office.send("PUT", f"/plans/{code}/2026", {"targets": COMMUNITY_TARGETS})
        await above.send("POST", f"/plans/{code}/2026/approve")
    for street, (_, names) in STREETS.items():
        targets = {k: v * len(names) for k, v in COMMUNITY_TARGETS.items()}
        targets["volunteer_rate"] = COMMUNITY_TARGETS["volunteer_rate"]
        await offices[street].send("PUT", f"/plans/{street}/2026", {"targets": targets})
        await offices[DISTRICT].send("POST", f"/plans/{street}/2026/approve")
    district = {k: v * len(communities) for k, v in COMMUNITY_TARGETS.items()}
    district["volunteer_rate"] = COMMUNITY_TARGETS["volunteer_rate"]
    await offices[DISTRICT].send("PUT", f"/plans/{DISTRICT}/2026", {"targets": district})
    await offices[CITY].send("POST", f"/plans/{DISTRICT}/2026/approve")


async def _close_first_half(
    offices: dict[str, Office], communities: list[tuple[str, str, str]]
) -> str:
    """Up three levels: the communities, accepted by their streets; the streets, by the
    district; the district, by the city."""
    position = ""
    for street, code, _ in communities:
        submitted = await offices[code].send(
            "POST", f"/period-reports/{code}/{CLOSED_HALF}", after=position
        )
        position = submitted.get("position", position)
        decided = await offices[street].send("POST", f"/period-reports/{code}/{CLOSED_HALF}/accept")
        position = decided.get("position", position)
    for street in STREETS:
        submitted = await offices[street].send(
            "POST", f"/period-reports/{street}/{CLOSED_HALF}", after=position
        )
        position = submitted.get("position", position)
        decided = await offices[DISTRICT].send(
            "POST", f"/period-reports/{street}/{CLOSED_HALF}/accept"
        )
        position = decided.get("position", position)
    await offices[DISTRICT].send(
        "POST", f"/period-reports/{DISTRICT}/{CLOSED_HALF}", after=position
    )
    accepted = await offices[CITY].send("POST", f"/period-reports/{DISTRICT}/{CLOSED_HALF}/accept")
    return str(accepted.get("position", position))


async def _late_correction(office: Office) -> None:
    """A home visit of May found in a drawer in December: entered as a correction to the
    closed half-year, then the community revises its report."""
    workers = await office.client.get("/registry/workers", params={"area": REVISED, "limit": 1})
    [worker] = workers.json()["items"]
    visit = {
        "visited_on": "2026-05-20",
        "visitor": "社区专干 李红",
        "notes": "补录：5月入户走访，已讲解再就业优惠政策",
    }
    recorded = await office.send(
        "POST",
        f"/workers/{worker['worker_id']}/home-visits",
        visit,
        correction="补录5月份入户走访记录",
    )
    await office.send(
        "POST",
        f"/period-reports/{REVISED}/{CLOSED_HALF}/revisions",
        {"reason": "补录5月份入户走访1户"},
        after=str(recorded.get("position", "")),
    )


async def _activities(offices: dict[str, Office]) -> None:
    for activity in ACTIVITIES:
        await offices[str(activity["area_code"])].send("POST", "/activities", activity)


async def _inspection_and_awards(offices: dict[str, Office]) -> None:
    """The district inspects a community's year and accepts its rectification; it awards a
    community the 示范妇女之家 title and a worker the 岗位明星 title, and declines one
    nomination."""
    district, community = offices[DISTRICT], offices[RETURNED_REPORT]
    inspection = await district.send(
        "POST",
        "/area-inspections",
        {
            "area_code": RETURNED_REPORT,
            "year": 2026,
            "scores": {"women_reemployed": 90, "home_visits": 62, "trainees": 85},
            "findings": "9月份入户走访台账缺失；再就业台账完整",
            "result": "rectification_required",
        },
    )
    if inspection:
        await district.send(
            "POST",
            f"/area-inspections/{inspection['id']}/rectification",
            {"notes": "已补齐9月份入户走访台账"},
        )
    home = await offices[REVISED[:9]].send(
        "POST",
        "/awards",
        {
            "title": "model_womens_home",
            "level": "district",
            "year": 2026,
            "nominee_kind": "area",
            "nominee_id": REVISED,
            "nominee_name": "多福巷社区妇女之家",
            "area_code": REVISED,
            "reason": "妇女之家全年开展活动48次，覆盖居民1200人次",
        },
    )
    workers = await community.client.get(
        "/registry/workers", params={"area": RETURNED_REPORT, "limit": 2}
    )
    star, other = workers.json()["items"][:2]
    nominations = []
    for worker, reason in ((star, "全年服务居民312人次，满意率100%"), (other, "服务满一年")):
        nominations.append(
            await community.send(
                "POST",
                "/awards",
                {
                    "title": "post_star",
                    "level": "district",
                    "year": 2026,
                    "nominee_kind": "worker",
                    "nominee_id": worker["worker_id"],
                    "nominee_name": worker["name"] or "（已删除）",
                    "area_code": RETURNED_REPORT,
                    "reason": reason,
                },
            )
        )
    for award in (home, nominations[0]):
        if award:
            await district.send("POST", f"/awards/{award['id']}/grant", {})
    if nominations[1]:
        await district.send(
            "POST", f"/awards/{nominations[1]['id']}/decline", {"reason": "服务年限不足两年"}
        )
