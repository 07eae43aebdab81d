"""Alarms against the real servers: restored by a replay, pushed to the grid worker, counted afterwards."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import Engine

from graph import GraphSettings, GraphStore
from graph import uid as uids
from graph.admin import create_database, drop_database
from graph.errors import ValidationError
from graph.ontology import Alarm, Grid, InGrid, Link, Node, Person, ResponsibleFor
from ingest.alarm_statistics import alarm_statistics
from ingest.alarms import AlarmBus, AlarmChange, AlarmEngine
from ingest.devices import DeviceDirectory
from ingest.events import KINDS
from ingest.projector import Projector
from ingest.settings import IngestSettings
from ingest.worker import Worker
from tests.integration.test_ingest import SOURCE, build_community, ingest, smoke, ts
from tests.integration.test_ingest_mqtt import wait_for

GRID = uids.grid("E01G01")
WORKER = uids.person("GW0001")
SECOND_WORKER = uids.person("GW0002")
OFFICER = uids.person("PO0001")


def add_grid(store: GraphStore) -> None:
    """Building 1 is in grid E01G01, which has two grid workers and a police officer; building 2 is in none."""
    nodes: list[Node] = [
        Grid(uid=GRID, source=SOURCE, code="E01G01", name="第1网格"),
        Person(uid=WORKER, source=SOURCE, name="李网格"),
        Person(uid=SECOND_WORKER, source=SOURCE, name="赵网格"),
        Person(uid=OFFICER, source=SOURCE, name="王警官"),
    ]
    links: list[Link] = [
        InGrid(start="building:E01B01", end=GRID, source=SOURCE),
        ResponsibleFor(start=SECOND_WORKER, end=GRID, source=SOURCE, role="grid_worker"),
        ResponsibleFor(start=WORKER, end=GRID, source=SOURCE, role="grid_worker"),
        ResponsibleFor(start=OFFICER, end=GRID, source=SOURCE, role="police_officer"),
    ]
    store.upsert(nodes)
    store.link(links)


@pytest.fixture
def community(store: GraphStore, spatial_engine: Engine) -> GraphStore:
    build_community(store, spatial_engine)
    add_grid(store)
    return store


def engine_for(store: GraphStore, spatial_engine: Engine, bus: AlarmBus, sent: list[tuple[str, bytes]]) -> AlarmEngine:
    return AlarmEngine(spatial_engine, store, DeviceDirectory(store), bus, publish=lambda t, p: sent.append((t, p)))


def drained(q: queue.SimpleQueue[AlarmChange]) -> list[AlarmChange]:
    return [q.get_nowait() for _ in range(q.qsize())]


def alarm_view(store: GraphStore, alarm_uids: list[str]) -> dict[str, Any]:
    """Each alarm node's properties (but when the graph first saw it) and its links, to compare two graphs."""
    out: dict[str, Any] = {}
    for uid, node in sorted(store.get_many(alarm_uids).items()):
        assert isinstance(node, Alarm)
        edges = store.neighbourhood(uid, rel_types=["RAISED_ON", "EVIDENCED_BY", "SHOWN_BY"]).edges
        out[uid] = (node.model_dump(exclude={"ingested_at"}), sorted((e.type, e.end) for e in edges))
    return out


@pytest.fixture
def fresh_store(graph_settings: GraphSettings) -> Iterator[GraphStore]:
    """A second, empty graph database: the projection after it was lost."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    create_database(graph_settings, name)
    with GraphStore.from_settings(graph_settings, name) as store:
        store.ensure_schema()
        yield store
    drop_database(graph_settings, name)


# --- replay -----------------------------------------------------------------------------------------


def test_replay_into_an_empty_graph_brings_the_alarms_back_without_announcing_them(
    spatial_engine: Engine, community: GraphStore, fresh_store: GraphStore
) -> None:
    bus, sent = AlarmBus(), list[tuple[str, bytes]]()
    alarms = engine_for(community, spatial_engine, bus, sent)
    projector = Projector(spatial_engine, community, directory=alarms.directory, alarms=alarms)
    ingest(spatial_engine, [smoke("alarm", m) for m in range(5)] + [smoke("normal", 6 + m) for m in range(3)])
    ingest(spatial_engine, [{"kind": "door_forced", "device": "E01B01-U1-DOOR", "ts": ts(10)}])
    ingest(spatial_engine, [{"kind": "perimeter_intrusion", "device": "E01-PS01", "ts": ts(11), "zone": "east"}])
    ingest(spatial_engine, [smoke("alarm", 12, device="E01B01-U1-F04-SMOKE")])
    projector.drain()
    door = next(a for a in alarms.alarms() if a.kind == "door_forced")
    alarms.transition(door.uid, "acknowledged", WORKER, at=datetime(2026, 5, 1, 8, 30, tzinfo=UTC))
    before_rows = {a.uid: a for a in alarms.alarms()}
    assert len(before_rows) == 4 and len(sent) > 0
    before = alarm_view(community, list(before_rows))

    # the projection is lost: a fresh graph with the community (not the events) loaded again
    build_community(fresh_store, spatial_engine)
    add_grid(fresh_store)
    bus_after, sent_after = AlarmBus(), list[tuple[str, bytes]]()
    heard = bus_after.subscribe_queue()
    restoring = engine_for(fresh_store, spatial_engine, bus_after, sent_after)
    replayer = Projector(spatial_engine, fresh_store, directory=restoring.directory, alarms=restoring)
    assert replayer.replay(datetime(2026, 5, 1, tzinfo=UTC)) == 11
    assert alarm_view(fresh_store, list(before_rows)) == before
    smoke_alarm = next(a for a in before_rows.values() if a.kind == "smoke" and a.cleared_at)
    node = fresh_store.get(smoke_alarm.uid)
    assert isinstance(node, Alarm) and node.count == 5 and node.status == "cleared"
    acknowledged = fresh_store.get(door.uid)
    assert isinstance(acknowledged, Alarm) and acknowledged.status == "acknowledged" and acknowledged.handler == WORKER
    assert sent_after == [] and drained(heard) == []  # no unlock, no push, no change: they fired already
    assert {a.uid: a for a in restoring.alarms()} == before_rows  # the alarm state itself is untouched

    assert replayer.replay(datetime(2026, 5, 1, tzinfo=UTC)) == 11  # idempotent
    assert alarm_view(fresh_store, list(before_rows)) == before
    counts = fresh_store.counts()
    assert counts["Alarm"] == 4 and counts["EVIDENCED_BY"] == community.counts()["EVIDENCED_BY"]


def test_replay_from_a_later_time_restores_older_live_alarms_without_their_unreplayed_evidence(
    spatial_engine: Engine, community: GraphStore, fresh_store: GraphStore
) -> None:
    alarms = engine_for(community, spatial_engine, AlarmBus(), [])
    ingest(spatial_engine, [smoke("alarm", 0), smoke("alarm", 60)])
    Projector(spatial_engine, community, alarms=alarms).drain()
    (alarm,) = alarms.alarms()
    build_community(fresh_store, spatial_engine)
    restoring = engine_for(fresh_store, spatial_engine, AlarmBus(), [])
    replayed = Projector(spatial_engine, fresh_store, alarms=restoring).replay(datetime(2026, 5, 1, 8, 30, tzinfo=UTC))
    assert replayed == 1
    node = fresh_store.get(alarm.uid)
    assert isinstance(node, Alarm) and node.count == 2 and node.status == "open"
    edges = fresh_store.neighbourhood(alarm.uid, rel_types=["EVIDENCED_BY", "RAISED_ON"]).edges
    assert {e.type for e in edges} == {"RAISED_ON"}  # the first event (08:00) was not replayed


# --- pushed to the handler --------------------------------------------------------------------------


def test_an_opened_alarm_is_assigned_to_its_grid_workers(spatial_engine: Engine, community: GraphStore) -> None:
    bus, sent = AlarmBus(), list[tuple[str, bytes]]()
    mine, theirs = bus.subscribe_queue(handler=WORKER), bus.subscribe_queue(handler=OFFICER)
    alarms = engine_for(community, spatial_engine, bus, sent)
    projector = Projector(spatial_engine, community, directory=alarms.directory, alarms=alarms)
    ingest(spatial_engine, [smoke("alarm", 1), smoke("alarm", 2)])
    ingest(spatial_engine, [{"kind": "door_forced", "device": "E01B02-U1-DOOR", "ts": ts(3)}])  # building 2: no grid
    projector.drain()
    smoke_alarm = alarms.alarms(kind="smoke")[0]
    assert smoke_alarm.assignees == (WORKER, SECOND_WORKER) and smoke_alarm.handler == WORKER
    assert smoke_alarm.grid == GRID and smoke_alarm.building == "building:E01B01"
    node = community.get(smoke_alarm.uid)
    assert isinstance(node, Alarm) and node.handler == WORKER
    pushes = [(t, json.loads(p)) for t, p in sent if "/alarms/" in t]
    assert [t for t, _ in pushes] == [f"twinhood/E01/alarms/{WORKER}", f"twinhood/E01/alarms/{SECOND_WORKER}"]
    assert pushes[0][1]["alarm"] == smoke_alarm.uid and pushes[0][1]["kind"] == "smoke"
    assert [(c.change, c.alarm.uid) for c in drained(mine)] == [("opened", smoke_alarm.uid)]
    assert drained(theirs) == []  # the police officer is not a handler of fire alarms
    door = alarms.alarms(kind="door_forced")[0]
    assert door.assignees == () and door.handler is None and door.grid is None


@pytest.fixture
def mqtt_settings(ingest_settings: IngestSettings) -> IngestSettings:
    tag = uuid.uuid4().hex[:10]
    return ingest_settings.model_copy(
        update={"mqtt_topic_root": f"test-{tag}", "mqtt_client_id": f"ingest-{tag}", "batch_ms": 20}
    )


def test_the_grid_worker_receives_the_alarm_on_mqtt(
    spatial_engine: Engine, community: GraphStore, mqtt_settings: IngestSettings
) -> None:
    received: queue.SimpleQueue[mqtt.MQTTMessage] = queue.SimpleQueue()
    listener = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"gw-{uuid.uuid4().hex[:8]}", protocol=MQTTProtocolVersion.MQTTv5
    )
    listener.on_message = lambda _c, _u, message: received.put(message)
    try:
        listener.connect(mqtt_settings.mqtt_host, mqtt_settings.mqtt_port)
    except OSError as exc:
        pytest.fail(f"MQTT broker {mqtt_settings.mqtt_url} is not answering ({exc}); run `twinhood up`")
    listener.loop_start()
    subscribed = threading.Event()
    listener.on_subscribe = lambda *_: subscribed.set()
    listener.subscribe(f"{mqtt_settings.mqtt_topic_root}/+/alarms/{WORKER}", qos=1)
    assert subscribed.wait(10)
    worker = Worker(spatial_engine, community, mqtt_settings)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: all(e.is_set() for e in worker.source._subscribed), 10, "the worker to subscribe")
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        publisher.connect(mqtt_settings.mqtt_host, mqtt_settings.mqtt_port)
        publisher.loop_start()
        topic = f"{mqtt_settings.mqtt_topic_root}/E01/smoke_detector/E01B01-U1-F03-SMOKE/events"
        publisher.publish(topic, json.dumps([smoke("alarm", 1), smoke("alarm", 2)]).encode(), qos=1).wait_for_publish(
            10
        )
        message = received.get(timeout=30)
        publisher.disconnect()
        publisher.loop_stop()
    finally:
        stop.set()
        thread.join(30)
        listener.disconnect()
        listener.loop_stop()
    notice = json.loads(message.payload)
    (alarm,) = worker.alarms.alarms()
    assert message.topic == f"{mqtt_settings.mqtt_topic_root}/E01/alarms/{WORKER}" and message.qos == 1
    assert notice["alarm"] == alarm.uid and notice["handler"] == WORKER and notice["severity"] == 1
    assert notice["opened_at"] == (datetime(2026, 5, 1, 8, 1, tzinfo=UTC)).isoformat()
    assert received.empty()  # pushed once, not again for the repeat
    assert alarm.count == 2 and timedelta(0) < alarm.last_seen - alarm.opened_at


# --- statistics -------------------------------------------------------------------------------------


def test_alarm_statistics_count_and_time_what_the_engine_wrote(spatial_engine: Engine, community: GraphStore) -> None:
    alarms = engine_for(community, spatial_engine, AlarmBus(), [])
    projector = Projector(spatial_engine, community, directory=alarms.directory, alarms=alarms)
    f04 = "E01B01-U1-F04-SMOKE"
    ingest(
        spatial_engine,
        [
            smoke("alarm", 1),
            *(smoke("normal", 6 + m) for m in range(3)),  # F03 clears by itself
            smoke("alarm", 2, device=f04),
            smoke("alarm", 4, device=f04),
            {"kind": "door_forced", "device": "E01B02-U1-DOOR", "ts": ts(3)},
            {"kind": "door_forced", "device": "E01B01-U2-DOOR", "ts": ts(9 * 60)},  # 01:00 next day in Shanghai
            {"kind": "perimeter_intrusion", "device": "E01-PS01", "ts": ts(16 * 60 + 30), "zone": "east"},
        ],
    )
    projector.drain()
    by_device = {a.device: a for a in alarms.alarms()}
    at = datetime(2026, 5, 1, 8, tzinfo=UTC)
    alarms.transition(by_device[uids.device("E01B01-U1-F03-SMOKE")].uid, "closed", WORKER, at + timedelta(minutes=20))
    f04_alarm = by_device[uids.device(f04)].uid
    alarms.transition(f04_alarm, "acknowledged", WORKER, at + timedelta(minutes=12))
    alarms.transition(f04_alarm, "dispatched", WORKER, at + timedelta(minutes=15))
    alarms.transition(f04_alarm, "resolved", WORKER, at + timedelta(minutes=32))
    alarms.transition(by_device[uids.device("E01B02-U1-DOOR")].uid, "acknowledged", OFFICER, at + timedelta(minutes=8))

    with spatial_engine.connect() as conn:
        by_kind = {r.key: r for r in alarm_statistics(conn, at, by="kind")}
        grids = {r.key: r.opened for r in alarm_statistics(conn, at, by="grid")}
        buildings = {r.key: r.opened for r in alarm_statistics(conn, at, by="building")}
        days_here = {r.key: r.opened for r in alarm_statistics(conn, at, by="day", zone="Asia/Shanghai")}
        days_utc = {r.key: r.opened for r in alarm_statistics(conn, at, by="day", zone="UTC")}
        severities = {r.key: r.opened for r in alarm_statistics(conn, at, by="severity")}
        morning = alarm_statistics(conn, at, at + timedelta(hours=4), by="kind")
        with pytest.raises(ValidationError, match="by"):
            alarm_statistics(conn, at, by="colour")
        with pytest.raises(ValidationError, match="zone"):
            alarm_statistics(conn, at, by="day", zone="Mars/Olympus")
    fire = by_kind["smoke"]
    assert (fire.opened, fire.live, fire.cleared, fire.acknowledged, fire.resolved, fire.closed) == (2, 1, 1, 1, 1, 1)
    assert fire.events == 3 and fire.mean_acknowledge_s == 10 * 60 and fire.mean_resolve_s == 30 * 60
    doors = by_kind["door_forced"]
    assert (doors.opened, doors.acknowledged, doors.mean_acknowledge_s, doors.mean_resolve_s) == (2, 1, 5 * 60, None)
    assert by_kind["perimeter_intrusion"].opened == 1 and by_kind["perimeter_intrusion"].live == 1
    assert grids == {GRID: 3, "(none)": 2}
    assert buildings == {"building:E01B01": 3, "building:E01B02": 1, "(none)": 1}
    assert days_here == {"2026-05-01": 3, "2026-05-02": 2} and days_utc == {"2026-05-01": 4, "2026-05-02": 1}
    expected_severity: dict[str, int] = {}
    for kind, n in (("smoke", 2), ("door_forced", 2), ("perimeter_intrusion", 1)):
        key = str(KINDS[kind].severity)
        expected_severity[key] = expected_severity.get(key, 0) + n
    assert severities == expected_severity
    assert sum(r.opened for r in morning) == 3
