"""Certificates that mean something, over HTTP as a county's offices use them: who qualifies and
holds none (应发尽发), the annual review (年审) and the 明白卡's tax relief. Real nats-server,
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from jinguo_contracts.registry import ReemploymentSpellEndedV1, ReemploymentSpellStartedV1
from jinguo_registry.bootstrap import handlers_for
from jinguo_registry.domain.validation import make_national_id
from jinguo_registry.handlers.certificates import CertificateHandlers, ReviewCertificate
from jinguo_registry.handlers.commands import (
    AssessCategory,
    Erase,
    IssueCertificate,
    RecordReemployment,
    RegisterWorker,
    RegistryHandlers,
    RevokeCertificate,
)
from jinguo_registry.handlers.spells import SpellHandlers
from jinguo_shared.testing import publish

from .test_programme_year import A1, A2, B1, STREET_A, STREET_B, County, context, county
from .test_projections import snapshot
from .test_recognition import figure

__all__ = ["county"]

RELIEF = {
    "months": 18,
    "taxes": ["business_tax_or_vat", "urban_maintenance_construction_tax", "education_surcharge"],
    "business_name": "韭菜园秀兰家政服务部",
    "licence_no": "92430102MA4L0XYZ1K",
    "tax_office": "国家税务总局长沙市芙蓉区税务局",
}


async def register(
    handlers: RegistryHandlers, n: int, area: str, born: date, hukou: str = "local"
) -> str:
    worker = await handlers.register_worker(
        RegisterWorker(
            name=f"测试{n}",
            national_id=make_national_id("430102", born, n, female=True),
            phone=f"137{n:08d}",
            area_code=area,
            hukou=hukou,  # type: ignore[arg-type]
        ),
        context(f"register-{n}"),
    )
    return worker.aggregate_id


async def entitlement(county: County, office: str, kind: str, **params: str) -> dict[str, Any]:
    answer = await county[office].get(
        "/certificates/entitlement", kind=kind, after=county.position, **params
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def listed(found: dict[str, Any]) -> set[str]:
    return {person["worker_id"] for person in found["people"]}


async def test_who_qualifies_and_holds_no_certificate_is_listed_in_her_area_only(
    county: County,
) -> None:
    runtime = county.runtime
    handlers = handlers_for(runtime)
    today = runtime.clock.today()
    until = today + timedelta(days=200)
    born_1980 = date(1980, 5, 1)
    unlisted = await register(handlers, 1, A1, born_1980)
    await handlers.assess_category(
        unlisted,
        AssessCategory(category="age_40_50", evidence="身份证核验", valid_until=until),
        context("assess-1"),
    )
    holder = await register(handlers, 2, A1, born_1980)
    await handlers.issue_certificate(
        holder,
        IssueCertificate(kind="employment_unemployment", number="SY-2", issued_on=today),
        context("issue-2"),
    )
    lapsed = await register(handlers, 3, A1, born_1980)
    await handlers.issue_certificate(
        lapsed,
        IssueCertificate(
            kind="employment_unemployment",
            number="SY-3",
            issued_on=today - timedelta(days=400),
            valid_until=today - timedelta(days=35),
        ),
        context("issue-3"),
    )
    placements = SpellHandlers(runtime.executor, runtime.clock.today)
    placed = await register(handlers, 4, A1, born_1980)
    await placements.record_placement(
        placed,
        RecordReemployment(
            post_id="post-4", placement_id="placement-4", employer_name="长沙家政", started_on=today
        ),
        context("placed-4"),
    )
    flexible = await register(handlers, 5, A2, born_1980)
    spells = runtime.store
    await publish(
        spells,
        "worker",
        flexible,
        ReemploymentSpellStartedV1(
            worker_id=flexible,
            spell_id="spell-5",
            kind="flexible",
            started_on=today,
            area_code=A2,
            gender="female",
        ),
        "spell-5",
    )
    ended = await register(handlers, 6, A2, born_1980)
    await placements.record_placement(
        ended,
        RecordReemployment(
            post_id="post-6", placement_id="placement-6", employer_name="长沙家政", started_on=today
        ),
        context("placed-6"),
    )
    await publish(
        spells,
        "worker",
        ended,
        ReemploymentSpellEndedV1(
            worker_id=ended,
            spell_id="placement-6",
            kind="placement",
            ended_on=today,
            reason="合同期满",
            area_code=A2,
        ),
        "ended-6",
    )
    migrant = await register(handlers, 7, A1, born_1980, hukou="migrant")
    retired = await register(handlers, 8, A1, date(1960, 1, 1))
    elsewhere = await register(handlers, 9, B1, born_1980)
    erased = await register(handlers, 10, A1, born_1980)
    await handlers.assess_category(
        erased,
        AssessCategory(category="minimum_living_allowance", evidence="低保证", valid_until=until),
        context("assess-10"),
    )
    result = await handlers.erase_worker(erased, Erase(reason="本人申请"), context("erase-10"))
    county.position = result.position

    street = await entitlement(county, STREET_A, "employment_unemployment")
    assert listed(street) == {unlisted, lapsed, ended}
    assert (street["qualifying"], street["holding"], street["without"]) == (4, 1, 3)
    assert {migrant, retired, placed, flexible, elsewhere, erased}.isdisjoint(listed(street))
    [lapsed_row] = [p for p in street["people"] if p["worker_id"] == lapsed]
    assert lapsed_row["lapsed_certificates"] == ["SY-3"]
    assert set(street["people"][0]) == {
        "worker_id",
        "area_code",
        "registered_on",
        "categories",
        "lapsed_certificates",
    }  # ids and her community, nothing personal

    preference = await entitlement(county, STREET_A, "reemployment_preference")
    assert [(p["worker_id"], p["categories"]) for p in preference["people"]] == [
        (unlisted, ["age_40_50"])
    ]
    # a community narrows to itself; another street sees none of street A's people
    community = await entitlement(county, A2, "employment_unemployment")
    assert listed(community) == {ended}
    other = await entitlement(county, STREET_B, "employment_unemployment")
    assert listed(other) == {elsewhere}
    outside = await county[STREET_B].get(
        "/certificates/entitlement", kind="employment_unemployment", area=A1
    )
    assert outside.status_code == 403
    unknown = await county[A1].get("/certificates/entitlement", kind="vocational")
    assert unknown.status_code == 422

    # the rules' projection is rebuilt to the same rows it keeps live
    live = await snapshot(runtime, "certificate_entitlement")
    await runtime.projections.rebuild("certificate_entitlement")
    assert await snapshot(runtime, "certificate_entitlement") == live


async def test_a_tax_relief_card_carries_its_relief_into_the_lists_and_her_dossier(
    county: County,
) -> None:
    handlers = handlers_for(county.runtime)
    worker = await register(handlers, 20, A1, date(1976, 8, 8))
    a1 = county[A1]
    today = county.runtime.clock.today()
    card = {"kind": "tax_relief", "number": "MBK-2026-0143", "issued_on": str(today)}
    path = f"/workers/{worker}/certificates"
    without = await a1.post(path, card)
    assert without.status_code == 422, without.text
    vocational = {
        "kind": "vocational",
        "number": "ZY-20",
        "issued_on": str(today),
        "occupation_code": "4-10-01-05",
        "relief": RELIEF,
    }
    refused = await a1.post(path, vocational)
    assert refused.status_code == 422, refused.text
    assert "relief" in refused.text
    not_a_tax = await a1.post(path, {**card, "relief": {**RELIEF, "taxes": ["stamp_duty"]}})
    assert not_a_tax.status_code == 422
    await county.ok(await a1.post(path, {**card, "relief": RELIEF}))
    assert (await county[STREET_B].post(path, {**card, "number": "MBK-X"})).status_code == 404

    cards = await a1.get("/certificates", kind="tax_relief", after=county.position)
    [row] = cards.json()["items"]
    assert row["relief"] == RELIEF
    dossier = (await a1.get(f"/workers/{worker}", after=county.position)).json()
    assert [c["relief"]["months"] for c in dossier["certificates"]] == [18]
    report = await a1.get(f"/reports/areas/{A1}", after=county.position)
    assert report.json()["totals"]["certificate:tax_relief"] == 1
    sheet = await county.sheet(county[STREET_A], STREET_A, str(today.year))
    assert figure(sheet, "tax_relief_cards") == 1
    assert (await county[A2].get(f"/workers/{worker}", after=county.position)).status_code == 404


async def reviews(county: County, office: str, **params: str) -> dict[str, Any]:
    answer = await county[office].get("/certificates/reviews", after=county.position, **params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_certificate_past_its_end_is_due_for_review_until_renewed_or_withdrawn(
    county: County,
) -> None:
    handlers = handlers_for(county.runtime)
    today = county.runtime.clock.today()
    a1 = county[A1]
    workers = [await register(handlers, n, A1, date(1978, 2, 2)) for n in (30, 31, 32)]
    for n, worker in enumerate(workers):
        issue = {
            "kind": "reemployment_preference",
            "number": f"YH-{n}",
            "issued_on": str(today - timedelta(days=400)),
            "valid_until": str(today - timedelta(days=35 - n)),
        }
        await county.ok(await a1.post(f"/workers/{worker}/certificates", issue))
    due = await reviews(county, STREET_A)
    assert (due["issued"], due["reviewed"], due["due"]) == (3, 0, 3)
    assert [c["number"] for c in due["certificates"]] == ["YH-0", "YH-1", "YH-2"]
    assert (await reviews(county, STREET_B))["issued"] == 0

    renewed_until = str(today + timedelta(days=365))
    renew = {"reviewed_on": str(today), "outcome": "renewed", "valid_until": renewed_until}
    review_0 = f"/workers/{workers[0]}/certificates/YH-0/review"
    assert (await county[STREET_B].post(review_0, renew)).status_code == 404
    await county.ok(await a1.post(review_0, renew), 200)
    again = await a1.post(review_0, renew)  # the same review sent twice records it once
    assert again.status_code == 200
    withdraw = {"outcome": "withdrawn", "reason": "已在韭菜园社区养老驿站稳定就业"}
    await county.ok(await a1.post(f"/workers/{workers[1]}/certificates/YH-1/review", withdraw), 200)
    revoked = f"/workers/{workers[2]}/certificates/YH-2"
    await county.ok(await a1.post(f"{revoked}/revoke", {"reason": "材料不实"}), 200)
    assert (await a1.post(f"{revoked}/review", renew)).status_code == 409
    for bad in (
        {"outcome": "renewed"},
        {"outcome": "withdrawn"},
        {**renew, "reviewed_on": str(today + timedelta(days=1))},
        {**renew, "valid_until": str(today - timedelta(days=1))},
    ):
        answer = await a1.post(review_0, bad)
        assert answer.status_code == 422, (bad, answer.text)
    assert (
        await a1.post(f"/workers/{workers[0]}/certificates/NO-1/review", renew)
    ).status_code == 404

    after = await reviews(county, A1, kind="reemployment_preference")
    assert (after["issued"], after["reviewed"], after["withdrawn"], after["due"]) == (3, 2, 1, 0)
    listed = (await a1.get("/certificates", after=county.position)).json()["items"]
    states = {c["number"]: (c["status"], c["valid_until"], c["reviewed_on"]) for c in listed}
    assert states == {
        "YH-0": ("active", renewed_until, str(today)),
        "YH-1": ("withdrawn", str(today - timedelta(days=34)), str(today)),
        "YH-2": ("revoked", str(today - timedelta(days=33)), None),
    }
    report = (await a1.get(f"/reports/areas/{A1}", after=county.position)).json()["totals"]
    assert (report["certificate_reviewed:renewed"], report["certificate_reviewed:withdrawn"]) == (
        1,
        1,
    )
    history = await county.runtime.store.load("worker", workers[0])
    assert [e.type for e in history].count("CertificateReviewed") == 1
    sheet = await county.sheet(a1, A1, str(today.year))
    assert figure(sheet, "certificates_reviewed") == 2
    assert figure(sheet, "preference_certificates") == 0  # issued in an earlier year


async def test_concurrent_reviews_record_one_and_never_review_a_revoked_certificate(
    county: County,
) -> None:
    runtime = county.runtime
    handlers = handlers_for(runtime)
    reviews = CertificateHandlers(runtime.executor, runtime.clock.today)
    today = runtime.clock.today()
    worker = await register(handlers, 40, A1, date(1979, 4, 4))
    for number in ("YH-40", "YH-41"):
        await handlers.issue_certificate(
            worker,
            IssueCertificate(
                kind="reemployment_preference",
                number=number,
                issued_on=today - timedelta(days=400),
                valid_until=today - timedelta(days=30),
            ),
            context(f"issue-{number}"),
        )
    renew = ReviewCertificate(
        reviewed_on=today, outcome="renewed", valid_until=today + timedelta(days=365)
    )
    twice = await asyncio.gather(
        *[reviews.review_certificate(worker, "YH-40", renew, context(f"r-{n}")) for n in range(4)],
        return_exceptions=True,
    )
    assert all(not isinstance(o, BaseException) or o.status == 409 for o in twice), twice
    revoke = RevokeCertificate(reason="材料不实")
    raced = await asyncio.gather(
        reviews.review_certificate(worker, "YH-41", renew, context("race-review")),
        handlers.revoke_certificate(worker, "YH-41", revoke, context("race-revoke")),
        return_exceptions=True,
    )
    assert all(not isinstance(o, BaseException) or o.status == 409 for o in raced), raced
    history = [
        (e.type, getattr(e.payload, "number", None))
        for e in await runtime.store.load("worker", worker)
    ]
    assert history.count(("CertificateReviewed", "YH-40")) == 1
    after_revocation = history[history.index(("CertificateRevoked", "YH-41")) :]
    assert ("CertificateReviewed", "YH-41") not in after_revocation
