"""Van Kasteren house A ("Accurate Activity Recognition in a Home Setting", Ubicomp 2008): front-door openings.

The source (`kasterenSenseData.txt`) lists sensor firing intervals of one real single-resident
apartment in the Netherlands, 25 February to 23 March 2008, tab-separated: start time, end time,
sensor id, value (always 1). A header names the sensor ids (``[12]    'Frontdoor'``), a ``Start
time … Val`` line and a dashed line precede the data, and a ``Length: n`` line ends it. Times are
written ``25-Feb-2008 00:20:14`` with no zone; they are read as Europe/Amsterdam local time (the
dataset does not say, the home is in Amsterdam; the whole log falls before the 30 March 2008 change
of clocks, so every instant is ``+01:00``). The mapping:

* **House.** The community's third house with a unit door (Ordonez homes A and B take the first
  two, see :func:`ingest.adapters.ordonez.pick_house`). The events go to that house's unit-door
  access control and name the house.
* **Front door** (sensor :data:`FRONT_DOOR`, a reed switch) interval [start, end]: an
  ``access_open`` at start (``method="card"`` as for Ordonez: the schema needs a method and a
  contact sensor does not know it; ``card`` stands for the resident's own key). No
  ``door_left_open`` pairs: only openings are mapped.
* **Everything else** (inner doors, cupboards, fridge, freezer, microwave, dishwasher, washing
  machine, toilet flush): our schema has no motion, occupancy or appliance kind, so these rows are
  skipped and counted by reason (``"<sensor name>: no event kind"``, the name from the file's
  header, ``sensor <id>`` when it has none). A data row that cannot be read counts as
  ``"unreadable row"``.
* **Time.** With `shift_to`, every event moves by the same amount so the last event of the whole
  file lands at `shift_to`.
* **Limit.** `limit` counts source rows (intervals of any sensor), in file order.
* **Id.** ``kasterenA-{row}-open``, row being the interval's data row number (from 1), so
  ingesting again gives duplicates only.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

from ingest.adapters.ordonez import HouseDoor, pick_house
from ingest.adapters.timeline import shifted, time_offset

NAME: Final = "kasteren"
ZONE: Final = ZoneInfo("Europe/Amsterdam")
HOUSE_INDEX: Final = 2
"""The community house (0-based, in :func:`ingest.adapters.ordonez.houses` order) the home is mapped onto."""
FRONT_DOOR: Final = 12
"""The front door's sensor id in house A."""
_MONTH_NAMES: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS: Final = {name: k for k, name in enumerate(_MONTH_NAMES, 1)}
"""English month abbreviations → month numbers, independent of the locale (``%b`` is not)."""
_TIME = re.compile(r"^(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{1,2}):(\d{2}):(\d{2})$")
_LABEL = re.compile(r"^\s*\[\s*(\d+)\]\s+'([^']*)'")


class Interval(NamedTuple):
    """One source row: data row number, start and end (UTC) and sensor id."""

    row: int
    start: datetime
    end: datetime
    sensor: int


def _instant(text: str) -> datetime:
    """Return the UTC instant of a ``25-Feb-2008 00:20:14`` Amsterdam local time (month names in English)."""
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"{text.strip()!r} is not a dd-Mon-yyyy hh:mm:ss time")
    day, month, year, hour, minute, second = match.groups()
    number = _MONTHS.get(month.capitalize())
    if number is None:
        raise ValueError(f"{month!r} is not a month")
    local = datetime(int(year), number, int(day), int(hour), int(minute), int(second), tzinfo=ZONE)
    return local.astimezone(UTC)


def load(path: str | Path, skipped: Counter[str] | None = None) -> tuple[dict[int, str], list[Interval]]:
    """Return the file's sensor names (id → name) and its intervals in file order.

    Unreadable data rows are counted in `skipped`.

    Raises
    ------
    ValueError
        If the file has no ``Start time … ID  Val`` header line: it is not a van Kasteren sensor file
        (the activity file has no ``Val`` column).
    """
    skipped = skipped if skipped is not None else Counter()
    with Path(path).open(encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\r\n") for line in f]
    names: dict[int, str] = {}
    header = next(
        (k for k, line in enumerate(lines) if [p.strip() for p in line.split("\t")][-2:] == ["ID", "Val"]), None
    )
    if header is None:
        raise ValueError(f"{Path(path).name} is not a van Kasteren sensor file (no 'Start time … ID Val' header)")
    for line in lines[:header]:
        label = _LABEL.match(line)
        if label:
            names[int(label[1])] = label[2].strip()
    out: list[Interval] = []
    row = 0
    for line in lines[header + 1 :]:
        fields = [part.strip() for part in line.split("\t")]
        if not line.strip() or fields[0].startswith("-") or line.startswith("Length:"):
            continue
        row += 1
        try:
            out.append(Interval(row, _instant(fields[0]), _instant(fields[1]), int(fields[2])))
        except (IndexError, ValueError):
            skipped["unreadable row"] += 1
    return names, out


def events(
    intervals: list[Interval], names: Mapping[int, str], target: HouseDoor, skipped: Counter[str]
) -> list[dict[str, Any]]:
    """Return the raw events (timestamps as UTC datetimes) of `intervals`, in time order."""
    out: list[tuple[datetime, int, dict[str, Any]]] = []
    for r in intervals:
        if r.sensor != FRONT_DOOR:
            skipped[f"{names.get(r.sensor, f'sensor {r.sensor}')}: no event kind"] += 1
            continue
        out.append(
            (r.start, r.row, {"id": f"kasterenA-{r.row}-open", "device": target.door, "kind": "access_open",
                              "ts": r.start, "method": "card", "house": target.house})
        )  # fmt: skip
    out.sort(key=lambda e: e[:2])
    return [e[2] for e in out]


def read(
    path: str | Path,
    community_devices: Mapping[str, list[str]],
    *,
    limit: int | None = None,
    shift_to: datetime | None = None,
    skipped: Counter[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield van Kasteren house A's front-door openings as raw events on one community house's unit door.

    Parameters
    ----------
    path : str or Path
        ``kasterenSenseData.txt``.
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
        Raw ``access_open`` events that :func:`ingest.events.parse_event` accepts.

    Raises
    ------
    ValueError
        If the file is not a van Kasteren sensor file, the community has fewer than three houses with
        a unit door, or `shift_to` has no zone.
    """
    target = pick_house(community_devices, HOUSE_INDEX)
    names, intervals = load(path, skipped)
    # the whole file's last event anchors the shift, so a row's time does not depend on `limit`
    every = events(intervals, names, target, Counter()) if shift_to else []
    offset = time_offset(every[-1]["ts"] if every else None, shift_to)
    kept = intervals[:limit] if limit is not None else intervals
    yield from shifted(events(kept, names, target, skipped if skipped is not None else Counter()), offset, ZONE)
