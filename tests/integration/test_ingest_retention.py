"""The worker applies retention on a schedule, against the real PostgreSQL and Mosquitto."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, text

from graph import GraphStore
from ingest import ledger
from ingest.settings import IngestSettings
from ingest.worker import Worker
from tests.integration.test_ingest import PLATE, ingest, ts
from tests.integration.test_ingest_mqtt import wait_for


def age(engine: Engine, kind: str, days: int) -> None:
    """Pretend the ledger received this kind's events `days` ago (rows move to the partition of then)."""
    with engine.begin() as conn:
        for table in ("event_ledger", "event_ids"):
            conn.execute(
                text(f"UPDATE {table} SET received_at = now() - make_interval(days => :days) WHERE kind = :kind"),
                {"days": days, "kind": kind},
            )


def count(engine: Engine, kind: str) -> int:
    with engine.connect() as conn:
        return ledger.count(conn, kind)


def test_the_worker_applies_retention_on_its_schedule(
    spatial_engine: Engine, store: GraphStore, ingest_settings: IngestSettings, caplog: pytest.LogCaptureFixture
) -> None:
    plate: dict[str, Any] = {"kind": "plate_read", "device": "E01-GATE1-PLATE", "plate": PLATE, "direction": "in"}
    ingest(spatial_engine, [{**plate, "ts": ts(m)} for m in range(3)])
    ingest(spatial_engine, [{"kind": "door_forced", "device": "E01B01-U1-DOOR", "ts": ts(5)}])
    age(spatial_engine, "plate_read", 181)  # past the 180 days plate reads are kept
    age(spatial_engine, "door_forced", 181)  # kept a year
    tag = uuid.uuid4().hex[:10]
    settings = ingest_settings.model_copy(
        update={"mqtt_topic_root": f"test-{tag}", "mqtt_client_id": f"ingest-{tag}", "retention_interval_s": 0.3}
    )
    worker = Worker(spatial_engine, store, settings, project=False)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    with caplog.at_level(logging.INFO, logger="ingest"):
        thread.start()
        try:
            wait_for(lambda: count(spatial_engine, "plate_read") == 0, 20, "the first scheduled run")
            assert count(spatial_engine, "door_forced") == 1
            runs = worker.counters.retention_runs
            ingest(spatial_engine, [{**plate, "ts": ts(10)}])
            age(spatial_engine, "plate_read", 200)
            wait_for(lambda: count(spatial_engine, "plate_read") == 0, 20, "a later scheduled run")
            wait_for(lambda: worker.counters.retention_runs > runs, 5, "the run to be counted")
        finally:
            stop.set()
            thread.join(30)
    assert not thread.is_alive()
    assert worker.counters.retention_deleted == 4
    logged = [r for r in caplog.records if r.getMessage() == "scheduled retention"]
    assert {"plate_read": 3} in [getattr(r, "deleted", None) for r in logged]


def test_a_run_is_skipped_while_another_session_applies_retention(spatial_engine: Engine) -> None:
    with spatial_engine.begin() as holder:
        assert ledger.apply_retention_alone(holder) == {}
        with spatial_engine.begin() as other:
            assert ledger.apply_retention_alone(other) is None
