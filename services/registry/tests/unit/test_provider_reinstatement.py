"""A suspended provider is reinstated once, on a day past; a provider offers only kinds of
service the orders catalogue has."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from jinguo_contracts.registry import (
    ProviderRegisteredV1,
    ProviderReinstatedV1,
    ProviderSuspendedV1,
)
from jinguo_registry.demo import PROVIDERS
from jinguo_registry.domain.organisations import Provider, ProviderNotSuspendedError
from jinguo_registry.handlers.commands import SERVICE_KINDS, RegisterProvider
from jinguo_shared.domain import InvalidCommandError

TODAY = date(2026, 11, 1)
REGISTERED = ProviderRegisteredV1(
    provider_id="p1",
    name="巾帼家政服务中心",
    credit_code="91110101MA01234567",
    area_code="110101001",
    services=["housekeeping"],
    women_led=True,
)
SUSPENDED = ProviderSuspendedV1(provider_id="p1", reason="服务人员未持证上岗")


def test_a_suspended_provider_is_reinstated_and_can_be_graded_again() -> None:
    provider = Provider.from_history("p1", [REGISTERED, SUSPENDED], 2)
    provider.reinstate(reason="整改验收合格", on=date(2026, 10, 20), today=TODAY)
    (reinstated,) = provider.pending
    assert isinstance(reinstated, ProviderReinstatedV1)
    assert reinstated.occurred_on == date(2026, 10, 20)
    provider.grade(grade=4, graded_on=TODAY, assessor="区商务局", today=TODAY)
    assert provider.state is not None
    assert provider.state.suspended is False


def test_reinstating_a_provider_not_suspended_is_a_conflict() -> None:
    for history in (
        [REGISTERED],
        [REGISTERED, SUSPENDED, ProviderReinstatedV1(provider_id="p1", reason="整改合格")],
    ):
        provider = Provider.from_history("p1", history, len(history))
        with pytest.raises(ProviderNotSuspendedError) as refused:
            provider.reinstate(reason="整改验收合格", on=TODAY, today=TODAY)
        assert refused.value.status == 409
        assert provider.pending == []


def test_a_reinstatement_is_not_dated_in_the_future() -> None:
    provider = Provider.from_history("p1", [REGISTERED, SUSPENDED], 2)
    with pytest.raises(InvalidCommandError) as refused:
        provider.reinstate(reason="整改", on=TODAY + timedelta(days=1), today=TODAY)
    assert refused.value.extensions["field"] == "occurred_on"


def test_a_provider_offers_only_kinds_of_service_the_catalogue_has() -> None:
    body = {"name": "巾帼手工编织合作社", "credit_code": "91110101MA01234567"}
    with pytest.raises(ValidationError) as refused:
        RegisterProvider.model_validate(
            {**body, "area_code": "110101001", "services": ["sewing_repairs", "housekeeping"]}
        )
    (error,) = refused.value.errors()
    assert error["loc"] == ("services",)
    assert "sewing_repairs" in error["msg"]
    assert "housekeeping" not in error["msg"].split("(known")[0]
    accepted = RegisterProvider.model_validate(
        {**body, "area_code": "110101001", "services": ["maternity_nurse"]}
    )
    assert accepted.services == ["maternity_nurse"]


def test_every_demo_provider_offers_kinds_the_catalogue_has() -> None:
    for name, services, _ in PROVIDERS:
        assert set(services) <= SERVICE_KINDS, name
