from __future__ import annotations

from datetime import datetime

import pytest

from spatial.trajectories import Sighting, build_trajectories


def test_naive_times_are_refused_naming_the_subject() -> None:
    with pytest.raises(ValueError, match=r"person:P1 .* no time zone"):
        build_trajectories([Sighting("person:P1", 14.4, 50.1, datetime(2024, 5, 1, 8))], "t")
