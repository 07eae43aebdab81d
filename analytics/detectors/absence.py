"""Residents who went out and did not come back, or stayed in and were not seen going out (REQUIREMENTS §3).

Both read each current resident's last sighting: at an estate gate means they left; at their unit
means they came home. A gap from it to the end of the window longer than `min_gap_days` is a
finding, for people who were seen regularly before (`min_active_days`), so that someone who rarely
passes a camera does not look absent.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from typing import ClassVar

import pandas as pd
from pydantic import Field

from analytics.detectors.base import Detector, Finding, Inputs


class Absence(Detector):
    """A resident whose last sighting is too long ago, leaving (went out) or coming home (stayed in)."""

    min_gap_days: float = Field(default=3.0, gt=0)
    min_active_days: int = Field(default=5, ge=1)
    min_age: int = Field(default=6, ge=0, description="children younger than this are not tracked")

    went_out: ClassVar[bool]
    """Whether the last sighting is this detector's: leaving (long_out) or coming home (long_in)."""

    def detect(self, data: Inputs) -> Iterator[Finding]:
        seen = data.sightings
        residents = seen[seen["subject"].isin(data.context.home.keys())]
        if residents.empty:
            return
        # a gate pass right after a unit sighting is going out; right after another gate pass, coming
        # back (the door or unit camera missed them) — so a missed read does not flip the direction
        previous_at_gate = residents.groupby("subject")["at_gate"].shift(1).eq(True)
        went_out = residents["at_gate"] & ~previous_at_gate
        last = residents.assign(went_out=went_out).groupby("subject").tail(1).set_index("subject")
        last = last.assign(
            gap=(pd.Timestamp(data.end) - last["ts"]).dt.total_seconds() / 86400,
            active=residents.groupby("subject")["day"].nunique(),
        )
        last = last[
            (last["gap"] >= self.min_gap_days)
            & (last["went_out"] == self.went_out)
            & (last["active"] >= self.min_active_days)
        ]
        active = {str(k): int(v) for k, v in last["active"].items()}
        for key, row in last.iterrows():
            subject, gap = str(key), float(row["gap"])
            age = data.age(subject)
            if age is not None and age < self.min_age:
                continue
            yield self.finding(
                data,
                subject,
                gap / (2 * self.min_gap_days) + (0.2 if (age or 0) >= 70 else 0.0),
                self.explain(row, gap, active[subject], age),
                {"last_event": row["id"], "device": row["device"], "gap_days": gap, "active_days": active[subject]},
            )

    @abstractmethod
    def explain(self, row: pd.Series, gap: float, active: int, age: int | None) -> str:
        """Say why, in one sentence."""
