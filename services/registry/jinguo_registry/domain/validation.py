"""Formats users expect checked: national ID (GB 11643), mobile, area and occupation codes."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator

PROVINCES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    }
)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_digit(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def check_national_id(value: str) -> str:
    number = value.strip().upper()
    if len(number) != 18:
        raise ValueError(f"a national ID has 18 characters, not {len(number)}")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValueError("a national ID is 17 digits followed by a digit or X")
    if number[:2] not in PROVINCES:
        raise ValueError(f"{number[:2]} is not a province code")
    birth = number[6:14]
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        raise ValueError(f"birth date {birth} is not a date") from None
    if born > date.today() or born < date(1900, 1, 1):
        raise ValueError(f"birth date {born.isoformat()} is not plausible")
    expected = check_digit(number[:17])
    if number[17] != expected:
        raise ValueError(f"check digit should be {expected}")
    return number


def birth_date_from_national_id(value: str) -> date:
    return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def gender_from_national_id(value: str) -> Literal["female", "male"]:
    return "male" if int(value[16]) % 2 else "female"


def mask_national_id(value: str) -> str:
    return value[:6] + "*" * 8 + value[-4:]


def make_national_id(area6: str, birth: date, sequence: int, female: bool) -> str:
    gender_digit = (sequence % 5) * 2 + (0 if female else 1)
    first17 = f"{area6}{birth:%Y%m%d}{sequence % 100:02d}{gender_digit}"
    return first17 + check_digit(first17)


MOBILE = re.compile(r"^1[3-9]\d{9}$")


def check_mobile(value: str) -> str:
    number = re.sub(r"[\s-]", "", value)
    number = number.removeprefix("+86") if number.startswith("+86") else number
    if len(number) == 13 and number.startswith("86"):
        number = number[2:]
    if not MOBILE.match(number):
        raise ValueError("a mainland mobile number has 11 digits starting 13-19")
    return number


def check_area_code(value: str) -> str:
    code = value.strip()
    if not code.isdigit() or len(code) not in (6, 9, 12):
        raise ValueError("an area code has 6 (district), 9 (street) or 12 (community) digits")
    if code[:2] not in PROVINCES:
        raise ValueError(f"{code[:2]} is not a province code")
    return code


def area_ancestors(code: str) -> list[str]:
    chain = [code[:2] + "0000", code[:4] + "00", code[:6], code[:9], code[:12]]
    result: list[str] = []
    for part in chain:
        if len(part) in (6, 9, 12) and len(part) <= len(code) and part not in result:
            result.append(part)
    return result


def area_level(code: str) -> Literal["province", "city", "district", "street", "community"]:
    if len(code) == 12:
        return "community"
    if len(code) == 9:
        return "street"
    if code.endswith("0000"):
        return "province"
    return "city" if code.endswith("00") else "district"


OCCUPATION = re.compile(r"^[1-8]-\d{2}-\d{2}-\d{2}$")


def check_occupation_code(value: str) -> str:
    code = value.strip()
    if not OCCUPATION.match(code):
        raise ValueError("an occupation code looks like 4-10-01-05 (GB/T 6565-2015)")
    return code


NationalId = Annotated[str, AfterValidator(check_national_id)]
MobileNumber = Annotated[str, AfterValidator(check_mobile)]
AreaCode = Annotated[str, AfterValidator(check_area_code)]
OccupationCode = Annotated[str, AfterValidator(check_occupation_code)]
