"""实有人口未登记: someone who comes home to a unit evening after evening but is not registered there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import Field

from analytics.detectors.base import Detector, Finding, Inputs, event_ids, when


class UnregisteredResident(Detector):
    """Seen at the same unit's devices on `min_evenings` or more days between `evening_from` and `evening_to`.

    Those hours (afternoon to next morning) are when people come home and leave it; midday
    visitors such as cleaners and couriers fall outside them. Someone registered as living in
    another unit is a visitor there, not an unregistered resident.
    """

    name: ClassVar[str] = "unregistered_resident"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "实有人口未登记 — actual resident not registered"
    clears_when: ClassVar[str] = "the person is registered at a house of that unit, or not seen there for 14 days"

    min_evenings: int = Field(default=5, ge=1)
    evening_from: int = Field(default=15, ge=0, le=23, description="local hour evenings start")
    evening_to: int = Field(default=8, ge=0, le=23, description="local hour evenings end (next day)")
    min_age: int = Field(default=6, ge=0, description="children younger than this are not tracked")

    def detect(self, data: Inputs) -> Iterator[Finding]:
        ctx, seen = data.context, data.sightings
        evening = (seen["hour"] >= self.evening_from) | (seen["hour"] < self.evening_to)
        at_units = seen[seen["unit"].notna() & evening]
        groups = at_units.groupby(["subject", "unit"])
        evenings_at = groups["day"].nunique()
        positions = groups.indices
        for pair, evenings in evenings_at[evenings_at >= self.min_evenings].items():
            subject, unit = (str(part) for part in pair)  # type: ignore[attr-defined]
            home = ctx.home.get(subject)
            if home is not None and ctx.registered.get(subject) and ctx.house_unit.get(home) == unit:
                continue
            if home is not None and ctx.house_unit.get(home) != unit:
                continue  # a registered resident of another unit visiting
            age = data.age(subject)
            if age is not None and age < self.min_age:
                continue
            rows = at_units.iloc[positions[pair]]
            yield self.finding(
                data,
                subject,
                0.5 + evenings / (4 * self.min_evenings),
                f"seen at {unit} on {evenings} evenings from {when(rows['ts'].iloc[0])} to "
                f"{when(rows['ts'].iloc[-1])}, but not registered as living there",
                {"unit": unit, "evenings": evenings, "events": event_ids(rows)},
                key=unit.replace(":", "~"),
            )
