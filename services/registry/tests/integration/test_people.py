"""One woman across her roles, her household, and a zero-employment household (零就业家庭)
recognised and then cleared (清零) when a member's re-employment spell starts, over HTTP as the
offices of test_programme_year's county use it. Spells are appended to the log as the spell
commands append them. Real nats-server, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from jinguo_contracts.registry import ReemploymentSpellStartedV1, WorkerRegisteredV1
from jinguo_registry.bootstrap import handlers_for
from jinguo_registry.domain.validation import make_national_id
from jinguo_registry.handlers.commands import Erase
from jinguo_shared.runtime import ServiceRuntime

from .test_programme_year import A1, A2, B1, COUNTY, STREET_A, STREET_B, County, context, county
from .test_projections import snapshot

__all__ = ["county"]

WOMAN = make_national_id("430102", date(1980, 4, 2), 11, female=True)
HUSBAND = make_national_id("430102", date(1978, 9, 9), 12, female=False)
MOTHER = make_national_id("430102", date(1950, 2, 3), 13, female=True)


def worker(national_id: str, name: str, area: str = A1) -> dict[str, Any]:
    return {
        "name": name,
        "national_id": national_id,
        "phone": "13800000011",
        "area_code": area,
        "occurred_on": "2026-01-10",
    }


def resident(national_id: str, name: str, area: str = A1) -> dict[str, Any]:
    return {
        "name": name,
        "national_id": national_id,
        "phone": "13800000012",
        "area_code": area,
        "address": "韭菜园路8号",
        "occurred_on": "2026-01-10",
    }


async def start_spell(county: County, worker_id: str, spell_id: str, started_on: date) -> None:
    """As the spell commands record it: on her worker stream, after her last event."""
    store = county.runtime.store
    version = (await store.load("worker", worker_id))[-1].seq
    spell = ReemploymentSpellStartedV1(
        worker_id=worker_id,
        spell_id=spell_id,
        kind="found_herself",
        started_on=started_on,
        area_code=A1,
        gender="female",
        employer_name="韭菜园社区食堂",
    )
    seq = await store.append("worker", worker_id, version, [spell], context(spell_id))
    county.position = f"REGISTRY:{seq}"


async def erase(county: County, kind: str, role_id: str) -> None:
    """As an administrator of the agency erases her (an existing command, not this test's)."""
    handlers = handlers_for(county.runtime)
    command = Erase(reason="本人申请删除个人信息")
    if kind == "worker":
        result = await handlers.erase_worker(role_id, command, context(f"erase-{role_id}"))
    else:
        result = await handlers.erase_resident(role_id, command, context(f"erase-{role_id}"))
    county.position = result.position


async def household_when(
    county: County, household_id: str, done: Any, timeout: float = 15
) -> dict[str, Any]:
    """The household as the A1 office reads it, once the policy's reaction shows."""
    for _ in range(int(timeout / 0.05)):
        answer = await county[A1].get(f"/households/{household_id}", after=county.position)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if done(body):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"household {household_id} never got there: {body}")


def figure(sheet: dict[str, Any], code: str) -> Any:
    return next(i for i in sheet["indicators"] if i["code"] == code)["value"]


async def test_one_woman_as_worker_and_resident_is_one_person(county: County) -> None:
    a1 = county[A1]
    registered = await county.ok(await a1.post("/workers", worker(WOMAN, "李秀英")))
    as_resident = await county.ok(await a1.post("/residents", resident(WOMAN, "李秀英")))
    await county.ok(
        await a1.post(
            f"/residents/{as_resident['id']}/eligibility",
            {"price_tier": "free", "reason": "minimum_living_allowance"},
        ),
        200,
    )
    person_id = handlers_for(county.runtime).person_id_for(WOMAN)
    person = (await a1.get(f"/persons/{person_id}", after=county.position)).json()
    assert (person["person_id"], person["name"]) == (person_id, "李秀英")
    assert person["worker"] == {
        "worker_id": registered["id"],
        "area_code": A1,
        "status": "registered",
        "categories": [],
        "minimum_living_allowance": True,  # her 低保 as a resident, on her worker side
    }
    assert person["resident"]["eligibility_reason"] == "minimum_living_allowance"
    dossier = (await a1.get(f"/workers/{registered['id']}", after=county.position)).json()
    assert (dossier["person_id"], dossier["minimum_living_allowance"]) == (person_id, True)

    # by national ID, in the body: the street above sees her; another street does not
    lookup = await county[STREET_A].post("/persons/lookup", {"national_id": WOMAN})
    assert lookup.status_code == 200
    assert lookup.json() == person
    for office in (county[STREET_B], county[B1], county[A2]):
        assert (await office.post("/persons/lookup", {"national_id": WOMAN})).status_code == 404
        assert (await office.get(f"/persons/{person_id}")).status_code == 404
    assert (await a1.post("/persons/lookup", {"national_id": "123"})).status_code == 422
    unknown = make_national_id("430102", date(1985, 1, 1), 99, female=True)
    assert (await a1.post("/persons/lookup", {"national_id": unknown})).status_code == 404

    # a resident role in another street: each office sees only the role in its own area
    other = make_national_id("430102", date(1982, 5, 5), 21, female=True)
    await county.ok(await a1.post("/workers", worker(other, "周红")))
    await county.ok(await county[B1].post("/residents", resident(other, "周红", B1)))
    seen_a = await a1.post("/persons/lookup", {"national_id": other}, after=county.position)
    seen_b = await county[B1].post("/persons/lookup", {"national_id": other})
    assert (seen_a.json()["worker"] is not None, seen_a.json()["resident"]) == (True, None)
    assert (seen_b.json()["worker"], seen_b.json()["resident"] is not None) == (None, True)
    assert (await county[COUNTY].post("/persons/lookup", {"national_id": other})).json()[
        "resident"
    ]["area_code"] == B1


async def test_erasing_a_role_leaves_no_pii_of_it_in_her_person_view(county: County) -> None:
    a1 = county[A1]
    registered = await county.ok(await a1.post("/workers", worker(WOMAN, "李秀英")))
    as_resident = await county.ok(await a1.post("/residents", resident(WOMAN, "李秀英居民")))
    person_id = handlers_for(county.runtime).person_id_for(WOMAN)
    await erase(county, "worker", registered["id"])
    person = (await a1.get(f"/persons/{person_id}", after=county.position)).json()
    assert (person["worker"], person["name"]) == (None, "李秀英居民")
    looked_up = (await a1.post("/persons/lookup", {"national_id": WOMAN})).json()
    assert (looked_up["worker"], looked_up["name"]) == (None, "李秀英居民")
    await erase(county, "resident", as_resident["id"])
    gone = await a1.get(f"/persons/{person_id}", after=county.position)
    assert gone.status_code == 404
    assert (await a1.post("/persons/lookup", {"national_id": WOMAN})).status_code == 404


async def test_a_registration_recorded_before_person_ids_is_found_by_national_id(
    county: County,
) -> None:
    handlers = handlers_for(county.runtime)
    worker_id = handlers.worker_id_for(WOMAN)
    old = WorkerRegisteredV1(
        worker_id=worker_id,
        name="李秀英",
        national_id=WOMAN,
        gender="female",
        birth_date=date(1980, 4, 2),
        phone="13800000011",
        area_code=A1,
        hukou="local",
    )
    seq = await county.runtime.store.append("worker", worker_id, 0, [old], context("old"))
    county.position = f"REGISTRY:{seq}"
    found = await county[A1].post("/persons/lookup", {"national_id": WOMAN}, after=county.position)
    assert found.status_code == 200, found.text
    assert (found.json()["person_id"], found.json()["worker"]["worker_id"]) == (None, worker_id)
    derived = handlers.person_id_for(WOMAN)
    assert (await county[A1].get(f"/persons/{derived}")).status_code == 404


async def test_a_zero_employment_household_is_recognised_then_cleared_by_a_spell(
    county: County,
) -> None:
    runtime: ServiceRuntime = county.runtime
    a1 = county[A1]
    ids = handlers_for(runtime)
    woman = await county.ok(await a1.post("/workers", worker(WOMAN, "李秀英")))
    await county.ok(await a1.post("/workers", worker(HUSBAND, "王建国")))
    await county.ok(await a1.post("/residents", resident(MOTHER, "张桂兰")))
    her, husband, mother = (ids.person_id_for(n) for n in (WOMAN, HUSBAND, MOTHER))
    home = {"area_code": A1, "address": "韭菜园路8号", "occurred_on": "2026-01-15"}
    household = (await county.ok(await a1.post("/households", home)))["id"]
    path = f"/households/{household}"
    for person, relation in ((husband, "head"), (her, "spouse"), (mother, "parent")):
        body = {"person_id": person, "relation": relation, "occurred_on": "2026-01-15"}
        await county.ok(await a1.post(f"{path}/members", body))

    # attacks: a duplicate member, a person in two households, another street's office
    duplicate = {"person_id": her, "relation": "child", "occurred_on": "2026-01-16"}
    assert (await a1.post(f"{path}/members", duplicate)).status_code == 409
    second = (await county.ok(await a1.post("/households", {**home, "address": "另一处"})))["id"]
    twice = await a1.post(f"/households/{second}/members", {**duplicate, "relation": "head"})
    assert twice.status_code == 409, twice.text
    nobody = {"person_id": "no-such-person", "relation": "child", "occurred_on": "2026-01-16"}
    assert (await a1.post(f"/households/{second}/members", nobody)).status_code == 404
    assert (await county[B1].post(f"{path}/zero-employment", {})).status_code == 404
    assert (await county[B1].get(path)).status_code == 404
    b1_household = (
        await county.ok(await county[B1].post("/households", {**home, "area_code": B1}))
    )["id"]
    mine_elsewhere = {"person_id": her, "relation": "head", "occurred_on": "2026-01-16"}
    refused = await county[B1].post(f"/households/{b1_household}/members", mine_elsewhere)
    assert refused.status_code == 404  # B1 may not even learn she exists
    future = await a1.post(f"{path}/zero-employment", {"recognised_on": "2099-01-01"})
    assert future.status_code == 422

    await county.ok(await a1.post(f"{path}/zero-employment", {"recognised_on": "2026-03-02"}), 200)
    again = await a1.post(f"{path}/zero-employment", {"recognised_on": "2026-03-05"})
    assert again.status_code == 200
    assert again.json()["id"] == household
    listed = await a1.get("/zero-employment-households", cleared="false", after=county.position)
    assert [(h["household_id"], h["recognised_on"]) for h in listed.json()["items"]] == [
        (household, "2026-03-02")
    ]
    assert (await county[STREET_B].get("/zero-employment-households")).json()["items"] == []

    # her spell starts: the household is cleared from its first day, once
    await start_spell(county, woman["id"], "spell-1", date(2026, 5, 6))
    cleared = await household_when(county, household, lambda h: h["cleared_on"] is not None)
    assert (cleared["cleared_on"], cleared["cleared_by_person_id"]) == ("2026-05-06", her)
    assert cleared["address"] == "韭菜园路8号"
    assert {(m["person_id"], m["relation"]) for m in cleared["members"]} == {
        (husband, "head"),
        (her, "spouse"),
        (mother, "parent"),
    }
    husband_worker = ids.worker_id_for(HUSBAND)
    await start_spell(county, husband_worker, "spell-2", date(2026, 6, 1))
    runner = runtime.reactions
    assert runner is not None
    [policy] = [p for p in runner.policies if p.name == "household_clearing"]
    reaction = policy.reaction("ReemploymentSpellStarted")
    assert reaction is not None
    [*_, spell_event] = await runtime.store.load("worker", woman["id"])
    await runner._react(policy, reaction, spell_event)  # redelivered: nothing new
    await asyncio.sleep(0.5)
    history = await runtime.store.load("household", household)
    assert [e.type for e in history].count("ZeroEmploymentHouseholdCleared") == 1
    done = await a1.get("/zero-employment-households", cleared="true", after=county.position)
    assert [(h["household_id"], h["cleared_on"]) for h in done.json()["items"]] == [
        (household, "2026-05-06")
    ]
    person = (await a1.get(f"/persons/{her}")).json()
    assert person["household"]["cleared_on"] == "2026-05-06"

    # working now, she and her husband keep the household from being recognised again
    refused_again = await a1.post(f"{path}/zero-employment", {"recognised_on": "2026-07-01"})
    assert refused_again.status_code == 409, refused_again.text
    sheet = await county.sheet(county[COUNTY], COUNTY, "2026")
    assert figure(sheet, "zero_employment_households") == 1
    assert figure(sheet, "zero_employment_households_cleared") == 1

    # replayed from the log, the people and the figures are what they were live
    names = ["people", "programme_figures"]
    await runtime.projections.wait_for(county.position, names, 10)
    live = {name: await snapshot(runtime, name) for name in names}
    await runtime.projections.rebuild(*names)
    assert {name: await snapshot(runtime, name) for name in names} == live


async def test_a_household_of_an_erased_member_shows_her_id_only(county: County) -> None:
    a1 = county[A1]
    woman = await county.ok(await a1.post("/workers", worker(WOMAN, "李秀英")))
    her = handlers_for(county.runtime).person_id_for(WOMAN)
    home = {"area_code": A1, "address": "韭菜园路8号", "occurred_on": "2026-01-15"}
    household = (await county.ok(await a1.post("/households", home)))["id"]
    body = {"person_id": her, "relation": "head", "occurred_on": "2026-01-15"}
    await county.ok(await a1.post(f"/households/{household}/members", body))
    await erase(county, "worker", woman["id"])
    view = (await a1.get(f"/households/{household}", after=county.position)).json()
    assert [m["person_id"] for m in view["members"]] == [her]
    assert "李秀英" not in str(view)
    # erased, she is of no known working age: the household cannot be recognised on her
    refused = await a1.post(f"/households/{household}/zero-employment", {})
    assert refused.status_code == 409
    leave = await a1.post(f"/households/{household}/members/{her}/leave", {})
    await county.ok(leave, 200)


async def test_the_same_person_joining_twice_at_once_joins_once(county: County) -> None:
    a1 = county[A1]
    await county.ok(await a1.post("/workers", worker(WOMAN, "李秀英")))
    her = handlers_for(county.runtime).person_id_for(WOMAN)
    home = {"area_code": A1, "address": "韭菜园路8号", "occurred_on": "2026-01-15"}
    household = (await county.ok(await a1.post("/households", home)))["id"]
    body = {"person_id": her, "relation": "head", "occurred_on": "2026-01-15"}
    answers = await asyncio.gather(
        *(a1.post(f"/households/{household}/members", body) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    history = await county.runtime.store.load("household", household)
    assert [e.type for e in history].count("HouseholdMemberJoined") == 1
