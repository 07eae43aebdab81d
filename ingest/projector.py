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

Telemetry (kinds marked so in :data:`ingest.events.KINDS`: meter, environment, water tank,
hydrant, heating and fire-detector readings) is most of what devices send and little of what
anyone looks up one by one, so it does not become an Event node per reading: the Device gets a
roll-up (`reading_count`, `last_reading_at`, `last_reading_kind`, `last_reading_value`,
`last_reading_unit`, `last_reading_state`; totals kept exact in PostgreSQL's `device_readings`),
and only a reading that opens or clears an alarm becomes an Event node (the alarm's evidence). The
ledger keeps every reading. `telemetry_nodes=True` projects telemetry like any other event instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, RootTransaction, Row, text

from graph import Attachment, GraphStore
from graph import uid as uids
from graph.errors import ValidationError
from graph.ontology import Concerns, Link, Node, PassedThrough, Person, RecordedBy, Vehicle
from graph.ontology import Event as EventNode
from ingest import deadletters, ledger
from ingest.alarms import AlarmChange, AlarmEngine
from ingest.devices import DeviceDirectory, DeviceInfo
from ingest.events import KINDS, AccessOpen, Event, FaceCapture, PlateRead, Report, parse_event

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
_READINGS_COLUMNS: Final = "device, count, last_at, last_kind, last_value, last_unit, last_state"
_READINGS: Final = text(
    "INSERT INTO device_readings (device, count, first_at, last_at, last_kind, last_value, last_unit, last_state, "
    "last_event) SELECT * FROM unnest(CAST(:devices AS text[]), CAST(:counts AS bigint[]), "
    "CAST(:firsts AS timestamptz[]), CAST(:lasts AS timestamptz[]), CAST(:kinds AS text[]), "
    "CAST(:values AS float8[]), CAST(:units AS text[]), CAST(:states AS text[]), CAST(:events AS text[])) "
    "ON CONFLICT (device) DO UPDATE SET count = device_readings.count + EXCLUDED.count, "
    "first_at = least(device_readings.first_at, EXCLUDED.first_at), "
    "last_at = greatest(device_readings.last_at, EXCLUDED.last_at), "
    + ", ".join(
        f"{c} = CASE WHEN EXCLUDED.last_at >= device_readings.last_at THEN EXCLUDED.{c} ELSE device_readings.{c} END"
        for c in ("last_kind", "last_value", "last_unit", "last_state", "last_event")
    )
    + f" RETURNING {_READINGS_COLUMNS}"
)
_READINGS_READ: Final = text(f"SELECT {_READINGS_COLUMNS} FROM device_readings WHERE device = ANY(:devices)")
_EVIDENCE: Final = text(
    "SELECT first_event FROM alarm_state WHERE first_event = ANY(:uids) "
    "UNION SELECT clear_event FROM alarm_state WHERE clear_event = ANY(:uids)"
)


@dataclass
class ProjectionStats:
    """What one projection pass did."""

    projected: int = 0
    dead: int = 0
    alarm_changes: int = 0
    lag_ms: float | None = None
    changes: list[AlarmChange] = field(default_factory=list)


KNOWN_BY: Final = {"person": "ref", "face": "face", "card": "card"}
"""The `Person.known_by` prefix of each kind of identifier an unregistered person is known by."""


def opaque_person(kind: str, value: str) -> str:
    """Return the uid of an unregistered person known only by a face id, card or unknown reference."""
    return uids.unregistered_person(kind, value)


def _person_ref(ref: str) -> str | None:
    try:
        return ref if ref.startswith("person:") and uids.label_of(ref) == "Person" else uids.person(ref)
    except ValueError:
        return None


@dataclass
class _Prepared:
    """A batch read and built in its own open transaction, waiting to be written."""

    conn: Connection
    transaction: RootTransaction
    rows: list[ledger.LedgerRow]
    batch: _Batch


def _abandon(ahead: Future[_Prepared | None]) -> None:
    """Roll back a batch read ahead (its rows go back to the queue)."""
    try:
        prepared = ahead.result()
    except Exception:  # it failed on its own: nothing to roll back; the caller reports the first error
        log.debug("the batch read ahead failed too", exc_info=True)
        return
    if prepared is not None:
        prepared.transaction.rollback()
        prepared.conn.close()


@dataclass
class _Reading:
    """A device's telemetry in one batch: how many readings, and the latest."""

    count: int
    first: datetime
    latest: Event


@dataclass
class _Batch:
    """The graph writes and side tables of one batch, built before anything is written."""

    subjects: list[Node] = field(default_factory=list)
    """Unregistered people and vehicles first seen in the batch."""
    events: list[tuple[Node, list[Link]]] = field(default_factory=list)
    """Event nodes with their RECORDED_BY and CONCERNS links."""
    attachment: Attachment | None = None
    """`events` made into statements ahead, while the batch before is written."""
    passages: dict[tuple[str, str], tuple[int, datetime, datetime]] = field(default_factory=dict)
    readings: dict[str, _Reading] = field(default_factory=dict)
    telemetry: dict[str, tuple[str, Event, DeviceInfo]] = field(default_factory=dict)
    """Telemetry events by uid (with their ledger source and device): nodes only if :meth:`keep` asks."""
    alarm_items: list[tuple[Event, DeviceInfo | None]] = field(default_factory=list)
    rejects: list[deadletters.Rejected] = field(default_factory=list)

    def evidence(self, event_uids: Iterable[str]) -> list[tuple[Node, list[Link]]]:
        """Return Event nodes (with links) for these telemetry events after all: they open or clear an alarm."""
        out = []
        for event_uid in event_uids:
            found = self.telemetry.pop(event_uid, None)
            if found is not None:
                source, event, device = found
                out.append(_event_parts(source, event, device, [device.place] if device.place else []))
        return out


def _event_parts(source: str, event: Event, device: DeviceInfo | None, subjects: list[str]) -> tuple[Node, list[Link]]:
    """Return an event's node and its links: RECORDED_BY its device, CONCERNS its subjects."""
    event_uid = uids.event(event.id)
    value = event.value
    node = EventNode(
        uid=event_uid,
        source=f"ingest:{source}",
        kind=event.kind,
        occurred_at=event.ts,
        value=value,
        unit=event.unit if value is not None else None,
        state=event.state,
        description=event.text if isinstance(event, Report) else None,
    )
    links: list[Link] = [RecordedBy(start=event_uid, end=device.uid, source="ingest")] if device is not None else []
    links += [Concerns(start=event_uid, end=s, source="ingest") for s in subjects]
    return node, links


def _evidence(changes: Sequence[AlarmChange]) -> set[str]:
    """The events alarms that opened or cleared cite."""
    return {
        e for c in changes if c.change in ("opened", "cleared") for e in (c.alarm.first_event, c.alarm.clear_event) if e
    }


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
        telemetry_nodes: bool = False,
    ) -> None:
        self.engine, self.store, self.batch_size = engine, store, batch_size
        self.telemetry = frozenset() if telemetry_nodes else frozenset(k for k, spec in KINDS.items() if spec.telemetry)
        self.directory = directory or DeviceDirectory(store)
        self.alarms = alarms
        self._existing: set[str] = set()

    def project_pending(self, limit: int | None = None) -> ProjectionStats:
        """Project up to `limit` queued rows (one batch) in one transaction; return what was done."""
        prepared = self._prepare(limit or self.batch_size)
        return self._finish(prepared) if prepared is not None else ProjectionStats()

    def run(
        self,
        stop: threading.Event,
        wake: threading.Event,
        report: Callable[[ProjectionStats], None] | None = None,
        *,
        drain: bool = False,
    ) -> None:
        """Project until `stop` is set (after the batch being written), reading and building the next batch
        while the current one is written (pipelined: the graph server works while we parse).

        Batches are still written one at a time, in ledger order; `wake` cuts the wait when the
        queue is empty; `report` gets each batch's stats; `drain` returns once the queue is empty.
        An error propagates after the batch read ahead was rolled back, so a retry starts again
        from the oldest unprojected row; rows left unprojected at a stop wait in the queue.
        """
        with ThreadPoolExecutor(1, thread_name_prefix="projector-read") as reader:
            ahead: Future[_Prepared | None] | None = None
            try:
                while True:
                    current = ahead.result() if ahead is not None else self._prepare(self.batch_size)
                    ahead = None
                    if current is None:
                        if stop.is_set() or drain:
                            return
                        wake.wait(0.2)
                        wake.clear()
                        continue
                    if not stop.is_set():
                        ahead = reader.submit(self._prepare, self.batch_size)
                    stats = self._finish(current)
                    if report is not None:
                        report(stats)
                    if stop.is_set():
                        return  # the batch read ahead goes back to the queue (finally)
            finally:
                if ahead is not None:
                    _abandon(ahead)

    def _prepare(self, limit: int) -> _Prepared | None:
        """Open a transaction, lock up to `limit` queued rows and build their batch (None when none are queued)."""
        conn = self.engine.connect()
        transaction = conn.begin()
        try:
            rows = ledger.read_pending(conn, limit)
            if rows:
                batch = self._build(conn, rows)
                batch.attachment = self.store.prepare_attach(batch.events)
                return _Prepared(conn, transaction, rows, batch)
        except BaseException:
            transaction.rollback()
            conn.close()
            raise
        transaction.rollback()
        conn.close()
        return None

    def _finish(self, prepared: _Prepared) -> ProjectionStats:
        """Judge a prepared batch's alarms, write it to the graph, commit it; return what was done."""
        stats = ProjectionStats()
        conn, rows, batch = prepared.conn, prepared.rows, prepared.batch
        try:
            # the graph takes the batch's events while PostgreSQL judges its alarms and bumps its totals
            with ThreadPoolExecutor(1, thread_name_prefix="projector-graph") as graph:
                events = graph.submit(self._write_events, batch)
                try:
                    if self.alarms is not None:
                        stats.changes = self.alarms.evaluate(conn, batch.alarm_items)
                    totals = self._totals(conn, batch, bump=True)
                finally:
                    wait([events])
            events.result()
            self.store.attach(batch.evidence(_evidence(stats.changes)))
            self._write_totals(*totals)
            deadletters.record(conn, batch.rejects)
            if self.alarms is not None:
                self.alarms.mirror(stats.changes)
            ledger.done(conn, [r.seq for r in rows])
            prepared.transaction.commit()
        except BaseException:
            prepared.transaction.rollback()
            raise
        finally:
            conn.close()
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
                if batch.telemetry:
                    batch.events += batch.evidence(conn.execute(_EVIDENCE, {"uids": list(batch.telemetry)}).scalars())
                self._write_events(batch)
                self._write_totals(*self._totals(conn, batch, bump=False))
            after = rows[-1].seq
            total += len(rows) - len(batch.rejects)
            log.info("replayed", extra={"count": total, "seq": after})

    # --- building a batch -------------------------------------------------------------------

    def _build(self, conn: Connection, rows: Sequence[ledger.LedgerRow]) -> _Batch:
        batch = _Batch()
        parsed: list[tuple[ledger.LedgerRow, Event]] = []
        for row in rows:
            try:
                parsed.append((row, parse_event(row.payload, small=True)))
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
            batch.alarm_items.append((event, device))
            if device is not None and event.kind in self.telemetry:
                batch.telemetry[uids.event(event.id)] = (row.source, event, device)
                seen = batch.readings.get(device.uid)
                if seen is None:
                    batch.readings[device.uid] = _Reading(1, event.ts, event)
                else:
                    seen.count += 1
                    seen.first = min(seen.first, event.ts)
                    if event.ts >= seen.latest.ts:
                        seen.latest = event
                continue
            subjects = self._subjects(event, device, exists, new_subjects)
            batch.events.append(_event_parts(row.source, event, device, subjects))
            if device is not None and event.kind in PASSING_KINDS:
                for subject in subjects:
                    if uids.label_of(subject) in ("Person", "Vehicle"):
                        key = (subject, device.uid)
                        n, first, last = batch.passages.get(key, (0, event.ts, event.ts))
                        batch.passages[key] = (n + 1, min(first, event.ts), max(last, event.ts))
        batch.subjects = list(new_subjects.values())
        return batch

    def _exists(self, candidates: list[str]) -> set[str]:
        unknown = [c for c in dict.fromkeys(candidates) if c not in self._existing]
        if unknown:
            found = self.store.existing(unknown)
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
            kind, value = "person", ref
        elif isinstance(event, FaceCapture) and event.face_id:
            kind, value = "face", event.face_id
        elif isinstance(event, AccessOpen) and event.card:
            kind, value = "card", event.card
        else:
            return None
        opaque = opaque_person(kind, value)
        if opaque not in exists:
            new.setdefault(
                opaque,
                Person(
                    uid=opaque,
                    source=f"ingest:{event.kind}",
                    name=UNREGISTERED_NAME,
                    unregistered=True,
                    known_by=[f"{KNOWN_BY[kind]}:{value}"],  # so the profile finds their events in the ledger
                ),
            )
        return opaque

    # --- writing ------------------------------------------------------------------------------

    def _write_events(self, batch: _Batch) -> None:
        """Write a batch's new subjects, then its events with their links (a row each, `GraphStore.attach`)."""
        self.store.upsert(batch.subjects)
        self.store.attach(batch.attachment if batch.attachment is not None else batch.events)
        self._existing |= {n.uid for n in batch.subjects}

    def _totals(self, conn: Connection, batch: _Batch, *, bump: bool) -> tuple[list[Link], list[Row[Any]]]:
        """Return the totals of the batch's passes (as PASSED_THROUGH links) and of its devices' readings.

        They are bumped in PostgreSQL first if `bump` (else read), so the graph gets exact totals
        however often a batch is retried.
        """
        return self._passages(conn, batch.passages, bump=bump), self._readings(conn, batch.readings, bump=bump)

    def _write_totals(self, passed: list[Link], readings: list[Row[Any]]) -> None:
        """Write pass totals (PASSED_THROUGH) and reading roll-ups (onto the Devices) to the graph."""
        self.store.link(passed)
        self.store.set_properties(
            (
                r.device,
                {
                    "reading_count": r.count,
                    "last_reading_at": r.last_at,
                    "last_reading_kind": r.last_kind,
                    "last_reading_value": r.last_value,
                    "last_reading_unit": r.last_unit,
                    "last_reading_state": r.last_state,
                },
            )
            for r in readings
        )

    def _passages(
        self, conn: Connection, passages: dict[tuple[str, str], tuple[int, datetime, datetime]], *, bump: bool
    ) -> list[Link]:
        """Return the PASSED_THROUGH roll-ups of a batch's passes, with totals from PostgreSQL (bumped if `bump`)."""
        if not passages:
            return []
        keys = list(passages)
        if bump:
            values = [passages[k] for k in keys]
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
        return [
            PassedThrough(start=r[0], end=r[1], source="ingest", count=r[2], first_seen=r[3], last_seen=r[4])
            for r in rows
        ]

    def _readings(self, conn: Connection, readings: dict[str, _Reading], *, bump: bool) -> list[Row[Any]]:
        """Add a batch's telemetry to the devices' totals (if `bump`); return the totals."""
        if not readings:
            return []
        devices = list(readings)
        if bump:
            latest = [readings[d].latest for d in devices]
            rows = conn.execute(
                _READINGS,
                {
                    "devices": devices,
                    "counts": [readings[d].count for d in devices],
                    "firsts": [readings[d].first for d in devices],
                    "lasts": [e.ts for e in latest],
                    "kinds": [e.kind for e in latest],
                    "values": [e.value for e in latest],
                    "units": [e.unit if e.value is not None else None for e in latest],
                    "states": [e.state for e in latest],
                    "events": [e.id for e in latest],
                },
            ).all()
        else:
            rows = conn.execute(_READINGS_READ, {"devices": devices}).all()
        return list(rows)


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
