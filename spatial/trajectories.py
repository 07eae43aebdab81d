"""Trajectories: where a person or vehicle was seen, in time order, as one line per day.

Sightings come from events (plate reads, face captures, access openings) at devices with a
place; a day's sightings of one subject become a LineString in the `trajectories` layer, with the
time of each vertex in `times`, so the map can replay it with a time slider (8.2.1.1.1 i).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from shapely import LineString, Point
from sqlalchemy import Connection

from spatial.features import Feature, write_features


@dataclass(frozen=True)
class Sighting:
    """A subject seen at a point at a time (timezone-aware)."""

    subject_uid: str
    lon: float
    lat: float
    at: datetime


def trajectory_uid(subject_uid: str, day: date) -> str:
    """Return the uid of a subject's trajectory on a day, e.g. ``trajectory:vehicle:京A12345@2024-05-01``."""
    return f"trajectory:{subject_uid}@{day.isoformat()}"


def build_trajectories(sightings: Iterable[Sighting], source: str) -> list[Feature]:
    """Return one trajectory feature per subject and day, vertices in time order.

    A day with a single sighting is a zero-length line (the point twice), so it still shows on
    the map; consecutive sightings at the same place are kept, their times tell the dwell.
    """
    days: dict[tuple[str, date], list[Sighting]] = defaultdict(list)
    for s in sightings:
        if s.at.tzinfo is None:
            raise ValueError(f"sighting of {s.subject_uid} at {s.at} has no time zone")
        days[(s.subject_uid, s.at.date())].append(s)
    features = []
    for (subject, day), seen in sorted(days.items()):
        seen.sort(key=lambda s: s.at)
        points = [Point(s.lon, s.lat) for s in seen]
        line = LineString(points if len(points) > 1 else points * 2)
        columns = {
            "subject_uid": subject,
            "started_at": seen[0].at,
            "ended_at": seen[-1].at,
            "times": [s.at.isoformat() for s in seen],
        }
        features.append(Feature(trajectory_uid(subject, day), line, source, columns))
    return features


def write_trajectories(conn: Connection, sightings: Iterable[Sighting], source: str) -> int:
    """Build and store the trajectories of `sightings` (replacing a day's line when it grows)."""
    return write_features(conn, "trajectories", build_trajectories(sightings, source))
