"""离开未注销: a registered resident never seen in the window while the rest of their unit is."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import Field

from analytics.detectors.base import Detector, Finding, Inputs


class LeftNotDeregistered(Detector):
    """Registered as living here, but not one sighting in `min_window_days` or more."""

    name: ClassVar[str] = "left_not_deregistered"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "离开未注销 — left but still registered"
    clears_when: ClassVar[str] = "the person is seen again, or their residence is closed (deregistered)"

    min_window_days: float = Field(default=20.0, gt=0)
    min_age: int = Field(default=6, ge=0, description="children younger than this are not tracked")
    min_unit_sightings: int = Field(
        default=10, ge=1, description="the unit's devices must see this many people-passes (no sensor outage)"
    )

    def detect(self, data: Inputs) -> Iterator[Finding]:
        if data.window_days < self.min_window_days:
            return
        ctx, seen = data.context, data.sightings
        present = set(seen["subject"].unique())
        unit_passes = {str(k): int(v) for k, v in seen.groupby("unit").size().items()}
        for person, house in ctx.home.items():
            if person in present or not ctx.registered.get(person):
                continue
            age = data.age(person)
            unit = ctx.house_unit.get(house, "")
            if (age is not None and age < self.min_age) or unit_passes.get(unit, 0) < self.min_unit_sightings:
                continue
            yield self.finding(
                data,
                person,
                0.9,
                f"registered as living in {house} but not seen by any device in {data.window_days:.0f} days, "
                f"while the devices of {unit} saw {unit_passes[unit]} passes",
                {"house": house, "unit": unit, "unit_passes": unit_passes[unit], "sightings": 0},
            )
