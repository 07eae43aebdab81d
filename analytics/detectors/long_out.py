"""长期外出未归: a resident last seen leaving through a gate and not back for days."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd

from analytics.detectors.absence import Absence
from analytics.detectors.base import when


class LongOut(Absence):
    """长期外出未归: last seen leaving through a gate, not back for days."""

    name: ClassVar[str] = "long_out"
    version: ClassVar[str] = "1"
    title: ClassVar[str] = "长期外出未归 — out for a long time, not returned"
    clears_when: ClassVar[str] = "the person is seen in the estate again"
    went_out: ClassVar[bool] = True

    def explain(self, row: pd.Series, gap: float, active: int, age: int | None) -> str:
        return (
            f"last seen leaving through gate device {row['device']} at {when(row['ts'])}; "
            f"not seen for {gap:.1f} days (threshold {self.min_gap_days:g}), after being seen on {active} days"
        )
