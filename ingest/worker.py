"""The ingest worker: MQTT messages → ledger (committed, then acked) → graph projection and alarms.

:class:`Worker` takes batches of messages from :class:`ingest.sources.mqtt.MqttSource` (up to
`batch_max` events or `batch_ms` of waiting), parses them, appends the valid events to the ledger
and the rest to dead letters in one transaction, commits, and only then acks the messages: a
worker killed at any point loses nothing, because the broker redelivers what was not acked and the
ledger ignores what it already has. A projector thread turns queued ledger rows into graph nodes
and alarms, reading and building the next batch while the current one is written. Every
`retention_interval_s` (an hour by default) another thread deletes ledger events past their kind's
retention, as `twinhood ingest retention` does (of several workers, one at a time). Counters
(accepted, rejected, duplicates, projected, lag, retention) are kept and logged.

Run one from a shell with ``python -m ingest.worker`` (settings from `TWINHOOD_*` variables).
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import neo4j.exceptions
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from graph import GraphSettings, GraphStore, TwinhoodError, heap
from ingest.alarms import AlarmBus, AlarmEngine
from ingest.devices import DeviceDirectory
from ingest.events import parse_message
from ingest.intake import accept
from ingest.ledger import apply_retention_alone
from ingest.projector import ProjectionStats, Projector
from ingest.settings import IngestSettings
from ingest.sources.mqtt import Message, MqttSource

log = logging.getLogger(__name__)
RECOVERABLE = (TwinhoodError, SQLAlchemyError, neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError)
"""Errors a worker logs and retries after instead of dying (a store restarting, a network blip)."""


@dataclass
class Counters:
    """What a worker did since it started."""

    messages: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    projected: int = 0
    dead_in_projection: int = 0
    alarm_changes: int = 0
    batches: int = 0
    errors: int = 0
    ingest_lag_ms: float = 0.0  # message arrival → ledger commit, last batch
    projection_lag_ms: float = 0.0  # ledger commit → graph, last projection pass
    retention_runs: int = 0
    retention_deleted: int = 0


class Worker:
    """Consume MQTT events into the ledger and project them into the graph until stopped."""

    def __init__(
        self,
        engine: Engine,
        store: GraphStore,
        settings: IngestSettings | None = None,
        *,
        client_id: str | None = None,
        consume: bool = True,
        project: bool = True,
        bus: AlarmBus | None = None,
    ) -> None:
        if not consume and not project:
            raise ValueError("a worker that neither consumes nor projects has nothing to do")
        self.engine, self.store = engine, store
        self.settings = settings or IngestSettings()
        self.consume = consume
        # a projector-only worker connects only to publish linkage commands, under a client id of its own
        # (a second connection with the consumer's id would take its session over)
        self.source = (
            MqttSource(self.settings, client_id=client_id)
            if consume
            else MqttSource(
                self.settings.model_copy(update={"mqtt_connections": 1}),
                client_id=f"{client_id or self.settings.mqtt_client_id}-projector",
                subscribe=False,
            )
        )
        self.counters = Counters()
        self.project = project
        directory = DeviceDirectory(store)
        self.alarms = AlarmEngine(
            engine,
            store,
            directory,
            bus or AlarmBus(),
            publish=self.source.publish,
            topic_root=self.settings.mqtt_topic_root,
        )
        self.projector = Projector(
            engine,
            store,
            directory=directory,
            alarms=self.alarms,
            batch_size=self.settings.project_batch,
            telemetry_nodes=self.settings.telemetry_nodes,
        )
        self._wake = threading.Event()
        self._lock = threading.Lock()

    def run(self, stop_event: threading.Event) -> Counters:
        """Consume (and project) until `stop_event` is set; return the counters. Unacked messages stay with the broker.

        With `consume=False` it only projects what other workers ledgered (and the HTTP and file
        sources); with `project=False` it only ledgers, leaving projection to another process.
        """
        self.source.connect()
        projector = threading.Thread(target=self._project_loop, args=(stop_event,), name="projector", daemon=True)
        if self.project:
            projector.start()
        if self.settings.retention_interval_s > 0:
            retention = threading.Thread(target=self._retention_loop, args=(stop_event,), name="retention", daemon=True)
            retention.start()
        pending: list[Message] = []
        try:
            while self.consume and not stop_event.is_set():
                if not pending:
                    pending = self.source.take(self.settings.batch_max, self.settings.batch_ms / 1000, _event_count)
                if not pending:
                    continue
                try:
                    self._ledger(pending)
                except RECOVERABLE:
                    self.counters.errors += 1
                    log.exception("ledger append failed; retrying the batch", extra={"messages": len(pending)})
                    stop_event.wait(1.0)
                    continue
                self.source.ack(pending)
                pending = []
                self._wake.set()
            if not self.consume:
                stop_event.wait()
        finally:
            self._wake.set()
            if projector.is_alive():
                projector.join(timeout=30)
            self.source.close()
            log.info("worker stopped", extra={"counters": asdict(self.counters)})
        return self.counters

    def _ledger(self, messages: list[Message]) -> None:
        items: list[tuple[Any, Any]] = []
        for m in messages:
            items += parse_message(m.payload, device=m.device_id)
        with self.engine.begin() as conn:
            outcomes = accept(conn, items, source="mqtt")
        now = time.time()
        with self._lock:
            c = self.counters
            c.messages += len(messages)
            c.batches += 1
            for o in outcomes:
                if o.status == "accepted":
                    c.accepted += 1
                elif o.status == "duplicate":
                    c.duplicates += 1
                else:
                    c.rejected += 1
            c.ingest_lag_ms = (now - min(m.received for m in messages)) * 1000
        log.info(
            "ledgered",
            extra={"messages": len(messages), "events": len(outcomes), "lag_ms": round(self.counters.ingest_lag_ms, 1)},
        )

    def _retention_loop(self, stop_event: threading.Event) -> None:
        """Apply retention at start and then every `retention_interval_s` until stopped."""
        while True:
            started = time.monotonic()
            try:
                with self.engine.begin() as conn:
                    deleted = apply_retention_alone(conn)
            except RECOVERABLE:
                self.counters.errors += 1
                log.exception("scheduled retention failed; trying again at the next run")
            else:
                if deleted is not None:
                    with self._lock:
                        self.counters.retention_runs += 1
                        self.counters.retention_deleted += sum(deleted.values())
                    log.info(
                        "scheduled retention",
                        extra={"deleted": deleted, "ms": round((time.monotonic() - started) * 1000, 1)},
                    )
            if stop_event.wait(self.settings.retention_interval_s):
                return

    def _project_loop(self, stop_event: threading.Event) -> None:
        while True:
            try:
                self.projector.run(stop_event, self._wake, self._projected)
                return
            except RECOVERABLE:
                self.counters.errors += 1
                log.exception("projection failed; retrying")
                if stop_event.wait(1.0):
                    return

    def _projected(self, stats: ProjectionStats) -> None:
        with self._lock:
            self.counters.projected += stats.projected
            self.counters.dead_in_projection += stats.dead
            self.counters.alarm_changes += stats.alarm_changes
            if stats.lag_ms is not None:
                self.counters.projection_lag_ms = stats.lag_ms


def _event_count(message: Message) -> int:
    """Roughly how many events a message holds, without parsing it (for batch sizing)."""
    payload = message.payload
    return max(1, payload.count(b'"kind"')) if payload[:1] == b"[" else 1


def main(argv: list[str] | None = None) -> int:
    """Run a worker until interrupted (SIGINT/SIGTERM); settings from the environment."""
    import signal

    from spatial import SpatialSettings, make_engine

    parser = argparse.ArgumentParser(prog="python -m ingest.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: TWINHOOD_DATABASE_URL)")
    parser.add_argument("--graph-database", help="graph database name (default: TWINHOOD_NEO4J_DATABASE)")
    parser.add_argument("--client-id", help="MQTT client id (fixed: the broker keeps its session)")
    parser.add_argument("--topic-root", help="first topic level (default: TWINHOOD_MQTT_TOPIC_ROOT)")
    roles = parser.add_mutually_exclusive_group()
    roles.add_argument("--no-project", action="store_true", help="only ledger; leave projection to another worker")
    roles.add_argument("--project-only", action="store_true", help="only project what the ledger holds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    spatial = SpatialSettings(database_url=args.database_url) if args.database_url else SpatialSettings()
    settings = IngestSettings(mqtt_topic_root=args.topic_root) if args.topic_root else IngestSettings()
    engine = make_engine(spatial)
    store = GraphStore.from_settings(GraphSettings(), args.graph_database)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        worker = Worker(
            engine,
            store,
            settings,
            client_id=args.client_id,
            consume=not args.project_only,
            project=not args.no_project,
        )
        heap.settle()
        counters = worker.run(stop)
    finally:
        store.close()
        engine.dispose()
    print(json.dumps(asdict(counters)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
