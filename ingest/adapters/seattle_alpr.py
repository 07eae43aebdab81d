"""Seattle Police ALPR plate reads (UWCHR `uwchr_spd_alpr_pub.csv.gz`) as `plate_read` events.

The source is a `|`-separated file (gzip or plain) of 93,490 real reads by 9 licence-plate
readers, 1–8 Oct 2021, each with a local timestamp (`10/07/2021 - 16:30:51`), the reader's name
(`device`) and a SHA-1 of the plate (`plate_hash`). The mapping onto a demo community:

* **Cameras.** The reader names, sorted, are dealt in turn onto the community's plate cameras
  (category ``plate_camera``: gate and car-park cameras), sorted by code: reader ``i`` → camera
  ``i mod n``. With 9 readers and 5 cameras, some cameras carry two readers.
* **Plates.** A plate hash becomes a valid Chinese plate (:func:`plate_for`): province character,
  a letter, then 5 letters/digits (never I or O), all drawn from the SHA-256 of a salt and the
  hash. The same real plate is always the same vehicle. The space holds 3.4e10 plates, so a
  collision among 68,188 hashes has a chance of about 7 %: the salt (:data:`PLATE_SALT`) is one
  under which the file's 68,188 hashes give 68,188 distinct plates (the tests check it).
* **Direction.** The data has none: a plate's reads at one community camera alternate ``in``,
  ``out``, ``in``… in time order, starting with ``in``.
* **Site.** ``car_park`` for cameras whose code contains ``PARK``, else ``gate``.
* **Time.** A timestamp is read as Seattle local time (America/Los_Angeles) and kept as that
  instant, written with its zone. With `shift_to`, every read moves by the same amount, chosen so
  the last read *of the whole file* lands at `shift_to`: order and spacing stay real, and a row
  gets the same timestamp whatever `limit` is.
* **Order and limit.** Reads are yielded in time order (ties in file order); `limit` keeps the
  first `limit` of them.
* **Id.** ``spd-`` and 24 hex digits of the SHA-256 of the source row's reader, timestamp and
  plate hash (and its repeat number, for a row repeated word for word), so ingesting the file
  again gives duplicates only.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from graph.codes import PROVINCES
from ingest.adapters.timeline import time_offset

NAME: Final = "seattle-alpr"
ZONE: Final = ZoneInfo("America/Los_Angeles")
CATEGORY: Final = "plate_camera"
TIME_FORMAT: Final = "%m/%d/%Y - %H:%M:%S"
PLATE_LETTERS: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ"
"""The 24 letters a plate may use (never I or O)."""
PLATE_CHARS: Final = PLATE_LETTERS + "0123456789"
PLATE_SALT: Final = "twinhood:plate:1:"
"""Prefixed to a plate hash before hashing it again; chosen so the file's 68,188 hashes give 68,188 plates."""


@dataclass(frozen=True)
class Read:
    """One source row: its position in the file, reader name, instant (UTC), plate hash and repeat number."""

    row: int
    reader: str
    ts: datetime
    plate_hash: str
    repeat: int

    @property
    def id(self) -> str:
        key = f"{self.reader}|{self.ts.isoformat()}|{self.plate_hash}|{self.repeat}"
        return "spd-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def plate_for(plate_hash: str) -> str:
    """Return the Chinese plate a hashed real plate becomes: province, letter and 5 letters/digits.

    Parameters
    ----------
    plate_hash : str
        The source's plate hash (any string; compared case-insensitively).

    Returns
    -------
    str
        A plate that :func:`graph.codes.check_plate` accepts, e.g. ``"京A3K9Q2"``; the same hash
        always gives the same plate.
    """
    number = int.from_bytes(hashlib.sha256((PLATE_SALT + plate_hash.strip().lower()).encode()).digest(), "big")
    number, province = divmod(number, len(PROVINCES))
    number, letter = divmod(number, len(PLATE_LETTERS))
    tail = []
    for _ in range(5):
        number, char = divmod(number, len(PLATE_CHARS))
        tail.append(PLATE_CHARS[char])
    return PROVINCES[province] + PLATE_LETTERS[letter] + "".join(tail)


def camera_map(readers: list[str] | set[str], cameras: list[str]) -> dict[str, str]:
    """Return reader name → camera code: sorted readers dealt in turn onto sorted cameras.

    Raises
    ------
    ValueError
        If there are no cameras.
    """
    ordered = sorted(set(cameras))
    if not ordered:
        raise ValueError(f"the community has no {CATEGORY} devices to map the readers onto")
    return {reader: ordered[i % len(ordered)] for i, reader in enumerate(sorted(set(readers)))}


def _lines(path: Path) -> io.TextIOBase:
    with path.open("rb") as probe:
        zipped = probe.read(2) == b"\x1f\x8b"
    if zipped:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return io.TextIOWrapper(path.open("rb"), encoding="utf-8", newline="")


def load(path: str | Path, skipped: Counter[str] | None = None) -> list[Read]:
    """Return the file's reads in time order (ties in file order).

    Rows without a reader, a plate hash or a readable timestamp are left out and counted in
    `skipped`.

    Raises
    ------
    ValueError
        If the file lacks the ``dt``, ``device`` or ``plate_hash`` column.
    """
    skipped = skipped if skipped is not None else Counter()
    reads: list[Read] = []
    seen: Counter[tuple[str, str, str]] = Counter()
    with _lines(Path(path)) as f:
        reader = csv.reader(f, delimiter="|")
        header = next(reader, [])
        try:
            at, device, plate = header.index("dt"), header.index("device"), header.index("plate_hash")
        except ValueError:
            raise ValueError(f"{path} is not an SPD ALPR file: columns are {header[:8]}") from None
        for row, fields in enumerate(reader, 1):
            try:
                stamp, name, hashed = fields[at].strip(), fields[device].strip(), fields[plate].strip()
            except IndexError:
                skipped["short row"] += 1
                continue
            if not name or name == "NA" or not hashed or hashed == "NA":
                skipped["no reader or plate"] += 1
                continue
            try:
                instant = datetime.strptime(stamp, TIME_FORMAT).replace(tzinfo=ZONE).astimezone(UTC)
            except ValueError:
                skipped["unreadable timestamp"] += 1
                continue
            key = (name, stamp, hashed)
            seen[key] += 1
            reads.append(Read(row, name, instant, hashed, seen[key] - 1))
    reads.sort(key=lambda r: (r.ts, r.row))
    return reads


def read(
    path: str | Path,
    community_devices: Mapping[str, list[str]],
    *,
    limit: int | None = None,
    shift_to: datetime | None = None,
    skipped: Counter[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the file's plate reads as raw `plate_read` events on the community's plate cameras.

    Parameters
    ----------
    path : str or Path
        The SPD ALPR file (`|`-separated, gzip or plain).
    community_devices : Mapping[str, list[str]]
        Device category → device codes of the demo community; ``plate_camera`` is used.
    limit : int, optional
        Yield only the first `limit` reads in time order.
    shift_to : datetime, optional
        Move every timestamp so the file's last read lands here (must have a zone).
    skipped : Counter, optional
        Counts source rows left out, by reason.

    Yields
    ------
    dict
        Raw events that :func:`ingest.events.parse_event` accepts.
    """
    reads = load(path, skipped)
    cameras = camera_map({r.reader for r in reads}, list(community_devices.get(CATEGORY, [])))
    offset = time_offset(reads[-1].ts if reads else None, shift_to)
    passes: Counter[tuple[str, str]] = Counter()
    for r in reads[:limit] if limit is not None else reads:
        camera = cameras[r.reader]
        plate = plate_for(r.plate_hash)
        direction = "in" if passes[(plate, camera)] % 2 == 0 else "out"
        passes[(plate, camera)] += 1
        yield {
            "id": r.id,
            "kind": "plate_read",
            "device": camera,
            "ts": (r.ts + offset).astimezone(ZONE).isoformat(),
            "plate": plate,
            "direction": direction,
            "site": "car_park" if "PARK" in camera else "gate",
        }
