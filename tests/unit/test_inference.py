from __future__ import annotations

import pytest
from pydantic import ValidationError

from analytics.inference import InferenceSettings, confidence


def test_confidence_is_consistency_discounted_for_small_samples() -> None:
    assert confidence(3, 3, 3) == 0.5  # always together, exactly at the threshold
    assert confidence(9, 9, 3) == 0.75
    assert confidence(3, 6, 3) == 0.25  # together on half of the rarer subject's days
    assert confidence(30, 30, 3) > confidence(10, 10, 3) > confidence(3, 3, 3)
    assert confidence(0, 5, 3) == 0.0 and confidence(3, 0, 3) == 0.0
    assert 0 <= confidence(50, 10, 1) <= 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"co_travel_seconds": 0}, "co_travel_seconds"),
        ({"night_start_hour": 22, "night_end_hour": 23}, "night_end_hour"),
    ],
)
def test_bad_thresholds_are_refused_naming_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        InferenceSettings(**overrides)  # type: ignore[arg-type]


def test_thresholds_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINHOOD_INFER_CO_TRAVEL_MIN_DAYS", "5")
    assert InferenceSettings().co_travel_min_days == 5
