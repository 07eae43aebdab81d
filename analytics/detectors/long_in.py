"""长期在家未出: a resident last seen coming home and not seen going out for days."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd

from analytics.detectors.absence import Absence
from analytics.detectors.base import when


class LongIn(Absence):
    """长期在家未出: last seen coming home, not seen going out for days."""

    name: ClassVar[str] = "long_in"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "长期在家未出 — at home for a long time, not seen leaving"
    clears_when: ClassVar[str] = "the person is seen again (leaving or at any device)"
    went_out: ClassVar[bool] = False

    def explain(self, row: pd.Series, gap: float, active: int, age: int | None) -> str:
        elderly = f" aged {age}," if age is not None and age >= 70 else ""
        return (
            f"last seen entering at unit device {row['device']} at {when(row['ts'])};{elderly} "
            f"not seen going out for {gap:.1f} days (threshold {self.min_gap_days:g}), "
            f"after being seen on {active} days"
        )
