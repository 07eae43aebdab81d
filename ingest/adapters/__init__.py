"""Adapters for real public logs: their devices mapped onto a demo community's, their rows into the ledger.

Each adapter module has ``read(path, community_devices, *, limit=None, shift_to=None, skipped=None)``
yielding raw event dicts (``id``, ``device``, ``ts`` with a zone, ``kind`` and the kind's fields)
that :func:`ingest.events.parse_event` accepts; `community_devices` maps a device category
(``plate_camera``, ``access_control``, ``water_meter``…) to the community's device codes, see
:func:`devices_by_category`. Source rows an adapter cannot express in our schema are counted in
`skipped` by reason. :data:`ADAPTERS` names them:

* ``seattle-alpr`` (:mod:`ingest.adapters.seattle_alpr`): Seattle Police plate reads → ``plate_read``.
* ``ordonez`` (:mod:`ingest.adapters.ordonez`): Ordonez home A or B main door → ``access_open`` and
  ``door_left_open`` on one house.
* ``daiad`` (:mod:`ingest.adapters.daiad`): DAIAD hourly water meters → ``meter_reading``.
* ``kasteren`` (:mod:`ingest.adapters.kasteren`): van Kasteren house A front door → ``access_open`` on
  a third house.

:func:`ingest_adapter` sends an adapter's events through the same intake as file import: valid
events to the ledger, invalid ones to dead letters with the reason, counted per outcome.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from graph.errors import ValidationError
from ingest.adapters import daiad, kasteren, ordonez, seattle_alpr
from ingest.sources.files import FileSummary, ingest_rows

log = logging.getLogger(__name__)


class Adapter(Protocol):
    """Read a real log and yield raw events on a community's devices."""

    def __call__(
        self,
        path: str | Path,
        community_devices: Mapping[str, list[str]],
        *,
        limit: int | None = None,
        shift_to: datetime | None = None,
        skipped: Counter[str] | None = None,
    ) -> Iterator[dict[str, Any]]: ...


ADAPTERS: dict[str, Adapter] = {
    seattle_alpr.NAME: seattle_alpr.read,
    ordonez.NAME: ordonez.read,
    daiad.NAME: daiad.read,
    kasteren.NAME: kasteren.read,
}
"""Adapter name → its ``read`` function."""


@dataclass
class AdapterSummary(FileSummary):
    """What an adapter run did: the file summary's counts, the adapter's name and the rows it skipped, by reason.

    `rows` counts the events the adapter yielded (accepted + duplicates + rejected); a rejection's
    row number is the event's position in that stream, from 1.
    """

    adapter: str = ""
    skipped: dict[str, int] = field(default_factory=dict)


def devices_by_category(devices: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Return device category → sorted device codes, from ``(category, code)`` pairs.

    Examples
    --------
    >>> devices_by_category([("plate_camera", "E01-PARK-PLATE1"), ("plate_camera", "E01-GATE1-PLATE")])
    {'plate_camera': ['E01-GATE1-PLATE', 'E01-PARK-PLATE1']}
    """
    out: dict[str, list[str]] = {}
    for category, code in devices:
        out.setdefault(category, []).append(code)
    return {category: sorted(set(codes)) for category, codes in sorted(out.items())}


def ingest_adapter(
    engine: Engine,
    name: str,
    path: str | Path,
    devices: Mapping[str, list[str]],
    *,
    limit: int | None = None,
    shift_to: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> AdapterSummary:
    """Append the events adapter `name` reads from `path` to the ledger; rejects become dead letters.

    Parameters
    ----------
    engine : Engine
        The ledger's database.
    name : str
        An adapter name, a key of :data:`ADAPTERS`.
    path : str or Path
        The real log file.
    devices : Mapping[str, list[str]]
        Device category → device codes of the community the log is mapped onto.
    limit : int, optional
        How many source rows to read (see the adapter's module for what a row is).
    shift_to : datetime, optional
        Move all timestamps so the log's last one lands here; keeps order and spacing.
    progress : callable, optional
        Called with the size of each committed batch.

    Returns
    -------
    AdapterSummary
        Counts of accepted, duplicate and rejected events (with the first 100 reasons) and of the
        source rows skipped, by reason. Each batch is committed on its own, so a run that fails
        half-way keeps what was ledgered and a rerun counts it as duplicates.

    Raises
    ------
    ValidationError
        If `name` is not an adapter or `path` is not a file.
    """
    adapter = ADAPTERS.get(name)
    if adapter is None:
        raise ValidationError("adapter", name, f"is not an adapter; known: {', '.join(sorted(ADAPTERS))}")
    path = Path(path)
    if not path.is_file():
        raise ValidationError("path", str(path), "is not a file")
    summary = AdapterSummary(str(path), adapter=name)
    skipped: Counter[str] = Counter()
    raws = adapter(path, devices, limit=limit, shift_to=shift_to, skipped=skipped)
    ingest_rows(engine, enumerate(raws, 1), f"adapter:{name}", summary, progress)
    summary.skipped = dict(sorted(skipped.items()))
    log.info(
        "adapter ingested",
        extra={
            "adapter": name,
            "path": str(path),
            "rows": summary.rows,
            "accepted": summary.accepted,
            "duplicates": summary.duplicates,
            "rejected": summary.rejected,
            "skipped": sum(skipped.values()),
        },
    )
    return summary


__all__ = ["ADAPTERS", "Adapter", "AdapterSummary", "devices_by_category", "ingest_adapter"]
