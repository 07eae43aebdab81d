"""Real public logs through the adapters into the real ledger: counts, idempotence, determinism."""

from __future__ import annotations

import csv
import gzip
import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from graph.generator import generate
from graph.ontology import Device
from ingest import ledger
from ingest.adapters import ADAPTERS, devices_by_category, ingest_adapter

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
ALPR = DATA / "vehicles" / "uwchr_spd_alpr_pub.csv.gz"
ORDONEZ = DATA / "sensors" / "uci_adl_binary_ordonez"
DAIAD = DATA / "sensors" / "daiad_water" / "swm_trialA_clean.zip"
KASTEREN = DATA / "sensors" / "kasteren_houseA" / "kasterenSenseData.txt"
LIMIT = 2000


@pytest.fixture(scope="module")
def devices() -> dict[str, list[str]]:
    community = generate(300, 7)
    return devices_by_category((n.category, n.code) for n in community.nodes if isinstance(n, Device))


def _kinds(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(dict(conn.execute(text("SELECT kind, count(*) FROM event_ledger GROUP BY kind")).all()))


def test_seattle_plate_reads_land_once_on_the_community_cameras(
    spatial_engine: Engine, devices: dict[str, list[str]]
) -> None:
    with gzip.open(ALPR, "rt", encoding="utf-8", newline="") as f:
        source_rows = sum(1 for _ in csv.reader(f, delimiter="|")) - 1
    assert source_rows == 93_490
    summary = ingest_adapter(spatial_engine, "seattle-alpr", ALPR, devices, limit=LIMIT)
    assert (summary.rows, summary.accepted, summary.duplicates, summary.rejected) == (LIMIT, LIMIT, 0, 0)
    assert summary.skipped == {}
    again = ingest_adapter(spatial_engine, "seattle-alpr", ALPR, devices, limit=LIMIT)
    assert (again.accepted, again.duplicates, again.rejected) == (0, LIMIT, 0)
    with spatial_engine.connect() as conn:
        assert ledger.count(conn, "plate_read") == LIMIT
        cameras = set(conn.execute(text("SELECT DISTINCT device FROM event_ledger")).scalars())
        sources = set(conn.execute(text("SELECT DISTINCT source FROM event_ledger")).scalars())
    assert cameras <= set(devices["plate_camera"]) and sources == {"adapter:seattle-alpr"}


def test_seattle_mapping_is_deterministic(devices: dict[str, list[str]]) -> None:
    first = list(ADAPTERS["seattle-alpr"](ALPR, devices, limit=LIMIT))
    second = list(ADAPTERS["seattle-alpr"](ALPR, devices, limit=LIMIT))
    assert first == second
    assert len({e["id"] for e in first}) == LIMIT
    assert {e["device"] for e in first} <= set(devices["plate_camera"])
    everything = list(ADAPTERS["seattle-alpr"](ALPR, devices))
    assert len(everything) == 93_490
    assert {e["device"] for e in everything} == set(devices["plate_camera"])  # 9 readers over 5 cameras
    assert len({e["plate"] for e in everything}) == 68_188  # one plate per real plate hash


@pytest.mark.parametrize("home", ["A", "B"])
def test_ordonez_main_door_openings_land_on_one_house(
    spatial_engine: Engine, devices: dict[str, list[str]], home: str
) -> None:
    path = ORDONEZ / f"Ordonez{home}_Sensors.txt"
    lines = [line.split("\t") for line in path.read_text().splitlines()[2:] if line.strip()]
    main_door = sum(1 for fields in lines if "Maindoor" in fields)
    summary = ingest_adapter(spatial_engine, "ordonez", path, devices)
    assert (summary.accepted, summary.rejected) == (main_door, 0)  # every opening was short: no left-open pairs
    assert sum(summary.skipped.values()) + main_door == len(lines)
    again = ingest_adapter(spatial_engine, "ordonez", path, devices)
    assert (again.accepted, again.duplicates) == (0, main_door)
    assert _kinds(spatial_engine) == Counter({"access_open": main_door})
    events = list(ADAPTERS["ordonez"](path, devices))
    assert events == list(ADAPTERS["ordonez"](path, devices))
    assert {(e["device"], e["house"]) for e in events} == {
        ("E01B01-U1-DOOR", "house:E01B01-1-1001" if home == "A" else "house:E01B01-1-1002")
    }


def test_kasteren_front_door_openings_land_on_a_third_house(
    spatial_engine: Engine, devices: dict[str, list[str]]
) -> None:
    lines = KASTEREN.read_text(encoding="latin-1").splitlines()
    rows = [line.split("\t") for line in lines[lines.index(next(x for x in lines if x.startswith("---"))) + 1 :]]
    rows = [fields for fields in rows if len(fields) == 4]
    front_door = sum(1 for fields in rows if fields[2].strip() == "12")
    assert (len(rows), front_door) == (1319, 100)  # the file's own trailer says "Length: 1319"
    summary = ingest_adapter(spatial_engine, "kasteren", KASTEREN, devices)
    assert (summary.rows, summary.accepted, summary.duplicates, summary.rejected) == (front_door, front_door, 0, 0)
    assert sum(summary.skipped.values()) + front_door == len(rows)
    assert "unreadable row" not in summary.skipped and summary.skipped["Hall-Bathroom door: no event kind"] == 260
    again = ingest_adapter(spatial_engine, "kasteren", KASTEREN, devices)
    assert (again.accepted, again.duplicates, again.rejected) == (0, front_door, 0)
    assert _kinds(spatial_engine) == Counter({"access_open": front_door})
    with spatial_engine.connect() as conn:
        first, last = conn.execute(text("SELECT min(ts), max(ts) FROM event_ledger")).one()
    assert (first, last) == (datetime(2008, 2, 25, 9, 19, 28, tzinfo=UTC), datetime(2008, 3, 23, 18, 4, 46, tzinfo=UTC))
    events = list(ADAPTERS["kasteren"](KASTEREN, devices))
    assert events == list(ADAPTERS["kasteren"](KASTEREN, devices))
    assert {(e["device"], e["house"]) for e in events} == {("E01B01-U1-DOOR", "house:E01B01-1-1003")}
    assert (events[0]["ts"], events[-1]["ts"]) == ("2008-02-25T10:19:28+01:00", "2008-03-23T19:04:46+01:00")


def test_daiad_hourly_readings_land_on_the_water_meters(spatial_engine: Engine, devices: dict[str, list[str]]) -> None:
    with zipfile.ZipFile(DAIAD) as archive, archive.open("swm_trialA_clean.csv") as raw:
        head = [line.decode().split(";") for _, line in zip(range(LIMIT + 1), raw, strict=False)][1:]
    households = list(dict.fromkeys(fields[0] for fields in head))
    summary = ingest_adapter(spatial_engine, "daiad", DAIAD, devices, limit=LIMIT)
    assert (summary.accepted, summary.rejected, summary.skipped) == (LIMIT, 0, {})
    again = ingest_adapter(spatial_engine, "daiad", DAIAD, devices, limit=LIMIT)
    assert (again.accepted, again.duplicates) == (0, LIMIT)
    with spatial_engine.connect() as conn:
        assert ledger.count(conn, "meter_reading") == LIMIT
        first = conn.execute(
            text("SELECT device, payload->>'reading', payload->>'unit' FROM event_ledger ORDER BY ts LIMIT 1")
        ).one()
    assert tuple(first) == (sorted(devices["water_meter"])[0], str(float(head[0][2]) / 1000), "m³")
    events = list(ADAPTERS["daiad"](DAIAD, devices, limit=LIMIT))
    assert events == list(ADAPTERS["daiad"](DAIAD, devices, limit=LIMIT))
    assert [e["device"] for e in events if e["device"] not in devices["water_meter"]] == []
    assert len({e["device"] for e in events}) == len(households)
