"""异常房屋: a house using far more power than houses of the community normally do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import Field

from analytics.detectors.base import Detector, Finding, Inputs


class AbnormalHouse(Detector):
    """Daily power use `min_ratio` times the median lived-in house's, and above `min_kwh_per_day`."""

    name: ClassVar[str] = "abnormal_house"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "异常房屋 — abnormal use of a house (meters)"
    clears_when: ClassVar[str] = "the house's use falls back under the ratio"

    min_ratio: float = Field(default=6.0, gt=1)
    min_kwh_per_day: float = Field(default=30.0, ge=0)

    def detect(self, data: Inputs) -> Iterator[Finding]:
        use = data.consumption
        if "power" not in use:
            return
        power = use["power"].dropna()
        lived_in = power[power.index.isin([h for h, people in data.context.occupants.items() if people])]
        if lived_in.empty:
            return
        median = float(lived_in.median())
        for house, kwh in power[(power >= self.min_ratio * median) & (power >= self.min_kwh_per_day)].items():
            residents = len(data.context.occupants.get(str(house), []))
            yield self.finding(
                data,
                str(house),
                kwh / (2 * self.min_ratio * median),
                f"uses {kwh:.1f} kWh a day, {kwh / median:.1f}x the median lived-in house ({median:.1f} kWh), "
                f"with {residents} resident(s) on record",
                {"power_kwh_per_day": kwh, "median_kwh_per_day": median, "residents": residents},
            )
