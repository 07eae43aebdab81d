"""The MQTT path against real Mosquitto, PostgreSQL and the graph server: worker, acks, kill -9, linkage."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import Engine

from graph import GraphStore
from graph import uid as uids
from ingest import deadletters, ledger
from ingest.events import parse_event
from ingest.settings import IngestSettings
from ingest.worker import Worker
from tests.integration.test_ingest import PLATE, build_community, smoke, ts

ROOT = Path(__file__).resolve().parents[2]
Publish = Callable[..., None]


def _client(settings: IngestSettings, name: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=MQTTProtocolVersion.MQTTv5)
    try:
        client.connect(settings.mqtt_host, settings.mqtt_port)
    except OSError as exc:
        pytest.fail(f"MQTT broker {settings.mqtt_url} is not answering ({exc}); run `twinhood up`")
    client.loop_start()
    return client


@pytest.fixture
def mqtt_settings(ingest_settings: IngestSettings) -> IngestSettings:
    """Settings with a topic root and client id of this test's own, so tests never see each other."""
    tag = uuid.uuid4().hex[:10]
    return ingest_settings.model_copy(
        update={"mqtt_topic_root": f"test-{tag}", "mqtt_client_id": f"ingest-{tag}", "batch_ms": 20}
    )


@pytest.fixture
def publisher(mqtt_settings: IngestSettings) -> Iterator[Publish]:
    client = _client(mqtt_settings, f"pub-{uuid.uuid4().hex[:8]}")

    def publish(device: str, payload: Any, kind: str = "sensor") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        topic = f"{mqtt_settings.mqtt_topic_root}/E01/{kind}/{device}/events"
        client.publish(topic, body, qos=1).wait_for_publish(10)

    yield publish
    client.disconnect()
    client.loop_stop()


def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def running(store: GraphStore, spatial_engine: Engine, mqtt_settings: IngestSettings) -> Iterator[Worker]:
    build_community(store, spatial_engine)
    worker = Worker(spatial_engine, store, mqtt_settings)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    wait_for(lambda: all(e.is_set() for e in worker.source._subscribed), 10, "the worker to subscribe")
    yield worker
    stop.set()
    thread.join(30)
    assert not thread.is_alive()


def test_events_published_on_mqtt_appear_on_the_right_nodes(
    running: Worker, publisher: Publish, store: GraphStore
) -> None:
    read = {"kind": "plate_read", "ts": ts(1), "plate": PLATE, "direction": "in"}  # device from the topic
    batch = [
        smoke("alarm", 2),
        {
            "kind": "meter_reading",
            "device": "E01B01-1-0301-WM",
            "ts": ts(3),
            "meter": "power",
            "reading": 7,
            "unit": "kWh",
        },
    ]
    publisher("E01-GATE1-PLATE", read, "plate_camera")
    publisher("E01B01-U1-F03-SMOKE", batch)
    wait_for(lambda: running.counters.projected == 3, what="three projected events")
    plate_event = uids.event(parse_event({**read, "device": "E01-GATE1-PLATE"}).id)
    edges = store.neighbourhood(plate_event, rel_types=["RECORDED_BY", "CONCERNS"]).edges
    assert {(e.type, e.end) for e in edges} == {
        ("RECORDED_BY", uids.device("E01-GATE1-PLATE")),
        ("CONCERNS", uids.vehicle(PLATE)),
    }
    smoke_event = uids.event(parse_event(batch[0]).id)  # telemetry that opened an alarm: an Event node
    assert {e.end for e in store.neighbourhood(smoke_event, rel_types=["CONCERNS"]).edges} == {"unit:E01B01-1"}
    meter = uids.device("E01B01-1-0301-WM")  # telemetry that did not: a roll-up on the device
    assert store.properties([meter])[meter]["last_reading_value"] == 7
    assert running.counters.accepted == 3 and running.counters.messages == 2
    assert running.counters.alarm_changes == 1


def test_redelivered_mqtt_events_are_stored_once_and_bad_ones_kept(
    running: Worker, publisher: Publish, spatial_engine: Engine
) -> None:
    events = [smoke("alarm", m) for m in range(10)]
    publisher("E01B01-U1-F03-SMOKE", events)
    publisher("E01B01-U1-F03-SMOKE", events[:5])  # a device resending
    publisher("E01B01-U1-F03-SMOKE", b"{oops")
    publisher("E01B01-U1-F03-SMOKE", {"kind": "smoke", "status": "alarm"})
    wait_for(lambda: running.counters.messages == 4, what="four messages")
    assert (running.counters.accepted, running.counters.duplicates, running.counters.rejected) == (10, 5, 2)
    with spatial_engine.connect() as conn:
        assert ledger.count(conn) == 10
        assert {d.field for d in deadletters.list_dead_letters(conn)} == {"payload", "ts"}


def test_fire_alarm_linkage_publishes_unlock_commands(
    running: Worker, publisher: Publish, mqtt_settings: IngestSettings
) -> None:
    received: queue.SimpleQueue[tuple[str, dict[str, Any]]] = queue.SimpleQueue()
    listener = _client(mqtt_settings, f"door-{uuid.uuid4().hex[:8]}")
    listener.on_message = lambda _c, _u, m: received.put((m.topic, json.loads(m.payload)))
    listener.subscribe(f"{mqtt_settings.mqtt_topic_root}/+/commands/#", qos=1)
    time.sleep(0.3)
    try:
        publisher("E01B01-U1-F04-SMOKE", smoke("alarm", 1, device="E01B01-U1-F04-SMOKE"))
        commands = [received.get(timeout=20), received.get(timeout=20)]
    finally:
        listener.disconnect()
        listener.loop_stop()
    root = mqtt_settings.mqtt_topic_root
    assert sorted(t for t, _ in commands) == [
        f"{root}/E01/commands/E01B01-U1-DOOR",
        f"{root}/E01/commands/E01B01-U2-DOOR",
    ]
    (alarm,) = running.alarms.alarms()
    assert all(
        c == {"command": "unlock", "reason": alarm.uid, "building": "building:E01B01", "kind": "smoke"}
        for _, c in commands
    )


def _worker_process(engine: Engine, store: GraphStore, settings: IngestSettings, log: Path) -> subprocess.Popen[bytes]:
    """Start `python -m ingest.worker` and wait until its log says it subscribed."""
    start = log.stat().st_size if log.exists() else 0
    with log.open("ab") as stderr:
        process = _popen(engine, store, settings, stderr)
    wait_for(
        lambda: "mqtt subscribed" in log.read_text()[start:] or process.poll() is not None,
        20,
        "the worker to subscribe",
    )
    assert process.poll() is None, log.read_text()
    return process


def _popen(engine: Engine, store: GraphStore, settings: IngestSettings, stderr: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ingest.worker",
            "--database-url",
            engine.url.render_as_string(hide_password=False),
            "--graph-database",
            store.database,
            "--client-id",
            settings.mqtt_client_id,
            "--topic-root",
            settings.mqtt_topic_root,
            "--no-project",
        ],
        cwd=ROOT,
        env={**os.environ, "TWINHOOD_BATCH_MAX": "200", "TWINHOOD_BATCH_MS": "20"},
        stdout=subprocess.PIPE,
        stderr=stderr,
    )


def test_killing_the_worker_mid_stream_loses_nothing(
    store: GraphStore,
    spatial_engine: Engine,
    mqtt_settings: IngestSettings,
    publisher: Publish,
    tmp_path: Path,
) -> None:
    def ledgered() -> int:
        with spatial_engine.connect() as conn:
            return ledger.count(conn)

    log = tmp_path / "worker.log"
    worker = _worker_process(spatial_engine, store, mqtt_settings, log)
    try:
        total, per_message = 6000, 20
        sent = 0
        for start in range(0, total, per_message):
            publisher("E01-ENV01", [
                {"kind": "environment", "ts": ts(i / 60), "pm25_ug_m3": i % 500, "noise_db": 40}
                for i in range(start, start + per_message)
            ], "environment")  # fmt: skip
            sent += per_message
            if sent == total // 3:
                wait_for(lambda: ledgered() > 0, 20, "the first events in the ledger")
                worker.send_signal(signal.SIGKILL)
                worker.communicate(timeout=10)
                assert worker.returncode == -signal.SIGKILL
                worker = _worker_process(spatial_engine, store, mqtt_settings, log)
        assert 0 < ledgered() <= total
        wait_for(lambda: ledgered() == total, 60, f"all {total} events in the ledger")
        time.sleep(0.5)
        assert ledgered() == total
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=30)
    counters = json.loads(out.splitlines()[-1])
    assert counters["rejected"] == 0


def test_shared_subscription_spreads_messages_over_connections_without_duplicates(
    store: GraphStore, spatial_engine: Engine, mqtt_settings: IngestSettings, publisher: Publish
) -> None:
    shared = mqtt_settings.model_copy(update={"mqtt_connections": 3, "mqtt_shared_group": "g" + uuid.uuid4().hex[:6]})
    worker = Worker(spatial_engine, store, shared, project=False)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: all(e.is_set() for e in worker.source._subscribed), 10, "three subscriptions")
        for m in range(60):
            publisher("E01B01-U1-F03-SMOKE", smoke("normal", m))
        wait_for(lambda: worker.counters.messages == 60, what="sixty messages")
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join(30)
    assert (worker.counters.accepted, worker.counters.duplicates) == (60, 0)
    with spatial_engine.connect() as conn:
        assert ledger.count(conn) == 60
