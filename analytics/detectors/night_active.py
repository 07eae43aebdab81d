"""昼伏夜出: a person or vehicle that passes the gates mostly at night."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import Field

from analytics.detectors.base import Detector, Finding, Inputs, event_ids


class NightActive(Detector):
    """At least `min_passes` gate passes, `min_night_share` of them at night, on `min_nights` nights."""

    name: ClassVar[str] = "night_active"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "昼伏夜出 — hides by day, moves by night"
    clears_when: ClassVar[str] = "the night share over the window falls below the threshold"

    min_passes: int = Field(default=10, ge=1)
    min_night_share: float = Field(default=0.7, gt=0, le=1)
    min_nights: int = Field(default=5, ge=1)
    night_from: int = Field(default=22, ge=0, le=23)
    night_to: int = Field(default=5, ge=0, le=23)

    def detect(self, data: Inputs) -> Iterator[Finding]:
        seen = data.sightings
        gates = seen[seen["at_gate"]]
        night = (gates["hour"] >= self.night_from) | (gates["hour"] < self.night_to)
        gates = gates.assign(night=night, night_day=gates["day"].where(night))
        per = gates.groupby("subject").agg(
            passes=("id", "size"), share=("night", "mean"), nights=("night_day", "nunique")
        )
        hits = per[
            (per["passes"] >= self.min_passes)
            & (per["share"] >= self.min_night_share)
            & (per["nights"] >= self.min_nights)
        ]
        for subject, row in hits.iterrows():
            rows = gates[(gates["subject"] == subject) & gates["night"]]
            yield self.finding(
                data,
                str(subject),
                float(row["share"]),
                f"{row['share']:.0%} of {int(row['passes'])} gate passes were between {self.night_from}:00 and "
                f"{self.night_to}:00, on {int(row['nights'])} nights",
                {
                    "passes": row["passes"],
                    "night_share": row["share"],
                    "nights": row["nights"],
                    "events": event_ids(rows),
                },
            )
