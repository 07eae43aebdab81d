"""Live feeds for subscriptions: alarm changes from any process, and new ledger events.

Alarm state may change in an ingest worker, another API process or this one. Migration 0003's
trigger sends ``NOTIFY twinhood_alarms, '<uid>'`` on every write to `alarm_state`; an
:class:`AlarmFeed` holds one LISTEN connection per API process (from the first subscriber until
shutdown), reads the alarm that changed and publishes an :class:`ingest.alarms.AlarmChange` on
its :class:`ingest.alarms.AlarmBus`: `opened` the first time it sees an alarm that was opened
after the feed started, `cleared` when it cleared, `transition` when its workflow status moved,
`repeated` otherwise. Event subscriptions poll the ledger by sequence number (:func:`follow_events`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import psycopg
from sqlalchemy import Engine

from api.graphql import timeline
from api.stack import libpq_url
from graph import UnknownEntity
from ingest.alarms import AlarmBus, AlarmChange, AlarmEngine, AlarmRecord, Change
from ingest.ledger import LedgerRow

log = logging.getLogger(__name__)
CHANNEL = "twinhood_alarms"


class AlarmFeed:
    """Turn alarm_state notifications into AlarmChanges on a bus, from a thread of its own."""

    def __init__(self, engine: Engine, alarms: AlarmEngine) -> None:
        self.engine, self.alarms = engine, alarms
        self.bus = AlarmBus()
        self._seen: dict[str, AlarmRecord] = {}
        self._started_at = datetime.now(UTC)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._lock = threading.Lock()

    def start(self, timeout_s: float = 10.0) -> None:
        """Start listening (idempotent); return once the LISTEN is in place."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._ready.clear()
                self._thread = threading.Thread(target=self._run, name="alarm-feed", daemon=True)
                self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError(f"could not LISTEN on {CHANNEL} within {timeout_s} s")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        url = libpq_url(self.engine.url.render_as_string(hide_password=False))
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._ready.set()
                    while not self._stop.is_set():
                        for notice in conn.notifies(timeout=0.5):
                            self._changed(notice.payload)
            except psycopg.Error:
                log.exception("alarm feed lost its connection; reconnecting")
                self._stop.wait(1.0)

    def _changed(self, uid: str) -> None:
        try:
            record = self.alarms.get(uid)
        except UnknownEntity:
            return
        before = self._seen.get(uid)
        self._seen[uid] = record
        change: Change
        if before is None:
            change = "opened" if record.opened_at >= self._started_at or record.count == 1 else "repeated"
        elif record.cleared_at is not None and before.cleared_at is None:
            change = "cleared"
        elif record.status != before.status:
            change = "transition"
        else:
            change = "repeated"
        self.bus.publish([AlarmChange(change, record)])


async def follow_events(engine: Engine, filters: timeline.Filters, poll_s: float = 0.25) -> AsyncIterator[LedgerRow]:
    """Yield events matching `filters` as they are ledgered from now on, oldest first."""
    seq = await asyncio.to_thread(timeline.last_seq, engine)
    while True:
        found = await asyncio.to_thread(timeline.newer, engine, filters, seq)
        for event in found:
            seq = max(seq, event.seq)
            yield event
        if not found:
            await asyncio.sleep(poll_s)
