"""房屋入住/空置: a house's state from its meters, against who is registered as living there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import Field

from analytics.detectors.base import Detector, Finding, Inputs


class HouseOccupancy(Detector):
    """In use by its meters but nobody lives there on record, or lived in on record but its meters are still."""

    name: ClassVar[str] = "house_occupancy"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "房屋入住/空置状态 — occupancy contradicts the register"
    clears_when: ClassVar[str] = "the register is updated, or the meters agree with it again"

    water_m3_per_day: float = Field(default=0.03, ge=0, description="water use above this means lived in")
    power_kwh_per_day: float = Field(default=1.5, ge=0, description="power use above this means lived in")

    def detect(self, data: Inputs) -> Iterator[Finding]:
        ctx = data.context
        use = data.consumption
        for house, row in use.iterrows():
            water, power = float(row.get("water", 0) or 0), float(row.get("power", 0) or 0)
            in_use = water > self.water_m3_per_day or power > self.power_kwh_per_day
            residents = len(ctx.occupants.get(str(house), []))
            if in_use == (residents > 0):
                continue
            state = "in_use_without_residents" if in_use else "empty_with_residents"
            said = (
                "nobody is registered as living there"
                if in_use
                else f"{residents} resident(s) are on record but the meters are still"
            )
            yield self.finding(
                data,
                str(house),
                0.9,
                f"meters show {water:.3f} m³ water and {power:.2f} kWh power a day; {said}",
                {"water_m3_per_day": water, "power_kwh_per_day": power, "residents": residents, "state": state},
                key=state,
            )
