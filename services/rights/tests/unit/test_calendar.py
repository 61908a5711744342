"""Working-day arithmetic across weekends, public holidays and make-up working days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from jinguo_rights.domain.calendar import CHINA_2026, CalendarError, WorkingCalendar
from jinguo_rights.domain.deadlines import DeadlinePolicy

D = date.fromisoformat


def test_a_plain_week_skips_the_weekend() -> None:
    plain = WorkingCalendar()
    assert plain.add_working_days(D("2026-11-20"), 1) == D("2026-11-23")  # Fri -> Mon
    assert plain.add_working_days(D("2026-11-20"), 5) == D("2026-11-27")
    assert plain.add_working_days(D("2026-11-21"), 0) == D("2026-11-21")


def test_national_day_holidays_are_skipped() -> None:
    # Wed 30 Sep + 1: 1-7 Oct are off, so Thursday 8 Oct
    assert CHINA_2026.add_working_days(D("2026-09-30"), 1) == D("2026-10-08")
    assert CHINA_2026.working_days_between(D("2026-09-30"), D("2026-10-08")) == 1


def test_make_up_working_days_count() -> None:
    # Fri 18 Sep + 1: Saturday off, Sunday 20 Sep is worked (调休上班)
    assert CHINA_2026.add_working_days(D("2026-09-18"), 1) == D("2026-09-20")
    # Fri 9 Oct + 1: Saturday 10 Oct is worked
    assert CHINA_2026.add_working_days(D("2026-10-09"), 1) == D("2026-10-10")
    assert CHINA_2026.is_working_day(D("2026-01-04"))
    assert not WorkingCalendar().is_working_day(D("2026-01-04"))


def test_spring_festival_with_make_up_saturdays_on_both_sides() -> None:
    # Fri 13 Feb: Sat 14 worked, 15-23 off, Tue 24 next
    assert CHINA_2026.add_working_days(D("2026-02-13"), 1) == D("2026-02-14")
    assert CHINA_2026.add_working_days(D("2026-02-13"), 2) == D("2026-02-24")
    # 24, 25, 26, 27 Feb, Sat 28 (worked), Mon 2 Mar
    assert CHINA_2026.add_working_days(D("2026-02-23"), 6) == D("2026-03-02")
    assert CHINA_2026.working_days_between(D("2026-02-13"), D("2026-03-02")) == 7


def test_counting_backwards_is_negative_and_the_same_day_is_zero() -> None:
    assert CHINA_2026.working_days_between(D("2026-10-08"), D("2026-09-30")) == -1
    assert CHINA_2026.working_days_between(D("2026-10-03"), D("2026-10-03")) == 0
    with pytest.raises(CalendarError):
        CHINA_2026.add_working_days(D("2026-10-03"), -1)


def test_a_configured_calendar_is_validated_and_merged() -> None:
    extra = WorkingCalendar.from_mapping({"holidays": ["2027-01-01"], "workdays": ["2026-10-03"]})
    merged = CHINA_2026.merged(extra)
    assert not merged.is_working_day(D("2027-01-01"))
    assert merged.is_working_day(D("2026-10-03"))  # the later word wins
    with pytest.raises(CalendarError, match="both"):
        WorkingCalendar(frozenset({D("2026-10-03")}), frozenset({D("2026-10-03")}))
    with pytest.raises(CalendarError, match="YYYY-MM-DD"):
        WorkingCalendar.from_mapping({"holidays": ["1 Oct"]})
    with pytest.raises(CalendarError, match="unknown"):
        WorkingCalendar.from_mapping({"holiday": []})


def test_a_calendar_without_working_days_is_refused_not_looped_forever() -> None:
    every_day = WorkingCalendar(
        holidays=frozenset(
            D("2026-01-01").fromordinal(D("2026-01-01").toordinal() + n) for n in range(4000)
        )
    )
    with pytest.raises(CalendarError):
        every_day.add_working_days(D("2026-01-01"), 1)


def test_time_limits_by_channel_category_and_urgency() -> None:
    policy = DeadlinePolicy(CHINA_2026)
    assert policy.time_limit("letter", "labour", "normal") == 30
    assert policy.time_limit("hotline_12338", "labour", "normal") == 10
    assert policy.time_limit("letter", "domestic_violence", "normal") == 5
    assert policy.time_limit("visit", "property", "urgent") == 3
    assert policy.time_limit("visit", "domestic_violence", "emergency") == 1
    # a 12338 call on the eve of National Day is due ten working days later, holidays skipped
    assert policy.due_on(D("2026-09-30"), 10) == D("2026-10-20")
    assert policy.overdue_days(D("2026-09-30"), D("2026-10-09")) == 2
    assert policy.overdue_days(D("2026-10-20"), D("2026-10-09")) == 0
    assert policy.working_days_left(D("2026-10-20"), D("2026-10-09")) == 8  # Sat 10th worked


def walked(calendar: WorkingCalendar, start: date, end: date) -> int:
    """Working days in (start, end] counted one day at a time: what the arithmetic must equal."""
    return sum(
        1
        for n in range(1, (end - start).days + 1)
        if calendar.is_working_day(start + timedelta(days=n))
    )


@pytest.mark.parametrize("calendar", [WorkingCalendar(), CHINA_2026], ids=["plain", "china"])
def test_working_days_in_every_year_a_record_can_carry(calendar: WorkingCalendar) -> None:
    for year in range(1990, 2037):
        for start in (date(year, 1, 1), date(year, 2, 13), date(year, 9, 30), date(year, 12, 31)):
            end = start + timedelta(days=40)
            assert calendar.working_days_between(start, end) == walked(calendar, start, end)
            for days in (0, 1, 5, 10, 30, 60):
                due = calendar.add_working_days(start, days)
                assert calendar.working_days_between(start, due) == days
                assert calendar.is_working_day(due) or days == 0
    # whole spans from the first year to the last, both ways, in one step each
    first, last = date(1990, 1, 1), date(2036, 12, 31)
    assert calendar.working_days_between(first, last) == walked(calendar, first, last)
    assert calendar.working_days_between(last, first) == -walked(calendar, first, last)


def test_a_case_opened_long_ago_is_overdue_by_a_number_not_an_error() -> None:
    policy = DeadlinePolicy(CHINA_2026)
    due = policy.due_on(D("1995-03-01"), 10)
    assert due == D("1995-03-15")
    assert policy.overdue_days(due, D("2026-11-23")) == walked(CHINA_2026, due, D("2026-11-23"))
    assert policy.working_days_left(due, D("2036-06-30")) < -10_000


def test_years_without_a_holiday_calendar_are_named() -> None:
    assert CHINA_2026.years == frozenset({2026})
    assert CHINA_2026.years_without_holidays(D("2024-12-30"), D("2027-01-05")) == [2024, 2025, 2027]
    assert CHINA_2026.years_without_holidays(D("2026-01-01"), D("2026-12-31")) == []
    configured = CHINA_2026.merged(WorkingCalendar.from_mapping({"holidays": ["2027-01-01"]}))
    assert configured.years_without_holidays(D("2026-11-01"), D("2027-02-01")) == []
    assert WorkingCalendar().years_without_holidays(D("1990-01-01"), D("1991-01-01")) == [
        1990,
        1991,
    ]
