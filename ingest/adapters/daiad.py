"""DAIAD smart water meters (Alicante, trial A): hourly household readings as `meter_reading` events.

The source (`swm_trialA_clean.zip` or `swm_trialA_extended_clean.zip`, or the CSV inside) is
`;`-separated: household key, local timestamp (``01/03/2016 01:19:43``, day first), cumulative
meter reading in litres, difference. The mapping:

* **Meters.** Households are numbered in the order they first appear in the file; household
  ``i`` goes to the community's ``i``-th water meter (category ``water_meter``, sorted by code).
  Households beyond the number of meters are skipped and counted (``"no water meter left"``),
  never doubled up on a meter (that would mix two cumulative series).
* **Units.** Litres become m³ (our water meters read in m³): ``reading = litres / 1000``.
* **Time.** Read as Europe/Madrid local time and kept as that instant. A local time that occurs
  twice for one household (the autumn change of clocks) takes the first instant the first time
  and the second the next. With `shift_to`, every reading moves by the same amount so the last
  reading of the whole file lands at `shift_to` (this costs one more pass over the file).
* **Limit.** `limit` counts source rows, in file order (the file is grouped by household).
* **Id.** ``daiad-`` and 24 hex digits of the SHA-256 of household key, local timestamp and repeat
  number of that pair, so ingesting again gives duplicates only.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

from ingest.adapters.timeline import time_offset

NAME: Final = "daiad"
ZONE: Final = ZoneInfo("Europe/Madrid")
CATEGORY: Final = "water_meter"
TIME_FORMAT: Final = "%d/%m/%Y %H:%M:%S"
LITRES_PER_M3: Final = 1000.0


class Row(NamedTuple):
    """One source row: household key, local timestamp text, instant (UTC), litres and the pair's repeat number."""

    household: str
    stamp: str
    ts: datetime
    litres: float
    repeat: int

    @property
    def id(self) -> str:
        key = f"{self.household}|{self.stamp}|{self.repeat}"
        return "daiad-" + hashlib.sha256(key.encode()).hexdigest()[:24]


@contextmanager
def _open(path: Path) -> Iterator[io.TextIOBase]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".csv") and not n.startswith("__MACOSX")]
            if not names:
                raise ValueError(f"{path} holds no CSV file")
            with archive.open(sorted(names)[0]) as raw:
                yield io.TextIOWrapper(raw, encoding="utf-8", newline="")
    else:
        with path.open(encoding="utf-8", newline="") as f:
            yield f


def rows(path: str | Path, skipped: Counter[str] | None = None) -> Iterator[Row]:
    """Yield the file's readings in file order; unreadable rows are counted in `skipped`."""
    skipped = skipped if skipped is not None else Counter()
    seen: Counter[tuple[str, str]] = Counter()
    last_household = ""
    with _open(Path(path)) as f:
        next(f, None)  # header: user.key;datetime;meter.reading;diff (or V1;V2;V3;V4)
        for line in f:
            fields = line.rstrip("\r\n").split(";")
            if len(fields) < 3 or not fields[0]:
                if line.strip():
                    skipped["unreadable row"] += 1
                continue
            household, stamp = fields[0].strip(), fields[1].strip()
            if household != last_household:
                seen.clear()  # the file is grouped by household: repeats are within one
                last_household = household
            try:
                local = datetime.strptime(stamp, TIME_FORMAT)
                litres = float(fields[2])
            except ValueError:
                skipped["unreadable row"] += 1
                continue
            repeat = seen[(household, stamp)]
            seen[(household, stamp)] += 1
            instant = local.replace(tzinfo=ZONE, fold=min(repeat, 1)).astimezone(UTC)
            yield Row(household, stamp, instant, litres, repeat)


def read(
    path: str | Path,
    community_devices: Mapping[str, list[str]],
    *,
    limit: int | None = None,
    shift_to: datetime | None = None,
    skipped: Counter[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield DAIAD hourly readings as raw water `meter_reading` events (m³) on the community's water meters.

    Parameters
    ----------
    path : str or Path
        A DAIAD smart-water-meter zip or the CSV inside it.
    community_devices : Mapping[str, list[str]]
        Device category → device codes; ``water_meter`` is used.
    limit : int, optional
        Read only the first `limit` source rows.
    shift_to : datetime, optional
        Move every timestamp so the file's last reading lands here (must have a zone).
    skipped : Counter, optional
        Counts source rows left out, by reason.

    Yields
    ------
    dict
        Raw events that :func:`ingest.events.parse_event` accepts.

    Raises
    ------
    ValueError
        If the community has no water meters.
    """
    meters = sorted(set(community_devices.get(CATEGORY, [])))
    if not meters:
        raise ValueError(f"the community has no {CATEGORY} devices to map the households onto")
    skipped = skipped if skipped is not None else Counter()
    offset = time_offset(max((r.ts for r in rows(path)), default=None), shift_to) if shift_to else None
    households: dict[str, int] = {}
    for n, row in enumerate(rows(path, skipped)):
        if limit is not None and n >= limit:
            break
        index = households.setdefault(row.household, len(households))
        if index >= len(meters):
            skipped["no water meter left"] += 1
            continue
        ts = row.ts + offset if offset is not None else row.ts
        yield {
            "id": row.id,
            "kind": "meter_reading",
            "device": meters[index],
            "ts": ts.astimezone(ZONE).isoformat(),
            "meter": "water",
            "reading": row.litres / LITRES_PER_M3,
            "unit": "m³",
        }
