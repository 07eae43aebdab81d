"""Stable uids, one builder per kind: ``uid.house("B03", 2, "1202") == "house:B03-2-1202"``.

A uid is ``prefix:key``; the prefix names the node label (:data:`LABEL_OF_PREFIX`), so the same
string keys the graph node, the PostGIS row, the IFC mapping and the GraphQL ``ID``. Person uids
are opaque codes, never ID numbers, because uids travel into URLs, tiles and logs.
"""

from __future__ import annotations

import hashlib

LABEL_OF_PREFIX: dict[str, str] = {
    "region": "Region",
    "estate": "Estate",
    "building": "Building",
    "storey": "Storey",
    "unit": "Unit",
    "house": "House",
    "person": "Person",
    "household": "Household",
    "org": "Organisation",
    "vehicle": "Vehicle",
    "ebike": "NonMotorVehicle",
    "defence": "DefenceMember",
    "device": "Device",
    "grid": "Grid",
    "event": "Event",
    "alarm": "Alarm",
    "risk": "RiskFlag",
    "watch": "WatchEntry",
}
PREFIX_OF_LABEL = {label: prefix for prefix, label in LABEL_OF_PREFIX.items()}


def _make(prefix: str, *parts: object) -> str:
    key = "-".join(str(p) for p in parts)
    if not key or " " in key or "\t" in key or "\n" in key:
        raise ValueError(f"uid key for {prefix!r} must be non-empty without whitespace: {key!r}")
    return f"{prefix}:{key}"


def label_of(uid: str) -> str:
    """Return the node label a uid belongs to, from its prefix."""
    prefix, sep, key = uid.partition(":")
    if not sep or not key or prefix not in LABEL_OF_PREFIX:
        known = ", ".join(sorted(LABEL_OF_PREFIX))
        raise ValueError(f"uid {uid!r} must look like 'prefix:key' with a prefix among {known}")
    return LABEL_OF_PREFIX[prefix]


def for_label(label: str, *parts: object) -> str:
    """Build the uid of a node of `label` from its key parts."""
    return _make(PREFIX_OF_LABEL[label], *parts)


def region(code: str) -> str:
    return _make("region", code)


def estate(code: str) -> str:
    return _make("estate", code)


def building(code: str) -> str:
    return _make("building", code)


def storey(building_code: str, number: int) -> str:
    return _make("storey", building_code, number)


def unit(building_code: str, number: int) -> str:
    return _make("unit", building_code, number)


def house(building_code: str, unit_number: int, room: str) -> str:
    return _make("house", building_code, unit_number, room)


def person(code: str) -> str:
    return _make("person", code)


def household(code: str) -> str:
    return _make("household", code)


def organisation(code: str) -> str:
    return _make("org", code)


def vehicle(plate: str) -> str:
    return _make("vehicle", plate)


def non_motor_vehicle(code: str) -> str:
    return _make("ebike", code)


def defence_member(code: str) -> str:
    return _make("defence", code)


def device(code: str) -> str:
    return _make("device", code)


def grid(code: str) -> str:
    return _make("grid", code)


def event(event_id: str) -> str:
    return _make("event", event_id)


def alarm(alarm_id: str) -> str:
    return _make("alarm", alarm_id)


def risk_flag(detector: str, subject: str, key: str = "") -> str:
    """One flag per detector, subject and (optionally) episode key: re-running a detector updates it."""
    return _make("risk", detector, subject.replace(":", "~"), *([key] if key else []))


def unregistered_person(kind: str, value: str) -> str:
    """The uid of a person known only by a face id, card or unknown reference (the same for the same value)."""
    return person("U" + hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:16].upper())


def watch_entry(code: str) -> str:
    return _make("watch", code)


def relation(rel_type: str, start: str, end: str, key: str | None = None) -> str:
    """Return the uid of a relationship; `key` tells apart repeats (a second tenancy, say)."""
    base = f"{rel_type}:{start}>{end}"
    return f"{base}@{key}" if key else base
