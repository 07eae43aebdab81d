from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph.codes import (
    check_id_number,
    check_phone,
    check_plate,
    id_number_birth_date,
    id_number_sex,
    make_id_number,
)

births = st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31))


@given(birth=births, sequence=st.integers(0, 999))
def test_made_id_numbers_validate_and_encode_birth_and_sex(birth: date, sequence: int) -> None:
    code = make_id_number("110105", birth, sequence)
    assert check_id_number(code) == code
    assert id_number_birth_date(code) == birth
    assert id_number_sex(code) == ("male" if sequence % 2 else "female")


@given(birth=births, sequence=st.integers(0, 999), wrong=st.sampled_from("0123456789X"))
def test_any_other_check_character_is_rejected(birth: date, sequence: int, wrong: str) -> None:
    code = make_id_number("320102", birth, sequence)
    if wrong != code[-1]:
        with pytest.raises(ValueError, match="check character"):
            check_id_number(code[:-1] + wrong)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("11010519900101003", "17 digits"),
        ("910105199001010037", "starting 1-8"),
        ("110105199002300037", "no valid birth date"),
        ("110105209901010037", "out of range"),
    ],
)
def test_malformed_id_numbers_say_why(code: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_id_number(code)


def test_lower_case_x_is_normalised() -> None:
    code = next(c for s in range(1000) if (c := make_id_number("110105", date(1980, 5, 6), s)).endswith("X"))
    assert check_id_number(code.lower()) == code


@pytest.mark.parametrize(
    ("plate", "normalised"),
    [
        ("京A12345", "京A12345"),
        ("粤B·D12345", "粤BD12345"),
        ("沪A 1234挂", "沪A1234挂"),
        ("浙A12345D", "浙A12345D"),
        ("川a0b12c", "川A0B12C"),
    ],
)
def test_valid_plates_are_normalised(plate: str, normalised: str) -> None:
    assert check_plate(plate) == normalised


@pytest.mark.parametrize("plate", ["京I12345", "XA12345", "京A1234", "京A123456", "京AO1234", ""])
def test_unknown_plate_formats_are_rejected(plate: str) -> None:
    with pytest.raises(ValueError, match="unknown plate format"):
        check_plate(plate)


@pytest.mark.parametrize("phone", ["13800138000", "010-12345678", "075512345678"])
def test_mobile_and_landline_numbers_pass(phone: str) -> None:
    assert check_phone(phone) == phone


@pytest.mark.parametrize("phone", ["12800138000", "1380013800", "+8613800138000", "abc"])
def test_other_phone_numbers_are_rejected(phone: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        check_phone(phone)
