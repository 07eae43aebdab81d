"""重点单位风险: a key unit (school, hospital, fire safety, hazardous chemicals) whose fire devices keep alarming."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Final

from pydantic import Field

from analytics.detectors.base import Detector, Finding, Inputs, event_ids

FIRE_KINDS: Final = ("smoke", "heat", "gas", "fire_door_open", "fire_lane_blocked", "door_forced")


class KeyUnitRisk(Detector):
    """`min_events` or more fire-safety alarms from a key unit's own devices on `min_days` or more days."""

    name: ClassVar[str] = "key_unit_risk"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "重点单位风险 — key unit at risk"
    clears_when: ClassVar[str] = "fewer alarms than the threshold in the window, after the causes are fixed"

    min_events: int = Field(default=3, ge=1)
    min_days: int = Field(default=2, ge=1)

    def detect(self, data: Inputs) -> Iterator[Finding]:
        events = data.events
        alarms = events[events["kind"].isin(FIRE_KINDS) & (events["status"] == "alarm")]
        alarms = alarms.join(data.devices[["owner_unit"]], on="device", how="inner").rename_axis(index=None)
        local_day = alarms["ts"].dt.tz_convert(data.zone).dt.date
        for org in data.context.organisations.values():
            if not org.key_unit:
                continue
            own = alarms[alarms["owner_unit"] == org.name]
            days = local_day[own.index].nunique()
            if len(own) < self.min_events or days < self.min_days:
                continue
            kinds = own["kind"].value_counts().to_dict()
            yield self.finding(
                data,
                org.uid,
                min(1.0, len(own) / (2 * self.min_events)),
                f"key unit ({org.key_category}) with {len(own)} fire-safety alarms on {days} days: "
                + ", ".join(f"{k} x{n}" for k, n in kinds.items()),
                {"alarms": len(own), "days": days, "kinds": kinds, "events": event_ids(own)},
            )
