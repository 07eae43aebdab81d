from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from analytics.profile import decode_cursor, encode_cursor
from graph import ValidationError


@pytest.mark.parametrize(
    ("ts", "seq"),
    [
        (datetime(2026, 5, 1, 8, 0, tzinfo=UTC), 1),
        (datetime(2026, 5, 1, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=8))), 2**40),
    ],
)
def test_a_cursor_round_trips_its_position(ts: datetime, seq: int) -> None:
    cursor = encode_cursor(ts, seq)
    assert cursor.isascii() and "=" not in cursor
    assert decode_cursor(cursor) == (ts, seq)


@pytest.mark.parametrize(
    "bad", ["", "not-a-cursor", encode_cursor(datetime(2026, 5, 1, tzinfo=UTC), 1)[:-3], "WzEsMl0"]
)
def test_a_cursor_not_handed_out_is_refused_naming_the_argument(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        decode_cursor(bad)
    assert caught.value.field == "events_after"
