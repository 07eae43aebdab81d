"""Moving a real log in time: every adapter shifts all timestamps by one amount."""

from __future__ import annotations

from datetime import datetime, timedelta


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
