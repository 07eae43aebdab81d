"""The audit log's writer thread: batches, order, and flush without waiting out the interval.

The database write is replaced by a list here (the rows reach PostgreSQL in
tests/integration/test_auth.py and test_graphql.py); what is tested is the queueing around it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlalchemy import create_engine

from api.security.audit import AuditEntry, AuditLog


class Collected(AuditLog):
    def __init__(self, interval_s: float, batch: int) -> None:
        super().__init__(create_engine("postgresql+psycopg://unused/none"), interval_s, batch)
        self.batches: list[list[str]] = []

    def _write(self, entries: Sequence[AuditEntry]) -> None:
        self.batches.append([e.operation for e in entries])


def test_entries_are_written_in_order_in_batches_of_at_most_batch() -> None:
    log = Collected(interval_s=0.05, batch=100)
    senders = [threading.Thread(target=lambda k=k: log.record(AuditEntry("u", f"op{k}", "ok"))) for k in range(3)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    for k in range(3, 1000):
        log.record(AuditEntry("u", f"op{k}", "ok"))
    log.flush()
    written = [op for batch in log.batches for op in batch]
    assert sorted(written) == sorted(f"op{k}" for k in range(1000))
    assert written[3:] == [f"op{k}" for k in range(3, 1000)]
    assert all(len(batch) <= 100 for batch in log.batches)


def test_flush_writes_at_once_even_with_a_long_interval() -> None:
    log = Collected(interval_s=3600, batch=500)
    log.record(AuditEntry("u", "first", "ok"))
    log.flush(timeout_s=5)  # raises TimeoutError if the writer waited out its hour
    log.record(AuditEntry("u", "second", "ok"))
    log.flush(timeout_s=5)
    assert [op for batch in log.batches for op in batch] == ["first", "second"]
