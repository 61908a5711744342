"""Residents, providers and agencies: given events, when a command, then events."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from jinguo_contracts.access import (
    OPERATOR_SCOPE,
    AgencyRegisteredV1,
    ApiClientIssuedV1,
    ApiClientKeyRotatedV1,
    ApiClientRevokedV1,
)
from jinguo_contracts.registry import (
    ProviderRegisteredV1,
    ProviderSuspendedV1,
    ResidentEligibilityChangedV1,
    ResidentRegisteredV1,
)
from jinguo_registry.domain.organisations import (
    BOOTSTRAP,
    Agency,
    Grantor,
    NotPermittedError,
    Provider,
)
from jinguo_registry.domain.resident import Resident
from jinguo_shared.domain import InvalidCommandError, NotFoundError, RuleViolationError

TODAY = date(2026, 11, 1)
RESIDENT = ResidentRegisteredV1(
    resident_id="r1",
    name="张桂兰",
    national_id="x",
    birth_date=date(1940, 1, 1),
    phone="13900139000",
    address="东城区某胡同 1 号",
    area_code="110101001001",
)


def test_free_services_need_a_reason_that_grants_them() -> None:
    resident = Resident.from_history("r1", [RESIDENT], 1)
    with pytest.raises(InvalidCommandError, match="free tier"):
        resident.change_eligibility(
            price_tier="free",
            reason="elderly_living_alone",
            valid_until=None,
            on=TODAY,
            today=TODAY,
        )
    resident.change_eligibility(
        price_tier="free",
        reason="minimum_living_allowance",
        valid_until=date(2027, 6, 30),
        on=TODAY,
        today=TODAY,
    )
    assert resident.pending == [
        ResidentEligibilityChangedV1(
            resident_id="r1",
            price_tier="free",
            reason="minimum_living_allowance",
            valid_until=date(2027, 6, 30),
            area_code="110101001001",
            occurred_on=TODAY,
        )
    ]


def test_an_unchanged_eligibility_records_nothing() -> None:
    resident = Resident.from_history("r1", [RESIDENT], 1)
    resident.change_eligibility(
        price_tier="market", reason="none", valid_until=None, on=TODAY, today=TODAY
    )
    assert resident.pending == []


PROVIDER = ProviderRegisteredV1(
    provider_id="p1",
    name="巾帼家政服务中心",
    credit_code="91110101MA01234567",
    area_code="110101001",
    services=["housekeeping"],
    women_led=True,
)


def test_an_eligibility_ends_at_most_ten_years_ahead() -> None:
    resident = Resident.from_history("r1", [RESIDENT], 1)
    with pytest.raises(InvalidCommandError) as refused:
        resident.change_eligibility(
            price_tier="free",
            reason="minimum_living_allowance",
            valid_until=date(2040, 1, 1),
            on=TODAY,
            today=TODAY,
        )
    assert refused.value.extensions["field"] == "valid_until"
    assert resident.pending == []


def test_a_provider_is_graded_on_a_day_past() -> None:
    provider = Provider.from_history("p1", [PROVIDER], 1)
    for day in (date(2026, 11, 2), date(1985, 1, 1)):
        with pytest.raises(InvalidCommandError) as refused:
            provider.grade(grade=4, graded_on=day, assessor="区商务局", today=TODAY)
        assert refused.value.extensions["field"] == "graded_on"
    provider.grade(grade=4, graded_on=TODAY, assessor="区商务局", today=TODAY)
    assert len(provider.pending) == 1


def test_a_suspended_provider_cannot_be_graded() -> None:
    provider = Provider.from_history(
        "p1", [PROVIDER, ProviderSuspendedV1(provider_id="p1", reason="complaints")], 2
    )
    with pytest.raises(RuleViolationError):
        provider.grade(grade=4, graded_on=TODAY, assessor="区商务局", today=TODAY)


AGENCY = AgencyRegisteredV1(
    agency_id="a1", name="区妇联", kind="womens_federation", area_code="110101"
)
ADMIN = Grantor(frozenset({"registry:admin", "registry:read", "registry:write"}))
OPERATOR = Grantor(frozenset({OPERATOR_SCOPE}), operator=True)


def issued(client_id: str, scopes: list[str], key_hash: str = "h") -> ApiClientIssuedV1:
    return ApiClientIssuedV1(
        agency_id="a1", client_id=client_id, name="x", key_hash=key_hash, scopes=scopes
    )


def test_clients_get_known_scopes_only_and_may_be_bound_to_an_officer() -> None:
    agency = Agency.from_history("a1", [AGENCY], 1)
    with pytest.raises(InvalidCommandError, match="registry:everything"):
        agency.issue_client(
            client_id="c1",
            name="x",
            key_hash="h",
            scopes=["registry:everything"],
            officer_id=None,
            grantor=OPERATOR,
        )
    agency.issue_client(
        client_id="c1",
        name="x",
        key_hash="h",
        scopes=["registry:write", "registry:read"],
        officer_id="wang.fang",
        grantor=ADMIN,
    )
    assert agency.pending == [
        ApiClientIssuedV1(
            agency_id="a1",
            client_id="c1",
            name="x",
            key_hash="h",
            scopes=["registry:read", "registry:write"],
            officer_id="wang.fang",
        )
    ]


@pytest.mark.parametrize("grantor", [ADMIN, OPERATOR], ids=["agency admin", "operator"])
def test_the_platform_scope_comes_from_the_bootstrap_step_only(grantor: Grantor) -> None:
    agency = Agency.from_history("a1", [AGENCY], 1)
    with pytest.raises(NotPermittedError, match=OPERATOR_SCOPE):
        agency.issue_client(
            client_id="c1",
            name="x",
            key_hash="h",
            scopes=[OPERATOR_SCOPE],
            officer_id=None,
            grantor=grantor,
        )
    agency.issue_client(
        client_id="c1",
        name="x",
        key_hash="h",
        scopes=[OPERATOR_SCOPE, "registry:admin"],
        officer_id=None,
        grantor=BOOTSTRAP,
    )
    [event] = agency.pending
    assert isinstance(event, ApiClientIssuedV1)
    assert event.scopes == [OPERATOR_SCOPE, "registry:admin"]


def test_an_agency_admin_grants_only_what_it_holds_and_the_operator_anything() -> None:
    agency = Agency.from_history("a1", [AGENCY], 1)
    with pytest.raises(NotPermittedError, match="rights:read"):
        agency.issue_client(
            client_id="c1",
            name="x",
            key_hash="h",
            scopes=["registry:read", "rights:read"],
            officer_id=None,
            grantor=ADMIN,
        )
    assert agency.pending == []
    agency.issue_client(
        client_id="c1",
        name="x",
        key_hash="h",
        scopes=["rights:read"],
        officer_id="li.na",
        grantor=OPERATOR,
    )
    assert len(agency.pending) == 1


def test_rotating_a_key_keeps_the_old_one_until_the_grace_period_ends() -> None:
    until = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    agency = Agency.from_history("a1", [AGENCY, issued("c1", ["registry:read"], "old")], 2)
    agency.rotate_key(client_id="c1", key_hash="new", previous_valid_until=until, grantor=ADMIN)
    rotated = ApiClientKeyRotatedV1(
        agency_id="a1",
        client_id="c1",
        key_hash="new",
        previous_key_hash="old",
        previous_valid_until=until,
    )
    assert agency.pending == [rotated]
    agency.rotate_key(client_id="c1", key_hash="newer", previous_valid_until=until, grantor=ADMIN)
    again = agency.pending[-1]
    assert isinstance(again, ApiClientKeyRotatedV1)
    assert again.previous_key_hash == "new"


def test_a_revoked_or_unknown_client_cannot_be_rotated() -> None:
    revoked = ApiClientRevokedV1(agency_id="a1", client_id="c1", reason="leaked")
    agency = Agency.from_history("a1", [AGENCY, issued("c1", ["registry:read"]), revoked], 3)
    until = datetime(2026, 11, 2, tzinfo=UTC)
    with pytest.raises(RuleViolationError, match="revoked"):
        agency.rotate_key(client_id="c1", key_hash="n", previous_valid_until=until, grantor=ADMIN)
    with pytest.raises(NotFoundError):
        agency.rotate_key(client_id="c9", key_hash="n", previous_valid_until=until, grantor=ADMIN)
    assert agency.pending == []


def test_a_key_rotates_only_clients_holding_no_more_than_it_does() -> None:
    """Rotating hands over a working key: an agency admin must not get a stronger one so."""
    history = [AGENCY, issued("c1", ["rights:admin"]), issued("op", [OPERATOR_SCOPE])]
    agency = Agency.from_history("a1", history, 3)
    until = datetime(2026, 11, 2, tzinfo=UTC)
    for client_id in ("c1", "op"):
        with pytest.raises(NotPermittedError):
            agency.rotate_key(
                client_id=client_id, key_hash="n", previous_valid_until=until, grantor=ADMIN
            )
    with pytest.raises(NotPermittedError):
        agency.revoke_client(client_id="op", reason="?", grantor=ADMIN)
    assert agency.pending == []
    agency.rotate_key(client_id="op", key_hash="n", previous_valid_until=until, grantor=OPERATOR)
    agency.revoke_client(client_id="c1", reason="she left", grantor=ADMIN)
    assert [e.event_type for e in agency.pending] == ["ApiClientKeyRotated", "ApiClientRevoked"]


def test_revoking_an_unknown_client_is_not_found_and_revoking_twice_is_quiet() -> None:
    revoked = ApiClientRevokedV1(agency_id="a1", client_id="c1", reason="leaked")
    with pytest.raises(NotFoundError):
        Agency.from_history("a1", [AGENCY], 1).revoke_client(
            client_id="c9", reason="?", grantor=ADMIN
        )
    agency = Agency.from_history("a1", [AGENCY, issued("c1", ["registry:read"]), revoked], 3)
    agency.revoke_client(client_id="c1", reason="leaked", grantor=ADMIN)
    assert agency.pending == []


def test_a_provider_and_a_resident_carry_the_day_they_registered_never_tomorrow() -> None:
    provider = Provider("p-dated")
    with pytest.raises(InvalidCommandError) as refused:
        provider.register(
            name="巾帼家政",
            credit_code="91110101MA01234567",
            area_code="110101001",
            services=[],
            women_led=True,
            on=date(2026, 11, 2),
            today=TODAY,
        )
    assert refused.value.extensions == {"field": "occurred_on"}
    provider.register(
        name="巾帼家政",
        credit_code="91110101MA01234567",
        area_code="110101001",
        services=[],
        women_led=True,
        on=date(2025, 3, 1),
        today=TODAY,
    )
    provider.suspend(reason="整改", on=date(2025, 6, 1), today=TODAY)
    registered, suspended = provider.pending
    assert isinstance(registered, ProviderRegisteredV1)
    assert isinstance(suspended, ProviderSuspendedV1)
    assert (registered.occurred_on, suspended.occurred_on) == (date(2025, 3, 1), date(2025, 6, 1))
    resident = Resident("r-dated")
    resident.register(
        name="赵淑珍",
        national_id="110101194611032120",
        phone="13701234567",
        address="东四六条12号",
        area_code="110101001001",
        on=date(2024, 12, 31),
        today=TODAY,
    )
    [registered_resident] = resident.pending
    assert isinstance(registered_resident, ResidentRegisteredV1)
    assert registered_resident.occurred_on == date(2024, 12, 31)
