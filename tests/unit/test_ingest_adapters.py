"""Adapter mappings without a database: plates, cameras, directions, time shifting, units, doors."""

from __future__ import annotations

import gzip
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph.codes import check_plate
from ingest.adapters import ADAPTERS, daiad, devices_by_category, kasteren, ordonez, seattle_alpr
from ingest.adapters.timeline import time_offset
from ingest.events import parse_event

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
DEVICES = {
    "plate_camera": ["E01-PARK-PLATE1", "E01-GATE1-PLATE"],
    "access_control": ["E01-GATE1-DOOR", "E01B01-U1-DOOR", "E01B01-U2-DOOR"],
    "water_meter": ["E01B01-2-201-WM", "E01B01-1-101-WM"],
    "power_meter": ["E01B01-1-101-PM"],
}
HEADER = "zipcode|dt|location|address|device|plate_hash|lon|lat"


def _alpr(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path = tmp_path / "alpr.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(HEADER + "\n")
        for dt, device, plate in rows:
            f.write(f"98101|{dt}|NORTH|x|{device}|{plate}|-122.3|47.6\n")
    return path


@given(st.text(min_size=1, max_size=80))
def test_any_hash_becomes_a_valid_plate(plate_hash: str) -> None:
    plate = seattle_alpr.plate_for(plate_hash)
    assert check_plate(plate) == plate
    assert seattle_alpr.plate_for(plate_hash) == plate


def test_the_real_plate_hashes_map_without_a_collision() -> None:
    hashes = {r.plate_hash for r in seattle_alpr.load(DATA / "vehicles" / "uwchr_spd_alpr_pub.csv.gz")}
    assert len(hashes) == 68_188
    assert len({seattle_alpr.plate_for(h) for h in hashes}) == len(hashes)


def test_readers_are_dealt_onto_sorted_cameras() -> None:
    readers = [f"R{k}" for k in range(9, 0, -1)]
    mapping = seattle_alpr.camera_map(readers, ["C", "A", "B"])
    assert [mapping[f"R{k}"] for k in range(1, 10)] == ["A", "B", "C"] * 3
    with pytest.raises(ValueError, match="no plate_camera"):
        seattle_alpr.camera_map(readers, [])


def test_seattle_reads_keep_order_and_spacing_and_alternate_direction(tmp_path: Path) -> None:
    path = _alpr(
        tmp_path,
        [
            ("10/07/2021 - 16:30:51", "SPD1", "aa"),  # file order is newest first, as in the real file
            ("10/07/2021 - 16:30:48", "SPD1", "aa"),
            ("10/07/2021 - 16:30:47", "SPD2", "bb"),
            ("10/07/2021 - 16:30:40", "SPD1", "aa"),
            ("10/07/2021 - 16:30:40", "SPD1", "aa"),  # repeated word for word: a second read
        ],
    )
    kept = list(seattle_alpr.read(path, DEVICES))
    assert [e["ts"] for e in kept] == [
        "2021-10-07T16:30:40-07:00", "2021-10-07T16:30:40-07:00", "2021-10-07T16:30:47-07:00",
        "2021-10-07T16:30:48-07:00", "2021-10-07T16:30:51-07:00",
    ]  # fmt: skip
    assert [e["device"] for e in kept] == ["E01-GATE1-PLATE"] * 2 + ["E01-PARK-PLATE1"] + ["E01-GATE1-PLATE"] * 2
    assert [e["direction"] for e in kept] == ["in", "out", "in", "in", "out"]
    assert [e["site"] for e in kept] == ["gate", "gate", "car_park", "gate", "gate"]
    assert len({e["id"] for e in kept}) == 5
    assert all(parse_event(e).kind == "plate_read" for e in kept)

    target = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    shifted = list(seattle_alpr.read(path, DEVICES, shift_to=target))
    instants = [datetime.fromisoformat(e["ts"]) for e in shifted]
    assert instants[-1] == target and shifted[-1]["ts"].endswith("-07:00")
    original = [datetime.fromisoformat(e["ts"]) for e in kept]
    assert [b - a for a, b in pairwise(instants)] == [b - a for a, b in pairwise(original)]
    assert [e["id"] for e in shifted] == [e["id"] for e in kept]
    limited = list(seattle_alpr.read(path, DEVICES, limit=2, shift_to=target))
    assert limited == shifted[:2]  # a row's timestamp does not depend on the limit
    with pytest.raises(ValueError, match="time zone"):
        list(seattle_alpr.read(path, DEVICES, shift_to=datetime(2026, 5, 1)))


def test_shifting_across_a_change_of_clocks_keeps_real_spacing() -> None:
    last = datetime(2021, 10, 8, 12, tzinfo=UTC)
    target = datetime(2026, 11, 1, 12, tzinfo=seattle_alpr.ZONE)  # a week after the autumn change
    assert time_offset(last, target) == target - last
    assert time_offset(last, None) == timedelta(0)


def test_ordonez_door_intervals_become_openings_and_left_open_pairs(tmp_path: Path) -> None:
    path = tmp_path / "OrdonezA_Sensors.txt"
    path.write_text(
        "Start time\tEnd time\tLocation\tType\tPlace\r\n----\t----\t----\t----\t----\r\n"
        "2011-11-28 10:21:24\t2011-11-28 10:21:31\t\tMaindoor\t\tMagnetic\tEntrance\r\n"
        "2011-11-28 10:25:44\t2011-11-28 10:32:06\t\tShower\t\tPIR\t\tBathroom\r\n"
        "2011-11-28 13:09:31\t2011-11-28 13:12:31\t\tMaindoor\t\tMagnetic\tEntrance\r\n"
    )
    skipped: Counter[str] = Counter()
    events = list(ordonez.read(path, DEVICES, skipped=skipped))
    assert [(e["kind"], e.get("status"), e["ts"]) for e in events] == [
        ("access_open", None, "2011-11-28T10:21:24+01:00"),
        ("access_open", None, "2011-11-28T13:09:31+01:00"),
        ("door_left_open", "alarm", "2011-11-28T13:10:31+01:00"),
        ("door_left_open", "normal", "2011-11-28T13:12:31+01:00"),
    ]
    assert events[-1]["open_s"] == 180.0
    assert {(e["device"], e.get("house")) for e in events if e["kind"] == "access_open"} == {
        ("E01B01-U1-DOOR", "house:E01B01-1-101")
    }
    assert skipped == Counter({"PIR Shower: no event kind": 1})
    assert all(parse_event(e) for e in events)
    assert [e["kind"] for e in ordonez.read(path, DEVICES, limit=1)] == ["access_open"]
    b = tmp_path / "OrdonezB_Sensors.txt"
    b.write_text(path.read_text())
    assert {e["device"] for e in ordonez.read(b, DEVICES)} == {"E01B01-U2-DOOR"}
    with pytest.raises(ValueError, match="not an OrdonezA or OrdonezB"):
        list(ordonez.read(tmp_path / "x.txt", DEVICES))


KASTEREN_HEADER = (
    "Start time: Time sensor started firing\r\nSensor IDs are: \r\n    [ 5]    'Hall-Toilet door'  \r\n"
    "    [12]    'Frontdoor'         \r\n\r\nStart time          \tEnd time            \tID\tVal\r\n"
    "--------------------\t--------------------\t--\t---\r\n"
)


def test_kasteren_front_door_rows_become_openings_on_the_third_house(tmp_path: Path) -> None:
    path = tmp_path / "kasterenSenseData.txt"
    path.write_text(
        KASTEREN_HEADER + "25-Feb-2008 10:19:28\t25-Feb-2008 10:19:32\t12\t1\r\n"
        "25-Feb-2008 10:20:00\t25-Feb-2008 10:20:05\t5\t1\r\n"
        "25-Feb-2008 10:21:00\t25-Feb-2008 10:21:05\t7\t1\r\n"  # not in the header's list
        "31-Feb-2008 10:22:00\t31-Feb-2008 10:22:05\t12\t1\r\n"  # no such day
        "23-Mar-2008 19:04:46\t23-Mar-2008 19:04:47\t12\t1\r\nLength: 5"
    )
    devices = {**DEVICES, "water_meter": [*DEVICES["water_meter"], "E01B01-2-202-WM"]}  # a third house
    skipped: Counter[str] = Counter()
    events = list(kasteren.read(path, devices, skipped=skipped))
    assert [(e["id"], e["ts"]) for e in events] == [
        ("kasterenA-1-open", "2008-02-25T10:19:28+01:00"), ("kasterenA-5-open", "2008-03-23T19:04:46+01:00"),
    ]  # fmt: skip
    assert {(e["device"], e["house"], e["method"]) for e in events} == {
        ("E01B01-U2-DOOR", "house:E01B01-2-202", "card")
    }
    assert skipped == Counter({"Hall-Toilet door: no event kind": 1, "sensor 7: no event kind": 1, "unreadable row": 1})
    assert all(parse_event(e).kind == "access_open" for e in events)
    assert list(kasteren.read(path, devices, limit=3)) == events[:1]
    target = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    shifted = list(kasteren.read(path, devices, shift_to=target))
    assert datetime.fromisoformat(shifted[-1]["ts"]) == target and shifted[-1]["ts"].endswith("+02:00")
    first, last = (datetime.fromisoformat(e["ts"]) for e in events)
    assert datetime.fromisoformat(shifted[0]["ts"]) == target - (last - first)
    assert [e["id"] for e in shifted] == [e["id"] for e in events]
    assert list(kasteren.read(path, devices, limit=1, shift_to=target)) == shifted[:1]
    with pytest.raises(ValueError, match="house 3 is needed"):
        list(kasteren.read(path, DEVICES))
    activities = tmp_path / "kasterenActData.txt"
    activities.write_text("Start time          \tEnd time            \tID\r\n--\t--\t--\r\n")
    with pytest.raises(ValueError, match="not a van Kasteren sensor file"):
        list(kasteren.read(activities, devices))


def test_daiad_litres_become_m3_and_households_take_meters_in_turn(tmp_path: Path) -> None:
    path = tmp_path / "swm.csv"
    path.write_text(
        "user.key;datetime;meter.reading;diff\n"
        "h1;30/10/2016 01:30:00;1500;0\n"
        "h1;30/10/2016 02:30:00;1510;10\n"
        "h1;30/10/2016 02:30:00;1520;10\n"  # the clocks went back: the same local time twice
        "h2;30/10/2016 01:00:00;7;0\n"
        "h3;30/10/2016 01:00:00;9;0\n"  # only two water meters
    )
    skipped: Counter[str] = Counter()
    events = list(daiad.read(path, DEVICES, skipped=skipped))
    assert [(e["device"], e["reading"], e["unit"]) for e in events] == [
        ("E01B01-1-101-WM", 1.5, "m³"), ("E01B01-1-101-WM", 1.51, "m³"), ("E01B01-1-101-WM", 1.52, "m³"),
        ("E01B01-2-201-WM", 0.007, "m³"),
    ]  # fmt: skip
    assert [e["ts"][-6:] for e in events[:3]] == ["+02:00", "+02:00", "+01:00"]
    assert skipped == Counter({"no water meter left": 1})
    assert len({e["id"] for e in events}) == 4
    assert all(parse_event(e).kind == "meter_reading" for e in events)
    target = datetime(2026, 1, 1, tzinfo=UTC)
    shifted = list(daiad.read(path, DEVICES, shift_to=target))
    assert datetime.fromisoformat(shifted[2]["ts"]) == target  # the last instant of the file
    with pytest.raises(ValueError, match="no water_meter"):
        list(daiad.read(path, {}))


def test_registry_and_device_lists() -> None:
    assert set(ADAPTERS) == {"seattle-alpr", "ordonez", "daiad", "kasteren"}
    assert devices_by_category([("a", "2"), ("a", "1"), ("a", "1")]) == {"a": ["1", "2"]}
