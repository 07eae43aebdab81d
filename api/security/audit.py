"""The audit log (10.1.3, 10.2.2): every API operation and every read of a person's data, in PostgreSQL.

Entries are queued by the request that makes them and written in batches by one writer thread
(a few hundred rows a statement), so auditing costs a request no database round trip; at most
`interval_s` of entries are in flight, and :meth:`AuditLog.flush` (called at shutdown, and before
the log is read) waits until everything queued is written.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)
Outcome = Literal["ok", "denied", "failed", "invalid"]
_INSERT: Final = text(
    "INSERT INTO audit_log (at, username, operation, targets, outcome, person_read, client, detail) "
    "VALUES (:at, :username, :operation, :targets, :outcome, :person_read, :client, CAST(:detail AS jsonb))"
)


@dataclass(frozen=True)
class AuditEntry:
    """One audited operation."""

    username: str | None
    operation: str
    outcome: Outcome
    targets: tuple[str, ...] = ()
    person_read: bool = False
    client: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def row(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "username": self.username,
            "operation": self.operation,
            "targets": list(self.targets),
            "outcome": self.outcome,
            "person_read": self.person_read,
            "client": self.client,
            "detail": json.dumps(self.detail, ensure_ascii=False, default=str),
        }


class AuditLog:
    """Queue audit entries and write them in batches from a thread of its own."""

    def __init__(self, engine: Engine, interval_s: float = 0.2, batch: int = 500) -> None:
        self.engine, self.interval_s, self.batch = engine, interval_s, batch
        self._queue: queue.SimpleQueue[AuditEntry | threading.Event] = queue.SimpleQueue()
        self._hurry = threading.Event()  # set by flush: write now, do not wait out the interval
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def record(self, entry: AuditEntry) -> None:
        """Queue an entry; the writer thread stores it within `interval_s`."""
        self._ensure_thread()
        self._queue.put(entry)

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until every entry queued so far is written."""
        if self._thread is None:
            return
        done = threading.Event()
        self._queue.put(done)
        self._hurry.set()
        if not done.wait(timeout_s):
            raise TimeoutError(f"the audit log was not written within {timeout_s} s")

    def close(self) -> None:
        """Write what is queued and stop the writer."""
        self.flush()

    def entries(
        self,
        *,
        username: str | None = None,
        target: str | None = None,
        operation: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Return audit rows, newest first, optionally of one user, target uid or operation (after a flush)."""
        self.flush()
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, at, username, operation, targets, outcome, person_read, client, detail FROM audit_log "
                    "WHERE (CAST(:u AS text) IS NULL OR username = :u) "
                    "AND (CAST(:t AS text) IS NULL OR targets @> ARRAY[CAST(:t AS text)]) "
                    "AND (CAST(:o AS text) IS NULL OR operation = :o) ORDER BY id DESC LIMIT :limit"
                ),
                {"u": username, "t": target, "o": operation, "limit": limit},
            ).all()
        return [dict(r._mapping) for r in rows]

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            items: list[AuditEntry | threading.Event] = [self._queue.get()]
            if isinstance(items[0], AuditEntry):
                # the entries of the next interval gather while the writer sleeps: a writer that
                # waited on the queue would be woken by every request's entry, taking the GIL from it
                self._hurry.wait(self.interval_s)
            self._hurry.clear()
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            entries = [i for i in items if isinstance(i, AuditEntry)]
            for start in range(0, len(entries), self.batch):
                self._write(entries[start : start + self.batch])
            for item in items:
                if isinstance(item, threading.Event):
                    item.set()

    def _write(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    conn.execute(_INSERT, [e.row() for e in entries])
                return
            except SQLAlchemyError:
                log.exception("audit write failed", extra={"entries": len(entries), "attempt": attempt + 1})
        log.error("audit entries lost", extra={"entries": [e.row() for e in entries]})
