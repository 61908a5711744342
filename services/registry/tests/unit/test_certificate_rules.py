"""The certificate rules without I/O: who is entitled (应发尽发), the 明白卡's relief, and the
annual review (年审) of a certificate, given events, when a command, then events."""

from __future__ import annotations

from datetime import date

import pytest

from jinguo_contracts.base import EventContract
from jinguo_contracts.registry import (
    CertificateIssuedV1,
    CertificateReviewedV1,
    CertificateRevokedV1,
    TaxRelief,
    WorkerErasedV1,
    WorkerRegisteredV1,
)
from jinguo_registry.domain.entitlement import (
    Applicant,
    HeldCertificate,
    entitled_without,
    holds,
    of_working_age,
    preference_categories,
    qualifies,
)
from jinguo_registry.domain.worker import Worker
from jinguo_shared.domain import InvalidCommandError, NotFoundError, RuleViolationError

TODAY = date(2026, 11, 1)
RELIEF = TaxRelief(
    months=18,
    taxes=["business_tax_or_vat", "urban_maintenance_construction_tax", "education_surcharge"],
    business_name="东四秀兰家政服务部",
    licence_no="92110101MA01ABCD2X",
    tax_office="国家税务总局北京市东城区税务局",
)


def applicant(**changes: object) -> Applicant:
    facts: dict[str, object] = {
        "gender": "female",
        "birth_date": date(1980, 5, 1),
        "hukou": "local",
        "employed": False,
        "categories": {},
        "certificates": (),
    }
    return Applicant(**{**facts, **changes})  # type: ignore[arg-type]


def held(kind: str, valid_until: date | None, in_force: bool = True) -> HeldCertificate:
    return HeldCertificate(kind=kind, number="C-1", valid_until=valid_until, in_force=in_force)


# entitlement ------------------------------------------------------------------------------------


def test_an_unemployed_local_woman_of_working_age_qualifies_for_the_unemployment_certificate() -> (
    None
):
    assert qualifies(applicant(), "employment_unemployment", TODAY)
    assert not qualifies(applicant(hukou="migrant"), "employment_unemployment", TODAY)
    assert not qualifies(applicant(employed=True), "employment_unemployment", TODAY)


def test_working_age_ends_at_50_for_women_and_60_for_men_and_starts_at_16() -> None:
    assert of_working_age("female", date(1976, 11, 2), TODAY)  # 49 until tomorrow
    assert not of_working_age("female", date(1976, 11, 1), TODAY)  # 50 today
    assert of_working_age("male", date(1967, 11, 2), TODAY)
    assert not of_working_age("male", date(1966, 11, 1), TODAY)
    assert not of_working_age("female", date(2010, 11, 2), TODAY)  # 15
    assert not qualifies(applicant(birth_date=date(1970, 1, 1)), "employment_unemployment", TODAY)


def test_the_preference_certificate_needs_a_hardship_category_valid_that_day() -> None:
    assert not qualifies(applicant(), "reemployment_preference", TODAY)
    for category in (
        "age_40_50",
        "minimum_living_allowance",
        "zero_employment_household",
        "long_term_unemployed",
    ):
        her = applicant(categories={category: TODAY})
        assert qualifies(her, "reemployment_preference", TODAY), category
        assert preference_categories(her, TODAY) == [category]
    expired = applicant(categories={"age_40_50": date(2026, 10, 31)})
    assert not qualifies(expired, "reemployment_preference", TODAY)
    disabled_only = applicant(categories={"disabled": date(2030, 1, 1)})
    assert not qualifies(disabled_only, "reemployment_preference", TODAY)
    working = applicant(employed=True, categories={"age_40_50": date(2030, 1, 1)})
    assert not qualifies(working, "reemployment_preference", TODAY)


def test_she_holds_a_certificate_while_it_is_in_force_and_within_its_valid_until() -> None:
    kind = "employment_unemployment"
    assert holds(applicant(certificates=[held(kind, None)]), kind, TODAY)
    assert holds(applicant(certificates=[held(kind, TODAY)]), kind, TODAY)
    assert not holds(applicant(certificates=[held(kind, date(2026, 10, 31))]), kind, TODAY)
    assert not holds(applicant(certificates=[held(kind, None, in_force=False)]), kind, TODAY)
    assert not holds(applicant(certificates=[held("vocational", None)]), kind, TODAY)


def test_entitled_without_is_who_qualifies_and_holds_no_valid_one() -> None:
    kind = "employment_unemployment"
    assert entitled_without(applicant(), kind, TODAY)
    assert not entitled_without(applicant(certificates=[held(kind, None)]), kind, TODAY)
    lapsed = applicant(certificates=[held(kind, date(2025, 12, 31))])
    assert entitled_without(lapsed, kind, TODAY)
    assert not entitled_without(applicant(employed=True), kind, TODAY)


# the worker's certificates ----------------------------------------------------------------------


def registered() -> WorkerRegisteredV1:
    return WorkerRegisteredV1(
        worker_id="w1",
        name="王秀英",
        national_id="110101198005011240",
        gender="female",
        birth_date=date(1980, 5, 1),
        phone="13800138000",
        area_code="110101001001",
        hukou="local",
    )


def issued(kind: str = "reemployment_preference", number: str = "P-1") -> CertificateIssuedV1:
    return CertificateIssuedV1(
        worker_id="w1",
        kind=kind,  # type: ignore[arg-type]
        number=number,
        issued_on=date(2025, 3, 1),
        valid_until=date(2026, 2, 28),
        area_code="110101001001",
        relief=RELIEF if kind == "tax_relief" else None,
    )


def given(*events: EventContract) -> Worker:
    return Worker.from_history("w1", list(events), version=len(events))


def issue(worker: Worker, kind: str, relief: TaxRelief | None) -> None:
    worker.issue_certificate(
        kind=kind,  # type: ignore[arg-type]
        number="T-1",
        issued_on=date(2026, 3, 2),
        valid_until=date(2027, 9, 1),
        occupation_code="4-10-01-05" if kind == "vocational" else None,
        level=None,
        today=TODAY,
        relief=relief,
    )


def test_a_tax_relief_card_carries_its_relief() -> None:
    worker = given(registered())
    issue(worker, "tax_relief", RELIEF)
    [event] = worker.pending
    assert isinstance(event, CertificateIssuedV1)
    assert event.relief == RELIEF
    assert event.relief.months == 18


@pytest.mark.parametrize(
    ("kind", "relief"),
    [("tax_relief", None), ("vocational", RELIEF), ("employment_unemployment", RELIEF)],
)
def test_the_relief_is_required_for_a_tax_relief_card_and_refused_on_any_other(
    kind: str, relief: TaxRelief | None
) -> None:
    with pytest.raises(InvalidCommandError) as refused:
        issue(given(registered()), kind, relief)
    assert refused.value.extensions == {"field": "relief"}


def test_a_relief_names_taxes_of_the_closed_list_only() -> None:
    with pytest.raises(ValueError, match="taxes"):
        TaxRelief.model_validate({**RELIEF.model_dump(), "taxes": ["stamp_duty"]})
    with pytest.raises(ValueError, match="taxes"):
        TaxRelief.model_validate({**RELIEF.model_dump(), "taxes": []})


def review(worker: Worker, number: str = "P-1", **changes: object) -> None:
    command: dict[str, object] = {
        "number": number,
        "reviewed_on": date(2026, 3, 10),
        "outcome": "renewed",
        "valid_until": date(2027, 3, 31),
        "reason": None,
        "today": TODAY,
    }
    worker.review_certificate(**{**command, **changes})  # type: ignore[arg-type]


def test_a_review_renews_a_certificate_to_a_new_valid_until_once() -> None:
    worker = given(registered(), issued())
    review(worker)
    [event] = worker.pending
    assert isinstance(event, CertificateReviewedV1)
    assert (event.kind, event.outcome, event.valid_until) == (
        "reemployment_preference",
        "renewed",
        date(2027, 3, 31),
    )
    again = given(registered(), issued(), event)
    review(again)
    assert again.pending == []


def test_a_review_withdraws_with_a_reason_and_the_certificate_is_then_closed() -> None:
    worker = given(registered(), issued())
    with pytest.raises(InvalidCommandError) as refused:
        review(worker, outcome="withdrawn", valid_until=None)
    assert refused.value.extensions == {"field": "reason"}
    review(worker, outcome="withdrawn", valid_until=None, reason="已稳定就业")
    [withdrawn] = worker.pending
    closed = given(registered(), issued(), withdrawn)
    review(closed, outcome="withdrawn", valid_until=None, reason="已稳定就业")  # the same, again
    assert closed.pending == []
    with pytest.raises(RuleViolationError):
        review(closed, reviewed_on=date(2026, 4, 1))


def test_a_revoked_certificate_is_not_reviewed() -> None:
    revoked = CertificateRevokedV1(
        worker_id="w1",
        kind="reemployment_preference",
        number="P-1",
        reason="伪造",
        area_code="110101001001",
    )
    with pytest.raises(RuleViolationError):
        review(given(registered(), issued(), revoked))


def test_a_review_needs_a_certificate_of_a_kind_reviewed_every_year() -> None:
    with pytest.raises(NotFoundError):
        review(given(registered()))
    for kind in ("tax_relief", "vocational"):
        with pytest.raises(InvalidCommandError) as refused:
            review(given(registered(), issued(kind, "X-1")), number="X-1")
        assert refused.value.extensions == {"field": "number"}


def test_a_review_is_dated_never_tomorrow_and_renews_to_after_its_day() -> None:
    worker = given(registered(), issued())
    with pytest.raises(InvalidCommandError) as tomorrow:
        review(worker, reviewed_on=date(2026, 11, 2))
    assert tomorrow.value.extensions == {"field": "reviewed_on"}
    with pytest.raises(InvalidCommandError) as backwards:
        review(worker, valid_until=date(2026, 3, 10))
    assert backwards.value.extensions == {"field": "valid_until"}


def test_an_erased_worker_has_nothing_to_review() -> None:
    with pytest.raises(NotFoundError):
        review(given(registered(), issued(), WorkerErasedV1(worker_id="w1", reason="本人申请")))
