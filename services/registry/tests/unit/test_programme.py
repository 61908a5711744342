"""The programme year's rules without I/O: periods, offices, plans and reports, the sheet's
values and rates, awards by the level of their title."""

from __future__ import annotations

from datetime import date

import pytest

from jinguo_contracts.periods import ReportRevisedV1, ReportSubmittedV1, periods_of
from jinguo_registry.domain.indicators import BY_CODE, CATALOGUE, COUNTS
from jinguo_registry.domain.organisations import NotPermittedError
from jinguo_registry.domain.periods import Period
from jinguo_registry.domain.programme import Office, Plan, Report
from jinguo_registry.domain.recognition import Award
from jinguo_registry.domain.sheet import AreaFigures, is_lagging, rolled_up, sheet, value_of
from jinguo_shared.domain import InvalidCommandError, RuleViolationError

TODAY = date(2026, 12, 5)
COMMUNITY, STREET, DISTRICT = "430102001001", "430102001", "430102"
OWN = Office("community-office", COMMUNITY)
ABOVE = Office("street-office", STREET)
NEIGHBOUR = Office("neighbour", "430102001002")


@pytest.mark.parametrize(
    ("text", "months", "ends_on"),
    [
        ("2026", 12, date(2026, 12, 31)),
        ("2026H1", 6, date(2026, 6, 30)),
        ("2026Q3", 3, date(2026, 9, 30)),
        ("2024-02", 1, date(2024, 2, 29)),
    ],
)
def test_a_period_knows_its_months_and_end(text: str, months: int, ends_on: date) -> None:
    period = Period.parse(text)
    assert (len(period.months), period.ends_on) == (months, ends_on)


@pytest.mark.parametrize("text", ["2026H3", "2026Q5", "2026-13", "26", "2026-1", "2026年"])
def test_anything_else_is_not_a_period(text: str) -> None:
    with pytest.raises(ValueError, match="not a period"):
        Period.parse(text)


def test_a_day_lies_in_its_year_half_quarter_and_month() -> None:
    assert periods_of(date(2026, 8, 14)) == ["2026", "2026H2", "2026Q3", "2026-08"]


def test_an_office_is_its_own_area_or_above_it() -> None:
    assert OWN.is_own(COMMUNITY)
    assert not OWN.is_above(COMMUNITY)
    assert ABOVE.is_above(COMMUNITY)
    assert not NEIGHBOUR.is_above(COMMUNITY)
    assert Office("province", "43").is_above(DISTRICT)
    assert Office("system", "").is_above("430000")


def test_a_plan_is_decided_once_and_only_from_above() -> None:
    plan = Plan(f"{COMMUNITY}-2026")
    with pytest.raises(NotPermittedError):
        plan.submit(
            area_code=COMMUNITY, year=2026, targets={"placements": 3}, by=ABOVE, today=TODAY
        )
    with pytest.raises(InvalidCommandError):
        plan.submit(area_code=COMMUNITY, year=2026, targets={"luck": 1}, by=OWN, today=TODAY)
    plan.submit(area_code=COMMUNITY, year=2026, targets={"placements": 3}, by=OWN, today=TODAY)
    with pytest.raises(NotPermittedError):
        plan.approve(by=OWN, today=TODAY)
    with pytest.raises(NotPermittedError):
        plan.approve(by=NEIGHBOUR, today=TODAY)
    plan.approve(by=ABOVE, today=TODAY)
    with pytest.raises(RuleViolationError):
        plan.return_(reason="late", by=ABOVE, today=TODAY)


def test_a_report_closes_an_ended_period_and_is_revised_after_acceptance() -> None:
    report = Report(f"{COMMUNITY}-2026H1")
    half = Period.parse("2026H1")
    with pytest.raises(RuleViolationError, match="after it has ended"):
        report.submit(
            area_code=COMMUNITY,
            period=Period.parse("2026"),
            figures={},
            children_not_accepted=[],
            by=OWN,
            today=TODAY,
        )
    report.submit(
        area_code=COMMUNITY,
        period=half,
        figures={"placements": 2},
        children_not_accepted=[],
        by=OWN,
        today=TODAY,
    )
    with pytest.raises(RuleViolationError, match="only an accepted report"):
        report.revise(figures={"placements": 3}, reason="补录", by=OWN, today=TODAY)
    report.accept(by=ABOVE, today=TODAY)
    report.revise(figures={"placements": 3}, reason="补录", by=OWN, today=TODAY)
    submitted, _, revised = report.pending
    assert isinstance(submitted, ReportSubmittedV1)
    assert isinstance(revised, ReportRevisedV1)
    assert (revised.revision, revised.figures) == (1, {"placements": 3})


def test_a_parent_waits_for_its_children() -> None:
    with pytest.raises(RuleViolationError, match="1 areas below") as refused:
        Report(f"{STREET}-2026H1").submit(
            area_code=STREET,
            period=Period.parse("2026H1"),
            figures={},
            children_not_accepted=[COMMUNITY],
            by=Office("street-office", STREET),
            today=TODAY,
        )
    assert refused.value.extensions == {"areas": [COMMUNITY]}


def test_counts_sum_over_months_and_rates_divide() -> None:
    figures = AreaFigures(
        monthly={
            "trainees_completed": {"2026-01": 10, "2026-07": 10},
            "trainees_passed": {"2026-01": 9, "2026-07": 6},
            "service_hours": {"2026-02": 250},
        },
        cumulative={"volunteers_registered": 91},
        population={"residents": 910, "women": 460, "households": 350},
    )
    half = Period.parse("2026H1")
    year = Period.parse("2026")
    assert value_of(BY_CODE["trainees_passed"], figures, half) == 9
    assert value_of(BY_CODE["pass_rate"], figures, half) == 90.0
    assert value_of(BY_CODE["pass_rate"], figures, year) == 75.0
    assert value_of(BY_CODE["service_hours"], figures, half) == 2.5
    assert value_of(BY_CODE["volunteer_rate"], figures, half) == 10.0
    assert value_of(BY_CODE["pass_rate"], AreaFigures(), half) is None


def test_rights_cells_are_read_per_period_and_a_rate_over_a_small_cell_is_none() -> None:
    figures = AreaFigures(
        rights={
            "cases_opened": {"2026H1": 12, "2026-03": "<5"},
            "opened_and_closed": {"2026H1": 9, "2026-03": "<5"},
        }
    )
    assert value_of(BY_CODE["cases_opened"], figures, Period.parse("2026H1")) == 12
    assert value_of(BY_CODE["closure_rate"], figures, Period.parse("2026H1")) == 75.0
    assert value_of(BY_CODE["cases_opened"], figures, Period.parse("2026-03")) == "<5"
    assert value_of(BY_CODE["closure_rate"], figures, Period.parse("2026-03")) is None
    assert value_of(BY_CODE["cases_opened"], figures, Period.parse("2026-04")) == 0


def test_a_child_lags_when_behind_the_share_of_the_year_passed() -> None:
    assert is_lagging({"placements": 40.0}, expected=49.6)
    assert not is_lagging({"placements": 50.0, "home_visits": None}, expected=49.6)
    result = sheet(
        area={"area_code": STREET, "name": "文艺路街道", "level": "street"},
        period=Period.parse("2026H1"),
        today=TODAY,
        figures=AreaFigures(monthly={"placements": {"2026-03": 2}}, targets={"placements": 4}),
        children=[
            (
                {"area_code": COMMUNITY, "name": "韭菜园社区", "level": "community"},
                AreaFigures(monthly={"placements": {"2026-03": 1}}, targets={"placements": 4}),
            )
        ],
        reported={"placements": 1},
        report=None,
    )
    placements = next(i for i in result["indicators"] if i["code"] == "placements")
    assert (placements["value"], placements["progress"], placements["difference"]) == (2, 50.0, 1)
    assert result["lagging"] == [COMMUNITY]
    assert {i["code"] for i in result["indicators"]} == set(BY_CODE)


def test_every_rate_divides_counts_the_catalogue_has() -> None:
    for indicator in CATALOGUE:
        if indicator.is_rate:
            assert indicator.numerator in COUNTS
            assert indicator.denominator in COUNTS or indicator.per is not None


def test_a_title_is_awarded_at_its_level_or_above_never_by_its_nominator() -> None:
    award = Award("a1")
    award.nominate(
        area_code=COMMUNITY,
        title="civilised_post",
        level="city",
        year=2026,
        nominee_kind="area",
        nominee_id=COMMUNITY,
        nominee_name="韭菜园社区",
        reason="连续三年无投诉",
        on=TODAY,
        by=Office("district", DISTRICT),
        today=TODAY,
    )
    for office in (ABOVE, Office("district", DISTRICT), Office("other city", "4302")):
        with pytest.raises(NotPermittedError):
            award.grant(on=TODAY, by=office, today=TODAY)
    award.grant(on=TODAY, by=Office("city", "4301"), today=TODAY)


def test_a_report_above_rolls_up_what_its_children_reported_plus_its_own_level() -> None:
    # now: the street counts 9 placements, 7 of them in its two communities (a late one among
    # them) and 2 recorded at the street itself; the communities reported 3 and 3
    figures = rolled_up(
        now={"placements": 9, "trainees_passed": 8, "trainees_completed": 10, "cases_opened": "<5"},
        children_now=[
            {"placements": 4, "trainees_passed": 4, "trainees_completed": 5},
            {"placements": 3, "trainees_passed": 4, "trainees_completed": 5},
        ],
        children_reported=[
            {"placements": 3, "trainees_passed": 3, "trainees_completed": 5},
            {"placements": 3, "trainees_passed": 4, "trainees_completed": 5},
        ],
        population=None,
    )
    assert figures["placements"] == 8
    assert figures["pass_rate"] == 70.0
    assert figures["cases_opened"] == "<5"
