"""The uids of what an IFC model brings, derived from IFC GlobalIds so that a re-import finds the same nodes.

Uids are built by :mod:`graph.uid`; this module only chooses their key parts. A GlobalId (22
characters of IFC's base-64, with ``$`` and ``_``) is used in uids as the hexadecimal of the
UUID it encodes, which survives URLs and shells.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import ifcopenshell.guid

from graph import uid

BUILDING_CODE_PREFIX = "IFC"
UNIT_NUMBER_BASE = 100_000  # Units from IFC spaces are numbered apart from stairwell units (1, 2, 3…)
UNIT_NUMBER_SPAN = 900_000
_SPACE = re.compile(r"\s+")


def guid_hex(guid: str) -> str:
    """Return the 32 hexadecimal digits of the UUID an IFC GlobalId encodes."""
    try:
        return str(ifcopenshell.guid.expand(guid))
    except (ValueError, KeyError, IndexError):  # not a valid GlobalId: fall back to its characters
        return "".join(f"{ord(c):02x}" for c in guid)[:32]


def building_code(guid: str) -> str:
    """Return the building code derived from the GlobalId of an IfcBuilding (or IfcSite)."""
    return f"{BUILDING_CODE_PREFIX}-{guid_hex(guid)[:10]}"


def code_of_building_uid(building_uid: str) -> str:
    """Return the code a building uid was built from (`building:B03` → `B03`)."""
    return building_uid.partition(":")[2]


def device_code(code: str, guid: str) -> str:
    """Return the device code of an element of building `code`: unique per building and element."""
    return f"{code}-{guid_hex(guid)[:16]}"


def device_uid(code: str, guid: str) -> str:
    return uid.device(device_code(code, guid))


def room_key(label: str | None, guid: str) -> str:
    """Return the room part of a house uid: the space's name without whitespace, else the GlobalId's hex."""
    key = _SPACE.sub("_", (label or "").strip())
    return key or guid_hex(guid)[:12]


def unit_numbers(guids: Iterable[str], taken: Iterable[int] = ()) -> dict[str, int]:
    """Number the Units of spaces from their GlobalIds, stable across re-exports; collisions move on by one."""
    used = set(taken)
    out: dict[str, int] = {}
    for guid in sorted(set(guids)):
        number = UNIT_NUMBER_BASE + int(guid_hex(guid), 16) % UNIT_NUMBER_SPAN
        while number in used:
            number = UNIT_NUMBER_BASE + (number - UNIT_NUMBER_BASE + 1) % UNIT_NUMBER_SPAN
        used.add(number)
        out[guid] = number
    return out
