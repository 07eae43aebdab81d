from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.errors import ValidationError
from ingest.events import KINDS, MAX_EVENT_BYTES, Event, Gas, MeterReading, PlateRead, parse_event, parse_message

TS = "2026-05-01T08:00:00+08:00"


def smoke(**extra: Any) -> dict[str, Any]:
    return {"kind": "smoke", "device": "E01B01-U1-F03-SMOKE", "ts": TS, "status": "alarm", **extra}


def test_every_kind_is_registered_with_a_model_severity_and_retention() -> None:
    expected = {
        "face_capture", "plate_read", "access_open", "door_forced", "door_left_open", "perimeter_intrusion",
        "smoke", "heat", "gas", "fire_lane_blocked", "fire_door_open", "hydrant_pressure", "ebike_in_building",
        "manhole", "street_light_fault", "water_tank", "elevator_fault", "meter_reading", "environment",
        "falling_object", "report",
    }  # fmt: skip
    assert expected <= set(KINDS)
    for kind, spec in KINDS.items():
        assert spec.model.model_fields["kind"].default == kind
        assert 1 <= spec.severity <= 4
        assert spec.retention_days >= 30
    assert KINDS["plate_read"].retention_days >= 180


def test_parse_event_from_bytes_keeps_fields_and_derives_a_stable_id() -> None:
    first = parse_event(json.dumps(smoke()).encode())
    again = parse_event(smoke(ts="2026-05-01T00:00:00Z"))  # the same instant in another zone
    assert first.kind == "smoke" and first.device == "E01B01-U1-F03-SMOKE"
    assert first.id == again.id and first.id.startswith("h")
    assert parse_event(smoke(obscuration=3.0)).id != first.id


def test_producer_id_and_device_uid_are_accepted() -> None:
    event = parse_event(smoke(id="abc-1", device="device:E01-GATE1-PLATE"))
    assert event.id == "abc-1" and event.device == "E01-GATE1-PLATE"


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        (b"{not json", "payload", "not valid JSON"),
        (b"[1, 2]", "payload", "must be a JSON object"),
        ({"device": "d", "ts": TS}, "kind", "missing"),
        ({"kind": "teleport", "device": "d", "ts": TS}, "kind", "not a known event kind"),
        ({"kind": "smoke", "device": "d", "status": "alarm"}, "ts", "missing"),
        (smoke(ts="2026-05-01T08:00:00"), "ts", "no time zone"),
        (smoke(status="burning"), "status", "'alarm' or 'normal'"),
        ({"kind": "gas", "device": "d", "ts": TS, "concentration": 5, "unit": "mg"}, "unit", "'ppm' or '%LEL'"),
        ({"kind": "gas", "device": "d", "ts": TS, "concentration": 500, "unit": "%LEL"}, "gas", "above 100"),
        (
            {"kind": "meter_reading", "device": "d", "ts": TS, "meter": "power", "reading": 3, "unit": "m³"},
            "meter_reading",
            "reads in kWh",
        ),
        ({"kind": "hydrant_pressure", "device": "d", "ts": TS, "pressure": 40}, "pressure", "less than or equal"),
        ({"kind": "plate_read", "device": "d", "ts": TS, "plate": "XYZ", "direction": "in"}, "plate", "plate"),
        (smoke(extra_field=1), "extra_field", "not permitted"),
        (smoke(ts="2999-01-01T00:00:00Z"), "ts", "in the future"),
        (smoke(note="x" * MAX_EVENT_BYTES), "payload", "larger than"),
    ],
)
def test_bad_input_is_refused_naming_field_and_reason(raw: Any, field: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_event(raw)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_oversize_bytes_are_refused_before_decoding() -> None:
    with pytest.raises(ValidationError, match="larger than"):
        parse_event(b" " * (MAX_EVENT_BYTES + 1))


def test_units_and_values_normalise() -> None:
    gas = parse_event({"kind": "gas", "device": "d", "ts": TS, "concentration": 10000, "unit": "ppm"})
    assert isinstance(gas, Gas) and gas.value == 20.0 and gas.payload()["unit"] == "ppm"
    meter = parse_event(
        {"kind": "meter_reading", "device": "d", "ts": TS, "meter": "water", "reading": 3, "unit": "m3"}
    )
    assert isinstance(meter, MeterReading) and meter.unit == "m³"
    plate = parse_event({"kind": "plate_read", "device": "d", "ts": TS, "plate": "京A12345", "direction": "in"})
    assert isinstance(plate, PlateRead) and plate.ts == datetime(2026, 5, 1, 0, tzinfo=UTC)


def test_parse_message_splits_arrays_and_keeps_bad_items() -> None:
    body = json.dumps([smoke(), {"kind": "smoke"}, 7]).encode()
    results = [r for _, r in parse_message(body)]
    assert isinstance(results[0], Event)
    assert isinstance(results[1], ValidationError) and results[1].field == "ts"
    assert isinstance(results[2], ValidationError) and results[2].field == "payload"


def test_text_holding_a_nul_character_is_refused_naming_where_from_every_source() -> None:
    # PostgreSQL stores a NUL neither in the ledger's JSON nor in text: one such event failed a whole batch
    device, nested = smoke(device="E01\x00B01"), smoke(labels=["ok", "a\x00b"])
    for raw, field in ((device, "device"), (nested, "labels.1"), ({**smoke(), "k\x00": 1}, "k\\u0000")):
        for form in (raw, json.dumps(raw), json.dumps(raw).encode()):
            with pytest.raises(ValidationError) as caught:
                parse_event(form)  # type: ignore[arg-type]
            assert (caught.value.field, caught.value.reason) == (field, "must not contain NUL characters")
    results = [r for _, r in parse_message(json.dumps([smoke(), device]).encode())]
    assert isinstance(results[0], Event)
    assert isinstance(results[1], ValidationError) and results[1].field == "device"
    with pytest.raises(ValidationError) as caught:  # an escaped backslash before u0000 is no NUL
        parse_event(json.dumps(smoke(note="\\u0000 is how JSON writes a NUL")))
    assert caught.value.field == "note" and "Extra inputs" in caught.value.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_an_event_or_a_validation_error(raw: bytes) -> None:
    with contextlib.suppress(ValidationError):
        assert isinstance(parse_event(raw), Event)
    for _, result in parse_message(raw):
        assert isinstance(result, (Event, ValidationError))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(KINDS)),
    st.dictionaries(st.sampled_from(["device", "ts", "id", "status", "unit", "plate", "value", "meter"]), json_values),
)
def test_near_valid_dicts_give_an_event_or_a_validation_error(kind: str, fields: dict[str, Any]) -> None:
    raw = {"kind": kind, "device": "d", "ts": TS, **fields}
    try:
        assert isinstance(parse_event(raw), Event)
    except ValidationError as exc:
        assert exc.field and exc.reason
    with contextlib.suppress(ValidationError):
        parse_event(json.dumps(raw, default=str).encode())
