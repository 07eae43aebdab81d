"""Events as a table for detectors: one row per event, the columns detectors read, subjects resolved.

Detectors see events as a pandas DataFrame with :data:`COLUMNS`. The ``subject`` column is the uid
the event concerns, resolved exactly as the projector resolves it (a plate → its Vehicle uid, a
matched face or card holder → the Person, an unmatched face → the unregistered Person made for
it), so a finding lands on the node the graph already has. :func:`from_ledger` reads a time window
of the PostgreSQL ledger; :func:`from_rows` builds the same table from event dicts (the simulator's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import pandas as pd
from sqlalchemy import Engine, text

from graph import uid as uids

COLUMNS: Final = ("id", "kind", "device", "ts", "subject", "direction", "house", "meter", "reading", "status")
"""What every event frame has; missing values are None/NaN."""

_PAYLOAD: Final = ("person", "face_id", "card", "plate", "direction", "house", "meter", "reading", "status", "door")
_SELECT: Final = (
    "SELECT id, kind, device, ts, "
    + ", ".join(f"(payload->>'{f}')::float AS {f}" if f == "reading" else f"payload->>'{f}' AS {f}" for f in _PAYLOAD)
    + " FROM event_ledger "
)
_READ: Final = text(_SELECT + "WHERE ts >= :since AND ts < :until")
_READ_AFTER: Final = text(
    _SELECT.replace("SELECT id,", "SELECT seq, id,") + "WHERE seq > :after ORDER BY seq LIMIT :limit"
)


def _person(ref: str) -> str:
    return ref if ref.startswith("person:") else uids.person(ref)


def _resolve(raw: pd.DataFrame) -> pd.Series:
    """The subject uid of each row: plate, then matched person, then face id, then card."""
    subject = pd.Series(None, index=raw.index, dtype=object)
    for column, make in (
        ("card", lambda v: uids.unregistered_person("card", v)),
        ("face_id", lambda v: uids.unregistered_person("face", v)),
        ("person", _person),
        ("plate", uids.vehicle),
    ):
        if column in raw:
            values = raw[column].dropna()
            mapping = {v: make(v) for v in values.unique()}
            subject.loc[values.index] = values.map(mapping)
    return subject


def shape(raw: pd.DataFrame) -> pd.DataFrame:
    """Turn raw event columns (id, kind, device, ts and payload fields) into an event frame."""
    out = pd.DataFrame(index=raw.index)
    for column in ("id", "kind", "device"):
        out[column] = raw[column].astype(str)
    out["ts"] = pd.to_datetime(raw["ts"], utc=True)
    out["subject"] = _resolve(raw)
    for column in ("direction", "house", "meter"):
        out[column] = raw.get(column)
    out["reading"] = pd.to_numeric(raw["reading"], errors="coerce") if "reading" in raw else float("nan")
    status = raw["status"] if "status" in raw else pd.Series(None, index=raw.index, dtype=object)
    if "door" in raw:
        status = status.fillna(raw["door"].map({"open": "alarm", "closed": "normal"}))
    out["status"] = status
    return out.sort_values("ts", kind="stable").reset_index(drop=True)


def from_rows(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build an event frame from event dicts (the shape of ingest's events: id, kind, device, ts, payload fields)."""
    raw = pd.DataFrame.from_records(list(rows))
    if raw.empty:
        return empty()
    return shape(raw)


def from_ledger(engine: Engine, since: datetime, until: datetime) -> pd.DataFrame:
    """Read the events with `since` <= ts < `until` from the ledger as an event frame."""
    with engine.connect() as conn:
        raw = pd.read_sql_query(_READ, conn, params={"since": since, "until": until})
    if raw.empty:
        return empty()
    return shape(raw)


def after(engine: Engine, seq: int, limit: int = 200_000) -> tuple[pd.DataFrame, int]:
    """Read up to `limit` ledger events appended after ledger position `seq`; return them and the new position."""
    with engine.connect() as conn:
        raw = pd.read_sql_query(_READ_AFTER, conn, params={"after": seq, "limit": limit})
    if raw.empty:
        return empty(), seq
    return shape(raw.drop(columns="seq")), int(raw["seq"].max())


def empty() -> pd.DataFrame:
    """An event frame with no rows."""
    return pd.DataFrame({c: pd.Series(dtype="datetime64[ns, UTC]" if c == "ts" else object) for c in COLUMNS})
