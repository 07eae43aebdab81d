"""Dead letters: input that was rejected, kept as received with the field and the reason, for inspection and replay.

Nothing is lost: a message that is not JSON, an event of an unknown kind or with a bad field, or
one whose device the graph does not know ends up here (table `dead_letters`) instead of
vanishing. :func:`resubmit` parses them again (after a fix to the device registry or the parser)
and appends those now valid to the ledger.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, text

from graph.errors import ValidationError
from ingest import ledger
from ingest.events import parse_event

log = logging.getLogger(__name__)

_INSERT: Final = text(
    "INSERT INTO dead_letters (source, raw, field, value, reason, event_id) "
    "SELECT * FROM unnest(CAST(:sources AS text[]), CAST(:raws AS bytea[]), CAST(:fields AS text[]), "
    "CAST(:values AS text[]), CAST(:reasons AS text[]), CAST(:event_ids AS text[]))"
)


@dataclass(frozen=True)
class Rejected:
    """Something to keep as a dead letter: where it came from, what it was and why it was refused."""

    source: str
    raw: Any
    error: ValidationError
    event_id: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    """A stored dead letter."""

    id: int
    received_at: datetime
    source: str
    raw: bytes
    field: str
    value: str | None
    reason: str
    event_id: str | None
    resubmitted_at: datetime | None
    outcome: str | None

    @property
    def text(self) -> str:
        """The raw input as text (undecodable bytes replaced)."""
        return self.raw.decode("utf-8", errors="replace")


def raw_bytes(raw: Any) -> bytes:
    """Return input as bytes, as received: bytes unchanged, text encoded, anything else as JSON."""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        return raw.encode("utf-8", errors="surrogateescape")
    return json.dumps(raw, ensure_ascii=False, default=str).encode()


def record(conn: Connection, rejects: Sequence[Rejected]) -> int:
    """Store rejected input with field and reason, in one statement; return how many were stored."""
    if not rejects:
        return 0
    conn.execute(
        _INSERT,
        {
            "sources": [r.source for r in rejects],
            "raws": [raw_bytes(r.raw) for r in rejects],
            "fields": [r.error.field for r in rejects],
            "values": [None if r.error.value is None else repr(r.error.value)[:500] for r in rejects],
            "reasons": [r.error.reason for r in rejects],
            "event_ids": [r.event_id for r in rejects],
        },
    )
    log.info("dead letters", extra={"count": len(rejects), "reasons": sorted({r.error.reason for r in rejects})[:5]})
    return len(rejects)


def list_dead_letters(
    conn: Connection, *, include_resubmitted: bool = False, after_id: int = 0, limit: int = 100
) -> list[DeadLetter]:
    """Return dead letters in arrival order, a page at a time (those not yet resubmitted by default)."""
    rows = conn.execute(
        text(
            "SELECT id, received_at, source, raw, field, value, reason, event_id, resubmitted_at, outcome "
            "FROM dead_letters WHERE id > :after AND (:all OR resubmitted_at IS NULL) ORDER BY id LIMIT :limit"
        ),
        {"after": after_id, "all": include_resubmitted, "limit": limit},
    ).all()
    return [_letter(r) for r in rows]


def count(conn: Connection, *, include_resubmitted: bool = False) -> int:
    """Return how many dead letters there are (not yet resubmitted, by default)."""
    sql = "SELECT count(*) FROM dead_letters WHERE :all OR resubmitted_at IS NULL"
    return int(conn.execute(text(sql), {"all": include_resubmitted}).scalar_one())


def _letter(row: Any) -> DeadLetter:
    data = dict(row._mapping)
    data["raw"] = bytes(data["raw"])
    return DeadLetter(**data)


def resubmit(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """Parse the given dead letters again; append the valid ones to the ledger; return each one's outcome.

    Outcomes: `accepted` (new in the ledger), `requeued` (already in the ledger, e.g. refused by
    the projector for an unknown device: queued for projection again), or `rejected: field: reason`
    (still invalid; it stays a dead letter with the new reason).
    """
    outcomes: dict[int, str] = {}
    for letter in _by_ids(conn, ids):
        try:
            event = parse_event(letter.raw)
        except ValidationError as exc:
            outcomes[letter.id] = f"rejected: {exc.field}: {exc.reason}"
            conn.execute(
                text("UPDATE dead_letters SET field = :field, reason = :reason, outcome = :outcome WHERE id = :id"),
                {"field": exc.field, "reason": exc.reason, "outcome": outcomes[letter.id], "id": letter.id},
            )
            continue
        appended = ledger.append(conn, [event], source=f"resubmit:{letter.source}", raw=[json.loads(letter.raw)])
        if appended.new:
            outcomes[letter.id] = "accepted"
        else:
            ledger.requeue(conn, [event.id])
            outcomes[letter.id] = "requeued"
        conn.execute(
            text("UPDATE dead_letters SET resubmitted_at = now(), outcome = :outcome, event_id = :eid WHERE id = :id"),
            {"outcome": outcomes[letter.id], "eid": event.id, "id": letter.id},
        )
    log.info("resubmitted dead letters", extra={"outcomes": outcomes})
    return outcomes


def _by_ids(conn: Connection, ids: Sequence[int]) -> list[DeadLetter]:
    rows = conn.execute(
        text(
            "SELECT id, received_at, source, raw, field, value, reason, event_id, resubmitted_at, outcome "
            "FROM dead_letters WHERE id = ANY(:ids) AND resubmitted_at IS NULL ORDER BY id"
        ),
        {"ids": list(ids)},
    ).all()
    return [_letter(r) for r in rows]
