"""Training results: pass rate by kind, and re-employment within 3 and 6 months of the course's
end, each woman once per course, only once her months have passed."""

from __future__ import annotations

from datetime import date

from jinguo_employment.domain.training_results import Completion, training_results

ENDED = date(2026, 1, 31)


def done(worker: str, kind: str = "vocational", passed: bool = True) -> Completion:
    return Completion("c1" if kind == "vocational" else "c2", worker, kind, passed, ENDED)  # type: ignore[arg-type]


def test_pass_rate_by_kind_and_every_kind_reported() -> None:
    results = training_results(
        [done("a"), done("b", passed=False), done("c", "syb")], {}, date(2026, 12, 31)
    )
    assert (results["vocational"].trained, results["vocational"].passed) == (2, 1)
    assert results["vocational"].pass_rate == 50.0
    assert (results["syb"].trained, results["syb"].pass_rate) == (1, 100.0)
    empty = training_results([], {}, date(2026, 12, 31))
    assert empty["syb"].pass_rate is None
    assert empty["vocational"].reemployed["3m"].share is None


def test_a_start_counts_from_the_course_end_to_n_months_after_once_per_woman() -> None:
    starts = {
        "before": [date(2026, 1, 30)],
        "on_the_last_day": [date(2026, 1, 31)],
        "twice": [date(2026, 2, 10), date(2026, 3, 1)],
        "at_three_months": [date(2026, 4, 30)],
        "after_three": [date(2026, 5, 1)],
        "after_six": [date(2026, 8, 1)],
    }
    results = training_results([done(w) for w in starts], starts, date(2026, 12, 31))
    vocational = results["vocational"].reemployed
    assert vocational["3m"].model_dump() == {"trainees": 6, "reemployed": 3, "share": 50.0}
    assert vocational["6m"].model_dump() == {"trainees": 6, "reemployed": 4, "share": 66.7}


def test_a_trainee_is_due_only_once_her_months_have_passed() -> None:
    starts = {"a": [date(2026, 2, 1)]}
    before_three = training_results([done("a")], starts, date(2026, 4, 29))["vocational"]
    assert before_three.reemployed["3m"].trainees == 0
    after_three = training_results([done("a")], starts, date(2026, 4, 30))["vocational"]
    assert after_three.reemployed["3m"].model_dump() == {
        "trainees": 1,
        "reemployed": 1,
        "share": 100.0,
    }
    assert after_three.reemployed["6m"].trainees == 0
