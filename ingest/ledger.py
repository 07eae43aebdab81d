"""The event ledger: every valid event, appended once, raw payload kept, before anything acknowledges it.

The ledger (PostgreSQL, `event_ledger`, monthly partitions on `received_at`) is the system of
record: the graph is a projection of it that :func:`ingest.projector.replay` can rebuild. An
event id is unique across the ledger through the `event_ids` table (a partitioned table cannot
hold a unique constraint without its partition key), so a redelivered event is counted as a
duplicate and stored nothing. Newly appended rows are queued in `ledger_pending` for the projector.
The caller owns the transaction: commit it before acknowledging the source.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple

from sqlalchemy import Connection, text

from ingest.events import KINDS, Event

log = logging.getLogger(__name__)

# the batch travels as one JSON array, [[id, kind, device, ts, payload], …]: one C-speed json.dumps on
# our side and one jsonb parse on the server's, instead of escaping every payload into an array literal
_APPEND: Final = text(
    "WITH input AS ("
    " SELECT e->>0 AS id, e->>1 AS kind, e->>2 AS device, CAST(e->>3 AS timestamptz) AS ts, e->4 AS payload, ord"
    " FROM jsonb_array_elements(CAST(:events AS jsonb)) WITH ORDINALITY AS t(e, ord)"
    "), fresh AS ("
    " INSERT INTO event_ids (id, kind) SELECT id, kind FROM input ON CONFLICT DO NOTHING RETURNING id"
    "), ledgered AS ("
    " INSERT INTO event_ledger (id, kind, device, ts, source, payload)"
    " SELECT i.id, i.kind, i.device, i.ts, :source, i.payload FROM input i JOIN fresh f ON f.id = i.id ORDER BY i.ord"
    " RETURNING seq, id, received_at"
    "), queued AS ("
    " INSERT INTO ledger_pending (seq, received_at) SELECT seq, received_at FROM ledgered"
    ") SELECT id FROM ledgered"
)
_REQUEUE: Final = text(
    "INSERT INTO ledger_pending (seq, received_at) SELECT seq, received_at FROM event_ledger "
    "WHERE id = ANY(:ids) ON CONFLICT DO NOTHING"
)
_PARTITION_NAME = re.compile(r"^event_ledger_y(\d{4})m(\d{2})$")
_known_partitions: set[tuple[str, str]] = set()


class Appended(NamedTuple):
    """The ids an append stored (`new`) and those already in the ledger or repeated in the batch."""

    new: list[str]
    duplicates: list[str]


@dataclass(frozen=True)
class LedgerRow:
    """One ledger row as the projector reads it."""

    seq: int
    id: str
    kind: str
    device: str
    ts: datetime
    received_at: datetime
    source: str
    payload: Any


def _month(day: datetime, step: int = 0) -> datetime:
    index = day.year * 12 + day.month - 1 + step
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def ensure_partitions(conn: Connection, now: datetime | None = None, months_ahead: int = 1) -> list[str]:
    """Create the monthly partitions from this month to `months_ahead` months on; return their names.

    Cached per process and database, so the hot path pays for it once a month.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    database = str(conn.engine.url.database)
    names = []
    for step in range(months_ahead + 1):
        start, end = _month(now, step), _month(now, step + 1)
        name = f"event_ledger_y{start.year:04d}m{start.month:02d}"
        names.append(name)
        if (database, name) in _known_partitions:
            continue
        exists = conn.execute(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name}).scalar_one()
        if not exists:
            # serialise concurrent workers; the name comes from dates, never from input
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('event_ledger_partitions'))"))
            conn.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF event_ledger "
                    f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                )
            )
            log.info("created ledger partition", extra={"partition": name})
        _known_partitions.add((database, name))
    return names


def append(
    conn: Connection, events: Sequence[Event], *, source: str = "mqtt", raw: Sequence[Any] | None = None
) -> Appended:
    """Append `events` to the ledger in one statement and queue the new ones for projection.

    `raw` (parallel to `events`) is the payload as received, kept as JSONB; without it the
    normalised event is kept. Ids already in the ledger, or repeated within `events`, come back
    as duplicates. Commit `conn`'s transaction before acknowledging the source.
    """
    if raw is not None and len(raw) != len(events):
        raise ValueError(f"raw has {len(raw)} items for {len(events)} events")
    ensure_partitions(conn)
    first: dict[str, int] = {}
    duplicates: list[str] = []
    for index, event in enumerate(events):
        if event.id in first:
            duplicates.append(event.id)
        else:
            first[event.id] = index
    if not first:
        return Appended([], duplicates)
    batch = [events[i] for i in first.values()]
    rows = [
        [
            events[i].id,
            events[i].kind,
            events[i].device,
            events[i].ts.isoformat(),
            raw[i] if raw is not None else events[i].model_dump(mode="json", by_alias=True),
        ]
        for i in first.values()
    ]
    new = conn.execute(_APPEND, {"events": json.dumps(rows, ensure_ascii=False), "source": source}).scalars()
    stored = list(new)
    stored_set = set(stored)
    duplicates += [e.id for e in batch if e.id not in stored_set]
    return Appended(stored, duplicates)


def requeue(conn: Connection, ids: Sequence[str]) -> int:
    """Queue ledger events again for projection (e.g. after their device was registered)."""
    return conn.execute(_REQUEUE, {"ids": list(ids)}).rowcount


def count(conn: Connection, kind: str | None = None) -> int:
    """Return how many events the ledger holds (of one kind, if given)."""
    sql = "SELECT count(*) FROM event_ledger WHERE CAST(:kind AS text) IS NULL OR kind = :kind"
    return int(conn.execute(text(sql), {"kind": kind}).scalar_one())


def pending(conn: Connection) -> int:
    """Return how many ledger events wait for the projector."""
    return int(conn.execute(text("SELECT count(*) FROM ledger_pending")).scalar_one())


def apply_retention(conn: Connection, now: datetime | None = None) -> dict[str, int]:
    """Delete events older than their kind's retention; drop partitions past the longest one.

    Returns the number of events deleted per kind. Kinds no longer registered keep the longest
    retention of any kind, so nothing is deleted early by a removed registration.
    """
    now = now or datetime.now(UTC)
    longest = max(spec.retention_days for spec in KINDS.values())
    deleted: dict[str, int] = {}
    kinds = conn.execute(text("SELECT DISTINCT kind FROM event_ids")).scalars().all()
    for kind in kinds:
        spec = KINDS.get(kind)
        cutoff = now - timedelta(days=spec.retention_days if spec else longest)
        n = conn.execute(
            text(
                "WITH gone AS (DELETE FROM event_ledger WHERE kind = :kind AND received_at < :cutoff "
                "RETURNING seq), unqueued AS (DELETE FROM ledger_pending WHERE seq IN (SELECT seq FROM gone)) "
                "SELECT count(*) FROM gone"
            ),
            {"kind": kind, "cutoff": cutoff},
        ).scalar_one()
        conn.execute(
            text("DELETE FROM event_ids WHERE kind = :kind AND received_at < :cutoff"), {"kind": kind, "cutoff": cutoff}
        )
        if n:
            deleted[kind] = int(n)
    horizon = now - timedelta(days=longest)
    partitions = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'event_ledger'::regclass"
        )
    ).scalars()
    for name in partitions:
        match = _PARTITION_NAME.match(name)
        if match and _month(datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC), 1) <= horizon:
            conn.execute(text(f"DROP TABLE {name}"))  # name matched the pattern above, not input
            _known_partitions.discard((str(conn.engine.url.database), name))
            log.info("dropped ledger partition", extra={"partition": name})
    log.info("applied retention", extra={"deleted": deleted})
    return deleted


def apply_retention_alone(conn: Connection, now: datetime | None = None) -> dict[str, int] | None:
    """Apply retention unless another session is applying it (a transaction-level advisory lock); None if so.

    For workers that run retention on a schedule: of several started together, one does the work.
    """
    if not conn.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('event_ledger_retention'))")).scalar_one():
        log.info("retention is being applied elsewhere; skipped")
        return None
    return apply_retention(conn, now)


def read_pending(conn: Connection, limit: int) -> list[LedgerRow]:
    """Lock and return up to `limit` queued ledger rows, oldest first; others skip the locked ones."""
    rows = conn.execute(
        text(
            "SELECT l.seq, l.id, l.kind, l.device, l.ts, l.received_at, l.source, l.payload "
            "FROM (SELECT seq, received_at FROM ledger_pending ORDER BY seq LIMIT :limit FOR UPDATE SKIP LOCKED) p "
            "JOIN event_ledger l ON l.seq = p.seq AND l.received_at = p.received_at ORDER BY l.seq"
        ),
        {"limit": limit},
    ).all()
    return [LedgerRow(*r) for r in rows]


def read_since(conn: Connection, since: datetime, after_seq: int, limit: int) -> list[LedgerRow]:
    """Return up to `limit` ledger rows with `ts` at or after `since` and seq after `after_seq`, in seq order."""
    rows = conn.execute(
        text(
            "SELECT seq, id, kind, device, ts, received_at, source, payload FROM event_ledger "
            "WHERE ts >= :since AND seq > :after ORDER BY seq LIMIT :limit"
        ),
        {"since": since, "after": after_seq, "limit": limit},
    ).all()
    return [LedgerRow(*r) for r in rows]


def done(conn: Connection, seqs: Sequence[int]) -> None:
    """Remove projected rows from the projection queue."""
    conn.execute(text("DELETE FROM ledger_pending WHERE seq = ANY(:seqs)"), {"seqs": list(seqs)})
