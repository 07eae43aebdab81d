"""Retrospective alarm statistics (8.2.1.2.x): how many alarms opened, cleared and closed, and how fast people acted.

Computed in SQL over `alarm_state`, the system of record for alarms, for the alarms *opened* in a
window, grouped by one of :data:`GROUPS`. Times to acknowledge and to resolve run from the alarm's
opening (its first event's time) to the workflow step; alarms that never reached the step are left
out of its mean and counted in neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, text

from graph.errors import ValidationError

GROUPS: Final[dict[str, str]] = {
    "kind": "kind",
    "severity": "CAST(severity AS text)",
    "building": "coalesce(building, '(none)')",
    "grid": "coalesce(grid, '(none)')",
    "handler": "coalesce(handler, '(none)')",
    "day": "to_char(opened_at AT TIME ZONE :zone, 'YYYY-MM-DD')",
}
"""What statistics may be grouped by, and the SQL expression of each (identifiers only, never input)."""


@dataclass(frozen=True)
class AlarmStatistics:
    """The alarms of one group opened in the window: counts and mean reaction times (seconds)."""

    key: str
    opened: int
    live: int
    cleared: int
    acknowledged: int
    resolved: int
    closed: int
    events: int
    mean_acknowledge_s: float | None
    mean_resolve_s: float | None


def alarm_statistics(
    conn: Connection,
    since: datetime,
    until: datetime | None = None,
    *,
    by: str = "kind",
    zone: str = "Asia/Shanghai",
) -> list[AlarmStatistics]:
    """Return statistics of the alarms opened from `since` (up to `until`), one row per group of `by`, in key order.

    `zone` is the time zone whose calendar days `by="day"` counts in.
    """
    if by not in GROUPS:
        raise ValidationError("by", by, f"must be one of {', '.join(GROUPS)}")
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise ValidationError(name, moment.isoformat(), "needs a time zone")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("zone", zone, "is not a known time zone (e.g. Asia/Shanghai)") from None
    rows = conn.execute(
        text(
            f"SELECT {GROUPS[by]} AS key, count(*) AS opened, "
            "count(*) FILTER (WHERE cleared_at IS NULL AND status <> 'closed') AS live, "
            "count(cleared_at) AS cleared, count(acknowledged_at) AS acknowledged, count(resolved_at) AS resolved, "
            "count(closed_at) AS closed, sum(count) AS events, "
            "avg(extract(epoch FROM acknowledged_at - opened_at)) AS mean_acknowledge_s, "
            "avg(extract(epoch FROM resolved_at - opened_at)) AS mean_resolve_s "
            "FROM alarm_state "
            "WHERE opened_at >= :since AND (CAST(:until AS timestamptz) IS NULL OR opened_at < :until) "
            "GROUP BY 1 ORDER BY 1"
        ),
        {"since": since, "until": until, "zone": zone},
    ).all()
    return [
        AlarmStatistics(
            key=r.key,
            opened=r.opened,
            live=r.live,
            cleared=r.cleared,
            acknowledged=r.acknowledged,
            resolved=r.resolved,
            closed=r.closed,
            events=int(r.events),
            mean_acknowledge_s=None if r.mean_acknowledge_s is None else float(r.mean_acknowledge_s),
            mean_resolve_s=None if r.mean_resolve_s is None else float(r.mean_resolve_s),
        )
        for r in rows
    ]
