"""The shared interface of risk detectors, the findings they make, and the tables they share.

A detector is a pydantic model whose fields are its thresholds (so configuration is validated and
named per field) and whose class variables name it, version it and say what clears its findings.
:meth:`Detector.detect` reads an :class:`Inputs` — the event frame of a time window, the
community :class:`~analytics.context.Context`, and tables derived from them once per run — and
yields :class:`Finding` objects. Detectors never write; :mod:`analytics.findings` does.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any, ClassVar, Final

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from analytics.context import Context

LOCAL_ZONE: Final = "Asia/Shanghai"
PASSING_KINDS: Final = ("face_capture", "plate_read", "access_open")
SAMPLE: Final = 20
"""How many event ids a finding keeps as evidence."""


@dataclass(frozen=True)
class Finding:
    """One detector's finding on one entity, with what it rests on and why."""

    detector: str
    version: str
    subject: str
    score: float
    explanation: str
    clears_when: str
    inputs: dict[str, Any]
    thresholds: dict[str, Any]
    window: tuple[datetime, datetime]
    key: str = ""
    """Distinguishes episodes on the same subject (a gathering's day, an occupancy state)."""


@dataclass
class Inputs:
    """A detection run's events, context and window, with derived tables computed on first use."""

    events: pd.DataFrame
    context: Context
    start: datetime
    end: datetime
    zone: str = LOCAL_ZONE
    """The zone whose clock "night", "evening" and "day" are read in (where the devices are)."""

    def __post_init__(self) -> None:
        # only the window's events: whoever built the frame, a run sees [start, end) and nothing else
        ts = self.events["ts"]
        self.events = self.events[(ts >= pd.Timestamp(self.start)) & (ts < pd.Timestamp(self.end))]

    @property
    def window_days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    @cached_property
    def devices(self) -> pd.DataFrame:
        """One row per known device code: category, place, estate, unit, house, at_gate, lon, lat."""
        rows = [
            {
                "device": d.code,
                "category": d.category,
                "place": d.place,
                "estate": d.estate,
                "unit": d.unit,
                "device_house": d.house,
                "at_gate": d.at_gate,
                "lon": d.lon,
                "lat": d.lat,
                "owner_unit": d.owner_unit,
            }
            for d in self.context.devices.values()
        ]
        columns = ["device", "category", "place", "estate", "unit", "device_house", "at_gate", "lon", "lat"]
        return pd.DataFrame(rows, columns=[*columns, "owner_unit"]).set_index("device")

    @cached_property
    def sightings(self) -> pd.DataFrame:
        """Passing events (faces, plates, door openings) with a subject, joined to their device, in time order.

        Adds ``local`` (time in :attr:`zone`), ``day`` (local date) and ``hour`` (local hour).
        """
        events = self.events
        passing = events[events["kind"].isin(PASSING_KINDS) & events["subject"].notna()]
        out = passing.join(self.devices, on="device", how="inner").rename_axis(index=None)
        local = out["ts"].dt.tz_convert(self.zone)
        out = out.assign(local=local, day=local.dt.date, hour=local.dt.hour, at_gate=out["at_gate"].astype(bool))
        return out.sort_values("ts", kind="stable")

    @cached_property
    def consumption(self) -> pd.DataFrame:
        """Mean daily consumption per house and meter (columns water, power, gas), from cumulative readings."""
        readings = self.events[self.events["kind"] == "meter_reading"].join(self.devices, on="device", how="inner")
        readings = readings.rename_axis(index=None)
        readings = readings[readings["device_house"].notna()].sort_values("ts")
        if readings.empty:
            return pd.DataFrame(columns=["water", "power", "gas"])
        grouped = readings.groupby(["device_house", "meter"])
        first, last = grouped[["reading", "ts"]].first(), grouped[["reading", "ts"]].last()
        used = (last["reading"] - first["reading"]).clip(lower=0.0)
        days = ((last["ts"] - first["ts"]).dt.total_seconds() / 86400).clip(lower=1.0)
        return (used / days).unstack("meter").rename_axis(index="house", columns=None)

    def age(self, person: str) -> int | None:
        """A person's age in whole years at the end of the window, when their birth date is known."""
        node = self.context.persons.get(person)
        if node is None or node.birth_date is None:
            return None
        end = self.end.date()
        born = node.birth_date
        return end.year - born.year - ((end.month, end.day) < (born.month, born.day))


class Detector(BaseModel, ABC):
    """A risk detector: its fields are its thresholds; subclasses set the class variables and `detect`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ClassVar[str]
    version: ClassVar[str]
    title: ClassVar[str]
    """What it finds, in the words of REQUIREMENTS §3."""
    clears_when: ClassVar[str]

    @abstractmethod
    def detect(self, data: Inputs) -> Iterator[Finding]:
        """Yield the findings in `data`."""

    def finding(
        self, data: Inputs, subject: str, score: float, explanation: str, inputs: dict[str, Any], key: str = ""
    ) -> Finding:
        """Make a finding of this detector, with its version, thresholds and the run's window."""
        return Finding(
            detector=self.name,
            version=self.version,
            subject=subject,
            score=round(min(max(score, 0.0), 1.0), 3),
            explanation=explanation,
            clears_when=self.clears_when,
            inputs=_plain(inputs),
            thresholds=self.model_dump(),
            window=(data.start, data.end),
            key=key,
        )


def event_ids(rows: pd.DataFrame) -> list[str]:
    """A sample of the event ids of `rows`: the first and the last ones, at most :data:`SAMPLE`."""
    ids = rows["id"].tolist()
    return ids if len(ids) <= SAMPLE else ids[: SAMPLE // 2] + ids[-SAMPLE // 2 :]


def when(ts: Any) -> str:
    """A timestamp as local time, to the minute, for explanations."""
    return str(pd.Timestamp(ts).tz_convert(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M"))


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Great-circle distance in metres (numpy arrays or scalars)."""
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * np.arcsin(np.sqrt(a))


def _plain(value: Any) -> Any:
    """JSON-ready: numpy and pandas scalars to Python, dates and times to ISO text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
