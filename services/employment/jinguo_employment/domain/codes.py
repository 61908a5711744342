"""Codes people type into the employment API: areas (GB/T 2260 + statistical codes),
occupations (GB/T 6565) and unified social credit codes (GB 32100), checked and normalised."""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator, StringConstraints

OCCUPATION_CODE_SYSTEM: Final = "GB/T 6565-2015"
PROVINCES: Final = frozenset(
    {
        *("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36"),
        *("37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62"),
        *("63", "64", "65", "71", "81", "82"),
    }
)
_OCCUPATION = re.compile(r"^[1-8]-\d{2}-\d{2}-\d{2}$")
_CREDIT = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
AREA_LEVELS: Final = (2, 4, 6, 9, 12)
"""Province, city, district, street (街道), community (社区)."""


def check_area_code(value: str) -> str:
    """A district (6 digits), street (9) or community (12) code."""
    code = value.strip()
    if len(code) not in (6, 9, 12) or not (code.isascii() and code.isdigit()):
        raise ValueError("an area code has 6, 9 or 12 digits (district, street, community)")
    if code[:2] not in PROVINCES:
        raise ValueError(f"{code[:2]} is not a province code (GB/T 2260)")
    return code


def check_occupation_code(value: str) -> str:
    code = value.strip()
    if not _OCCUPATION.match(code):
        raise ValueError("an occupation code looks like 4-10-01-05 (GB/T 6565)")
    return code


def check_credit_code(value: str) -> str:
    code = value.strip().upper()
    if not _CREDIT.match(code):
        raise ValueError("a unified social credit code has 18 characters (GB 32100)")
    return code


def area_ancestors(code: str) -> list[str]:
    """The code and every wider area above it, e.g. a community rolls up to its street,
    district, city and province."""
    return [code[:n] for n in AREA_LEVELS if n <= len(code)]


def common_area_level(one: str, other: str) -> int:
    """How many leading digits of the two codes name the same area (0, 2, 4, 6, 9 or 12)."""
    shared = 0
    for n in AREA_LEVELS:
        if len(one) >= n and len(other) >= n and one[:n] == other[:n]:
            shared = n
        else:
            break
    return shared


# the lengths bound what is read at all (with room for stray spaces); the checks decide
AreaCode = Annotated[str, StringConstraints(max_length=20), AfterValidator(check_area_code)]
OccupationCode = Annotated[
    str, StringConstraints(max_length=20), AfterValidator(check_occupation_code)
]
CreditCode = Annotated[str, StringConstraints(max_length=30), AfterValidator(check_credit_code)]
