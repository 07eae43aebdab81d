"""群租房: many more people opening a house's door day after day than live there on record."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import Field

from analytics.detectors.base import Detector, Finding, Inputs, event_ids


class GroupRental(Detector):
    """`min_people` or more regular users of a house's door, `min_excess` or more of them not residents on record.

    People on record but not registered count as on record: a household with a lodger or two is
    an unregistered-resident case, not a group rental.
    """

    name: ClassVar[str] = "group_rental"
    version: ClassVar[str] = "2"
    title: ClassVar[str] = "群租房 — group rental"
    clears_when: ClassVar[str] = "fewer regular users of the door not on record than the margin"

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
            if len(people) < self.min_people or len(unknown) < self.min_excess:
                continue
            yield self.finding(
                data,
                str(house),
                min(1.0, len(unknown) / (2 * self.min_excess)),
                f"{len(people)} people open its door regularly ({len(unknown)} not residents on record); "
                f"{registered} registered resident(s)",
                {
                    "regular_users": people,
                    "registered": registered,
                    "not_on_record": len(unknown),
                    "events": event_ids(doors[doors["house"] == house]),
                },
            )
