"""Identifiers people type in, checked and normalised.

- 居民身份证号 (national ID), GB 11643: 18 characters, ISO 7064 MOD 11-2 check digit;
- mainland mobile numbers;
- administrative area codes, GB/T 2260 (province, city, district: 6 digits) and the statistical
  codes for streets 街道/乡镇 (9 digits) and communities 社区/村 (12 digits);
- occupation codes, GB/T 6565-2015 / 职业分类大典 (e.g. ``4-10-01-05`` 家政服务员).

Every ``check_*`` function returns the normalised value or raises ``ValueError`` with a message
meant for the person who typed the value; pydantic turns it into a field error when the check is
used through the ``Annotated`` types at the end of this module.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, Field

from jinguo_contracts.areas import (
    PROVINCE_CODES,
    AreaCode,
    AreaLevel,
    area_ancestors,
    area_level,
    check_area_code,
)

__all__ = [
    "PROVINCE_CODES",
    "AreaCode",
    "AreaLevel",
    "MobileNumber",
    "NationalId",
    "OccupationCode",
    "area_ancestors",
    "area_level",
    "birth_date_from_national_id",
    "check_area_code",
    "check_digit",
    "check_mobile",
    "check_national_id",
    "check_occupation_code",
    "gender_from_national_id",
    "make_national_id",
    "mask_national_id",
]


ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS: Final = "10X98765432"
EARLIEST_BIRTH: Final = date(1900, 1, 1)
MAX_SEQUENCE: Final = 500
"""``make_national_id`` gives distinct numbers for sequences 0-499."""


def _is_digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` alone would let through full-width (１) and other
    Unicode digits."""
    return text.isascii() and text.isdigit()


# --- national ID (居民身份证号) -----------------------------------------------------------


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits of a national ID."""
    if len(first17) != 17 or not _is_digits(first17):
        raise ValueError("the check digit is computed from exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def check_national_id(value: str) -> str:
    """An 18-character national ID, returned without surrounding spaces and with an upper-case X.

    Checked: the format (17 digits, then a digit or X), the province, the birth date (a real date
    between 1900-01-01 and today) and the check digit.
    """
    number = value.strip()
    if len(number) != 18:
        raise ValueError(f"a national ID has 18 characters, not {len(number)}")
    number = number[:17] + number[17].upper()
    if not _is_digits(number[:17]):
        raise ValueError("the first 17 characters of a national ID must be digits")
    if not (_is_digits(number[17]) or number[17] == "X"):
        raise ValueError("the last character of a national ID must be a digit or X")
    if number[:2] not in PROVINCE_CODES:
        raise ValueError(f"{number[:2]} is not a province code (GB/T 2260)")
    birth = number[6:14]
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        raise ValueError(f"birth date {birth} is not a date") from None
    if born > date.today():
        raise ValueError(f"birth date {born.isoformat()} is in the future")
    if born < EARLIEST_BIRTH:
        raise ValueError(f"birth date {born.isoformat()} is before 1900-01-01")
    expected = check_digit(number[:17])
    if number[17] != expected:
        raise ValueError(f"check digit should be {expected}")
    return number


def birth_date_from_national_id(value: str) -> date:
    """Positions 7-14. Raises ``ValueError`` if the value is not a valid national ID."""
    number = check_national_id(value)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender_from_national_id(value: str) -> Literal["female", "male"]:
    """The 17th digit: odd for a man, even for a woman. Raises ``ValueError`` if the value is
    not a valid national ID."""
    number = check_national_id(value)
    return "male" if int(number[16]) % 2 else "female"


def mask_national_id(value: str) -> str:
    """For display: ``110101********123X``. Anything that is not 18 characters long is masked
    completely rather than guessed at."""
    if len(value) != 18:
        return "*" * len(value)
    return value[:6] + "*" * 8 + value[14:]


def make_national_id(area6: str, birth: date, sequence: int, female: bool) -> str:
    """A valid national ID, for tests and demo data.

    ``sequence`` gives positions 15-16 (0-99); the 17th digit is even for a woman and odd for a
    man. Sequences 100-499 are accepted too, their hundreds folded into the 17th digit, so that
    distinct (area, birth, sequence, gender) always give distinct numbers.
    """
    if len(area6) != 6 or not _is_digits(area6) or area6[:2] not in PROVINCE_CODES:
        raise ValueError(f"{area6!r} is not a 6-digit area code with a valid province")
    if not 0 <= sequence < MAX_SEQUENCE:
        raise ValueError(f"sequence must be 0-{MAX_SEQUENCE - 1}, not {sequence}")
    if birth < EARLIEST_BIRTH:
        raise ValueError(f"birth date {birth.isoformat()} is before 1900-01-01")
    hundreds, sequence = divmod(sequence, 100)
    gender_digit = ((sequence + hundreds) % 5) * 2 + (0 if female else 1)
    first17 = f"{area6}{birth:%Y%m%d}{sequence:02d}{gender_digit}"
    return first17 + check_digit(first17)


# --- mobile numbers -----------------------------------------------------------------------

_MOBILE: Final = re.compile(r"1[3-9][0-9]{9}")
_SEPARATORS: Final = re.compile(r"[\s\-]")


def check_mobile(value: str) -> str:
    """A mainland mobile number as 11 digits. Spaces, hyphens and a ``+86``/``86`` prefix are
    accepted and removed: ``+86 138-0013-8000`` -> ``13800138000``."""
    number = _SEPARATORS.sub("", value)
    if number.startswith("+86"):
        number = number[3:]
    elif number.startswith("+"):
        raise ValueError("only mainland mobile numbers (+86) are accepted")
    elif number.startswith("86") and len(number) == 13:
        number = number[2:]
    if not _is_digits(number):
        raise ValueError("a mobile number has only digits, spaces, hyphens and a +86 prefix")
    if len(number) != 11:
        raise ValueError(f"a mainland mobile number has 11 digits, not {len(number)}")
    if not _MOBILE.fullmatch(number):
        raise ValueError(f"a mainland mobile number starts with 13-19, not {number[:2]}")
    return number


# --- occupation codes (职业分类大典) -------------------------------------------------------

_OCCUPATION: Final = re.compile(r"[1-8]-[0-9]{2}-[0-9]{2}-[0-9]{2}")
_OCCUPATION_SHAPE: Final = re.compile(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}")
_OCCUPATION_GROUP: Final = re.compile(r"[0-9]-[0-9]{2}(-[0-9]{2})?")


def check_occupation_code(value: str) -> str:
    """A full 4-level GB/T 6565-2015 occupation code: 大类-中类-小类-职业, e.g. ``4-10-01-05``."""
    code = value.strip()
    if _OCCUPATION.fullmatch(code):
        return code
    if _OCCUPATION_SHAPE.fullmatch(code):
        raise ValueError(f"major group {code[0]} does not exist: GB/T 6565-2015 has groups 1-8")
    if _OCCUPATION_GROUP.fullmatch(code):
        raise ValueError(
            f"{code} is an occupation group: give the full 4-level code, like 4-10-01-05"
        )
    raise ValueError(f"{code!r} is not an occupation code like 4-10-01-05 (GB/T 6565-2015)")


# --- pydantic types -----------------------------------------------------------------------

# each bounded before it is checked: spaces and separators people type fit, a megabyte does not
NationalId = Annotated[str, Field(max_length=32), AfterValidator(check_national_id)]
MobileNumber = Annotated[str, Field(max_length=24), AfterValidator(check_mobile)]
OccupationCode = Annotated[str, Field(max_length=24), AfterValidator(check_occupation_code)]
