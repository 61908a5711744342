"""Demo data for the rights service, loaded through its own HTTP API, by officers holding keys
of their own that the registry issues (with the development key, the platform operator's).

The cases belong to the district women's federation of the registry demo (北京市东城区妇女联合会),
whose supervisor and officers work them; the district legal-aid centre answers referrals. Choices
come from a seeded ``random.Random`` and dates count from a fixed reference day, except the
newest cases, opened on the day of loading so that some are due soon. Every POST carries
``Idempotency-Key: rights-demo-<seed>-<n>`` and each officer's key belongs to the same API client
on every load, so loading twice adds nothing: the second load gives the demo's clients new keys
(a key is shown once and kept nowhere), finds every POST already done, and reads no case again
(every read is recorded). The people and their stories are made up.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

import httpx

from jinguo_shared.clock import ProgrammeClock
from jinguo_shared.services import DemoProgress, DemoSteps
from jinguo_shared.settings import Settings

REFERENCE_DAY: Final = date(2026, 11, 1)
FEDERATION: Final = "北京市东城区妇女联合会"
"""The registry demo's district women's federation: it owns the demo cases."""
SUPERVISOR: Final = "zhao.min"
OFFICERS: Final = ("li.hong", "wang.fang", "chen.jing")
LAWYER: Final = "liu.lawyer"
LEGAL_AID_DIRECTOR: Final = "sun.director"
COMMUNITIES: Final = (
    *("110101001001", "110101001002", "110101002001", "110101002003", "110101003002"),
    *("110101003004", "110101004001", "110101004003", "110101005002", "110101005004"),
)
SURNAMES: Final = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN: Final = (
    "秀英",
    "桂兰",
    "淑珍",
    "玉梅",
    "丽华",
    "红梅",
    "海燕",
    "春梅",
    "晓红",
    "素芬",
    "慧敏",
)
STORIES: Final[dict[str, tuple[str, ...]]] = {
    "labour": (
        "怀孕后被公司要求主动辞职，并被扣发当月工资",
        "连续三个月被拖欠工资，公司拒绝签订书面劳动合同",
        "同岗位女职工工资明显低于男职工，要求同工同酬",
        "哺乳期被调岗降薪，每天延长工作时间两小时",
        "公司未为其缴纳社会保险，工伤后拒绝承担医疗费用",
    ),
    "domestic_violence": (
        "丈夫酗酒后多次殴打，身上有明显伤痕，不敢回家",
        "长期遭受丈夫言语威胁和跟踪，担心人身安全",
        "前夫离婚后仍多次上门骚扰并砸坏财物",
        "婆家长期限制人身自由，不让与娘家联系",
    ),
    "marriage_family": (
        "丈夫起诉离婚，咨询子女抚养权和财产分割",
        "离婚后对方拒不支付子女抚养费",
        "丈夫隐匿夫妻共同财产，要求法律帮助",
    ),
    "property": (
        "农村宅基地确权时被排除在家庭成员之外",
        "父母去世后兄弟拒绝分配遗产",
    ),
    "other": ("在招聘中因性别被拒绝录用", "网络上被散布不实信息，名誉受损"),
}
OUTCOMES: Final[dict[str, tuple[str, ...]]] = {
    "labour": ("mediated", "resolved", "judgment", "legal_aid_granted"),
    "domestic_violence": ("violence_stopped", "violence_stopped", "violence_stopped", "resolved"),
    "marriage_family": ("mediated", "legal_aid_granted", "judgment", "resolved"),
    "property": ("mediated", "judgment", "resolved"),
    "other": ("resolved", "unfounded", "withdrawn"),
}
ACTIONS: Final[dict[str, tuple[str, ...]]] = {
    "labour": ("mediation", "legal_aid", "court"),
    "domestic_violence": ("police_referral", "protection_order", "counselling", "legal_aid"),
    "marriage_family": ("mediation", "legal_aid", "counselling", "court"),
    "property": ("mediation", "legal_aid", "court"),
    "other": ("counselling", "mediation"),
}
ACTION_NOTES: Final[dict[str, str]] = {
    "mediation": "组织双方调解，达成初步协议",
    "legal_aid": "转法律援助中心，指派律师代理",
    "police_referral": "陪同当事人报警，派出所出具告诫书",
    "court": "协助当事人向法院起诉，已立案",
    "protection_order": "协助申请人身安全保护令，法院已裁定",
    "counselling": "安排心理咨询师进行两次心理疏导",
}
FINDING_NOTES: Final[dict[str, str]] = {
    "labour_contract": "抽查劳动合同签订情况",
    "equal_pay": "核对同岗位男女职工工资表",
    "protected_periods": "检查孕期、产期、哺乳期女职工工时与待遇",
    "working_hours": "检查考勤记录和加班安排",
    "social_insurance": "核对社会保险缴费名单",
}


@dataclass
class RightsDemo:
    cases: int = 0
    states: dict[str, int] = field(default_factory=dict)
    referrals: int = 0
    inspections: int = 0
    violations: int = 0
    rectified: int = 0
    escalated: int = 0
    report: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        states = ", ".join(f"{n} {state}" for state, n in sorted(self.states.items()))
        return (
            f"rights demo: {self.cases} cases ({states}), {self.referrals} referrals,"
            f" {self.escalated} escalated, {self.inspections} inspections"
            f" ({self.violations} with violations, {self.rectified} rectified);"
            f" {self.report.get('summary', '')}"
        )


class _Api:
    """Calls as the demo's key holders; every POST is keyed, so a second load repeats none."""

    def __init__(self, client: httpx.AsyncClient, seed: int) -> None:
        self._client = client
        self._seed = seed
        self._count = 0
        self.keys: dict[str, str] = {}
        self.last_case_event: tuple[int, str] = (0, "")
        """The latest position a case command answered: the figures follow the case events."""
        self.reloading = False
        """Whether an earlier load issued the demo's clients (so it did the rest too)."""

    async def call(
        self, holder: str, method: str, path: str, body: Any = None, **params: Any
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.keys[holder]}"}
        if method == "POST":
            self._count += 1
            headers["Idempotency-Key"] = f"rights-demo-{self._seed}-{self._count}"
        given = {name: value for name, value in params.items() if value is not None}
        response = await self._client.request(
            method, path, json=body, params=given or None, headers=headers
        )
        if not response.is_success:
            raise RuntimeError(
                f"demo data: {method} {path} answered {response.status_code}: {response.text}"
            )
        answer = response.json()
        position = answer.get("position") if isinstance(answer, dict) else None
        if isinstance(position, str) and position.startswith("RIGHTS:"):
            self.last_case_event = max(self.last_case_event, (int(position[7:]), position))
        return answer

    async def figures_published(self, holder: str, figures_id: str) -> None:
        """Until the figures policy has published what the demo's case events changed, so that
        the demo is whole when it is done (and a second load finds nothing left to do)."""
        position = self.last_case_event[1]
        if not position:
            return
        for _ in range(24):  # each waits up to the consistency wait (5 s): 2 minutes
            response = await self._client.get(
                f"/rights/figures/{figures_id}",
                params={"after": position},
                headers={"Authorization": f"Bearer {self.keys[holder]}"},
            )
            if response.status_code != 503:
                break
        if response.status_code not in (200, 404):
            raise RuntimeError(f"demo data: the rights figures answered {response.text}")

    async def issue(
        self, holder: str, agency_id: str, scopes: list[str], officer_id: str | None
    ) -> None:
        """A key for `holder` from the registry (with the development key); on a later load the
        same client gets a new key, which replaces the one issued before at once."""
        clients = f"/registry/agencies/{agency_id}/clients"
        issued = await self._post(
            clients,
            {"name": f"rights demo: {holder}", "scopes": scopes, "officer_id": officer_id},
            f"rights-demo-{self._seed}-client-{agency_id}-{holder}",
        )
        api_key = issued["api_key"]
        if api_key is None:
            self.reloading = True
            rotated = await self._post(
                f"{clients}/{issued['client_id']}/rotation", {"grace_seconds": 0}, None
            )
            api_key = rotated["api_key"]
        self.keys[holder] = api_key
        for _ in range(200):  # until the rights service has learnt the key from the registry
            known = await self._client.get(
                "/rights/officers", headers={"Authorization": f"Bearer {api_key}"}
            )
            if known.status_code == 200:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"demo data: the rights service did not learn {holder}'s key")

    async def _post(self, path: str, body: Any, key: str | None) -> Any:
        headers = {"Idempotency-Key": key} if key else {}
        response = await self._client.post(path, json=body, headers=headers)
        if not response.is_success:
            raise RuntimeError(f"demo data: POST {path} answered {response.text}")
        return response.json()


async def _staff(api: _Api, client: httpx.AsyncClient) -> tuple[str, str | None]:
    """Keys for the federation's and the legal-aid centre's officers, who are appointed with
    their agency's own admin key; the two agencies' ids (no centre: no referrals)."""
    agencies = (await client.get("/registry/agencies")).json()
    federation = next((a for a in agencies if a.get("name") == FEDERATION), None)
    if federation is None:
        raise RuntimeError(f"demo data: no agency {FEDERATION} (load the registry demo first)")
    centre = next((a for a in agencies if a.get("kind") == "legal_aid"), None)
    staff = {SUPERVISOR: "supervisor", **dict.fromkeys(OFFICERS, "officer")}
    teams = [("federation", federation["agency_id"], staff)]
    if centre is not None:
        aid_staff = {LAWYER: "officer", LEGAL_AID_DIRECTOR: "supervisor"}
        teams.append(("legal aid", centre["agency_id"], aid_staff))
    for name, agency_id, members in teams:
        await api.issue(f"{name} admin", agency_id, ["rights:admin", "rights:read"], None)
        for officer, role in members.items():
            await api.issue(officer, agency_id, ["rights:read", "rights:write"], officer)
            await api.call(f"{name} admin", "PUT", f"/rights/officers/{officer}", {"role": role})
    return federation["agency_id"], centre["agency_id"] if centre else None


def _days_later(start: date, rng: random.Random, least: int, most: int, until: date) -> date:
    return min(start + timedelta(days=rng.randint(least, most)), until)


async def load_rights_demo(
    client: httpx.AsyncClient, progress: DemoProgress, *, seed: int = 2026, cases: int = 48
) -> RightsDemo:
    """Cases in every state, referrals, overdue cases and inspections, for the federation (its
    supervisor and officers) and the district legal-aid centre. A step is the staff's keys, a
    case, the escalations and reads, or the inspections."""
    rng = random.Random(f"{seed}:rights")
    demo = RightsDemo()
    api = _Api(client, seed)
    steps = DemoSteps(progress, 3 + cases)
    _, centre = await _staff(api, client)
    steps.step()
    # fixed once the reference day has passed, so a later load sends the same bodies
    until = min(REFERENCE_DAY, ProgrammeClock(Settings().time_zone).today())
    workers = (await client.get("/registry/workers", params={"limit": 30})).json().get("items", [])
    employers = await _employers(client)

    position = ""
    case_ids: list[tuple[str, str]] = []
    for n in range(cases):
        category = rng.choices(list(STORIES), weights=(35, 25, 25, 10, 5))[0]
        channel = rng.choices(
            ("hotline_12338", "visit", "online", "letter", "referral"), weights=(40, 30, 15, 10, 5)
        )[0]
        urgency = "normal"
        if category == "domestic_violence":
            urgency = rng.choice(("normal", "urgent", "urgent", "emergency"))
        recent = n >= cases - 6
        opened_on = REFERENCE_DAY - timedelta(days=rng.randint(1, 120))
        by_supervisor = rng.random() < 0.12
        officer = SUPERVISOR if by_supervisor else rng.choice(OFFICERS)
        worker = rng.choice(workers) if workers and rng.random() < 0.3 else None
        employer = rng.choice(employers)
        respondent: dict[str, Any] = (
            {"kind": "employer", "name": employer[1], "employer_id": employer[0]}
            if category == "labour"
            else {"kind": "person", "name": rng.choice(SURNAMES) + "某"}
        )
        intake: dict[str, Any] = {
            "channel": channel,
            "category": category,
            "urgency": urgency,
            "area_code": rng.choice(COMMUNITIES),
            "complainant": {
                "worker_id": worker["worker_id"] if worker else None,
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "phone": f"13{rng.randint(5, 9)}{rng.randrange(10**8):08d}",
            },
            "respondent": respondent,
            "summary": rng.choice(STORIES[category]),
        }
        if not recent:  # the newest are opened on the day of the first load
            intake["opened_on"] = opened_on.isoformat()
        opened = await api.call(officer, "POST", "/rights/cases", intake)
        case_id = opened["id"]
        position = opened["position"]
        demo.cases += 1
        if by_supervisor and rng.random() < 0.6:
            officer = rng.choice(OFFICERS)
            await api.call(
                SUPERVISOR, "POST", f"/rights/cases/{case_id}/assignment", {"officer_id": officer}
            )
        state = "in progress" if officer != SUPERVISOR else "unassigned"
        if recent:
            demo.states[state] = demo.states.get(state, 0) + 1
            continue
        fate = rng.random()
        for _ in range(rng.randint(0 if fate > 0.85 else 1, 2)):
            action = rng.choice(ACTIONS[category])
            await api.call(
                officer,
                "POST",
                f"/rights/cases/{case_id}/actions",
                {
                    "action": action,
                    "taken_on": _days_later(opened_on, rng, 0, 6, until).isoformat(),
                    "notes": ACTION_NOTES[action],
                },
            )
        if centre is not None and fate < 0.15:
            referral = await api.call(
                officer,
                "POST",
                f"/rights/cases/{case_id}/referrals",
                {"to_agency_id": centre, "reason": "当事人经济困难，申请法律援助"},
            )
            demo.referrals += 1
            if fate < 0.05:
                state = "referral pending"
                demo.states[state] = demo.states.get(state, 0) + 1
                continue
            inbox = await api.call(LAWYER, "GET", "/rights/referrals", after=referral["position"])
            for item in inbox:
                if item["case_id"] == case_id:
                    accepted = fate >= 0.08
                    await api.call(
                        LAWYER,
                        "POST",
                        f"/rights/cases/{case_id}/referrals/{item['referral_id']}/answer",
                        {
                            "accepted": accepted,
                            "reason": "符合法律援助条件" if accepted else "不属于本中心受理范围",
                        },
                    )
        if fate < 0.7 and officer != SUPERVISOR:
            closed_on = _days_later(opened_on, rng, 2, 40, until)
            await api.call(
                officer,
                "POST",
                f"/rights/cases/{case_id}/closure",
                {
                    "outcome": rng.choice(OUTCOMES[category]),
                    "complainant_satisfied": rng.choices((True, False, None), (85, 8, 7))[0],
                    "closed_on": closed_on.isoformat(),
                },
            )
            state = "closed"
            if rng.random() < 0.08:
                await api.call(
                    SUPERVISOR,
                    "POST",
                    f"/rights/cases/{case_id}/reopening",
                    {"reason": "当事人反映调解协议未履行"},
                )
                state = "reopened"
        elif fate < 0.8:
            await api.call(
                officer,
                "POST",
                f"/rights/cases/{case_id}/deadline-extensions",
                {"extra_days": rng.choice((10, 15, 20)), "reason": "等待劳动仲裁/法院结果"},
            )
            state = "extended"
        demo.states[state] = demo.states.get(state, 0) + 1
        case_ids.append((case_id, officer))
        steps.step()

    escalations = await api.call(
        SUPERVISOR, "POST", "/rights/deadlines/escalations", after=position or None
    )
    demo.escalated = len(escalations["escalated"])
    if not api.reloading:
        # reads, each recorded: the supervisor's overdue list, officers' own cases, and an
        # emergency read by the legal-aid centre's director (a supervisor, with a reason)
        await api.call(SUPERVISOR, "GET", "/rights/deadlines/overdue", purpose="督办超期案件")
        for case_id, officer in case_ids[:5]:
            if officer != SUPERVISOR:
                await api.call(officer, "GET", f"/rights/cases/{case_id}", purpose="案件回访")
        if centre is not None and case_ids:
            await api.call(
                LEGAL_AID_DIRECTOR,
                "GET",
                f"/rights/cases/{case_ids[-1][0]}",
                purpose="紧急：当事人来电称正遭受暴力，需核实住址联系方式",
                emergency="true",
            )

    steps.step()
    inspected = await _inspections(api, rng, demo, until, employers)
    report = await client.get("/rights/reports", params={"area": "110101", "after": inspected})
    await api.figures_published(SUPERVISOR, f"110101-{until.year}")
    demo.report = report.json()
    steps.finish()
    return demo


async def _employers(client: httpx.AsyncClient) -> list[tuple[str, str, str]]:
    """The employers the employment demo registered (id, name, street): labour cases and
    inspections name them, and a violation found suspends one there until it is rectified."""
    answer = await client.get("/employment/employers", params={"limit": 200})
    answer.raise_for_status()
    employers = [(e["employer_id"], e["name"], e["area_code"]) for e in answer.json()["items"]]
    if not employers:
        raise RuntimeError("demo data: the rights demo inspects the employment demo's employers")
    return employers


async def _inspections(
    api: _Api,
    rng: random.Random,
    demo: RightsDemo,
    until: date,
    employers: list[tuple[str, str, str]],
) -> str:
    """Inspections of the demo employers; the position of the last one."""
    topics = list(FINDING_NOTES)
    position = ""
    for employer_id, name, street in employers:
        checked = rng.sample(topics, rng.randint(2, 5))
        findings = [
            {"topic": topic, "compliant": rng.random() > 0.2, "note": FINDING_NOTES[topic]}
            for topic in checked
        ]
        inspected_on = REFERENCE_DAY - timedelta(days=rng.randint(5, 90))
        recorded = await api.call(
            rng.choice(OFFICERS),
            "POST",
            "/rights/inspections",
            {
                "employer_id": employer_id,
                "employer_name": name,
                "area_code": street,
                "inspected_on": inspected_on.isoformat(),
                "findings": findings,
            },
        )
        demo.inspections += 1
        position = recorded["position"]
        if all(f["compliant"] for f in findings):
            continue
        demo.violations += 1
        if rng.random() < 0.5:
            rectified = await api.call(
                rng.choice(OFFICERS),
                "POST",
                f"/rights/inspections/{recorded['id']}/rectification",
                {"rectified_on": _days_later(inspected_on, rng, 7, 30, until).isoformat()},
            )
            position = rectified["position"]
            demo.rectified += 1
    return position
