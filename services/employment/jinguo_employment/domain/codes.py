"""Codes people type into the employment API: occupations (GB/T 6565) and unified social credit
codes (GB 32100), checked and normalised. Area codes are the programme's one form,
`jinguo_contracts.areas`."""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator, StringConstraints

OCCUPATION_CODE_SYSTEM: Final = "GB/T 6565-2015"
_OCCUPATION = re.compile(r"^[1-8]-\d{2}-\d{2}-\d{2}$")
_CREDIT = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


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


# the lengths bound what is read at all (with room for stray spaces); the checks decide
OccupationCode = Annotated[
    str, StringConstraints(max_length=20), AfterValidator(check_occupation_code)
]
CreditCode = Annotated[str, StringConstraints(max_length=30), AfterValidator(check_credit_code)]
