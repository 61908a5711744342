"""Shared report figures: counts of 1 to 4 are "<5", and nothing else gives them away."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from jinguo_rights.domain.reports import (
    IMPLIED,
    LESS_THAN_FIVE,
    SHOWN,
    SUMS,
    WITHHELD,
    CaseCounts,
    Sum,
    case_figures,
    protect,
)


def counts(**changes: Any) -> CaseCounts:
    fields: dict[str, Any] = {
        "cases": 40,
        "by_channel": {"hotline_12338": 20, "visit": 12, "letter": 8},
        "by_category": {"labour": 25, "domestic_violence": 15},
        "closed": 30,
        "closed_on_time": 24,
        "working_days_to_close": 300,
        "overdue": 6,
        "escalated": 8,
        "satisfaction_asked": 25,
        "satisfied": 20,
        "domestic_violence_stopped": 10,
        "legal_aid_cases": 12,
    }
    return CaseCounts(**(fields | changes))


def worked_out(shown: Mapping[str, Any], sums: tuple[Sum, ...]) -> dict[str, int]:
    """What someone learns exactly by adding and subtracting the shown figures: a sum whose
    terms are all known but one gives that one (an attacker written apart from the rule)."""
    known = {name: value for name, value in shown.items() if isinstance(value, int)}
    changed = True
    while changed:
        changed = False
        for total_sum in sums:
            missing = [p for p in total_sum.parts if p not in known]
            if total_sum.total in known and len(missing) == 1:
                rest = sum(known[p] for p in total_sum.parts if p in known)
                known[missing[0]] = known[total_sum.total] - rest
                changed = True
            elif total_sum.total not in known and not missing:
                known[total_sum.total] = sum(known[p] for p in total_sum.parts)
                changed = True
    return known


def test_an_agencys_own_figures_are_exact() -> None:
    own = case_figures(counts(by_category={"labour": 37, "domestic_violence": 3}), shared=False)
    assert own["by_category"]["domestic_violence"] == 3
    assert (own["cases"], own["closed"], own["closure_rate"]) == (40, 30, 75.0)
    assert own["average_working_days_to_close"] == 10.0
    assert own["by_channel"]["online"] == 0


def test_a_small_count_is_shown_as_less_than_five_and_its_complement_withheld() -> None:
    few_dv = counts(by_category={"labour": 37, "domestic_violence": 3}, domestic_violence_stopped=0)
    shared = case_figures(few_dv, shared=True)
    assert shared["by_category"]["domestic_violence"] == LESS_THAN_FIVE
    # labour would give 40 - 37 = 3 away
    assert shared["by_category"]["labour"] == WITHHELD
    assert shared["by_category"]["other"] == 0
    assert shared["cases"] == 40
    assert shared["closure_rate"] == 75.0


def test_rates_and_averages_of_hidden_counts_are_withheld() -> None:
    few = counts(
        cases=3,
        by_channel={"visit": 3},
        by_category={"domestic_violence": 3},
        closed=2,
        closed_on_time=2,
        working_days_to_close=9,
        overdue=1,
        escalated=1,
        satisfaction_asked=2,
        satisfied=1,
        domestic_violence_stopped=2,
        legal_aid_cases=0,
    )
    shared = case_figures(few, shared=True)
    assert (shared["cases"], shared["closed"], shared["open"]) == ("<5", "<5", "<5")
    assert shared["closure_rate"] == WITHHELD
    assert shared["satisfaction_rate"] == WITHHELD
    assert shared["average_working_days_to_close"] == WITHHELD
    values = [*shared.values(), *shared["by_channel"].values(), *shared["by_category"].values()]
    assert not [v for v in values if (isinstance(v, int | float) and 0 < v < 5) or v == 66.7]


def test_a_count_implied_by_two_shown_ones_is_protected_too() -> None:
    # 12 of 14 with legal aid: "2 without" is a count of 1 to 4, though never shown
    shared = case_figures(counts(cases=40, legal_aid_cases=38), shared=True)
    assert shared["legal_aid_cases"] == WITHHELD
    assert shared["cases"] == 40


def test_two_small_cells_adding_up_to_eight_or_two_are_not_left_alone() -> None:
    cells = {"t": 8, "a": 4, "b": 4, "c": 0}
    four_and_four = protect(cells, cells, [Sum("t", ("a", "b", "c"))])
    assert four_and_four["t"] == WITHHELD  # both 4 otherwise: nothing else to withhold
    cells = {"t": 12, "a": 1, "b": 1, "c": 10}
    one_and_one = protect(cells, cells, [Sum("t", ("a", "b", "c"))])
    assert one_and_one == {"t": 12, "a": "<5", "b": "<5", "c": WITHHELD}


def test_no_small_count_can_be_worked_out_from_any_shared_report() -> None:
    rng = random.Random(2026)
    for _ in range(3000):
        cases = rng.choice((rng.randint(0, 12), rng.randint(0, 60)))
        closed = rng.randint(0, cases)
        asked = rng.randint(0, closed)
        dv = rng.randint(0, cases)
        channels = _split(rng, cases, 5)
        report = counts(
            cases=cases,
            by_channel=dict(
                zip(
                    ("hotline_12338", "visit", "letter", "online", "referral"),
                    channels,
                    strict=True,
                )
            ),
            by_category={"domestic_violence": dv, "labour": cases - dv},
            closed=closed,
            closed_on_time=rng.randint(0, closed),
            overdue=rng.randint(0, cases - closed),
            escalated=rng.randint(0, cases),
            satisfaction_asked=asked,
            satisfied=rng.randint(0, asked),
            domestic_violence_stopped=rng.randint(0, min(dv, closed)),
            legal_aid_cases=rng.randint(0, cases),
        )
        cells = report.cells()
        shown = protect(cells, SHOWN, SUMS)
        learnt = worked_out(shown, SUMS)
        for name, value in cells.items():
            if 1 <= value <= 4:
                assert name not in learnt, (name, cells, shown)
            if name in shown:
                assert shown[name] in (value, LESS_THAN_FIVE, WITHHELD)
                assert (shown[name] == LESS_THAN_FIVE) == (1 <= value <= 4)
        assert set(IMPLIED).isdisjoint(shown)


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    cuts = sorted(rng.randint(0, total) for _ in range(parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
