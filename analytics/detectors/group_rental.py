"""群租房: many more people opening a house's door night after night than are registered there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import Field

from analytics.detectors.base import Detector, Finding, Inputs, event_ids


class GroupRental(Detector):
    """`min_people` or more regular users of a house's door, `min_excess` more than its registered residents."""

    name: ClassVar[str] = "group_rental"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "群租房 — group rental"
    clears_when: ClassVar[str] = "the regular users of the door fall to the registered residents plus the margin"

    min_people: int = Field(default=6, ge=2)
    min_excess: int = Field(default=3, ge=1)
    min_days_each: int = Field(default=3, ge=1, description="a regular user opens the door on this many days")

    def detect(self, data: Inputs) -> Iterator[Finding]:
        ctx = data.context
        doors = data.sightings[(data.sightings["kind"] == "access_open") & data.sightings["house"].notna()]
        days = doors.groupby(["house", "subject"])["day"].nunique()
        regulars = days[days >= self.min_days_each].groupby(level="house")
        for house, users in regulars:
            people = users.index.get_level_values("subject").tolist()
            registered = sum(1 for p in ctx.occupants.get(str(house), []) if ctx.registered.get(p))
            unknown = [p for p in people if p not in ctx.home]
            if len(people) < self.min_people or len(people) - registered < self.min_excess:
                continue
            yield self.finding(
                data,
                str(house),
                min(1.0, (len(people) - registered) / (2 * self.min_excess)),
                f"{len(people)} people open its door regularly ({len(unknown)} not residents on record); "
                f"{registered} registered resident(s)",
                {
                    "regular_users": people,
                    "registered": registered,
                    "not_on_record": len(unknown),
                    "events": event_ids(doors[doors["house"] == house]),
                },
            )
