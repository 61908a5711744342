"""Residents, providers and agencies: given events, when a command, then events."""

from __future__ import annotations

from datetime import date

import pytest

from jinguo_contracts.registry import (
    AgencyRegisteredV1,
    ApiClientIssuedV1,
    ApiClientRevokedV1,
    ProviderRegisteredV1,
    ProviderSuspendedV1,
    ResidentEligibilityChangedV1,
    ResidentRegisteredV1,
)
from jinguo_registry.domain.organisations import Agency, Provider
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
            price_tier="free", reason="elderly_living_alone", valid_until=None, today=TODAY
        )
    resident.change_eligibility(
        price_tier="free",
        reason="minimum_living_allowance",
        valid_until=date(2027, 6, 30),
        today=TODAY,
    )
    assert resident.pending == [
        ResidentEligibilityChangedV1(
            resident_id="r1",
            price_tier="free",
            reason="minimum_living_allowance",
            valid_until=date(2027, 6, 30),
            area_code="110101001001",
        )
    ]


def test_an_unchanged_eligibility_records_nothing() -> None:
    resident = Resident.from_history("r1", [RESIDENT], 1)
    resident.change_eligibility(price_tier="market", reason="none", valid_until=None, today=TODAY)
    assert resident.pending == []


PROVIDER = ProviderRegisteredV1(
    provider_id="p1",
    name="巾帼家政服务中心",
    credit_code="91110101MA01234567",
    area_code="110101001",
    services=["housekeeping"],
    women_led=True,
)


def test_a_suspended_provider_cannot_be_graded() -> None:
    provider = Provider.from_history(
        "p1", [PROVIDER, ProviderSuspendedV1(provider_id="p1", reason="complaints")], 2
    )
    with pytest.raises(RuleViolationError):
        provider.grade(grade=4, graded_on=TODAY, assessor="区商务局", today=TODAY)


AGENCY = AgencyRegisteredV1(
    agency_id="a1", name="区妇联", kind="womens_federation", area_code="110101"
)


def test_clients_get_known_scopes_only() -> None:
    agency = Agency.from_history("a1", [AGENCY], 1)
    with pytest.raises(InvalidCommandError, match="registry:everything"):
        agency.issue_client(client_id="c1", name="x", key_hash="h", scopes=["registry:everything"])
    agency.issue_client(
        client_id="c1", name="x", key_hash="h", scopes=["registry:write", "registry:read"]
    )
    assert agency.pending == [
        ApiClientIssuedV1(
            agency_id="a1",
            client_id="c1",
            name="x",
            key_hash="h",
            scopes=["registry:read", "registry:write"],
        )
    ]


def test_revoking_an_unknown_client_is_not_found_and_revoking_twice_is_quiet() -> None:
    issued = ApiClientIssuedV1(
        agency_id="a1", client_id="c1", name="x", key_hash="h", scopes=["registry:read"]
    )
    revoked = ApiClientRevokedV1(agency_id="a1", client_id="c1", reason="leaked")
    with pytest.raises(NotFoundError):
        Agency.from_history("a1", [AGENCY], 1).revoke_client(client_id="c9", reason="?")
    agency = Agency.from_history("a1", [AGENCY, issued, revoked], 3)
    agency.revoke_client(client_id="c1", reason="leaked")
    assert agency.pending == []
