"""Given events, when a command, then events: the worker's rules without any I/O."""

from __future__ import annotations

from datetime import date

import pytest

from jinguo_contracts.base import EventContract
from jinguo_contracts.registry import (
    CertificateIssuedV1,
    CertificateRevokedV1,
    DesiredWork,
    WorkerCategoryAssessedV1,
    WorkerErasedV1,
    WorkerReemployedV1,
    WorkerRegisteredV1,
)
from jinguo_registry.domain.validation import make_national_id
from jinguo_registry.domain.worker import Worker
from jinguo_shared.domain import AlreadyExistsError, InvalidCommandError, NotFoundError

TODAY = date(2026, 11, 1)
NATIONAL_ID = make_national_id("110101", date(1975, 3, 15), 3, female=True)


def registered(worker_id: str = "w1") -> WorkerRegisteredV1:
    return WorkerRegisteredV1(
        worker_id=worker_id,
        name="王秀英",
        national_id=NATIONAL_ID,
        gender="female",
        birth_date=date(1975, 3, 15),
        phone="13800138000",
        area_code="110101001001",
        hukou="local",
    )


def given(*events: EventContract) -> Worker:
    return Worker.from_history("w1", list(events), version=len(events))


def test_registering_derives_gender_and_birth_date_from_the_national_id() -> None:
    worker = given()
    worker.register(
        name="王秀英",
        national_id=NATIONAL_ID,
        phone="13800138000",
        area_code="110101001001",
        hukou="local",
        skills=["家政"],
        desired_work=DesiredWork(hours_types=["part_time"]),
        on=date(2025, 4, 2),
        today=TODAY,
    )
    [event] = worker.pending
    assert event.occurred_on == date(2025, 4, 2)
    assert isinstance(event, WorkerRegisteredV1)
    assert (event.gender, event.birth_date, event.skills) == ("female", date(1975, 3, 15), ["家政"])


def test_a_registration_is_dated_the_day_it_happened_never_tomorrow() -> None:
    with pytest.raises(InvalidCommandError) as refused:
        given().register(
            name="王秀英",
            national_id=NATIONAL_ID,
            phone="13800138000",
            area_code="110101001001",
            hukou="local",
            skills=[],
            desired_work=DesiredWork(),
            on=date(2026, 11, 2),
            today=TODAY,
        )
    assert refused.value.extensions == {"field": "occurred_on"}


def test_a_second_registration_names_the_existing_worker() -> None:
    worker = given(registered())
    with pytest.raises(AlreadyExistsError) as refused:
        worker.register(
            name="x",
            national_id=NATIONAL_ID,
            phone="13800138000",
            area_code="110101001001",
            hukou="local",
            skills=[],
            desired_work=DesiredWork(),
            on=TODAY,
            today=TODAY,
        )
    assert refused.value.extensions == {"existing_id": "w1"}
    assert worker.pending == []


def test_assessing_a_category_carries_the_area_for_reports() -> None:
    worker = given(registered())
    worker.assess_category(
        category="age_40_50",
        evidence="户口簿",
        valid_until=date(2027, 12, 31),
        on=TODAY,
        today=TODAY,
    )
    assert worker.pending == [
        WorkerCategoryAssessedV1(
            worker_id="w1",
            category="age_40_50",
            evidence="户口簿",
            valid_until=date(2027, 12, 31),
            area_code="110101001001",
            occurred_on=TODAY,
        )
    ]


def test_an_expired_assessment_is_refused() -> None:
    with pytest.raises(InvalidCommandError):
        given(registered()).assess_category(
            category="disabled",
            evidence="残疾证",
            valid_until=date(2026, 10, 1),
            on=TODAY,
            today=TODAY,
        )


def test_the_same_assessment_twice_records_nothing() -> None:
    assessed = WorkerCategoryAssessedV1(
        worker_id="w1",
        category="disabled",
        evidence="残疾证",
        valid_until=date(2027, 1, 1),
        area_code="110101001001",
    )
    worker = given(registered(), assessed)
    worker.assess_category(
        category="disabled", evidence="残疾证", valid_until=date(2027, 1, 1), on=TODAY, today=TODAY
    )
    assert worker.pending == []


def vocational(number: str = "V-1") -> CertificateIssuedV1:
    return CertificateIssuedV1(
        worker_id="w1",
        kind="vocational",
        number=number,
        issued_on=date(2026, 5, 1),
        occupation_code="4-10-01-05",
        code_system="GB/T 6565-2015",
        level=4,
        area_code="110101001001",
    )


def test_a_vocational_certificate_needs_an_occupation_code() -> None:
    with pytest.raises(InvalidCommandError, match="occupation_code"):
        given(registered()).issue_certificate(
            kind="vocational",
            number="V-1",
            issued_on=date(2026, 5, 1),
            valid_until=None,
            occupation_code=None,
            level=3,
            today=TODAY,
        )


def test_issuing_a_certificate_records_the_code_system() -> None:
    worker = given(registered())
    worker.issue_certificate(
        kind="vocational",
        number="V-1",
        issued_on=date(2026, 5, 1),
        valid_until=None,
        occupation_code="4-10-01-05",
        level=4,
        today=TODAY,
    )
    assert worker.pending == [vocational()]


def test_a_certificate_number_is_issued_once() -> None:
    with pytest.raises(AlreadyExistsError):
        given(registered(), vocational()).issue_certificate(
            kind="vocational",
            number="V-1",
            issued_on=date(2026, 5, 1),
            valid_until=None,
            occupation_code="4-10-01-05",
            level=4,
            today=TODAY,
        )


def test_revoking_needs_a_certificate_and_happens_once() -> None:
    with pytest.raises(NotFoundError):
        given(registered()).revoke_certificate(number="V-9", reason="forged", on=TODAY, today=TODAY)
    worker = given(registered(), vocational())
    worker.revoke_certificate(number="V-1", reason="forged", on=TODAY, today=TODAY)
    assert worker.pending == [
        CertificateRevokedV1(
            worker_id="w1",
            kind="vocational",
            number="V-1",
            reason="forged",
            area_code="110101001001",
            occurred_on=TODAY,
        )
    ]
    again = given(registered(), vocational(), *worker.pending)
    again.revoke_certificate(number="V-1", reason="forged", on=TODAY, today=TODAY)
    assert again.pending == []


def test_reemployment_is_recorded_once_per_placement() -> None:
    reemployed = WorkerReemployedV1(
        worker_id="w1",
        post_id="p1",
        placement_id="pl1",
        employer_name="家政公司",
        started_on=date(2026, 10, 8),
        area_code="110101001001",
    )
    worker = given(registered(), reemployed)
    worker.start_spell(
        spell_id="pl1",
        kind="placement",
        post_id="p1",
        placement_id="pl1",
        employer_name="家政公司",
        started_on=date(2026, 10, 8),
        today=TODAY,
    )
    assert worker.pending == []


def test_an_erased_worker_takes_no_more_commands() -> None:
    worker = given(registered(), WorkerErasedV1(worker_id="w1", reason="her request"))
    with pytest.raises(NotFoundError):
        worker.record_home_visit(
            visit_id="v1", visited_on=TODAY, visitor="社区", notes="…", today=TODAY
        )
    worker.erase(reason="again")
    assert worker.pending == []


def test_erasing_leaves_only_her_area_in_the_decision_state() -> None:
    """The cached state is a row in the service database: it keeps no category (低保…),
    certificate or visit of hers, only what guards who may still ask about her."""
    assessed = WorkerCategoryAssessedV1(
        worker_id="w1",
        category="minimum_living_allowance",
        evidence="低保证",
        valid_until=date(2027, 1, 1),
        area_code="110101001001",
    )
    worker = given(registered(), assessed, vocational())
    worker.erase(reason="her request")
    assert worker.state is not None
    assert worker.state.model_dump() == {
        "area_code": "110101001001",
        "categories": {},
        "certificates": {},
        "revoked_certificates": [],
        "reviewed": {},
        "visit_ids": [],
        "placement_ids": [],
        "erased": True,
        "gender": None,
        "birth_date": None,
        "registered_on": None,
        "open_spells": {},
        "ended_spells": [],
        "benefit": None,
    }


def test_commands_on_an_unknown_worker_are_not_found() -> None:
    with pytest.raises(NotFoundError):
        given().update_profile(phone="13800138000", area_code=None, skills=None, desired_work=None)


# one rule for dates: a fact happened by today and not before 1990; a plan lies within ten years


def test_a_day_something_happened_is_neither_in_the_future_nor_before_1990() -> None:
    live = given(registered())
    for day in (date(2026, 11, 2), date(1989, 12, 31)):
        with pytest.raises(InvalidCommandError) as visit:
            live.record_home_visit(
                visit_id="v1", visited_on=day, visitor="社区", notes="…", today=TODAY
            )
        assert visit.value.extensions["field"] == "visited_on"
        with pytest.raises(InvalidCommandError) as certificate:
            live.issue_certificate(
                kind="tax_relief",
                number="T-1",
                issued_on=day,
                valid_until=None,
                occupation_code=None,
                level=None,
                today=TODAY,
            )
        assert certificate.value.extensions["field"] == "issued_on"
        with pytest.raises(InvalidCommandError) as placement:
            live.start_spell(
                spell_id="pl9",
                kind="placement",
                post_id="p1",
                placement_id="pl9",
                employer_name="x",
                started_on=day,
                today=TODAY,
            )
        assert placement.value.extensions["field"] == "started_on"
    assert live.pending == []


def test_an_expiry_lies_at_most_ten_years_ahead() -> None:
    live = given(registered())
    with pytest.raises(InvalidCommandError) as assessed:
        live.assess_category(
            category="disabled", evidence="证", valid_until=date(2037, 1, 1), on=TODAY, today=TODAY
        )
    assert assessed.value.extensions["field"] == "valid_until"
    with pytest.raises(InvalidCommandError) as certified:
        live.issue_certificate(
            kind="tax_relief",
            number="T-1",
            issued_on=TODAY,
            valid_until=date(9999, 12, 31),
            occupation_code=None,
            level=None,
            today=TODAY,
        )
    assert certified.value.extensions["field"] == "valid_until"
    live.assess_category(
        category="disabled", evidence="证", valid_until=date(2036, 12, 31), on=TODAY, today=TODAY
    )
    assert len(live.pending) == 1


@pytest.mark.parametrize(
    ("gender", "born", "allowed"),
    [
        ("female", date(1986, 11, 1), True),  # 40 on the day
        ("female", date(1986, 11, 2), False),  # 39 for one more day
        ("male", date(1976, 11, 1), True),
        ("male", date(1980, 1, 1), False),  # 46: a man is 4050 from 50
    ],
)
def test_4050_is_checked_against_her_age_and_gender(gender: str, born: date, allowed: bool) -> None:
    worker = given(registered().model_copy(update={"gender": gender, "birth_date": born}))

    def assess() -> None:
        worker.assess_category(
            category="age_40_50",
            evidence="户口簿",
            valid_until=date(2028, 1, 1),
            on=TODAY,
            today=TODAY,
        )

    if allowed:
        assess()
        assert len(worker.pending) == 1
    else:
        with pytest.raises(InvalidCommandError) as refused:
            assess()
        assert refused.value.extensions == {"field": "category"}
