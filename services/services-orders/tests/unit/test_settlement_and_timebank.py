"""Settlement totals checked by hand, and a time bank that never goes below zero."""

from __future__ import annotations

from datetime import date

import pytest

from jinguo_contracts.orders import SettlementIssuedV1, VolunteerHoursEarnedV1
from jinguo_orders.domain.dispatch import Candidate, rank
from jinguo_orders.domain.settlement import Delivered, Settlement, statement
from jinguo_orders.domain.timebank import NotEnoughHoursError, TimeBank
from jinguo_shared.domain import AlreadyExistsError, InvalidCommandError

TODAY = date(2026, 9, 1)


def test_a_small_month_settled_by_hand() -> None:
    delivered = [
        Delivered("o3", "cleaning", "low_cost", date(2026, 8, 20), 60, 20),
        Delivered("o1", "housekeeping", "free", date(2026, 8, 3), 80, 0),
        Delivered("o2", "housekeeping", "market", date(2026, 8, 5), 80, 80),
        Delivered("o4", "meal_delivery", "free", date(2026, 8, 20), 15, 0),
    ]
    lines = statement(delivered)
    # free housekeeping 80 + low-cost cleaning 60-20=40 + free meal 15; market is not owed
    assert [(line.order_id, line.government_owes) for line in lines] == [
        ("o1", 80),
        ("o3", 40),
        ("o4", 15),
    ]
    assert lines == statement(reversed(delivered))
    settlement = Settlement("110101001001-2026-08")
    settlement.issue(area_code="110101001001", month="2026-08", lines=lines, today=date(2026, 9, 1))
    (issued,) = settlement.pending
    assert isinstance(issued, SettlementIssuedV1)
    assert issued.total_owed == 135
    with pytest.raises(AlreadyExistsError):
        settlement.issue(
            area_code="110101001001", month="2026-08", lines=[], today=date(2026, 9, 1)
        )


def test_a_month_is_settled_only_after_it_ends_and_within_the_programme_s_dates() -> None:
    with pytest.raises(InvalidCommandError, match="has not ended"):
        Settlement("s").issue(area_code="1", month="2026-08", lines=[], today=date(2026, 8, 31))
    for month in ("1989-12", "2037-01"):
        with pytest.raises(InvalidCommandError) as refused:
            Settlement("s").issue(area_code="1", month=month, lines=[], today=TODAY)
        assert refused.value.extensions["field"] == "month"
    settled = Settlement("s")
    settled.issue(area_code="1", month="1990-01", lines=[], today=TODAY)
    assert settled.state is not None
    assert settled.state.area_code == "1"


def test_hours_are_banked_and_drawn_on_days_that_have_happened() -> None:
    bank = TimeBank("v1")
    for on in (date(2026, 9, 2), date(1989, 12, 31)):
        with pytest.raises(InvalidCommandError) as refused:
            bank.earn(entry_id="e", hours=1, activity="x", served_on=on, area_code="1", today=TODAY)
        assert refused.value.extensions["field"] == "served_on"
    bank.earn(entry_id="e", hours=1, activity="x", served_on=TODAY, area_code="1", today=TODAY)
    with pytest.raises(InvalidCommandError) as refused:
        bank.spend(
            entry_id="s",
            hours=1,
            purpose="x",
            spent_on=date(2026, 9, 2),
            area_code="1",
            today=TODAY,
        )
    assert refused.value.extensions["field"] == "spent_on"
    assert bank.state is not None
    assert (bank.state.area_code, bank.balance) == ("1", 1)


def test_the_time_bank_never_goes_below_zero() -> None:
    bank = TimeBank("v1")
    bank.earn(
        entry_id="e1",
        hours=3,
        activity="陪护",
        served_on=date(2026, 8, 1),
        area_code="1",
        today=TODAY,
    )
    bank.spend(
        entry_id="s1",
        hours=2.5,
        purpose="送餐",
        spent_on=date(2026, 8, 2),
        area_code="1",
        today=TODAY,
    )
    assert bank.balance == 0.5
    with pytest.raises(NotEnoughHoursError):
        bank.spend(
            entry_id="s2",
            hours=1,
            purpose="保洁",
            spent_on=date(2026, 8, 3),
            area_code="1",
            today=TODAY,
        )
    bank.earn(
        entry_id="e1",
        hours=3,
        activity="陪护",
        served_on=date(2026, 8, 1),
        area_code="1",
        today=TODAY,
    )
    assert bank.balance == 0.5, "an entry is booked once"
    with pytest.raises(InvalidCommandError):
        bank.earn(
            entry_id="e2",
            hours=-1,
            activity="x",
            served_on=date(2026, 8, 1),
            area_code="1",
            today=TODAY,
        )
    replayed = TimeBank.from_history("v1", bank.pending, 3)
    assert replayed.balance == 0.5
    assert isinstance(bank.pending[0], VolunteerHoursEarnedV1)


def test_dispatch_prefers_near_then_satisfied_then_experienced() -> None:
    ranked = rank(
        "110101001001",
        [
            Candidate("far", "110102001001", rating_sum=50, ratings=10, completed=10),
            Candidate("street", "110101001002", rating_sum=40, ratings=10),
            Candidate("same-low", "110101001001", rating_sum=30, ratings=10),
            Candidate("same-high", "110101001001", rating_sum=45, ratings=10, completed=1),
            Candidate("same-high-more", "110101001001", rating_sum=45, ratings=10, completed=9),
        ],
    )
    assert [c.worker_id for c in ranked] == [
        "same-high-more",
        "same-high",
        "same-low",
        "street",
        "far",
    ]
