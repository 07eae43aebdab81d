"""The projector: ledger events become graph Event nodes attached to their device and the subjects they concern.

It takes queued ledger rows in order, resolves each event's device (unknown device → dead letter),
and writes, in batches through :class:`graph.GraphStore`: the Event node (``uid.event(id)``),
RECORDED_BY its Device, CONCERNS its subjects (plate → Vehicle, face/person/card → Person,
access-opening house → House, else the place the device is INSTALLED_IN), and the rolled-up
PASSED_THROUGH of people and vehicles through gates (count, first and last seen; the totals are kept
in PostgreSQL's `passages` so they are exact however often a batch is retried). Unknown plates and
faces become "unregistered" Vehicles and Persons. The alarm engine sees each batch in the same
transaction. Every uid is deterministic, so projecting twice writes the same graph: :meth:`Projector.replay`
rebuilds the projection from the ledger.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Connection, Engine, text

from graph import GraphStore
from graph import uid as uids
from graph.errors import ValidationError
from graph.ontology import Concerns, Link, Node, PassedThrough, Person, RecordedBy, Vehicle
from graph.ontology import Event as EventNode
from ingest import deadletters, ledger
from ingest.alarms import AlarmChange, AlarmEngine
from ingest.devices import DeviceDirectory, DeviceInfo
from ingest.events import AccessOpen, Event, FaceCapture, PlateRead, Report, parse_event

log = logging.getLogger(__name__)

PASSING_KINDS: Final = frozenset({"plate_read", "face_capture", "access_open"})
UNREGISTERED_NAME: Final = "未登记人员"
_PASSAGES: Final = text(
    "INSERT INTO passages (subject, device, count, first_seen, last_seen) "
    "SELECT * FROM unnest(CAST(:subjects AS text[]), CAST(:devices AS text[]), CAST(:counts AS int[]), "
    "CAST(:firsts AS timestamptz[]), CAST(:lasts AS timestamptz[])) "
    "ON CONFLICT (subject, device) DO UPDATE SET count = passages.count + EXCLUDED.count, "
    "first_seen = least(passages.first_seen, EXCLUDED.first_seen), "
    "last_seen = greatest(passages.last_seen, EXCLUDED.last_seen) "
    "RETURNING subject, device, count, first_seen, last_seen"
)
_PASSAGES_READ: Final = text(
    "SELECT subject, device, count, first_seen, last_seen FROM passages "
    "WHERE (subject, device) IN (SELECT * FROM unnest(CAST(:subjects AS text[]), CAST(:devices AS text[])))"
)


@dataclass
class ProjectionStats:
    """What one projection pass did."""

    projected: int = 0
    dead: int = 0
    alarm_changes: int = 0
    lag_ms: float | None = None
    changes: list[AlarmChange] = field(default_factory=list)


def opaque_person(kind: str, value: str) -> str:
    """Return the uid of an unregistered person known only by a face id, card or unknown reference."""
    return uids.person("U" + hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:16].upper())


def _person_ref(ref: str) -> str | None:
    try:
        return ref if ref.startswith("person:") and uids.label_of(ref) == "Person" else uids.person(ref)
    except ValueError:
        return None


@dataclass
class _Batch:
    """The graph writes and side tables of one batch, built before anything is written."""

    nodes: list[Node] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    passages: dict[tuple[str, str], tuple[int, datetime, datetime]] = field(default_factory=dict)
    alarm_items: list[tuple[Event, DeviceInfo | None]] = field(default_factory=list)
    rejects: list[deadletters.Rejected] = field(default_factory=list)


class Projector:
    """Project queued ledger rows into the graph, in order and in batches."""

    def __init__(
        self,
        engine: Engine,
        store: GraphStore,
        *,
        directory: DeviceDirectory | None = None,
        alarms: AlarmEngine | None = None,
        batch_size: int = 5000,
    ) -> None:
        self.engine, self.store, self.batch_size = engine, store, batch_size
        self.directory = directory or DeviceDirectory(store)
        self.alarms = alarms
        self._existing: set[str] = set()

    def project_pending(self, limit: int | None = None) -> ProjectionStats:
        """Project up to `limit` queued rows (one batch) in one transaction; return what was done."""
        stats = ProjectionStats()
        with self.engine.begin() as conn:
            rows = ledger.read_pending(conn, limit or self.batch_size)
            if not rows:
                return stats
            batch = self._build(conn, rows)
            self._write(conn, batch, bump_passages=True)
            deadletters.record(conn, batch.rejects)
            if self.alarms is not None:
                stats.changes = self.alarms.observe(conn, batch.alarm_items)
            ledger.done(conn, [r.seq for r in rows])
        if self.alarms is not None:
            self.alarms.announce(stats.changes)
        stats.projected = len(rows) - len(batch.rejects)
        stats.dead = len(batch.rejects)
        stats.alarm_changes = len(stats.changes)
        stats.lag_ms = (datetime.now(UTC) - min(r.received_at for r in rows)).total_seconds() * 1000
        log.info(
            "projected",
            extra={"count": stats.projected, "dead": stats.dead, "alarms": stats.alarm_changes, "lag_ms": stats.lag_ms},
        )
        return stats

    def drain(self, timeout_s: float = 60.0) -> int:
        """Project until the queue is empty (or `timeout_s` passed); return how many events were projected."""
        deadline, total = time.monotonic() + timeout_s, 0
        while time.monotonic() < deadline:
            stats = self.project_pending()
            total += stats.projected
            if stats.projected + stats.dead == 0:
                break
        return total

    def replay(self, since: datetime) -> int:
        """Project again every ledger event that happened at or after `since`; return how many.

        Idempotent: uids are deterministic and rolled-up passages are written as the totals kept in
        PostgreSQL, not incremented. With an alarm engine, the alarms live or active since `since`
        come back too, as `alarm_state` holds them (:meth:`AlarmEngine.restore`), announced to no one.
        """
        after, total = 0, 0
        while True:
            with self.engine.begin() as conn:
                rows = ledger.read_since(conn, since, after, self.batch_size)
                if not rows:
                    if self.alarms is not None:
                        self.alarms.restore(since)
                    return total
                batch = self._build(conn, rows)
                self._write(conn, batch, bump_passages=False)
            after = rows[-1].seq
            total += len(rows) - len(batch.rejects)
            log.info("replayed", extra={"count": total, "seq": after})

    # --- building a batch -------------------------------------------------------------------

    def _build(self, conn: Connection, rows: Sequence[ledger.LedgerRow]) -> _Batch:
        batch = _Batch()
        parsed: list[tuple[ledger.LedgerRow, Event]] = []
        for row in rows:
            try:
                parsed.append((row, parse_event(row.payload)))
            except ValidationError as exc:
                batch.rejects.append(deadletters.Rejected("projector", row.payload, exc, row.id))
        devices = self.directory.resolve({e.device for _, e in parsed})
        known: list[tuple[ledger.LedgerRow, Event, DeviceInfo | None]] = []
        for row, event in parsed:
            device = devices.get(event.device)
            if device is None and not isinstance(event, Report):
                batch.rejects.append(
                    deadletters.Rejected(
                        "projector", row.payload, ValidationError("device", event.device, "unknown device"), row.id
                    )
                )
            else:
                known.append((row, event, device))
        exists = self._exists(
            [ref for _, event, _ in known for ref in _candidates(event)],
        )
        new_subjects: dict[str, Node] = {}
        for row, event, device in known:
            event_uid = uids.event(event.id)
            value = event.value
            batch.nodes.append(
                EventNode(
                    uid=event_uid,
                    source=f"ingest:{row.source}",
                    kind=event.kind,
                    occurred_at=event.ts,
                    value=value,
                    unit=event.unit if value is not None else None,
                    state=event.state,
                    description=event.text if isinstance(event, Report) else None,
                )
            )
            if device is not None:
                batch.links.append(RecordedBy(start=event_uid, end=device.uid, source="ingest"))
            subjects = self._subjects(event, device, exists, new_subjects)
            batch.links += [Concerns(start=event_uid, end=s, source="ingest") for s in subjects]
            if device is not None and event.kind in PASSING_KINDS:
                for subject in subjects:
                    if uids.label_of(subject) in ("Person", "Vehicle"):
                        key = (subject, device.uid)
                        n, first, last = batch.passages.get(key, (0, event.ts, event.ts))
                        batch.passages[key] = (n + 1, min(first, event.ts), max(last, event.ts))
            batch.alarm_items.append((event, device))
        batch.nodes = [*new_subjects.values(), *batch.nodes]
        return batch

    def _exists(self, candidates: list[str]) -> set[str]:
        unknown = [c for c in dict.fromkeys(candidates) if c not in self._existing]
        if unknown:
            found = set(self.store.get_many(unknown))
            if len(self._existing) > 1_000_000:
                self._existing.clear()
            self._existing |= found
        return {c for c in candidates if c in self._existing}

    def _subjects(self, event: Event, device: DeviceInfo | None, exists: set[str], new: dict[str, Node]) -> list[str]:
        """Return the uids an event concerns, adding unregistered people and vehicles to `new`."""
        if isinstance(event, PlateRead):
            vehicle = uids.vehicle(event.plate)
            if vehicle not in exists:
                new.setdefault(
                    vehicle, Vehicle(uid=vehicle, source="ingest:plate_read", plate=event.plate, unregistered=True)
                )
            return [vehicle]
        if isinstance(event, (FaceCapture, AccessOpen)):
            out = []
            person = self._person(event, exists, new)
            if person:
                out.append(person)
            if isinstance(event, AccessOpen) and event.house and event.house in exists:
                out.append(event.house)
            elif device is not None and device.place:
                out.append(device.place)
            return out
        if isinstance(event, Report):
            reporter = _person_ref(event.reporter) if event.reporter else None
            return [reporter] if reporter and reporter in exists else []
        return [device.place] if device is not None and device.place else []

    def _person(self, event: FaceCapture | AccessOpen, exists: set[str], new: dict[str, Node]) -> str | None:
        ref = event.person
        if ref:
            candidate = _person_ref(ref)
            if candidate and candidate in exists:
                return candidate
            opaque = opaque_person("person", ref)
        elif isinstance(event, FaceCapture) and event.face_id:
            opaque = opaque_person("face", event.face_id)
        elif isinstance(event, AccessOpen) and event.card:
            opaque = opaque_person("card", event.card)
        else:
            return None
        if opaque not in exists:
            new.setdefault(
                opaque, Person(uid=opaque, source=f"ingest:{event.kind}", name=UNREGISTERED_NAME, unregistered=True)
            )
        return opaque

    # --- writing ------------------------------------------------------------------------------

    def _write(self, conn: Connection, batch: _Batch, *, bump_passages: bool) -> None:
        self.store.upsert(batch.nodes)
        self._existing |= {n.uid for n in batch.nodes if n.label in ("Person", "Vehicle")}
        self.store.link(batch.links)
        if not batch.passages:
            return
        keys = list(batch.passages)
        if bump_passages:
            values = [batch.passages[k] for k in keys]
            rows = conn.execute(
                _PASSAGES,
                {
                    "subjects": [k[0] for k in keys],
                    "devices": [k[1] for k in keys],
                    "counts": [v[0] for v in values],
                    "firsts": [v[1] for v in values],
                    "lasts": [v[2] for v in values],
                },
            ).all()
        else:
            rows = conn.execute(
                _PASSAGES_READ, {"subjects": [k[0] for k in keys], "devices": [k[1] for k in keys]}
            ).all()
        self.store.link(
            PassedThrough(start=r[0], end=r[1], source="ingest", count=r[2], first_seen=r[3], last_seen=r[4])
            for r in rows
        )


def _candidates(event: Event) -> list[str]:
    """The existing nodes an event may concern, to look up in one batch."""
    if isinstance(event, PlateRead):
        return [uids.vehicle(event.plate)]
    out: list[str] = []
    if isinstance(event, (FaceCapture, AccessOpen)):
        if event.person and (ref := _person_ref(event.person)):
            out.append(ref)
        out += [
            opaque_person(k, v)
            for k, v in (
                ("person", event.person),
                ("face", getattr(event, "face_id", None)),
                ("card", getattr(event, "card", None)),
            )
            if v
        ]
    if isinstance(event, AccessOpen) and event.house:
        out.append(event.house)
    if isinstance(event, Report) and event.reporter and (ref := _person_ref(event.reporter)):
        out.append(ref)
    return out
