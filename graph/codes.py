"""Chinese identity codes: resident ID numbers (GB 11643), licence plates (GA 36), phone numbers.

Each `check_*` function returns the normalised code or raises `ValueError` with the reason, so it
can serve directly as a pydantic validator.
"""

from __future__ import annotations

import re
from datetime import date

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^[1-8]\d{16}[\dX]$")

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"  # plate letters never use I or O
_PLATE_ORDINARY = re.compile(rf"^[{PROVINCES}][{_L}][{_L}0-9]{{4}}[{_L}0-9挂学警港澳]$")
_PLATE_NEW_ENERGY = re.compile(rf"^[{PROVINCES}][{_L}]([DF][{_L}0-9]\d{{4}}|\d{{5}}[DF])$")
_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def id_check_char(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits of an ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def make_id_number(area: str, birth: date, sequence: int) -> str:
    """Build a valid 18-character ID number; an odd `sequence` means male, even female."""
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_char(first17)


def check_id_number(value: str) -> str:
    """Validate an 18-character resident ID number: shape, birth date and check character."""
    code = value.strip().upper()
    if not _ID_SHAPE.match(code):
        raise ValueError("ID number must be 17 digits and a digit or X, starting 1-8")
    try:
        birth = date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        raise ValueError(f"ID number holds no valid birth date ({code[6:14]})") from None
    if not date(1900, 1, 1) <= birth <= date.today():
        raise ValueError(f"ID number birth date {birth} is out of range")
    if id_check_char(code[:17]) != code[17]:
        raise ValueError(f"ID number check character should be {id_check_char(code[:17])}")
    return code


def id_number_birth_date(code: str) -> date:
    """Return the birth date encoded in a valid ID number."""
    return date(int(code[6:10]), int(code[10:12]), int(code[12:14]))


def id_number_sex(code: str) -> str:
    """Return "male" or "female" from the ID number's sequence digit."""
    return "male" if int(code[16]) % 2 else "female"


def check_plate(value: str) -> str:
    """Validate a motor-vehicle plate (ordinary or new-energy), ignoring spaces and the middle dot."""
    plate = value.replace("·", "").replace(" ", "").upper()
    if not (_PLATE_ORDINARY.match(plate) or _PLATE_NEW_ENERGY.match(plate)):
        raise ValueError(
            "unknown plate format: expected a province character, a letter and "
            "5 letters/digits (6 for new-energy plates)"
        )
    return plate


def check_phone(value: str) -> str:
    """Validate a mainland mobile (11 digits) or landline (area code and number) phone number."""
    phone = value.replace(" ", "")
    if not _PHONE.match(phone):
        raise ValueError("phone number must be an 11-digit mobile or an area code and number")
    return phone
