"""异常房屋: a house using far more power or water than lived-in houses of the community normally do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import Field

from analytics.detectors.base import Detector, Finding, Inputs

UNITS: dict[str, str] = {"power": "kWh", "water": "m³"}


class AbnormalHouse(Detector):
    """Daily power or water use `min_ratio` times the median lived-in house's, and above a floor."""

    name: ClassVar[str] = "abnormal_house"
    version: ClassVar[str] = "2"
    title: ClassVar[str] = "异常房屋 — abnormal use of a house (meters)"
    clears_when: ClassVar[str] = "the house's use falls back under the ratio"

    min_ratio: float = Field(default=6.0, gt=1)
    min_kwh_per_day: float = Field(default=30.0, ge=0)
    min_m3_per_day: float = Field(default=1.5, ge=0)

    def detect(self, data: Inputs) -> Iterator[Finding]:
        use = data.consumption
        lived_in = [h for h, people in data.context.occupants.items() if people]
        floors = {"power": self.min_kwh_per_day, "water": self.min_m3_per_day}
        over: dict[str, dict[str, float]] = {}
        for meter, floor in floors.items():
            if meter not in use:
                continue
            daily = use[meter].dropna()
            normal = daily[daily.index.isin(lived_in)]
            if normal.empty:
                continue
            median = float(normal.median())
            for house, amount in daily[(daily >= self.min_ratio * median) & (daily >= floor)].items():
                over.setdefault(str(house), {})[meter] = amount
                over[str(house)][f"median_{meter}"] = median
        for house, found in over.items():
            residents = len(data.context.occupants.get(house, []))
            ratios = {m: found[m] / found[f"median_{m}"] for m in floors if m in found}
            said = "; ".join(
                f"{m} {found[m]:.1f} {UNITS[m]} a day, {r:.1f}x the median lived-in house ({found[f'median_{m}']:.2f})"
                for m, r in ratios.items()
            )
            yield self.finding(
                data,
                house,
                max(ratios.values()) / (2 * self.min_ratio),
                f"uses {said}; {residents} resident(s) on record",
                {**found, "residents": residents},
            )
