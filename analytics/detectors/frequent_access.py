"""频繁进出: someone passing the estate gates far more often than anyone lives."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import Field

from analytics.detectors.base import Detector, Finding, Inputs, event_ids


class FrequentAccess(Detector):
    """`min_per_day` or more gate passes a day, on `min_days` or more days."""

    name: ClassVar[str] = "frequent_access"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "频繁进出 — frequent in and out"
    clears_when: ClassVar[str] = "fewer busy days than the threshold in the window"

    min_per_day: int = Field(default=16, ge=1)
    min_days: int = Field(default=3, ge=1)

    def detect(self, data: Inputs) -> Iterator[Finding]:
        gates = data.sightings[data.sightings["at_gate"]]
        per_day = gates.groupby(["subject", "day"]).size()
        busy = per_day[per_day >= self.min_per_day].groupby(level="subject")
        for subject, days in busy:
            if len(days) < self.min_days:
                continue
            rows = gates[gates["subject"] == subject]
            yield self.finding(
                data,
                str(subject),
                len(days) / (len(days) + self.min_days),
                f"{len(days)} days with {self.min_per_day}+ gate passes (up to {int(days.max())} a day)",
                {"busy_days": len(days), "max_per_day": int(days.max()), "events": event_ids(rows)},
            )
