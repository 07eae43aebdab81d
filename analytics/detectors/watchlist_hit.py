"""布控命中: a person or vehicle on the watch list seen by a device."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from analytics.detectors.base import Detector, Finding, Inputs, event_ids, when


class WatchlistHit(Detector):
    """Any sighting of a watched person (by uid or ID number) or plate."""

    name: ClassVar[str] = "watchlist_hit"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "布控命中 — watch-list hit"
    clears_when: ClassVar[str] = "closed by a handler, or the watch-list entry ends"

    def detect(self, data: Inputs) -> Iterator[Finding]:
        ctx, seen = data.context, data.sightings
        entries = dict(ctx.watch_subjects)
        entries.update({f"vehicle:{plate}": entry for plate, entry in ctx.watch_plates.items()})
        for subject, rows in seen[seen["subject"].isin(entries.keys())].groupby("subject", sort=False):
            entry = entries[str(subject)]
            devices = sorted(rows["device"].unique())
            yield self.finding(
                data,
                str(subject),
                1.0 - (entry.level - 1) * 0.1,
                f"on the watch list ({entry.reason}, level {entry.level}); seen {len(rows)} times at "
                f"{', '.join(devices[:5])}{' …' if len(devices) > 5 else ''}, last at {when(rows['ts'].iloc[-1])}",
                {"watch_entry": entry.uid, "hits": len(rows), "devices": devices, "events": event_ids(rows)},
            )
