"""Area codes (行政区划代码) and the register of areas, one form for every service: GB/T 2260
for province, city and district (6 digits), then the statistical codes of streets 街道/乡镇
(9 digits) and communities 社区/村 (12 digits). ``110000`` is Beijing, ``110100`` its city
level, ``110101`` the Dongcheng district, ``110101001`` a street of it and ``110101001001`` a
community of that street.

A province or city may also be written by its significant digits alone (``43`` for ``430000``,
``4301`` for ``430100``); it is stored and published in the 6-digit form.

The registry publishes the register on `registry.area.>` and its stations (妇女之家, 劳动保障站…)
on `registry.station.>`; every service learns both, and once the register holds any area,
refuses a code it does not hold, and a station that does not serve the area it is named for.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Final, Literal

from pydantic import AfterValidator, Field

from jinguo_contracts.base import CATALOGUE, EventContract

AreaLevel = Literal["province", "city", "district", "street", "community"]
LEVELS: Final[tuple[AreaLevel, ...]] = ("province", "city", "district", "street", "community")

PROVINCE_CODES: Final = frozenset(
    [
        *("11", "12", "13", "14", "15"),  # 北京 天津 河北 山西 内蒙古
        *("21", "22", "23"),  # 辽宁 吉林 黑龙江
        *("31", "32", "33", "34", "35", "36", "37"),  # 上海 江苏 浙江 安徽 福建 江西 山东
        *("41", "42", "43", "44", "45", "46"),  # 河南 湖北 湖南 广东 广西 海南
        *("50", "51", "52", "53", "54"),  # 重庆 四川 贵州 云南 西藏
        *("61", "62", "63", "64", "65"),  # 陕西 甘肃 青海 宁夏 新疆
        *("71", "81", "82"),  # 台湾 香港 澳门
    ]
)
"""The first two digits of a GB/T 2260 area code (and so of a national ID)."""


def check_area_code(value: str) -> str:
    """The code in its one stored form, or ``ValueError`` saying what is wrong with it.

    Lower levels written with zeros are refused, so that each code names exactly one area:
    ``110101000`` is the district ``110101``, not a street.
    """
    code = value.strip()
    if not (code.isascii() and code.isdigit()):
        raise ValueError("an area code has only digits")
    if len(code) in (2, 4):
        code = code.ljust(6, "0")
    if len(code) not in (6, 9, 12):
        raise ValueError(
            "an area code has 6 (province, city or district), 9 (street) or 12 (community)"
            f" digits, or 2 or 4 for a province or city, not {len(code)}"
        )
    if code[:2] not in PROVINCE_CODES:
        raise ValueError(f"{code[:2]} is not a province code (GB/T 2260)")
    if code[2:4] == "00" and code[4:6] != "00":
        raise ValueError(f"{code[:6]} has district digits but no city digits")
    if len(code) >= 9 and code[2:6] == "0000":
        raise ValueError(f"a street lies within a city or district, not directly in {code[:6]}")
    if len(code) >= 9 and code[6:9] == "000":
        raise ValueError(f"{code} has 000 for its street: use the code {code[:6]}")
    if len(code) == 12 and code[9:] == "000":
        raise ValueError(f"{code} has 000 for its community: use the street code {code[:9]}")
    return code


def area_level(code: str) -> AreaLevel:
    """``110000`` province, ``110100`` city, ``110101`` district, ``110101001`` street,
    ``110101001001`` community."""
    code = check_area_code(code)
    if len(code) == 12:
        return "community"
    if len(code) == 9:
        return "street"
    if code[2:] == "0000":
        return "province"
    return "city" if code[4:] == "00" else "district"


def area_ancestors(code: str) -> list[str]:
    """The chain from the province down to the code itself, e.g. ``110101001002`` ->
    ``["110000", "110100", "110101", "110101001", "110101001002"]``; a level that a code skips
    (a city without districts, such as 东莞 ``441900``) appears once."""
    code = check_area_code(code)
    chain = [code[:2] + "0000", code[:4] + "00", code[:6], code[:9], code]
    ancestors: list[str] = []
    for part in chain:
        if len(part) <= len(code) and part not in ancestors:
            ancestors.append(part)
    return ancestors


def parent_area(code: str) -> str | None:
    """The area directly above (None for a province)."""
    chain = area_ancestors(code)
    return chain[-2] if len(chain) > 1 else None


def area_prefix(code: str) -> str:
    """The digits every code inside the area starts with: ``43`` for ``430000``."""
    code = check_area_code(code)
    if len(code) == 6:
        while len(code) > 2 and code.endswith("00"):
            code = code[:-2]
    return code


# bounded before it is checked: spaces people type fit, a megabyte does not
AreaCode = Annotated[
    str,
    Field(max_length=24, examples=["110101001001"]),
    AfterValidator(check_area_code),
]


class _Area(EventContract):
    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "area"
    area_code: str


class AreaRegisteredV1(_Area):
    """An area enters the register: its name, level and (below a district) whether it is urban
    (社区, 街道) or rural (村, 乡镇)."""

    event_type: ClassVar[str] = "AreaRegistered"
    name: str
    level: AreaLevel
    parent_code: str | None
    urban: bool


class AreaRenamedV1(_Area):
    event_type: ClassVar[str] = "AreaRenamed"
    name: str
    urban: bool


class AreaPopulationRecordedV1(_Area):
    """The denominators of the area's rates for one year: households, residents, women."""

    event_type: ClassVar[str] = "AreaPopulationRecorded"
    year: int
    households: int = Field(ge=0)
    residents: int = Field(ge=0)
    women: int = Field(ge=0)


StationKind = Literal[
    "womens_home",
    "labour_security_station",
    "job_agency",
    "rights_point",
    "legal_aid_point",
    "shelter",
    "training_base",
    "womens_congress",
]
"""妇女之家, 社区劳动保障站, 职业介绍所, 维权站点, 法律援助工作点, 家暴庇护所, 培训基地,
妇女代表大会."""


class StationRegisteredV1(EventContract):
    """A station or organisation with an area: a registration, a case or a course may name
    the station that took it."""

    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "station"
    event_type: ClassVar[str] = "StationRegistered"
    station_id: str
    area_code: str
    kind: StationKind
    name: str
    agency_id: str | None = None
    opened_on: date


CATALOGUE.register(AreaRegisteredV1, AreaRenamedV1, AreaPopulationRecordedV1, StationRegisteredV1)
