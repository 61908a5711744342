"""The rights figures for other services: counted by business date per month, quarter, half and
year, small counts hidden so that no count of 1 to 4 can be worked out from one event, and
published again only when they change."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from jinguo_contracts.inspections import FIGURE_INDICATORS
from jinguo_rights.domain.calendar import CHINA_2026
from jinguo_rights.domain.cases import Case, NewCase
from jinguo_rights.domain.deadlines import DeadlinePolicy
from jinguo_rights.domain.figures import (
    IMPLIED,
    CaseFacts,
    RightsFigures,
    count_cells,
    figure_sums,
    figures,
    periods,
)
from jinguo_rights.domain.reports import SMALL
from jinguo_rights.handlers.commands import AssignCase, OpenCase, ReopenCase
from jinguo_shared.domain import InvalidCommandError

D = date.fromisoformat
OPEN = CaseFacts(D("2026-03-10"), "labour", "visit", None, None, None, None, None)


def closed(opened_on: str, closed_on: str, **changes: Any) -> CaseFacts:
    facts = {"on_time": True, "outcome": "resolved"} | changes
    return replace(OPEN, opened_on=D(opened_on), closed_on=D(closed_on), **facts)


def test_a_case_counts_in_the_month_quarter_half_and_year_of_its_business_date() -> None:
    cells = count_cells([OPEN] * 7, 2026)
    counted = {k for k, v in cells.items() if k.startswith("cases_opened|") and v}
    assert counted == {f"cases_opened|{p}" for p in ("2026-03", "2026Q1", "2026H1", "2026")}
    assert len(periods(2026)) == 19
    assert count_cells([OPEN] * 7, 2025)["cases_opened|2025"] == 0


def test_one_to_four_cases_are_shown_as_fewer_than_five_and_more_exactly() -> None:
    three, seven = figures([OPEN] * 3, 2026), figures([OPEN] * 7, 2026)
    assert three["cases_opened"]["2026-03"] == three["cases_opened"]["2026"] == "<5"
    assert seven["cases_opened"]["2026-03"] == seven["cases_opened"]["2026"] == 7
    assert seven["cases_opened"]["2026-04"] == 0
    assert set(seven) == set(FIGURE_INDICATORS)


def test_closings_count_on_their_day_and_a_rate_is_its_two_cells() -> None:
    cases = [
        *[closed("2026-01-05", "2026-02-10")] * 5,
        *[closed("2026-01-06", "2026-04-01", on_time=False, outcome="mediated")] * 5,
        *[OPEN] * 6,
    ]
    shown = figures(cases, 2026)
    assert shown["cases_closed"]["2026-02"] == shown["cases_closed"]["2026-04"] == 5
    assert shown["closed_on_time"]["2026-02"] == 5
    assert shown["closed_on_time"]["2026-04"] == 0
    assert shown["mediated"]["2026Q2"] == 5
    # 办结率: cases taken in during January that are closed now, over those taken in
    assert shown["opened_and_closed"]["2026-01"] == shown["cases_opened"]["2026-01"] == 10
    assert shown["cases_opened"]["2026"] == 16
    assert shown["opened_and_closed"]["2026"] == 10


def test_no_small_count_can_be_worked_out_by_adding_and_subtracting() -> None:
    """January 5 and March 2 make a first quarter of 7: with January and February shown, March
    would be 7 - 5 - 0 = 2. Something else is withheld, and nothing pins a small count."""
    cases = [
        *[replace(OPEN, opened_on=D("2026-01-12"))] * 5,
        *[replace(OPEN, opened_on=D("2026-03-02"))] * 2,
        *[closed("2026-05-04", "2026-05-06")] * 6,
        closed("2026-05-04", "2026-05-20", on_time=False),
    ]
    shown = figures(cases, 2026)
    assert shown["cases_opened"]["2026-03"] == "<5"
    assert "withheld" in shown["cases_opened"].values()
    assert_nothing_small_is_derivable(cases, shown)


def test_a_larger_year_keeps_its_totals() -> None:
    cases = [
        replace(OPEN, opened_on=date(2026, month, 10), channel=channel)
        for month in range(1, 13)
        for channel in ("visit", "visit", "hotline_12338", "letter", "online", "visit")
    ]
    shown = figures(cases, 2026)
    assert shown["cases_opened"]["2026"] == 72
    assert all(shown["cases_opened"][f"2026-{m:02d}"] == 6 for m in range(1, 13))
    assert_nothing_small_is_derivable(cases, shown)


def assert_nothing_small_is_derivable(cases: list[CaseFacts], shown: dict[str, Any]) -> None:
    """No sum (periods, or a whole and its part) with exactly one cell unknown, that cell a
    count of 1 to 4, and every other cell shown exactly."""
    counts = count_cells(cases, 2026)
    exact = {f"{i}|{p}": v for i, by_period in shown.items() for p, v in by_period.items()}
    for total_sum in figure_sums(2026):
        names = (total_sum.total, *total_sum.parts)
        unknown = [n for n in names if not isinstance(exact.get(n), int)]
        if len(unknown) == 1:
            assert counts[unknown[0]] not in SMALL, (unknown, total_sum)
    assert set(IMPLIED) <= {n.split("|")[0] for n in counts}


def test_figures_are_published_only_when_they_change() -> None:
    figures_aggregate = RightsFigures("110101-2026")
    figures_aggregate.publish_area(area_code="110101", year=2026, now=figures([], 2026))
    assert figures_aggregate.pending == []  # nothing ever counted: nothing to publish
    figures_aggregate.publish_area(area_code="110101", year=2026, now=figures([OPEN], 2026))
    figures_aggregate.publish_area(area_code="110101", year=2026, now=figures([OPEN] * 2, 2026))
    figures_aggregate.publish_area(area_code="110101", year=2026, now=figures([OPEN] * 5, 2026))
    [small, five] = figures_aggregate.pending
    assert small.figures["cases_opened"]["2026-03"] == "<5"  # type: ignore[attr-defined]
    assert five.area_level == "district"  # type: ignore[attr-defined]
    assert five.figures["cases_opened"]["2026-03"] == 5  # type: ignore[attr-defined]


# business dates of the commands ----------------------------------------------------------------

POLICY = DeadlinePolicy(CHINA_2026)
TODAY = D("2026-11-23")


def test_area_codes_are_taken_in_every_form_and_kept_in_one() -> None:
    body = {
        "channel": "visit",
        "category": "labour",
        "area_code": " 43 ",
        "complainant": {"name": "王桂英"},
        "respondent": {"kind": "person", "name": "张某"},
        "summary": "拖欠工资",
    }
    assert OpenCase.model_validate(body).area_code == "430000"
    with pytest.raises(ValidationError, match="has 000 for its street"):
        OpenCase.model_validate(body | {"area_code": "430102000"})
    assert AssignCase(officer_id="ann").occurred_on is None
    assert ReopenCase(reason="未履行", occurred_on=D("2026-05-01")).occurred_on == D("2026-05-01")


def test_a_case_is_back_dated_never_dated_ahead_and_on_time_is_judged_on_business_dates() -> None:
    new = NewCase(
        agency_id="fed",
        area_code="110101001001",
        channel="visit",
        category="domestic_violence",
        urgency="normal",
        complainant_id="c1",
        complainant_worker_id=None,
        complainant_name="王桂英",
        complainant_phone=None,
        respondent_kind="person",
        respondent_name="张某",
        respondent_employer_id=None,
        summary="家暴",
        opened_on=D("2026-03-09"),
    )
    with pytest.raises(InvalidCommandError) as ahead:
        Case("c").open(replace(new, opened_on=D("2026-11-24")), policy=POLICY, today=TODAY)
    assert ahead.value.extensions["field"] == "opened_on"
    case = Case("c")
    case.open(new, policy=POLICY, today=TODAY)
    assert case.pending[0].due_on == D("2026-03-16")  # type: ignore[attr-defined]
    with pytest.raises(InvalidCommandError) as early:
        case.assign(officer_id="ann", assigned_on=D("2026-03-08"), today=TODAY)
    assert early.value.extensions["field"] == "occurred_on"
    case.close(
        outcome="violence_stopped",
        complainant_satisfied=None,
        closed_on=D("2026-03-16"),
        policy=POLICY,
        today=TODAY,
    )
    assert case.pending[-1].on_time  # type: ignore[attr-defined]
    with pytest.raises(InvalidCommandError) as before_closing:
        case.reopen(reason="再次施暴", reopened_on=D("2026-03-13"), policy=POLICY, today=TODAY)
    assert before_closing.value.extensions["field"] == "occurred_on"
    case.reopen(reason="再次施暴", reopened_on=D("2026-06-01"), policy=POLICY, today=TODAY)
    case.close(
        outcome="violence_stopped",
        complainant_satisfied=None,
        closed_on=D("2026-06-15"),
        policy=POLICY,
        today=TODAY,
    )
    assert not case.pending[-1].on_time  # type: ignore[attr-defined]
