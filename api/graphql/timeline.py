"""Reads of the event ledger for the API: a filtered timeline paged by cursor, new events, and counts.

The timeline is newest first and keyset-paged on (`ts`, `seq`), so a cursor stays valid while
events arrive. A subject filter becomes the ledger key that names it (indexes of migration
0005): a person's uid or code in ``payload->>'person'``, a vehicle's plate, a house's uid in
``payload->>'house'``, a device's code. Statistics count events by kind, time bucket, grid or
building (the grid or building whose polygon holds the recording device), over a time window.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Engine, text

from graph import uid as uids
from graph.errors import ValidationError
from ingest.ledger import LedgerRow

MAX_PAGE: Final = 500
_PLATE: Final = "upper(replace(replace(payload->>'plate', ' ', ''), '·', ''))"
_FAR_FUTURE: Final = datetime.fromisoformat("9999-01-01T00:00:00+00:00")
_FAR_PAST: Final = datetime.fromisoformat("0001-01-01T00:00:00+00:00")
Bucket = Literal["hour", "day", "week", "month"]
Group = Literal["kind", "bucket", "grid", "building", "device"]


@dataclass(frozen=True)
class Filters:
    """Which events: kinds, a time window [since, until), a device code or uid, a subject uid."""

    kinds: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    device: str | None = None
    subject: str | None = None


def encode_cursor(ts: datetime, seq: int) -> str:
    """Return the opaque cursor of the event at (`ts`, `seq`)."""
    return base64.urlsafe_b64encode(f"{ts.isoformat()}|{seq}".encode()).decode()


def decode_cursor(cursor: str, field: str = "after") -> tuple[datetime, int]:
    """Return (ts, seq) of a cursor, or raise ValidationError naming `field`."""
    try:
        ts, seq = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment = datetime.fromisoformat(ts)
        if moment.tzinfo is None:
            raise ValueError
        return moment, int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError(field, cursor, "is not a cursor this API handed out") from None


def _where(filters: Filters) -> tuple[str, dict[str, Any]]:
    clauses = ["ts >= :since", "ts < :until"]
    params: dict[str, Any] = {"since": filters.since or _FAR_PAST, "until": filters.until or _FAR_FUTURE}
    if filters.since and filters.until and filters.until <= filters.since:
        raise ValidationError("until", filters.until.isoformat(), f"must be after since ({filters.since.isoformat()})")
    if filters.kinds:
        clauses.append("kind = ANY(:kinds)")
        params["kinds"] = list(filters.kinds)
    if filters.device:
        code = filters.device.removeprefix("device:")
        clauses.append("device = :device")
        params["device"] = code
    if filters.subject:
        clause, value = _subject(filters.subject)
        clauses.append(clause)
        params |= value
    return " AND ".join(clauses), params


def _subject(subject: str) -> tuple[str, dict[str, Any]]:
    try:
        label = uids.label_of(subject)
    except ValueError as exc:
        raise ValidationError("subject", subject, str(exc)) from None
    key = subject.partition(":")[2]
    if label == "Person":
        return "payload->>'person' = ANY(:subject)", {"subject": [subject, key]}
    if label == "Vehicle":
        return f"{_PLATE} = :subject", {"subject": key.replace(" ", "").replace("·", "").upper()}
    if label == "House":
        return "payload->>'house' = :subject", {"subject": subject}
    if label == "Device":
        return "device = :subject", {"subject": key}
    raise ValidationError("subject", subject, f"events name persons, vehicles, houses and devices, not a {label}")


_COLUMNS: Final = "seq, id, kind, device, ts, received_at, source, payload"


def _event(row: Any) -> LedgerRow:
    payload = row.payload if isinstance(row.payload, dict) else {"value": row.payload}
    return LedgerRow(row.seq, row.id, row.kind, row.device, row.ts, row.received_at, row.source, payload)


def page(engine: Engine, filters: Filters, first: int = 50, after: str | None = None) -> tuple[list[LedgerRow], bool]:
    """Return up to `first` events matching `filters`, newest first, after cursor `after`; and whether more follow."""
    if not 1 <= first <= MAX_PAGE:
        raise ValidationError("first", first, f"must be between 1 and {MAX_PAGE}")
    where, params = _where(filters)
    if after:
        ts, seq = decode_cursor(after)
        where += " AND (ts, seq) < (:after_ts, :after_seq)"
        params |= {"after_ts": ts, "after_seq": seq}
    sql = f"SELECT {_COLUMNS} FROM event_ledger WHERE {where} ORDER BY ts DESC, seq DESC LIMIT :limit"
    with engine.connect() as conn:
        rows = conn.execute(text(sql), params | {"limit": first + 1}).all()
    return [_event(r) for r in rows[:first]], len(rows) > first


def newer(engine: Engine, filters: Filters, after_seq: int, limit: int = 500) -> list[LedgerRow]:
    """Return events matching `filters` ledgered after sequence number `after_seq`, oldest first."""
    where, params = _where(filters)
    sql = f"SELECT {_COLUMNS} FROM event_ledger WHERE {where} AND seq > :after_seq ORDER BY seq LIMIT :limit"
    with engine.connect() as conn:
        rows = conn.execute(text(sql), params | {"after_seq": after_seq, "limit": limit}).all()
    return [_event(r) for r in rows]


def last_seq(engine: Engine) -> int:
    """Return the newest sequence number in the ledger (0 when it is empty)."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(seq), 0) FROM event_ledger")).scalar_one())


_GROUPS: Final[dict[str, str]] = {
    "kind": "e.kind",
    "device": "e.device",
    "bucket": "to_char(date_trunc(:bucket, e.ts AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
    "grid": (
        "coalesce((SELECT g.uid FROM devices d JOIN grids g ON ST_Contains(g.geom, d.geom) "
        "WHERE d.uid = 'device:' || e.device ORDER BY ST_Area(g.geom), g.uid LIMIT 1), '(none)')"
    ),
    "building": (
        "coalesce((SELECT b.uid FROM devices d JOIN buildings b ON ST_Contains(b.geom, d.geom) "
        "WHERE d.uid = 'device:' || e.device ORDER BY b.uid LIMIT 1), '(none)')"
    ),
}


def counts(engine: Engine, group: Group, filters: Filters, bucket: Bucket = "day") -> list[tuple[str, int]]:
    """Return (key, number of events) per `group` among the events matching `filters`, largest first."""
    if group not in _GROUPS:
        raise ValidationError("by", group, f"must be one of {', '.join(_GROUPS)}")
    if bucket not in ("hour", "day", "week", "month"):
        raise ValidationError("bucket", bucket, "must be one of hour, day, week, month")
    where, params = _where(filters)
    order = "1" if group == "bucket" else "2 DESC, 1"
    sql = (
        f"SELECT key, count(*) FROM (SELECT {_GROUPS[group]} AS key FROM event_ledger e WHERE {where}) k "
        f"GROUP BY key ORDER BY {order}"
    )
    with engine.connect() as conn:
        rows = conn.execute(text(sql), params | {"bucket": bucket}).all()
    return [(str(key), int(n)) for key, n in rows]
