"""套牌车: one plate read at two places further apart than any car could drive in the time between."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import numpy as np
from pydantic import Field

from analytics.detectors.base import Detector, Finding, Inputs, haversine_m, when


class ClonedPlate(Detector):
    """Consecutive reads of a plate `min_distance_m` or more apart at a speed above `max_speed_kmh`."""

    name: ClassVar[str] = "cloned_plate"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "套牌车 — cloned plate (impossible travel)"
    clears_when: ClassVar[str] = "closed by a handler after the vehicles are checked"

    max_speed_kmh: float = Field(default=80.0, gt=0)
    min_distance_m: float = Field(default=500.0, ge=0, description="below this, location error could explain it")

    def detect(self, data: Inputs) -> Iterator[Finding]:
        reads = data.sightings[(data.sightings["kind"] == "plate_read") & data.sightings["lon"].notna()]
        reads = reads.sort_values(["subject", "ts"], kind="stable")
        same = reads["subject"].to_numpy()[1:] == reads["subject"].to_numpy()[:-1]
        lon, lat = reads["lon"].to_numpy(dtype=float), reads["lat"].to_numpy(dtype=float)
        metres = haversine_m(lon[:-1], lat[:-1], lon[1:], lat[1:])
        seconds = np.diff(reads["ts"].to_numpy()).astype("timedelta64[ms]").astype(float) / 1000
        kmh = np.where(seconds > 0, metres / np.maximum(seconds, 1e-3) * 3.6, np.inf)
        hits = np.flatnonzero(same & (metres >= self.min_distance_m) & (kmh > self.max_speed_kmh))
        by_subject: dict[str, list[int]] = {}
        for hit in hits.tolist():
            by_subject.setdefault(str(reads["subject"].iloc[hit]), []).append(hit)
        for subject, pairs in by_subject.items():
            i = max(pairs, key=lambda k: float(kmh[k]))
            a, b = reads.iloc[i], reads.iloc[i + 1]
            yield self.finding(
                data,
                subject,
                min(1.0, kmh[i] / (2 * self.max_speed_kmh)),
                f"read at {a['device']} ({when(a['ts'])}) and at {b['device']} {seconds[i]:.0f} s later, "
                f"{metres[i]:.0f} m away: {kmh[i]:.0f} km/h (limit {self.max_speed_kmh:g}); "
                f"{len(pairs)} impossible pair(s)",
                {
                    "pairs": [[reads["id"].iloc[k], reads["id"].iloc[k + 1]] for k in pairs[:10]],
                    "max_kmh": kmh[i],
                    "distance_m": metres[i],
                },
            )
