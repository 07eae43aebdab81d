"""Moving a real log in time: every adapter shifts all timestamps by one amount."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, tzinfo
from typing import Any


def time_offset(last: datetime | None, shift_to: datetime | None) -> timedelta:
    """Return how far to move every timestamp so that `last` lands at `shift_to` (zero without one).

    Raises
    ------
    ValueError
        If `shift_to` has no time zone.
    """
    if shift_to is None or last is None:
        return timedelta(0)
    if shift_to.tzinfo is None or shift_to.utcoffset() is None:
        raise ValueError("shift_to needs a time zone")
    return shift_to - last


def shifted(events: Iterable[dict[str, Any]], offset: timedelta, zone: tzinfo) -> Iterator[dict[str, Any]]:
    """Yield events with `ts` moved by `offset` and written as ISO-8601 in the source's time zone."""
    for event in events:
        yield {**event, "ts": (event["ts"] + offset).astimezone(zone).isoformat()}
