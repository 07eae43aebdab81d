"""重点人员聚集: several key persons at the same device within a short time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pandas as pd
from pydantic import Field

from analytics.detectors.base import Detector, Finding, Inputs, event_ids, when


class KeyPersonGathering(Detector):
    """`min_persons` or more distinct key persons seen by one device within `window_minutes`.

    At least `min_visitors` of them must live elsewhere than the device's place, so that key
    persons who share a unit or an estate passing its door at rush hour are not a gathering.
    """

    name: ClassVar[str] = "key_person_gathering"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "重点人员聚集 — key persons gathering"
    clears_when: ClassVar[str] = "a gathering is an episode: the flag is closed by a handler after review"

    min_persons: int = Field(default=3, ge=2)
    min_visitors: int = Field(default=2, ge=0)
    window_minutes: float = Field(default=15.0, gt=0)

    def detect(self, data: Inputs) -> Iterator[Finding]:
        ctx, seen = data.context, data.sightings
        key = {u for u, p in ctx.persons.items() if p.key_person}
        rows = seen[seen["subject"].isin(key)]
        span = pd.Timedelta(minutes=self.window_minutes)
        for device, passes in rows.groupby("device", sort=False):
            times, subjects = passes["ts"].tolist(), passes["subject"].tolist()
            reported: set[object] = set()
            for i in range(len(times)):
                j = i
                while j + 1 < len(times) and times[j + 1] - times[i] <= span:
                    j += 1
                people = sorted(set(subjects[i : j + 1]))
                day, place = passes["day"].iloc[i], str(passes["place"].iloc[i])
                visitors = [p for p in people if not ctx.lives_in(p, place)]
                if len(people) < self.min_persons or len(visitors) < self.min_visitors or day in reported:
                    continue
                reported.add(day)
                episode = passes.iloc[i : j + 1]
                categories = sorted({str(ctx.persons[p].key_category) for p in people})
                yield self.finding(
                    data,
                    place,
                    len(people) / (len(people) + 1),
                    f"{len(people)} key persons ({', '.join(categories)}) at device {device} "
                    f"between {when(times[i])} and {when(times[j])}",
                    {"device": device, "persons": people, "visitors": visitors, "events": event_ids(episode)},
                    key=str(day),
                )
