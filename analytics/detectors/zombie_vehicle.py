"""僵尸车: a vehicle that drove in and has not moved for weeks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pandas as pd
from pydantic import Field

from analytics.detectors.base import Detector, Finding, Inputs, when


class ZombieVehicle(Detector):
    """The last read of a plate was going in, `min_days` or more before the end of the window."""

    name: ClassVar[str] = "zombie_vehicle"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "僵尸车 — vehicle parked and not moved for a long time"
    clears_when: ClassVar[str] = "the vehicle is read again (it moved)"

    min_days: float = Field(default=15.0, gt=0)

    def detect(self, data: Inputs) -> Iterator[Finding]:
        reads = data.sightings[data.sightings["kind"] == "plate_read"]
        end = pd.Timestamp(data.end)
        for subject, row in reads.groupby("subject").tail(1).set_index("subject").iterrows():
            idle = (end - row["ts"]).total_seconds() / 86400
            if row["direction"] != "in" or idle < self.min_days:
                continue
            owner = data.context.vehicle_owner.get(str(subject))
            yield self.finding(
                data,
                str(subject),
                idle / (2 * self.min_days),
                f"drove in at {row['device']} on {when(row['ts'])} and has not been read since: {idle:.0f} days"
                + ("" if owner else "; no registered owner"),
                {"last_event": row["id"], "idle_days": idle, "owner": owner},
            )
