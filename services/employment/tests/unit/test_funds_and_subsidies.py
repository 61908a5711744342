"""Funds and subsidies, given events, when a command, then events: the budget caps every
approval, a person's kind and month are claimed once, each step keeps its order and dates."""

from __future__ import annotations

from datetime import date

import pytest

from jinguo_contracts.base import EventContract
from jinguo_contracts.employment import (
    BudgetLine,
    FundBudgetAdjustedV1,
    FundCommittedV1,
    FundOpenedV1,
    SubsidyAppliedV1,
    SubsidyApprovedV1,
    SubsidyClaimedV1,
    SubsidyClaimReleasedV1,
    SubsidyPaidV1,
    SubsidyReconciledV1,
    SubsidyRejectedV1,
)
from jinguo_employment.domain.fund import BudgetBelowCommitmentsError, Fund, FundExhaustedError
from jinguo_employment.domain.subsidy import (
    AlreadyClaimedError,
    Subsidy,
    SubsidyClaim,
    SubsidyStatusError,
    apply_for_subsidy,
    approve_subsidy,
    claim_id,
    reject_subsidy,
)
from jinguo_shared.domain import InvalidCommandError

TODAY = date(2026, 7, 1)
COMMUNITY = "110101001001"
KEY = claim_id("w1", "social_insurance", "2026-05")


def fund(*events: EventContract, budget: int = 1000, lines: list[BudgetLine] | None = None) -> Fund:
    opened = FundOpenedV1(
        fund_id="f1",
        name="2026年东城区就业专项资金",
        source="county",
        year=2026,
        area_code="110101",
        budget=budget,
        lines=lines or [],
        occurred_on=date(2026, 1, 5),
    )
    return Fund.from_history("f1", [opened, *events], version=1 + len(events))


def applied(subsidy_id: str = "s1", amount: int = 400, kind: str = "social_insurance") -> Subsidy:
    event = SubsidyAppliedV1(
        subsidy_id=subsidy_id,
        kind=kind,  # type: ignore[arg-type]
        worker_id="w1",
        month="2026-05",
        amount=amount,
        area_code=COMMUNITY,
        fund_id="f1",
        payee="person",
        applied_on=date(2026, 6, 2),
    )
    return Subsidy.from_history(subsidy_id, [event], version=1)


def apply(subsidy: Subsidy, claim: SubsidyClaim, *, on: date = date(2026, 6, 2)) -> None:
    apply_for_subsidy(
        subsidy,
        claim,
        kind="social_insurance",
        worker_id="w1",
        month="2026-05",
        amount=400,
        area_code=COMMUNITY,
        fund_id="f1",
        payee="person",
        payee_id=None,
        placement_id=None,
        course_id=None,
        agency_id="agency-a",
        on=on,
        today=TODAY,
    )


def test_an_application_claims_the_person_kind_and_month() -> None:
    subsidy, claim = Subsidy("s1"), SubsidyClaim(KEY)
    apply(subsidy, claim)
    assert [type(e) for e in subsidy.pending] == [SubsidyAppliedV1]
    assert claim.pending == [
        SubsidyClaimedV1(
            claim_id=KEY,
            subsidy_id="s1",
            agency_id="agency-a",
            claimed_in=COMMUNITY,
            occurred_on=date(2026, 6, 2),
        )
    ]


def test_a_second_claim_names_the_first_agency_and_day_only() -> None:
    taken = SubsidyClaim.from_history(
        KEY,
        [
            SubsidyClaimedV1(
                claim_id=KEY,
                subsidy_id="s1",
                agency_id="agency-a",
                claimed_in=COMMUNITY,
                occurred_on=date(2026, 6, 2),
            )
        ],
        version=1,
    )
    with pytest.raises(AlreadyClaimedError) as refused:
        apply(Subsidy("s2"), taken)
    assert refused.value.status == 409
    assert refused.value.extensions == {
        "claimed_by_agency": "agency-a",
        "claimed_on": "2026-06-02",
    }
    # a claim belongs to no area: every agency meets the same key, none is told "not found"
    assert taken.area_code is None


def test_a_released_claim_may_be_claimed_again() -> None:
    claimed = SubsidyClaimedV1(
        claim_id=KEY,
        subsidy_id="s1",
        agency_id="agency-a",
        claimed_in=COMMUNITY,
        occurred_on=date(2026, 6, 2),
    )
    released = SubsidyClaimReleasedV1(claim_id=KEY, subsidy_id="s1", occurred_on=date(2026, 6, 3))
    claim = SubsidyClaim.from_history(KEY, [claimed, released], version=2)
    apply(Subsidy("s2"), claim)
    assert [type(e) for e in claim.pending] == [SubsidyClaimedV1]


def test_an_application_before_its_month_or_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidCommandError) as early:
        apply(Subsidy("s1"), SubsidyClaim(KEY), on=date(2026, 4, 30))
    assert early.value.extensions["field"] == "applied_on"
    with pytest.raises(InvalidCommandError):
        apply(Subsidy("s1"), SubsidyClaim(KEY), on=date(2026, 7, 2))


def test_approval_commits_against_the_fund_until_its_last_yuan() -> None:
    f = fund(budget=800)
    first = applied("s1", 400)
    approve_subsidy(first, f, on=date(2026, 6, 5), today=TODAY)
    assert f.pending == [
        FundCommittedV1(
            fund_id="f1",
            subsidy_id="s1",
            kind="social_insurance",
            amount=400,
            area_code=COMMUNITY,
            committed=400,
            occurred_on=date(2026, 6, 5),
        )
    ]
    assert [type(e) for e in first.pending] == [SubsidyApprovedV1]
    approve_subsidy(applied("s2", 400), f, on=date(2026, 6, 5), today=TODAY)
    assert f.require_state().balance == 0
    with pytest.raises(FundExhaustedError) as spent:
        approve_subsidy(applied("s3", 1), f, on=date(2026, 6, 5), today=TODAY)
    assert spent.value.code == "fund-exhausted"
    assert spent.value.extensions["balance"] == 0


def test_a_budget_line_caps_its_kind_within_the_budget() -> None:
    f = fund(budget=1000, lines=[BudgetLine(kind="post", amount=300)])
    with pytest.raises(FundExhaustedError) as refused:
        approve_subsidy(applied("s1", 400, kind="post"), f, on=date(2026, 6, 5), today=TODAY)
    assert refused.value.extensions["kind"] == "post"
    approve_subsidy(applied("s2", 400), f, on=date(2026, 6, 5), today=TODAY)
    assert f.require_state().committed == 400


def test_approval_before_the_application_or_twice_is_refused_or_ignored() -> None:
    f = fund()
    with pytest.raises(InvalidCommandError):
        approve_subsidy(applied(), f, on=date(2026, 6, 1), today=TODAY)
    subsidy = applied()
    approve_subsidy(subsidy, f, on=date(2026, 6, 5), today=TODAY)
    subsidy.pending.clear()
    f.pending.clear()
    approve_subsidy(subsidy, f, on=date(2026, 6, 6), today=TODAY)
    assert subsidy.pending == []
    assert f.pending == []


def test_a_budget_is_never_cut_below_what_is_committed() -> None:
    committed = FundCommittedV1(
        fund_id="f1",
        subsidy_id="s1",
        kind="post",
        amount=600,
        area_code=COMMUNITY,
        committed=600,
        occurred_on=date(2026, 6, 5),
    )
    f = fund(committed)
    with pytest.raises(BudgetBelowCommitmentsError):
        f.adjust_budget(budget=500, lines=[], reason="调减", on=TODAY, today=TODAY)
    with pytest.raises(BudgetBelowCommitmentsError):
        f.adjust_budget(
            budget=900,
            lines=[BudgetLine(kind="post", amount=500)],
            reason="调减",
            on=TODAY,
            today=TODAY,
        )
    f.adjust_budget(budget=1500, lines=[], reason="追加", on=TODAY, today=TODAY)
    assert isinstance(f.pending[0], FundBudgetAdjustedV1)
    assert f.require_state().balance == 900


def test_lines_adding_up_to_more_than_the_budget_are_refused() -> None:
    with pytest.raises(InvalidCommandError) as refused:
        Fund("f2").open(
            name="彩票公益金",
            source="lottery",
            year=2026,
            area_code="110101",
            budget=100,
            lines=[BudgetLine(kind="post", amount=80), BudgetLine(kind="training", amount=80)],
            on=TODAY,
            today=TODAY,
        )
    assert refused.value.extensions["field"] == "lines"


def test_paid_then_reconciled_in_order_and_rejection_releases_the_claim() -> None:
    subsidy = applied()
    with pytest.raises(SubsidyStatusError):
        subsidy.pay(payment_reference="T-1", on=TODAY, today=TODAY)
    approve_subsidy(subsidy, fund(), on=date(2026, 6, 5), today=TODAY)
    with pytest.raises(SubsidyStatusError):
        subsidy.reconcile(statement_reference="S-1", on=TODAY, today=TODAY)
    subsidy.pay(payment_reference="T-1", on=date(2026, 6, 10), today=TODAY)
    subsidy.reconcile(statement_reference="S-1", on=date(2026, 6, 30), today=TODAY)
    assert [type(e) for e in subsidy.pending] == [
        SubsidyApprovedV1,
        SubsidyPaidV1,
        SubsidyReconciledV1,
    ]
    with pytest.raises(SubsidyStatusError):
        reject_subsidy(subsidy, SubsidyClaim(KEY), reason="x", on=TODAY, today=TODAY)

    claimed = SubsidyClaimedV1(
        claim_id=KEY,
        subsidy_id="s9",
        agency_id="agency-a",
        claimed_in=COMMUNITY,
        occurred_on=date(2026, 6, 2),
    )
    claim = SubsidyClaim.from_history(KEY, [claimed], version=1)
    refused = applied("s9")
    reject_subsidy(refused, claim, reason="材料不全", on=date(2026, 6, 4), today=TODAY)
    assert [type(e) for e in refused.pending] == [SubsidyRejectedV1]
    assert [type(e) for e in claim.pending] == [SubsidyClaimReleasedV1]
