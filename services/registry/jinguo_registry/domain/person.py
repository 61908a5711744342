"""One person across her roles: the same national ID is the same person, whether she registered
as a worker (seeking work), as a resident (ordering services, 低保) or both; her roles are facets
of her. Here: who counts as of working age (劳动年龄) when a household is recognised."""

from __future__ import annotations

from datetime import date
from typing import Final, Literal

from jinguo_registry.domain.worker import age_on

WORKING_AGE: Final = {"female": (16, 55), "male": (16, 60), None: (16, 60)}
"""From 16 to the statutory retirement age, her birthday not yet reached; a person known only
as a resident (no gender recorded) is held to the wider range, so she is never left out."""


def of_working_age(
    birth_date: date | None, gender: Literal["female", "male"] | None, day: date
) -> bool:
    if birth_date is None:
        return False
    least, retires = WORKING_AGE[gender]
    return least <= age_on(birth_date, day) < retires
