"""Example events of the published language: the facts a registered worker or resident has.

Plain pydantic, so tests publish them as the registry would, and they can serve as the
AsyncAPI document's examples. Personal data is a placeholder: the registry seals the real one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from jinguo_contracts.base import EventContract
from jinguo_contracts.registry import (
    DesiredWork,
    HoursType,
    PriceTier,
    ResidentEligibilityChangedV1,
    ResidentRegisteredV1,
    WorkerCategoryAssessedV1,
    WorkerRegisteredV1,
)

SEALED = "sealed elsewhere"


def registered_worker(
    worker_id: str,
    *,
    area: str,
    skills: Sequence[str] = (),
    occupation_codes: Sequence[str] = (),
    hours_types: Sequence[HoursType] = (),
    priority: bool = False,
) -> list[EventContract]:
    """A woman who joined the programme wanting this work; with `priority`, also assessed
    hard to employ (4050)."""
    events: list[EventContract] = [
        WorkerRegisteredV1(
            worker_id=worker_id,
            name=SEALED,
            national_id=SEALED,
            gender="female",
            birth_date=date(1976, 5, 1),
            phone=SEALED,
            area_code=area,
            hukou="local",
            skills=list(skills),
            desired_work=DesiredWork(
                occupation_codes=list(occupation_codes), hours_types=list(hours_types)
            ),
        )
    ]
    if priority:
        events.append(
            WorkerCategoryAssessedV1(
                worker_id=worker_id,
                category="age_40_50",
                evidence="户口簿",
                valid_until=date(2099, 1, 1),
                area_code=area,
            )
        )
    return events


def registered_resident(
    resident_id: str, *, area: str, tier: PriceTier = "free"
) -> list[EventContract]:
    """A resident and the price tier of her services."""
    registered = ResidentRegisteredV1(
        resident_id=resident_id,
        name=SEALED,
        national_id=SEALED,
        birth_date=date(1940, 1, 1),
        phone=SEALED,
        address=SEALED,
        area_code=area,
    )
    return [registered, price_tier_decided(resident_id, tier=tier, area=area)]


def price_tier_decided(
    resident_id: str, *, tier: PriceTier, area: str
) -> ResidentEligibilityChangedV1:
    """An eligibility decision: 低保 for free services, none otherwise."""
    return ResidentEligibilityChangedV1(
        resident_id=resident_id,
        price_tier=tier,
        reason="minimum_living_allowance" if tier == "free" else "none",
        area_code=area,
    )
