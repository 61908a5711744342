"""Given events, when a command, then events: her re-employment spells (再就业, 失业再登记)
and her unemployment benefit (领失业金), without any I/O."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from jinguo_contracts.base import EventContract
from jinguo_contracts.registry import (
    BusinessStarted,
    ReemploymentSpellEndedV1,
    ReemploymentSpellStartedV1,
    UnemploymentBenefitEndedV1,
    UnemploymentBenefitGrantedV1,
    UnemploymentReregisteredV1,
    WorkerErasedV1,
    WorkerReemployedV1,
    WorkerRegisteredV1,
)
from jinguo_registry.domain.worker import Worker, WorkerState
from jinguo_shared.domain import (
    AlreadyExistsError,
    InvalidCommandError,
    NotFoundError,
    RuleViolationError,
)

from .test_worker import NATIONAL_ID

TODAY = date(2026, 11, 1)
AREA = "110101001001"
SHOP = BusinessStarted(name="巧手家政服务部", licence_no="92110101MA01ABCD3X", trade="家政")


def registered(on: date | None = date(2026, 1, 5)) -> WorkerRegisteredV1:
    return WorkerRegisteredV1(
        worker_id="w1",
        name="王秀英",
        national_id=NATIONAL_ID,
        gender="female",
        birth_date=date(1975, 3, 15),
        phone="13800138000",
        area_code=AREA,
        hukou="local",
        occurred_on=on,
    )


def started(
    spell_id: str, kind: Any = "found_herself", **fields: Any
) -> ReemploymentSpellStartedV1:
    values: dict[str, Any] = {"employer_name": "超市"} if kind == "found_herself" else {}
    return ReemploymentSpellStartedV1(
        worker_id="w1",
        spell_id=spell_id,
        kind=kind,
        started_on=date(2026, 3, 1),
        area_code=AREA,
        gender="female",
        **(values | fields),
    )


def given(*events: EventContract) -> Worker:
    return Worker.from_history("w1", list(events), version=len(events))


def start(worker: Worker, spell_id: str = "s1", **fields: Any) -> None:
    command: dict[str, Any] = {
        "kind": "found_herself",
        "employer_name": "交道口超市",
        "started_on": date(2026, 3, 1),
    }
    worker.start_spell(spell_id=spell_id, today=TODAY, **(command | fields))


def test_every_kind_of_spell_starts_with_its_business_date_area_and_gender() -> None:
    kinds: list[dict[str, Any]] = [
        {"kind": "placement", "post_id": "p1", "placement_id": "pl1", "employer_name": "驿站"},
        {"kind": "found_herself", "employer_name": "超市"},
        {"kind": "flexible", "employer_name": None, "hours_type": "hourly"},
        {"kind": "self_employed", "employer_name": None, "business": SHOP},
        {"kind": "business", "employer_name": None, "business": SHOP},
    ]
    for n, fields in enumerate(kinds):
        worker = given(registered())
        start(worker, f"s{n}", **fields)
        [event] = worker.pending
        assert isinstance(event, ReemploymentSpellStartedV1)
        assert (event.kind, event.started_on, event.area_code, event.gender) == (
            fields["kind"],
            date(2026, 3, 1),
            AREA,
            "female",
        )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "placement", "employer_name": "驿站"}, "post_id"),
        ({"kind": "found_herself", "employer_name": None}, "employer_name"),
        ({"kind": "flexible", "post_id": "p1", "placement_id": "pl1"}, "post_id"),
        ({"kind": "self_employed", "employer_name": None}, "business"),
        (
            {"kind": "business", "business": BusinessStarted(name="店", trade="餐饮")},
            "business.licence_no",
        ),
        ({"kind": "found_herself", "business": SHOP}, "business"),
    ],
)
def test_each_kind_says_what_it_must(fields: dict[str, Any], field: str) -> None:
    worker = given(registered())
    with pytest.raises(InvalidCommandError) as refused:
        start(worker, **fields)
    assert refused.value.extensions["field"] == field
    assert worker.pending == []


def test_a_spell_starts_neither_in_the_future_nor_before_she_registered() -> None:
    for day in (date(2026, 11, 2), date(2026, 1, 4)):
        with pytest.raises(InvalidCommandError) as refused:
            start(given(registered()), started_on=day)
        assert refused.value.extensions["field"] == "started_on"
    # registered before business dates: only the rule for every date holds
    start(given(registered(on=None)), started_on=date(2025, 6, 1))
    # a placement employment already accepted is kept, whenever her registration was entered
    placed = given(registered())
    start(
        placed,
        "pl1",
        kind="placement",
        post_id="p1",
        placement_id="pl1",
        started_on=date(2026, 1, 4),
        reported_by_employment=True,
    )
    assert len(placed.pending) == 1


def test_she_may_hold_two_spells_at_once_but_not_the_same_one_twice() -> None:
    worker = given(registered(), started("s1"))
    start(worker, "s2", kind="flexible", employer_name=None)
    assert len(worker.pending) == 1
    with pytest.raises(AlreadyExistsError) as twice:
        start(given(registered(), started("s1")), "s3", employer_name="超市")
    assert twice.value.extensions["existing_id"] == "s1"


def test_a_placement_is_one_spell_however_often_employment_says_so() -> None:
    old = WorkerReemployedV1(
        worker_id="w1",
        post_id="p1",
        placement_id="pl1",
        employer_name="驿站",
        started_on=date(2026, 3, 1),
        area_code=AREA,
    )
    placement = {"kind": "placement", "post_id": "p1", "employer_name": "驿站"}
    for history in ([old], [started("pl1", "placement", placement_id="pl1", post_id="p1")]):
        worker = given(registered(), *history)
        start(worker, "pl1", placement_id="pl1", **placement)
        assert worker.pending == []


def test_ending_her_only_spell_registers_her_unemployed_again_in_the_same_append() -> None:
    worker = given(registered(), started("s1"))
    worker.end_spell(spell_id="s1", ended_on=date(2026, 10, 31), reason="合同期满", today=TODAY)
    ended, again = worker.pending
    assert isinstance(ended, ReemploymentSpellEndedV1)
    assert (ended.kind, ended.ended_on, ended.area_code) == (
        "found_herself",
        date(2026, 10, 31),
        AREA,
    )
    assert isinstance(again, UnemploymentReregisteredV1)
    assert (again.occurred_on, again.after_spell_id) == (date(2026, 10, 31), "s1")


def test_an_older_placement_ends_as_a_spell_named_by_its_placement() -> None:
    old = WorkerReemployedV1(
        worker_id="w1",
        post_id="p1",
        placement_id="pl1",
        employer_name="驿站",
        started_on=date(2026, 3, 1),
        area_code=AREA,
    )
    worker = given(registered(), old)
    worker.end_spell(spell_id="pl1", ended_on=TODAY, reason="dismissed", today=TODAY)
    assert [e.event_type for e in worker.pending] == [
        "ReemploymentSpellEnded",
        "UnemploymentReregistered",
    ]
    assert worker.pending[0].kind == "placement"  # type: ignore[attr-defined]


def test_while_another_spell_runs_she_is_not_unemployed_again() -> None:
    worker = given(registered(), started("s1"), started("s2", "flexible"))
    worker.end_spell(spell_id="s1", ended_on=TODAY, reason="辞职", today=TODAY)
    [event] = worker.pending
    assert isinstance(event, ReemploymentSpellEndedV1)


def test_a_spell_ends_once_after_it_began_never_in_the_future() -> None:
    ended = ReemploymentSpellEndedV1(
        worker_id="w1",
        spell_id="s1",
        kind="found_herself",
        ended_on=TODAY,
        reason="x",
        area_code=AREA,
    )
    worker = given(registered(), started("s1"), ended)
    worker.end_spell(spell_id="s1", ended_on=TODAY, reason="again", today=TODAY)
    assert worker.pending == []
    for day, field in ((date(2026, 2, 28), "ended_on"), (date(2026, 11, 2), "ended_on")):
        with pytest.raises(InvalidCommandError) as refused:
            given(registered(), started("s1")).end_spell(
                spell_id="s1", ended_on=day, reason="x", today=TODAY
            )
        assert refused.value.extensions["field"] == field
    with pytest.raises(NotFoundError):
        given(registered()).end_spell(spell_id="nope", ended_on=TODAY, reason="x", today=TODAY)


def test_a_new_spell_after_one_ended() -> None:
    ended = ReemploymentSpellEndedV1(
        worker_id="w1",
        spell_id="s1",
        kind="found_herself",
        ended_on=date(2026, 6, 30),
        reason="x",
        area_code=AREA,
    )
    worker = given(registered(), started("s1"), ended)
    start(worker, "s2", started_on=date(2026, 8, 1), employer_name="交道口超市")
    [event] = worker.pending
    assert isinstance(event, ReemploymentSpellStartedV1)
    assert worker.state is not None
    assert list(worker.state.open_spells) == ["s2"]


def test_an_erased_worker_refuses_every_spell_and_benefit_command() -> None:
    erased = WorkerErasedV1(worker_id="w1", reason="her request")
    worker = given(registered(), started("s1"), erased)
    with pytest.raises(NotFoundError):
        start(worker, "s2")
    with pytest.raises(NotFoundError):
        worker.end_spell(spell_id="s1", ended_on=TODAY, reason="x", today=TODAY)
    with pytest.raises(NotFoundError):
        worker.grant_benefit(
            benefit_id="b1", from_on=TODAY, until=date(2027, 6, 30), monthly_yuan=1800, today=TODAY
        )
    with pytest.raises(NotFoundError):
        worker.end_benefit(ended_on=TODAY, reason="x", today=TODAY)


# unemployment-insurance benefit (领失业金)


def granted(
    benefit_id: str = "b1", until: date = date(2027, 2, 28)
) -> UnemploymentBenefitGrantedV1:
    return UnemploymentBenefitGrantedV1(
        worker_id="w1",
        benefit_id=benefit_id,
        from_on=date(2026, 9, 1),
        until=until,
        monthly_yuan=1800,
        area_code=AREA,
    )


def test_a_benefit_is_granted_with_its_end_date_once() -> None:
    worker = given(registered())
    worker.grant_benefit(
        benefit_id="b1",
        from_on=date(2026, 9, 1),
        until=date(2027, 2, 28),
        monthly_yuan=1800,
        today=TODAY,
    )
    [event] = worker.pending
    assert event == granted()
    again = given(registered(), granted())
    again.grant_benefit(
        benefit_id="b1",
        from_on=date(2026, 9, 1),
        until=date(2027, 2, 28),
        monthly_yuan=1800,
        today=TODAY,
    )
    assert again.pending == []


def test_a_benefit_starts_by_today_and_ends_after_it_starts() -> None:
    with pytest.raises(InvalidCommandError) as future:
        given(registered()).grant_benefit(
            benefit_id="b1",
            from_on=date(2026, 11, 2),
            until=date(2027, 2, 28),
            monthly_yuan=1,
            today=TODAY,
        )
    assert future.value.extensions["field"] == "from_on"
    with pytest.raises(InvalidCommandError) as backwards:
        given(registered()).grant_benefit(
            benefit_id="b1",
            from_on=date(2026, 9, 1),
            until=date(2026, 8, 31),
            monthly_yuan=1,
            today=TODAY,
        )
    assert backwards.value.extensions["field"] == "until"


def test_a_second_benefit_waits_until_the_first_has_stopped() -> None:
    with pytest.raises(RuleViolationError) as drawing:
        given(registered(), granted()).grant_benefit(
            benefit_id="b2", from_on=TODAY, until=date(2027, 6, 30), monthly_yuan=1800, today=TODAY
        )
    assert drawing.value.extensions["existing_id"] == "b1"
    ran_out = given(registered(), granted(until=date(2026, 10, 31)))
    ran_out.grant_benefit(
        benefit_id="b2", from_on=TODAY, until=date(2027, 6, 30), monthly_yuan=1900, today=TODAY
    )
    assert len(ran_out.pending) == 1


def test_a_benefit_stops_once_within_its_months() -> None:
    worker = given(registered(), granted())
    worker.end_benefit(ended_on=date(2026, 10, 15), reason="实现再就业", today=TODAY)
    [event] = worker.pending
    assert isinstance(event, UnemploymentBenefitEndedV1)
    assert (event.benefit_id, event.ended_on) == ("b1", date(2026, 10, 15))
    stopped = given(registered(), granted(), event)
    stopped.end_benefit(ended_on=TODAY, reason="again", today=TODAY)
    assert stopped.pending == []
    assert stopped.state is not None
    assert stopped.state.benefit is not None
    assert not stopped.state.benefit.draws_on(TODAY)
    with pytest.raises(InvalidCommandError):
        given(registered(), granted()).end_benefit(
            ended_on=date(2026, 8, 31), reason="x", today=TODAY
        )
    with pytest.raises(NotFoundError):
        given(registered()).end_benefit(ended_on=TODAY, reason="x", today=TODAY)


def test_a_state_cached_before_spells_is_not_trusted() -> None:
    """Cached without open spells, an older placement would look ended: the executor reads
    the log instead when the cached state fails to load."""
    with pytest.raises(ValidationError):
        WorkerState.model_validate({"area_code": AREA, "placement_ids": ["pl1"]})
