"""Given events, when a command, then events: employers, posts and placements without I/O."""

from __future__ import annotations

from datetime import date

import pytest

from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    EmployerRegisteredV1,
    EmployerReinstatedV1,
    EmployerSuspendedV1,
    PlacementEndedV1,
    PlacementFollowedUpV1,
    PlacementStartedV1,
    PostClosedV1,
    PostFilledV1,
    PostPublishedV1,
    PostReopenedV1,
    PostSuspendedV1,
    Requirements,
    Wage,
)
from jinguo_employment.domain.employer import Employer
from jinguo_employment.domain.post import (
    EmployerSuspendedError,
    Post,
    PostFullError,
    PriorityCandidateWaitingError,
    fill_post,
)
from jinguo_employment.domain.worker_record import (
    SecondFullTimePlacementError,
    WorkerRecord,
    add_months,
)
from jinguo_shared.domain import AlreadyExistsError, InvalidCommandError, RuleViolationError

TODAY = date(2026, 11, 1)


def employer(*events: EventContract) -> Employer:
    registered = EmployerRegisteredV1(
        employer_id="e1",
        name="东四社区养老驿站",
        credit_code="91110101MA00000000",
        area_code="110101",
    )
    return Employer.from_history("e1", [registered, *events], version=1 + len(events))


def published(
    kind: str = "market", openings: int = 2, hours_type: str = "full_time"
) -> PostPublishedV1:
    return PostPublishedV1(
        post_id="p1",
        employer_id="e1",
        employer_name="东四社区养老驿站",
        title="养老护理员",
        occupation_code="4-10-01-05",
        code_system="GB/T 6565-2015",
        area_code="110101001001",
        wage=Wage(amount=4200, unit="month"),
        hours_type=hours_type,  # type: ignore[arg-type]
        openings=openings,
        requirements=Requirements(),
        kind=kind,  # type: ignore[arg-type]
        published_on=TODAY,
    )


def post(*events: EventContract, **publish: object) -> Post:
    history = [published(**publish), *events]  # type: ignore[arg-type]
    return Post.from_history("p1", history, version=len(history))


def record(worker_id: str = "w1", *events: EventContract) -> WorkerRecord:
    return WorkerRecord.from_history(worker_id, list(events), version=len(events))


def fill(p: Post, r: WorkerRecord, placement: str = "pl1", **rules: object) -> None:
    options: dict[str, object] = {
        "employer_suspended": False,
        "worker_is_priority": False,
        "waiting_priority_candidates": [],
        "override_reason": None,
    }
    options.update(rules)
    fill_post(p, r, placement_id=placement, start_date=TODAY, today=TODAY, **options)  # type: ignore[arg-type]


def started(placement: str = "pl0", hours_type: str = "full_time") -> PlacementStartedV1:
    return PlacementStartedV1(
        worker_id="w1",
        placement_id=placement,
        post_id="p0",
        employer_id="e0",
        area_code="110101001001",
        hours_type=hours_type,  # type: ignore[arg-type]
        kind="market",
        start_date=date(2026, 1, 5),
    )


# employers ----------------------------------------------------------------------------------------


def test_the_same_violation_suspends_an_employer_once() -> None:
    e = employer()
    e.suspend(reason="同工同酬", inspection_id="i1", on=TODAY, today=TODAY)
    e.suspend(reason="同工同酬", inspection_id="i1", on=TODAY, today=TODAY)
    assert [type(x) for x in e.pending] == [EmployerSuspendedV1]
    assert e.state is not None
    assert e.state.suspended


def test_an_employer_stays_suspended_until_every_violation_is_rectified() -> None:
    e = employer(
        EmployerSuspendedV1(employer_id="e1", reason="a", inspection_id="i1"),
        EmployerSuspendedV1(employer_id="e1", reason="b", inspection_id="i2"),
    )
    e.reinstate(reason="rectified", inspection_id="i1", on=TODAY, today=TODAY)
    [first] = e.pending
    assert isinstance(first, EmployerReinstatedV1)
    assert first.still_suspended_by == ["i2"]
    assert e.state is not None
    assert e.state.suspended
    e.reinstate(
        reason="rectified", inspection_id="i1", on=TODAY, today=TODAY
    )  # redelivered: nothing new
    e.reinstate(reason="rectified", inspection_id="i2", on=TODAY, today=TODAY)
    assert len(e.pending) == 2
    assert not e.state.suspended


def test_reinstating_an_employer_that_is_not_suspended_records_nothing() -> None:
    e = employer()
    e.reinstate(reason="x", on=TODAY, today=TODAY)
    e.reinstate(reason="x", inspection_id="unknown", on=TODAY, today=TODAY)
    assert e.pending == []


# posts ------------------------------------------------------------------------------------------


def publish(post: Post, published_on: date, *, suspended: bool = False) -> None:
    post.publish(
        employer_id="e1",
        employer_name="x",
        employer_suspended=suspended,
        title="t",
        occupation_code="4-10-01-05",
        area_code="110101",
        wage=Wage(amount=1, unit="hour"),
        hours_type="hourly",
        openings=1,
        requirements=Requirements(),
        kind="market",
        published_on=published_on,
        today=TODAY,
    )


def test_a_suspended_employer_cannot_publish() -> None:
    with pytest.raises(EmployerSuspendedError):
        publish(Post("p9"), TODAY, suspended=True)


def test_a_post_is_dated_the_day_it_was_published_never_a_day_to_come() -> None:
    p = Post("p9")
    publish(p, date(2025, 4, 1))
    [published] = p.pending
    assert isinstance(published, PostPublishedV1)
    assert published.published_on == date(2025, 4, 1)
    with pytest.raises(InvalidCommandError) as refused:
        publish(Post("p10"), date(2026, 11, 2))
    assert refused.value.extensions == {"field": "published_on"}
    with pytest.raises(InvalidCommandError) as refused:
        p.close(reason="filled elsewhere", on=date(2026, 11, 2), today=TODAY)
    assert refused.value.extensions == {"field": "occurred_on"}
    p.close(reason="filled elsewhere", on=date(2025, 6, 30), today=TODAY)
    closed = p.pending[-1]
    assert isinstance(closed, PostClosedV1)
    assert closed.occurred_on == date(2025, 6, 30)


def test_filling_records_the_post_and_the_workers_side_together() -> None:
    p, r = post(), record()
    fill(p, r)
    [filled] = p.pending
    [start] = r.pending
    assert isinstance(filled, PostFilledV1)
    assert isinstance(start, PlacementStartedV1)
    assert (filled.placement_id, filled.openings_left) == (start.placement_id, 1)
    assert filled.employer_name == "东四社区养老驿站"


def test_a_post_is_never_filled_beyond_its_openings() -> None:
    p = post(openings=1)
    fill(p, record("w1"))
    with pytest.raises(PostFullError):
        fill(p, record("w2"), placement="pl2")


def test_a_worker_cannot_hold_two_full_time_placements() -> None:
    with pytest.raises(SecondFullTimePlacementError) as refused:
        fill(post(), record("w1", started()))
    assert refused.value.extensions == {"placement_id": "pl0"}


def test_part_time_work_does_not_block_another_placement() -> None:
    fill(post(hours_type="part_time"), record("w1", started()))
    p = post()
    fill(p, record("w1", started(hours_type="part_time")))
    assert len(p.pending) == 1


def test_an_ended_full_time_placement_frees_the_worker() -> None:
    ended = PlacementEndedV1(
        worker_id="w1",
        placement_id="pl0",
        reason="resigned",
        ended_on=date(2026, 6, 1),
        hours_type="full_time",
        area_code="110101001001",
    )
    p = post()
    fill(p, record("w1", started(), ended))
    assert len(p.pending) == 1


def test_public_welfare_goes_first_to_a_waiting_priority_candidate() -> None:
    p = post(kind="public_welfare")
    with pytest.raises(PriorityCandidateWaitingError) as refused:
        fill(p, record("w1"), waiting_priority_candidates=["w7"])
    assert refused.value.extensions == {"waiting_candidates": ["w7"]}
    fill(p, record("w1"), waiting_priority_candidates=["w7"], override_reason="w7 declined")
    [filled] = p.pending
    assert isinstance(filled, PostFilledV1)
    assert filled.override_reason == "w7 declined"


def test_a_priority_worker_fills_public_welfare_without_an_override() -> None:
    p = post(kind="public_welfare")
    fill(p, record("w1"), worker_is_priority=True, waiting_priority_candidates=["w7"])
    [filled] = p.pending
    assert isinstance(filled, PostFilledV1)
    assert filled.override_reason is None


def test_the_priority_rule_is_for_public_welfare_posts_only() -> None:
    p = post(kind="market")
    fill(p, record("w1"), waiting_priority_candidates=["w7"], override_reason="ignored")
    [filled] = p.pending
    assert isinstance(filled, PostFilledV1)
    assert filled.override_reason is None


def test_a_suspended_post_or_employer_cannot_be_filled() -> None:
    with pytest.raises(RuleViolationError):
        fill(post(PostSuspendedV1(post_id="p1", reason="x")), record())
    with pytest.raises(EmployerSuspendedError):
        fill(post(), record(), employer_suspended=True)


def test_the_same_worker_is_not_placed_twice_in_one_post() -> None:
    p = post(hours_type="part_time")
    fill(p, record("w1"))
    with pytest.raises(AlreadyExistsError):
        fill(p, record("w1"), placement="pl2")


def test_posts_suspended_with_their_employer_reopen_with_it() -> None:
    p = post(PostSuspendedV1(post_id="p1", reason="employer", employer_suspended=True))
    p.reopen(reason="reinstated", only_if_suspended_with_employer=True, on=TODAY, today=TODAY)
    assert [type(e) for e in p.pending] == [PostReopenedV1]
    q = post(PostSuspendedV1(post_id="p1", reason="staff decision"))
    q.reopen(reason="reinstated", only_if_suspended_with_employer=True, on=TODAY, today=TODAY)
    assert q.pending == []


# follow-ups ---------------------------------------------------------------------------------------


def test_follow_ups_come_when_due_and_once_each() -> None:
    r = record("w1", started())
    with pytest.raises(InvalidCommandError):
        r.follow_up(
            placement_id="pl0", month=3, still_employed=True, on=date(2026, 4, 4), today=TODAY
        )
    r.follow_up(placement_id="pl0", month=3, still_employed=True, on=date(2026, 4, 5), today=TODAY)
    r.follow_up(placement_id="pl0", month=3, still_employed=True, on=date(2026, 4, 6), today=TODAY)
    with pytest.raises(InvalidCommandError):
        r.follow_up(placement_id="pl0", month=4, still_employed=True, on=TODAY, today=TODAY)
    assert [type(e) for e in r.pending] == [PlacementFollowedUpV1]


def test_months_are_added_on_the_calendar() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)


# business dates -----------------------------------------------------------------------------------


def test_a_placement_starts_no_later_than_today() -> None:
    p, r = post(), record()
    # found: a placement starting 2031-01-01 was accepted
    with pytest.raises(InvalidCommandError) as refused:
        fill_post(
            p,
            r,
            placement_id="pl1",
            start_date=date(2031, 1, 1),
            today=TODAY,
            employer_suspended=False,
            worker_is_priority=False,
            waiting_priority_candidates=[],
            override_reason=None,
        )
    assert refused.value.extensions == {"field": "start_date"}
    assert (p.pending, r.pending) == ([], [])


def test_follow_ups_and_ends_happened_no_later_than_today() -> None:
    r = record("w1", started())
    with pytest.raises(InvalidCommandError) as refused:
        r.follow_up(
            placement_id="pl0", month=3, still_employed=True, on=date(2026, 11, 2), today=TODAY
        )
    assert refused.value.extensions == {"field": "followed_up_on"}
    with pytest.raises(InvalidCommandError) as refused:
        r.end_placement(
            placement_id="pl0",
            reason="resigned",
            ended_on=date(2026, 11, 2),
            notes=None,
            today=TODAY,
        )
    assert refused.value.extensions == {"field": "ended_on"}
    r.end_placement(placement_id="pl0", reason="resigned", ended_on=TODAY, notes=None, today=TODAY)
    assert [type(e) for e in r.pending] == [PlacementEndedV1]
