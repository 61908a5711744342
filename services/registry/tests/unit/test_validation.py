"""National IDs, mobile numbers, area and occupation codes: what passes, what fails and why."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from pydantic import BaseModel, ValidationError

from jinguo_registry.domain.validation import (
    AreaCode,
    MobileNumber,
    NationalId,
    OccupationCode,
    area_ancestors,
    area_level,
    birth_date_from_national_id,
    check_area_code,
    check_digit,
    check_mobile,
    check_national_id,
    check_occupation_code,
    gender_from_national_id,
    make_national_id,
    mask_national_id,
)

GB11643_EXAMPLE = "11010519491231002X"
"""The example in GB 11643-1999: 北京市朝阳区, born 1949-12-31, sequence 002, check digit X."""


def fails(check: Callable[[str], object], value: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check(value)


# --- national ID -------------------------------------------------------------------------


def test_check_digit_follows_iso_7064_mod_11_2() -> None:
    assert check_digit("11010519491231002") == "X"
    assert check_digit("44052418800101001") == "4"
    assert check_digit("11010119750315036") == "9"


def test_check_digit_needs_17_digits() -> None:
    fails(check_digit, "1101051949123100", "the check digit is computed from exactly 17 digits")


@pytest.mark.parametrize(
    "number",
    [
        GB11643_EXAMPLE,
        "110101197503150369",
        "11010119780520000X",
        "310104198806150041",
        "440106196912310013",
    ],
)
def test_valid_national_ids_pass_unchanged(number: str) -> None:
    assert check_national_id(number) == number


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("11010519491231002x", GB11643_EXAMPLE),
        ("  11010519491231002X\n", GB11643_EXAMPLE),
        ("\u300011010119780520000x\t", "11010119780520000X"),
    ],
)
def test_national_id_is_stripped_and_takes_an_upper_case_x(typed: str, normalised: str) -> None:
    assert check_national_id(typed) == normalised


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("11010519491231002", "a national ID has 18 characters, not 17"),
        ("11010519491231002X1", "a national ID has 18 characters, not 19"),
        ("", "a national ID has 18 characters, not 0"),
        ("1101051949123100 X", "the first 17 characters of a national ID must be digits"),
        ("11010519491231O02X", "the first 17 characters of a national ID must be digits"),
        ("１10105194912310020", "the first 17 characters of a national ID must be digits"),
        ("11010519491231002Y", "the last character of a national ID must be a digit or X"),
        ("11010519491231002١", "the last character of a national ID must be a digit or X"),
        ("990101197503150366", "99 is not a province code (GB/T 2260)"),
        ("000101197503150366", "00 is not a province code (GB/T 2260)"),
        ("160101197503150366", "16 is not a province code (GB/T 2260)"),
        ("110101199913320012", "birth date 19991332 is not a date"),
        ("110101199902290012", "birth date 19990229 is not a date"),
        ("110101197500150012", "birth date 19750015 is not a date"),
        ("440524188001010014", "birth date 1880-01-01 is before 1900-01-01"),
        ("110105194912310021", "check digit should be X"),
        ("110101197503150368", "check digit should be 9"),
        ("11010119750315036X", "check digit should be 9"),
    ],
)
def test_invalid_national_ids_say_what_is_wrong(number: str, message: str) -> None:
    fails(check_national_id, number, message)


def test_birth_date_may_be_today_but_not_tomorrow() -> None:
    today = date.today()
    assert check_national_id(make_national_id("110101", today, 1, female=True))
    tomorrow = today + timedelta(days=1)
    fails(
        check_national_id,
        make_national_id("110101", tomorrow, 1, female=True),
        f"birth date {tomorrow.isoformat()} is in the future",
    )


def test_first_of_january_1900_is_the_earliest_birth_date() -> None:
    assert check_national_id(make_national_id("110101", date(1900, 1, 1), 0, female=False))
    fails(check_national_id, "11010118991231001X", "birth date 1899-12-31 is before 1900-01-01")


def test_a_leap_day_is_a_birth_date() -> None:
    number = make_national_id("320102", date(2000, 2, 29), 12, female=True)
    assert number == "320102200002291243"
    assert birth_date_from_national_id(number) == date(2000, 2, 29)


def test_birth_date_and_gender_come_from_the_number() -> None:
    assert birth_date_from_national_id(GB11643_EXAMPLE) == date(1949, 12, 31)
    assert gender_from_national_id(GB11643_EXAMPLE) == "female"
    assert birth_date_from_national_id("440524198001010013") == date(1980, 1, 1)
    assert gender_from_national_id("440524198001010013") == "male"
    assert gender_from_national_id("11010519491231002x") == "female"


def test_birth_date_and_gender_refuse_an_invalid_number() -> None:
    fails(birth_date_from_national_id, "110105194912310021", "check digit should be X")
    fails(gender_from_national_id, "1101", "a national ID has 18 characters, not 4")


def test_mask_keeps_the_first_6_and_last_4() -> None:
    assert mask_national_id(GB11643_EXAMPLE) == "110105********002X"
    assert mask_national_id("110101197503150369") == "110101********0369"


def test_mask_hides_everything_it_does_not_recognise() -> None:
    assert mask_national_id("1101051949") == "**********"
    assert mask_national_id("") == ""


def test_make_national_id_builds_the_number_digit_by_digit() -> None:
    assert make_national_id("110101", date(1975, 3, 15), 3, female=True) == "110101197503150369"
    assert make_national_id("110101", date(1980, 6, 1), 7, female=False) == "110101198006010757"
    assert make_national_id("110101", date(1978, 5, 20), 0, female=True) == "11010119780520000X"


def test_make_national_id_folds_the_hundreds_of_a_sequence_into_the_17th_digit() -> None:
    assert make_national_id("110101", date(1975, 3, 15), 3, female=True)[14:17] == "036"
    assert make_national_id("110101", date(1975, 3, 15), 103, female=True)[14:17] == "038"
    assert make_national_id("110101", date(1975, 3, 15), 203, female=True)[14:17] == "030"
    assert make_national_id("110101", date(1975, 3, 15), 499, female=False)[14:17] == "997"


def test_make_national_id_gives_distinct_valid_numbers_with_the_right_gender() -> None:
    born = date(1976, 8, 8)
    numbers = {
        (sequence, female): make_national_id("130102", born, sequence, female)
        for sequence in range(500)
        for female in (True, False)
    }
    assert len(set(numbers.values())) == 1000
    for (sequence, female), number in numbers.items():
        assert check_national_id(number) == number
        assert number[14:16] == f"{sequence % 100:02d}"
        assert gender_from_national_id(number) == ("female" if female else "male")
        assert birth_date_from_national_id(number) == born


@pytest.mark.parametrize(
    ("area6", "birth", "sequence", "message"),
    [
        ("110101", date(1975, 1, 1), 500, "sequence must be 0-499, not 500"),
        ("110101", date(1975, 1, 1), -1, "sequence must be 0-499, not -1"),
        ("11010", date(1975, 1, 1), 1, "'11010' is not a 6-digit area code with a valid province"),
        (
            "990101",
            date(1975, 1, 1),
            1,
            "'990101' is not a 6-digit area code with a valid province",
        ),
        ("110101", date(1899, 12, 31), 1, "birth date 1899-12-31 is before 1900-01-01"),
    ],
)
def test_make_national_id_refuses_what_cannot_be_a_number(
    area6: str, birth: date, sequence: int, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_national_id(area6, birth, sequence, female=True)


# --- mobile numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("+86-138-0013-8000", "13800138000"),
        ("86 138 0013 8000", "13800138000"),
        ("8613800138000", "13800138000"),
        (" 19912345678 ", "19912345678"),
        ("16600001111", "16600001111"),
    ],
)
def test_mobile_numbers_are_normalised_to_11_digits(typed: str, normalised: str) -> None:
    assert check_mobile(typed) == normalised


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1380013800", "a mainland mobile number has 11 digits, not 10"),
        ("138001380001", "a mainland mobile number has 11 digits, not 12"),
        ("+86 1380013800", "a mainland mobile number has 11 digits, not 10"),
        ("", "a mobile number has only digits, spaces, hyphens and a +86 prefix"),
        ("(010) 65123456", "a mobile number has only digits, spaces, hyphens and a +86 prefix"),
        ("138OO138000", "a mobile number has only digits, spaces, hyphens and a +86 prefix"),
        (
            "１３８００１３８０００",
            "a mobile number has only digits, spaces, hyphens and a +86 prefix",
        ),
        ("+1 415 555 0100", "only mainland mobile numbers (+86) are accepted"),
        ("+852 9123 4567", "only mainland mobile numbers (+86) are accepted"),
        ("12345678901", "a mainland mobile number starts with 13-19, not 12"),
        ("01065123456", "a mainland mobile number starts with 13-19, not 01"),
        ("+86 10 6512 3456 1", "a mainland mobile number starts with 13-19, not 10"),
    ],
)
def test_invalid_mobile_numbers_say_what_is_wrong(typed: str, message: str) -> None:
    fails(check_mobile, typed, message)


# --- area codes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("110000", "province"),
        ("110100", "city"),
        ("110101", "district"),
        ("441900", "city"),
        ("429004", "district"),
        ("110101001", "street"),
        ("441900003", "street"),
        ("110101001002", "community"),
        ("510107013201", "community"),
    ],
)
def test_area_codes_and_their_level(code: str, level: str) -> None:
    assert check_area_code(code) == code
    assert area_level(code) == level


def test_area_code_is_stripped() -> None:
    assert check_area_code(" 110101001001\n") == "110101001001"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "an area code has only digits"),
        ("110101-001", "an area code has only digits"),
        ("11010１", "an area code has only digits"),
        (
            "1101010",
            "an area code has 6 (province, city or district), 9 (street) or 12 (community)"
            " digits, or 2 or 4 for a province or city, not 7",
        ),
        (
            "110",
            "an area code has 6 (province, city or district), 9 (street) or 12 (community)"
            " digits, or 2 or 4 for a province or city, not 3",
        ),
        ("990101", "99 is not a province code (GB/T 2260)"),
        ("990101001001", "99 is not a province code (GB/T 2260)"),
        ("110001", "110001 has district digits but no city digits"),
        ("110000001", "a street lies within a city or district, not directly in 110000"),
        ("110101000", "110101000 has 000 for its street: use the code 110101"),
        ("110101000001", "110101000001 has 000 for its street: use the code 110101"),
        ("110101001000", "110101001000 has 000 for its community: use the street code 110101001"),
    ],
)
def test_invalid_area_codes_say_what_is_wrong(code: str, message: str) -> None:
    fails(check_area_code, code, message)


@pytest.mark.parametrize(
    ("code", "ancestors"),
    [
        ("110101001002", ["110000", "110100", "110101", "110101001", "110101001002"]),
        ("110101001", ["110000", "110100", "110101", "110101001"]),
        ("110101", ["110000", "110100", "110101"]),
        ("110100", ["110000", "110100"]),
        ("110000", ["110000"]),
        ("441900003", ["440000", "441900", "441900003"]),
        ("441900003005", ["440000", "441900", "441900003", "441900003005"]),
    ],
)
def test_area_ancestors_run_from_the_province_to_the_code(code: str, ancestors: list[str]) -> None:
    assert area_ancestors(code) == ancestors


def test_area_helpers_refuse_an_invalid_code() -> None:
    fails(
        area_ancestors,
        "11010",
        "an area code has 6 (province, city or district), 9 (street)"
        " or 12 (community) digits, or 2 or 4 for a province or city, not 5",
    )
    assert area_ancestors("4301") == ["430000", "430100"]
    fails(area_level, "990101", "99 is not a province code (GB/T 2260)")


# --- occupation codes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("4-10-01-05", "4-10-01-05"),
        ("4-10-01-06", "4-10-01-06"),
        ("4-03-02-01", "4-03-02-01"),
        (" 4-10-01-03 ", "4-10-01-03"),
        ("1-01-00-01", "1-01-00-01"),
        ("8-00-00-00", "8-00-00-00"),
    ],
)
def test_occupation_codes(typed: str, normalised: str) -> None:
    assert check_occupation_code(typed) == normalised


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("4-10-01", "4-10-01 is an occupation group: give the full 4-level code, like 4-10-01-05"),
        ("4-10", "4-10 is an occupation group: give the full 4-level code, like 4-10-01-05"),
        ("9-10-01-05", "major group 9 does not exist: GB/T 6565-2015 has groups 1-8"),
        ("0-10-01-05", "major group 0 does not exist: GB/T 6565-2015 has groups 1-8"),
        ("4100105", "'4100105' is not an occupation code like 4-10-01-05 (GB/T 6565-2015)"),
        ("4-1-01-05", "'4-1-01-05' is not an occupation code like 4-10-01-05 (GB/T 6565-2015)"),
        (
            "4-10-01-05-01",
            "'4-10-01-05-01' is not an occupation code like 4-10-01-05 (GB/T 6565-2015)",
        ),
        ("４-10-01-05", "'４-10-01-05' is not an occupation code like 4-10-01-05 (GB/T 6565-2015)"),
        ("", "'' is not an occupation code like 4-10-01-05 (GB/T 6565-2015)"),
    ],
)
def test_invalid_occupation_codes_say_what_is_wrong(code: str, message: str) -> None:
    fails(check_occupation_code, code, message)


# --- through pydantic --------------------------------------------------------------------


class Person(BaseModel):
    national_id: NationalId
    phone: MobileNumber
    area_code: AreaCode
    occupation: OccupationCode


def test_annotated_types_normalise_in_a_model() -> None:
    person = Person(
        national_id=" 11010519491231002x",
        phone="+86 138-0013-8000",
        area_code="110101001002 ",
        occupation=" 4-10-01-05",
    )
    assert person.model_dump() == {
        "national_id": GB11643_EXAMPLE,
        "phone": "13800138000",
        "area_code": "110101001002",
        "occupation": "4-10-01-05",
    }


def test_annotated_types_report_field_errors() -> None:
    with pytest.raises(ValidationError) as raised:
        Person(
            national_id="110105194912310021",
            phone="12345678901",
            area_code="110101000",
            occupation="4-10-01",
        )
    errors = {str(error["loc"][0]): error["msg"] for error in raised.value.errors()}
    assert errors == {
        "national_id": "Value error, check digit should be X",
        "phone": "Value error, a mainland mobile number starts with 13-19, not 12",
        "area_code": "Value error, 110101000 has 000 for its street: use the code 110101",
        "occupation": "Value error, 4-10-01 is an occupation group: give the full 4-level code,"
        " like 4-10-01-05",
    }
