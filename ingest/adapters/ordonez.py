"""Ordonez "ADLs Recognition Using Binary Sensors" homes A and B: main-door openings on one community house.

The source (UCI, Ordóñez et al. 2013, `OrdonezA_Sensors.txt`, `OrdonezB_Sensors.txt`) lists sensor
activation intervals, tab-separated: start, end, location, type, place. Two real single-resident
homes in Spain, times read as Europe/Madrid local time. The mapping:

* **House.** Home A goes to the community's first house, home B to its second: houses are taken
  from the per-house meter codes (``{building}-{unit}-{room}-WM``/``-PM``/``-GM``), sorted. The
  events go to that house's unit-door access control (``{building}-U{unit}-DOOR``) and name the
  house (``house:{building}-{unit}-{room}``).
* **Main door** (``Maindoor``, magnetic) interval [start, end]: an ``access_open`` at start
  (``method="card"``: the schema needs a method and a contact sensor does not know it; ``card``
  stands for the resident's own key). When the door stayed open longer than
  :data:`LEFT_OPEN_AFTER_S`, also a ``door_left_open`` alarm at start + that delay and a
  ``door_left_open`` ``normal`` (closed again, with ``open_s``) at end. The gaps between openings
  are the real "long out / long in" pattern of one resident.
* **Everything else** (PIR, pressure, flush, electric, the fridge/cabinet/cupboard contacts): our
  schema has no motion, occupancy or appliance kind (``environment`` holds noise, PM2.5,
  temperature, humidity, pressure, wind), so these rows are skipped and counted by reason
  (``"<type> <location>: no event kind"``).
* **Time.** With `shift_to`, every event moves by the same amount so the last event of the whole
  file lands at `shift_to`.
* **Limit.** `limit` counts source rows (intervals of any sensor), in file order.
* **Id.** ``ordonez{A|B}-{row}-{open|left|closed}``, row being the interval's data row number,
  so ingesting again gives duplicates only.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

from graph import uid as uids
from ingest.adapters.timeline import shifted, time_offset

NAME: Final = "ordonez"
ZONE: Final = ZoneInfo("Europe/Madrid")
TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
LEFT_OPEN_AFTER_S: Final = 60
"""A main door open longer than this (seconds) also gives a `door_left_open` alarm and its clearing."""
MAIN_DOOR: Final = "Maindoor"
_HOUSE_METER = re.compile(r"^(?P<building>\S+)-(?P<unit>\d+)-(?P<room>[^-\s]+)-(?:WM|PM|GM)$")
_HOME = re.compile(r"Ordonez([AB])", re.IGNORECASE)


class HouseDoor(NamedTuple):
    """A community house and the access control of its unit door."""

    house: str
    door: str


class Interval(NamedTuple):
    """One source row: data row number, start and end (UTC), sensor location, type and place."""

    row: int
    start: datetime
    end: datetime
    location: str
    type: str
    place: str


def houses(community_devices: Mapping[str, list[str]]) -> list[HouseDoor]:
    """Return the community's houses that have a unit door, sorted by house code.

    A house is known from its meters (``{building}-{unit}-{room}-WM``, ``-PM``, ``-GM``); its door
    is the access control ``{building}-U{unit}-DOOR``.
    """
    doors = set(community_devices.get("access_control", []))
    found: dict[str, HouseDoor] = {}
    for category in ("water_meter", "power_meter", "gas_meter"):
        for code in community_devices.get(category, []):
            match = _HOUSE_METER.match(code)
            if not match:
                continue
            building, unit, room = match["building"], int(match["unit"]), match["room"]
            door = f"{building}-U{unit}-DOOR"
            if door in doors:
                found[f"{building}-{unit}-{room}"] = HouseDoor(uids.house(building, unit, room), door)
    return [found[code] for code in sorted(found)]


def pick_house(community_devices: Mapping[str, list[str]], index: int) -> HouseDoor:
    """Return the `index`-th community house with a unit door (see :func:`houses`).

    Raises
    ------
    ValueError
        If the community has fewer houses with a unit door.
    """
    found = houses(community_devices)
    if index >= len(found):
        raise ValueError(f"the community has {len(found)} houses with a unit door; house {index + 1} is needed")
    return found[index]


def home_of(path: str | Path) -> str:
    """Return ``"A"`` or ``"B"`` from an Ordonez file name.

    Raises
    ------
    ValueError
        If the name says neither.
    """
    match = _HOME.search(Path(path).name)
    if not match:
        raise ValueError(f"{Path(path).name} is not an OrdonezA or OrdonezB file")
    return match[1].upper()


def _instant(text: str) -> datetime:
    return datetime.strptime(text.strip(), TIME_FORMAT).replace(tzinfo=ZONE).astimezone(UTC)


def load(path: str | Path, skipped: Counter[str] | None = None) -> list[Interval]:
    """Return the file's sensor intervals in file order; unreadable rows are counted in `skipped`."""
    skipped = skipped if skipped is not None else Counter()
    out: list[Interval] = []
    with Path(path).open(encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\r\n") for line in f]
    row = 0
    for line in lines:
        fields = [part.strip() for part in line.split("\t") if part.strip()]
        if not fields or fields[0].startswith(("Start", "-")):
            continue
        row += 1
        try:
            start, end = _instant(fields[0]), _instant(fields[1])
            location, kind, place = fields[2], fields[3], fields[4] if len(fields) > 4 else ""
        except (IndexError, ValueError):
            skipped["unreadable row"] += 1
            continue
        out.append(Interval(row, start, end, location, kind, place))
    return out


def events(intervals: list[Interval], home: str, target: HouseDoor, skipped: Counter[str]) -> list[dict[str, Any]]:
    """Return the raw events (timestamps as UTC datetimes) of `intervals`, in time order."""
    out: list[tuple[datetime, int, int, dict[str, Any]]] = []
    for r in intervals:
        if r.location != MAIN_DOOR:
            skipped[f"{r.type} {r.location}: no event kind"] += 1
            continue
        base = {"device": target.door}
        out.append(
            (r.start, r.row, 0, {**base, "id": f"ordonez{home}-{r.row}-open", "kind": "access_open", "ts": r.start,
                                 "method": "card", "house": target.house})
        )  # fmt: skip
        open_s = (r.end - r.start).total_seconds()
        if open_s > LEFT_OPEN_AFTER_S:
            late = r.start + timedelta(seconds=LEFT_OPEN_AFTER_S)
            out.append(
                (late, r.row, 1, {**base, "id": f"ordonez{home}-{r.row}-left", "kind": "door_left_open", "ts": late,
                                  "status": "alarm", "open_s": float(LEFT_OPEN_AFTER_S)})
            )  # fmt: skip
            out.append(
                (r.end, r.row, 2, {**base, "id": f"ordonez{home}-{r.row}-closed", "kind": "door_left_open",
                                   "ts": r.end, "status": "normal", "open_s": open_s})
            )  # fmt: skip
    out.sort(key=lambda e: e[:3])
    return [e[3] for e in out]


def read(
    path: str | Path,
    community_devices: Mapping[str, list[str]],
    *,
    limit: int | None = None,
    shift_to: datetime | None = None,
    skipped: Counter[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield an Ordonez home's main-door events as raw events on one community house's unit door.

    Parameters
    ----------
    path : str or Path
        ``OrdonezA_Sensors.txt`` or ``OrdonezB_Sensors.txt`` (the letter picks the house).
    community_devices : Mapping[str, list[str]]
        Device category → device codes; the meters and ``access_control`` are used.
    limit : int, optional
        Read only the first `limit` source rows (intervals of any sensor).
    shift_to : datetime, optional
        Move every timestamp so the file's last event lands here (must have a zone).
    skipped : Counter, optional
        Counts source rows left out, by reason.

    Yields
    ------
    dict
        Raw ``access_open`` and ``door_left_open`` events that :func:`ingest.events.parse_event` accepts.
    """
    home = home_of(path)
    target = pick_house(community_devices, 0 if home == "A" else 1)
    intervals = load(path, skipped)
    # the whole file's last event anchors the shift, so a row's time does not depend on `limit`
    every = events(intervals, home, target, Counter()) if shift_to else []
    offset = time_offset(every[-1]["ts"] if every else None, shift_to)
    kept = intervals[:limit] if limit is not None else intervals
    yield from shifted(events(kept, home, target, skipped if skipped is not None else Counter()), offset, ZONE)
