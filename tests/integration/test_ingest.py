"""Ingestion against the real servers: ledger, dead letters, projector and alarm engine (no MQTT here)."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from shapely import Point
from sqlalchemy import Engine, text

from graph import GraphSettings, GraphStore
from graph import uid as uids
from graph.admin import create_database, drop_database
from graph.ontology import (
    Alarm,
    Building,
    Device,
    DeviceCategory,
    Estate,
    House,
    InstalledIn,
    Link,
    LocatedIn,
    Node,
    Person,
    Unit,
    Vehicle,
)
from ingest import deadletters, ledger
from ingest.alarms import AlarmBus, AlarmEngine, IllegalTransition
from ingest.devices import DeviceDirectory
from ingest.events import MAX_EVENT_BYTES, parse_event, parse_message
from ingest.intake import accept
from ingest.projector import ProjectionStats, Projector, opaque_person
from ingest.worker import RECOVERABLE
from spatial import Feature, write_features

SOURCE = "test:ingest"
LON, LAT = 116.48, 39.99
DEVICES: list[tuple[str, DeviceCategory, str, float, float]] = [
    ("E01-GATE1-PLATE", "plate_camera", "estate:E01", 0.0, -100.0),
    ("E01-GATE1-FACE", "face_camera", "estate:E01", 3.0, -100.0),
    ("E01-GATE1-DOOR", "access_control", "estate:E01", 1.0, -100.0),
    ("E01-PS01", "perimeter_sensor", "estate:E01", 150.0, 0.0),
    ("E01-CAM01", "camera", "estate:E01", 140.0, 5.0),
    ("E01-CAM02", "camera", "estate:E01", -150.0, 0.0),
    ("E01B01-U1-DOOR", "access_control", "unit:E01B01-1", 0.0, 0.0),
    ("E01B01-U2-DOOR", "access_control", "unit:E01B01-2", 10.0, 0.0),
    ("E01B01-U1-F03-SMOKE", "smoke_detector", "unit:E01B01-1", 0.0, 0.0),
    ("E01B01-U1-F04-SMOKE", "smoke_detector", "unit:E01B01-1", 0.0, 0.0),
    ("E01B01-1-0301-WM", "water_meter", "house:E01B01-1-0301", 0.0, 0.0),
    ("E01B02-U1-DOOR", "access_control", "unit:E01B02-1", 80.0, 0.0),
]
PLATE = "京A12345"
RESIDENT = uids.person("P000001")


def _at(east_m: float, north_m: float) -> tuple[float, float]:
    return LON + east_m / 85_000, LAT + north_m / 111_000


def build_community(store: GraphStore, engine: Engine) -> None:
    """A small estate: two buildings, three units, a house, gate devices, detectors and cameras."""
    nodes: list[Node] = [
        Estate(uid="estate:E01", source=SOURCE, code="E01", name="测试小区", lon=LON, lat=LAT),
        Building(uid="building:E01B01", source=SOURCE, code="E01B01", name="1号楼", floors_above=6),
        Building(uid="building:E01B02", source=SOURCE, code="E01B02", name="2号楼", floors_above=6),
        Unit(uid="unit:E01B01-1", source=SOURCE, building_code="E01B01", number=1),
        Unit(uid="unit:E01B01-2", source=SOURCE, building_code="E01B01", number=2),
        Unit(uid="unit:E01B02-1", source=SOURCE, building_code="E01B02", number=1),
        House(uid="house:E01B01-1-0301", source=SOURCE, building_code="E01B01", unit_number=1, floor=3, room="0301"),
        Vehicle(uid=uids.vehicle(PLATE), source=SOURCE, plate=PLATE),
        Person(uid=RESIDENT, source=SOURCE, name="张三"),
    ]
    links: list[Link] = [
        LocatedIn(start="building:E01B01", end="estate:E01", source=SOURCE),
        LocatedIn(start="building:E01B02", end="estate:E01", source=SOURCE),
        LocatedIn(start="unit:E01B01-1", end="building:E01B01", source=SOURCE),
        LocatedIn(start="unit:E01B01-2", end="building:E01B01", source=SOURCE),
        LocatedIn(start="unit:E01B02-1", end="building:E01B02", source=SOURCE),
        LocatedIn(start="house:E01B01-1-0301", end="unit:E01B01-1", source=SOURCE),
    ]
    features = []
    for code, category, place, east, north in DEVICES:
        lon, lat = _at(east, north)
        nodes.append(
            Device(uid=uids.device(code), source=SOURCE, code=code, name=code, category=category, lon=lon, lat=lat)
        )
        links.append(InstalledIn(start=uids.device(code), end=place, source=SOURCE))
        features.append(
            Feature(uids.device(code), Point(lon, lat), SOURCE, {"code": code, "name": code, "category": category})
        )
    store.upsert(nodes)
    store.link(links)
    with engine.begin() as conn:
        write_features(conn, "devices", features)


def ts(minutes: float = 0) -> str:
    return (datetime(2026, 5, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()


def smoke(status: str, minute: float, device: str = "E01B01-U1-F03-SMOKE") -> dict[str, Any]:
    return {"kind": "smoke", "device": device, "ts": ts(minute), "status": status}


@pytest.fixture
def community(store: GraphStore, spatial_engine: Engine) -> GraphStore:
    build_community(store, spatial_engine)
    return store


@pytest.fixture
def bus() -> AlarmBus:
    return AlarmBus()


@pytest.fixture
def published() -> list[tuple[str, bytes]]:
    return []


@pytest.fixture
def projector(
    community: GraphStore, spatial_engine: Engine, bus: AlarmBus, published: list[tuple[str, bytes]]
) -> Iterator[Projector]:
    directory = DeviceDirectory(community)
    alarms = AlarmEngine(spatial_engine, community, directory, bus, publish=lambda t, p: published.append((t, p)))
    yield Projector(spatial_engine, community, directory=directory, alarms=alarms, batch_size=500)


def ingest(engine: Engine, raws: list[Any], source: str = "test") -> list[str]:
    items: list[Any] = []
    for raw in raws:
        items += parse_message(raw if isinstance(raw, bytes) else json.dumps(raw).encode())
    with engine.begin() as conn:
        return [o.status for o in accept(conn, items, source)]


def neighbours(store: GraphStore, uid: str, rel_type: str) -> set[str]:
    graph = store.neighbourhood(uid, hops=1, rel_types=[rel_type])
    return {e.end if e.start == uid else e.start for e in graph.edges}


def test_the_device_directory_places_every_device_as_the_graph_does(community: GraphStore) -> None:
    devices = [n for n in community.nodes("Device") if isinstance(n, Device)]
    found = DeviceDirectory(community).resolve(d.code for d in devices)
    assert len(found) == len(devices) > 10
    for device in devices:
        info = found[device.code]
        assert info.uid == device.uid and info.category == device.category
        installed = community.relationships(device.uid, ["INSTALLED_IN"])
        assert info.place == (installed[0].other.uid if installed else None)
        chain = [info.place, *(c.uid for c in community.containers(info.place))] if info.place else []
        assert info.building == next((u for u in chain if u.startswith("building:")), None)
        assert info.estate == next((u for u in chain if u.startswith("estate:")), None)
    assert {i.building for i in found.values()} - {None} and {i.estate for i in found.values()} - {None}


# --- ledger --------------------------------------------------------------------------------------


def test_redelivered_and_duplicated_events_are_stored_once(spatial_engine: Engine) -> None:
    events = [smoke("alarm", m) for m in range(5)]
    assert ingest(spatial_engine, events) == ["accepted"] * 5
    assert ingest(spatial_engine, [events[0], events[0], {**events[1], "ts": ts(1).replace("+00:00", "+08:00")}]) == [
        "duplicate",
        "duplicate",
        "accepted",  # another instant: 08:01+08:00 is not 08:01Z
    ]
    with_id = {**smoke("normal", 9), "id": "producer-1"}
    assert ingest(spatial_engine, [with_id, {**with_id, "status": "alarm"}]) == ["accepted", "duplicate"]
    with spatial_engine.connect() as conn:
        assert ledger.count(conn) == 7
        assert ledger.pending(conn) == 7
        raw = conn.execute(text("SELECT payload FROM event_ledger WHERE id = 'producer-1'")).scalar_one()
        partitions = conn.execute(
            text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'event_ledger'::regclass")
        ).scalar_one()
    assert raw == with_id
    assert partitions >= 3  # default + this month + next


def test_retention_keeps_plate_reads_180_days_and_drops_older(spatial_engine: Engine) -> None:
    ingest(
        spatial_engine,
        [
            {"kind": "plate_read", "device": "E01-GATE1-PLATE", "ts": ts(), "plate": PLATE, "direction": "in"},
            {"kind": "environment", "device": "E01-ENV01", "ts": ts(), "pm25_ug_m3": 40},
        ],
    )
    with spatial_engine.begin() as conn:
        assert ledger.apply_retention(conn, datetime.now(UTC) + timedelta(days=179)) == {}
        assert ledger.apply_retention(conn, datetime.now(UTC) + timedelta(days=181)) == {"plate_read": 1}
        assert ledger.count(conn) == 1 and ledger.count(conn, "environment") == 1
        assert ledger.apply_retention(conn, datetime.now(UTC) + timedelta(days=5000)) == {"environment": 1}
        assert ledger.pending(conn) == 0


# --- dead letters ----------------------------------------------------------------------------------


def test_bad_input_becomes_dead_letters_with_field_and_reason(spatial_engine: Engine, projector: Projector) -> None:
    bad = [
        b"{this is not json",
        {"kind": "smoke", "device": "E01B01-U1-F03-SMOKE", "status": "alarm"},
        {
            "kind": "meter_reading",
            "device": "E01B01-1-0301-WM",
            "ts": ts(),
            "meter": "water",
            "reading": 3,
            "unit": "kWh",
        },
        {**smoke("alarm", 1), "note": "x" * MAX_EVENT_BYTES},
        {"kind": "gas", "device": "E01B01-U1-F03-SMOKE", "ts": ts(), "concentration": 5, "unit": "mg/m3"},
    ]
    statuses = ingest(spatial_engine, [*bad, smoke("alarm", 2, device="NO-SUCH-DEVICE")])
    assert statuses == ["rejected"] * 5 + ["accepted"]  # an unknown device is only known at projection
    projector.drain()
    with spatial_engine.connect() as conn:
        letters = deadletters.list_dead_letters(conn)
    reasons = [(d.field, d.reason) for d in letters]
    assert reasons[0][0] == "payload" and "not valid JSON" in reasons[0][1]
    assert reasons[1][0] == "ts" and "missing" in reasons[1][1]
    assert reasons[2][0] == "meter_reading" and "reads in m³" in reasons[2][1]
    assert reasons[3][0] == "payload" and "larger than" in reasons[3][1]
    assert reasons[4][0] == "unit"
    assert reasons[5] == ("device", "unknown device") and letters[5].source == "projector"
    assert letters[0].raw == b"{this is not json"
    assert json.loads(letters[2].raw)["unit"] == "kWh"


def test_resubmitted_dead_letters_reach_the_ledger_once_fixed(
    spatial_engine: Engine, community: GraphStore, projector: Projector
) -> None:
    ingest(spatial_engine, [smoke("alarm", 1, device="E01B01-U9-SMOKE"), b"[1"])
    projector.drain()
    with spatial_engine.connect() as conn:
        letters = deadletters.list_dead_letters(conn)
    assert {d.field for d in letters} == {"payload", "device"}
    community.upsert(
        [
            Device(
                uid=uids.device("E01B01-U9-SMOKE"),
                source=SOURCE,
                code="E01B01-U9-SMOKE",
                name="x",
                category="smoke_detector",
            )
        ]
    )
    projector.directory.forget()
    with spatial_engine.begin() as conn:
        outcomes = deadletters.resubmit(conn, [d.id for d in letters])
    rejected, requeued = sorted(outcomes.values())
    assert rejected.startswith("rejected: payload: is not valid JSON") and requeued == "requeued"
    assert projector.drain() == 1
    event = parse_event(smoke("alarm", 1, device="E01B01-U9-SMOKE"))
    assert neighbours(community, uids.event(event.id), "RECORDED_BY") == {uids.device("E01B01-U9-SMOKE")}
    with spatial_engine.connect() as conn:
        assert deadletters.count(conn) == 1


# --- projection ------------------------------------------------------------------------------------


def test_events_attach_to_device_and_subjects(
    spatial_engine: Engine, community: GraphStore, projector: Projector
) -> None:
    raws: list[dict[str, Any]] = [
        {"kind": "plate_read", "device": "E01-GATE1-PLATE", "ts": ts(1), "plate": PLATE, "direction": "in"},
        {"kind": "plate_read", "device": "E01-GATE1-PLATE", "ts": ts(2), "plate": PLATE, "direction": "out"},
        {"kind": "plate_read", "device": "device:E01-GATE1-PLATE", "ts": ts(3), "plate": "沪B7C890", "direction": "in"},
        {"kind": "face_capture", "device": "E01-GATE1-FACE", "ts": ts(4), "face_id": "f-991"},
        {"kind": "face_capture", "device": "E01-GATE1-FACE", "ts": ts(5), "person": "P000001", "similarity": 0.97},
        {
            "kind": "access_open",
            "device": "E01B01-U1-DOOR",
            "ts": ts(6),
            "method": "card",
            "person": RESIDENT,
            "house": "house:E01B01-1-0301",
        },
        {
            "kind": "meter_reading",
            "device": "E01B01-1-0301-WM",
            "ts": ts(7),
            "meter": "water",
            "reading": 12.5,
            "unit": "m3",
        },
    ]
    assert ingest(spatial_engine, raws) == ["accepted"] * len(raws)
    assert projector.drain() == len(raws)
    ids = [uids.event(parse_event(r).id) for r in raws]
    assert all(neighbours(community, i, "RECORDED_BY") for i in ids[:6])
    assert neighbours(community, ids[0], "CONCERNS") == {uids.vehicle(PLATE)}
    stranger_car = community.get(uids.vehicle("沪B7C890"))
    assert isinstance(stranger_car, Vehicle) and stranger_car.unregistered
    stranger = community.get(opaque_person("face", "f-991"))
    assert isinstance(stranger, Person) and stranger.unregistered
    assert neighbours(community, ids[4], "CONCERNS") == {RESIDENT, "estate:E01"}
    assert neighbours(community, ids[5], "CONCERNS") == {RESIDENT, "house:E01B01-1-0301"}
    # a meter reading is telemetry: no Event node, a roll-up on its Device
    assert ids[6] not in community.get_many([ids[6]])
    meter = community.properties([uids.device("E01B01-1-0301-WM")])[uids.device("E01B01-1-0301-WM")]
    assert (meter["reading_count"], meter["last_reading_value"], meter["last_reading_unit"]) == (1, 12.5, "m³")
    assert meter["last_reading_at"] == datetime(2026, 5, 1, 8, 7, tzinfo=UTC)
    assert meter["code"] == "E01B01-1-0301-WM"  # the device's own properties stay
    assert uids.device("E01-GATE1-PLATE") in neighbours(community, uids.vehicle(PLATE), "PASSED_THROUGH")
    with spatial_engine.connect() as conn:
        count, first, last = conn.execute(
            text("SELECT count, first_seen, last_seen FROM passages WHERE subject = :s"), {"s": uids.vehicle(PLATE)}
        ).one()
    assert count == 2 and last - first == timedelta(minutes=1)
    before = community.counts()
    assert projector.replay(datetime(2026, 1, 1, tzinfo=UTC)) == len(raws)
    assert community.counts() == before
    with spatial_engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count FROM passages WHERE subject = :s"), {"s": uids.vehicle(PLATE)}).scalar_one()
            == 2
        )


def test_telemetry_rolls_up_on_its_device_and_only_readings_that_move_an_alarm_become_events(
    spatial_engine: Engine, community: GraphStore, projector: Projector
) -> None:
    meter = "E01B01-1-0301-WM"

    def reading(minute: float, value: float) -> dict[str, Any]:
        return {
            "kind": "meter_reading",
            "device": meter,
            "ts": ts(minute),
            "meter": "water",
            "reading": value,
            "unit": "m3",
        }

    smokes = [smoke("normal", m) for m in range(5)] + [smoke("alarm", 5 + m) for m in range(3)]
    smokes += [smoke("normal", 8 + m) for m in range(3)]
    assert ingest(spatial_engine, [reading(m, 100 + m) for m in range(20)] + smokes) == ["accepted"] * 31
    projector.drain()
    assert ingest(spatial_engine, [reading(-5, 1.0)]) == ["accepted"]  # arrives late: counted, not the latest
    projector.drain()
    assert projector.alarms is not None
    (alarm,) = projector.alarms.alarms()
    assert alarm.status == "cleared" and alarm.count == 3
    evidence = {uids.event(parse_event(smokes[5]).id), uids.event(parse_event(smokes[-1]).id)}
    assert community.counts()["Event"] == 2 and set(community.get_many(evidence)) == evidence
    assert neighbours(community, alarm.uid, "EVIDENCED_BY") == evidence
    assert neighbours(community, uids.event(parse_event(smokes[5]).id), "CONCERNS") == {"unit:E01B01-1"}

    def rollups() -> tuple[dict[str, Any], dict[str, Any]]:
        found = community.properties([uids.device(meter), uids.device("E01B01-U1-F03-SMOKE")])
        return found[uids.device(meter)], found[uids.device("E01B01-U1-F03-SMOKE")]

    water, detector = rollups()
    assert (water["reading_count"], water["last_reading_value"], water["last_reading_kind"]) == (
        21,
        119,
        "meter_reading",
    )
    assert water["last_reading_at"] == datetime(2026, 5, 1, 8, 19, tzinfo=UTC)
    assert (detector["reading_count"], detector["last_reading_state"]) == (11, "normal")
    with spatial_engine.connect() as conn:
        assert ledger.count(conn) == 32  # the ledger keeps every reading
    before = community.counts()
    assert projector.replay(datetime(2026, 1, 1, tzinfo=UTC)) == 32
    assert community.counts() == before and rollups() == (water, detector)


def test_the_pipelined_projector_writes_batches_in_ledger_order(
    spatial_engine: Engine, community: GraphStore, bus: AlarmBus
) -> None:
    alarms = AlarmEngine(spatial_engine, community, DeviceDirectory(community), bus)
    projector = Projector(spatial_engine, community, directory=alarms.directory, alarms=alarms, batch_size=2)
    changes = bus.subscribe_queue()
    for status, minute in [("alarm", 1), ("alarm", 2), ("alarm", 3), ("normal", 4), ("normal", 5), ("normal", 6)]:
        ingest(spatial_engine, [smoke(status, minute)])  # one by one: the ledger's order is the time order
    seen = list[ProjectionStats]()
    projector.run(threading.Event(), threading.Event(), seen.append, drain=True)
    assert [s.projected for s in seen] == [2, 2, 2]
    assert [changes.get_nowait().change for _ in range(changes.qsize())] == ["opened", "repeated", "cleared"]
    (alarm,) = alarms.alarms()
    assert alarm.count == 3 and alarm.cleared_at == datetime(2026, 5, 1, 8, 6, tzinfo=UTC)


def test_a_stopped_projector_leaves_the_rest_of_the_queue_for_later(
    spatial_engine: Engine, community: GraphStore
) -> None:
    projector = Projector(spatial_engine, community, batch_size=2)
    ingest(spatial_engine, [{"kind": "door_forced", "device": "E01B01-U1-DOOR", "ts": ts(m)} for m in range(6)])
    stop = threading.Event()
    projector.run(stop, threading.Event(), lambda _stats: stop.set())
    with spatial_engine.connect() as conn:
        assert ledger.pending(conn) == 4  # one batch written; the one read ahead went back to the queue
    assert projector.drain() == 4


def test_a_failed_write_puts_the_batch_read_ahead_back_in_the_queue(
    spatial_engine: Engine, graph_settings: GraphSettings
) -> None:
    name = f"test_{uuid.uuid4().hex[:12]}"
    create_database(graph_settings, name)
    with GraphStore.from_settings(graph_settings, name) as lost:
        lost.ensure_schema()
        build_community(lost, spatial_engine)
        projector = Projector(spatial_engine, lost, batch_size=2)
        ingest(spatial_engine, [{"kind": "door_forced", "device": "E01B01-U1-DOOR", "ts": ts(m)} for m in range(6)])
        assert projector.project_pending().projected == 2  # devices now known without asking the graph
        drop_database(graph_settings, name)  # the graph server loses the database mid-stream
        with pytest.raises(RECOVERABLE):  # an error the worker logs and retries after, not swallowed
            projector.run(threading.Event(), threading.Event(), drain=True)
    with spatial_engine.connect() as conn:
        assert ledger.pending(conn) == 4  # the failed batch and the one read ahead, both back in the queue
        idle = conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in%'")
        ).scalar_one()
    assert idle == 0


# --- alarms ----------------------------------------------------------------------------------------


def test_repeated_smoke_alarm_is_one_alarm_with_count(
    spatial_engine: Engine, community: GraphStore, projector: Projector, bus: AlarmBus
) -> None:
    changes = bus.subscribe_queue()
    ingest(spatial_engine, [smoke("alarm", m / 10) for m in range(30)])
    projector.drain()
    ingest(spatial_engine, [smoke("alarm", 3 + m / 10) for m in range(20)])
    ingest(spatial_engine, [smoke("normal", 6), smoke("normal", 7)])
    projector.drain()
    assert projector.alarms is not None
    (alarm,) = projector.alarms.alarms(kind="smoke")
    assert alarm.count == 50 and alarm.status == "open" and alarm.normal_streak == 2
    assert alarm.entity == "unit:E01B01-1" and alarm.severity == 1
    ingest(spatial_engine, [smoke("normal", 8)])
    projector.drain()
    (alarm,) = projector.alarms.alarms(kind="smoke")
    assert alarm.status == "cleared" and alarm.cleared_at == datetime(2026, 5, 1, 8, 8, tzinfo=UTC)
    node = community.get(alarm.uid)
    assert isinstance(node, Alarm) and node.count == 50 and node.status == "cleared"
    assert neighbours(community, alarm.uid, "RAISED_ON") == {"unit:E01B01-1", uids.device("E01B01-U1-F03-SMOKE")}
    assert len(neighbours(community, alarm.uid, "EVIDENCED_BY")) == 2
    seen = [changes.get_nowait().change for _ in range(changes.qsize())]
    assert seen == ["opened", "repeated", "cleared"]
    ingest(spatial_engine, [smoke("alarm", 9)])
    projector.drain()
    assert len(projector.alarms.alarms(kind="smoke")) == 2
    assert len(projector.alarms.alarms(kind="smoke", live_only=True)) == 1


def test_fire_alarm_asks_to_unlock_its_buildings_doors(
    spatial_engine: Engine, projector: Projector, published: list[tuple[str, bytes]], bus: AlarmBus
) -> None:
    heard = bus.subscribe_queue()
    ingest(spatial_engine, [smoke("alarm", 1), smoke("alarm", 2)])
    projector.drain()
    topics = sorted(t for t, _ in published)
    assert topics == ["twinhood/E01/commands/E01B01-U1-DOOR", "twinhood/E01/commands/E01B01-U2-DOOR"]
    assert projector.alarms is not None
    (alarm,) = projector.alarms.alarms()
    assert all(
        json.loads(p) == {"command": "unlock", "reason": alarm.uid, "building": "building:E01B01", "kind": "smoke"}
        for _, p in published
    )
    assert alarm.unlocked == ("device:E01B01-U1-DOOR", "device:E01B01-U2-DOOR") and alarm.unlocked_at is not None
    opened = [c.alarm for c in (heard.get_nowait() for _ in range(heard.qsize())) if c.change == "opened"]
    assert [a.unlocked for a in opened] == [alarm.unlocked]  # subscribers hear of the alarm with what it unlocked


def test_an_engine_without_a_publisher_says_so_once_not_for_every_alarm(
    spatial_engine: Engine, community: GraphStore, bus: AlarmBus, caplog: pytest.LogCaptureFixture
) -> None:
    alarms = AlarmEngine(spatial_engine, community, DeviceDirectory(community), bus)  # as the demo projects
    projector = Projector(spatial_engine, community, directory=alarms.directory, alarms=alarms, batch_size=1)
    ingest(spatial_engine, [smoke("alarm", 1), smoke("alarm", 2, "E01B01-U1-F04-SMOKE")])
    with caplog.at_level(logging.WARNING, logger="ingest.alarms"):
        projector.drain()
    assert len(alarms.alarms()) == 2
    assert [r.getMessage() for r in caplog.records if "publisher" in r.getMessage()] == [
        "no publisher: opened alarms are neither pushed to their handlers nor linked to doors"
    ]


def test_an_unlock_command_the_broker_refused_is_not_recorded_as_sent(
    spatial_engine: Engine, community: GraphStore, bus: AlarmBus
) -> None:
    sent: list[str] = []

    def publish(topic: str, payload: bytes) -> bool:  # the broker takes the first door's command only
        sent.append(topic)
        return len(sent) == 1

    directory = DeviceDirectory(community)
    alarms = AlarmEngine(spatial_engine, community, directory, bus, publish=publish)
    projector = Projector(spatial_engine, community, directory=directory, alarms=alarms)
    ingest(spatial_engine, [smoke("alarm", 1)])
    projector.drain()
    (alarm,) = alarms.alarms()
    assert len(sent) == 2 and alarm.unlocked == ("device:E01B01-U1-DOOR",)


def test_perimeter_alarm_attaches_the_nearest_camera(
    spatial_engine: Engine, community: GraphStore, projector: Projector
) -> None:
    ingest(spatial_engine, [{"kind": "perimeter_intrusion", "device": "E01-PS01", "ts": ts(), "zone": "east"}])
    projector.drain()
    assert projector.alarms is not None
    (alarm,) = projector.alarms.alarms()
    assert alarm.cameras == (uids.device("E01-CAM01"),) and alarm.entity == "estate:E01" and alarm.severity == 2
    shown = community.neighbourhood(alarm.uid, rel_types=["SHOWN_BY"]).edges
    assert [(e.start, e.end) for e in shown] == [(alarm.uid, uids.device("E01-CAM01"))]


def test_disposal_workflow_moves_forward_and_refuses_illegal_moves(
    spatial_engine: Engine, community: GraphStore, projector: Projector
) -> None:
    ingest(spatial_engine, [{"kind": "door_forced", "device": "E01B01-U1-DOOR", "ts": ts()}])
    projector.drain()
    assert projector.alarms is not None
    (alarm,) = projector.alarms.alarms()
    with pytest.raises(IllegalTransition, match="cannot become resolved"):
        projector.alarms.transition(alarm.uid, "resolved", "guard-7")
    for status in ("acknowledged", "dispatched", "resolved", "closed"):
        moved = projector.alarms.transition(alarm.uid, status, "guard-7")
    assert moved.status == "closed" and moved.handler == "guard-7"
    assert moved.acknowledged_at and moved.dispatched_at and moved.resolved_at and moved.closed_at
    assert [h["to"] for h in moved.history] == ["acknowledged", "dispatched", "resolved", "closed"]
    node = community.get(alarm.uid)
    assert isinstance(node, Alarm) and node.status == "closed" and node.closed_at is not None
    with pytest.raises(IllegalTransition, match="it is final"):
        projector.alarms.transition(alarm.uid, "open", "guard-7")
