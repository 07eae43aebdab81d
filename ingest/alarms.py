"""The alarm engine: rules turn events into alarms that are deduplicated, cleared, graded, linked and handled.

A :class:`Rule` per event kind says when a reading is abnormal (a threshold, a state), when it is
normal again (below the threshold by a margin: hysteresis), after how many normal readings the
alarm clears by itself, how severe it is (1 = most severe), and what it sets off (`unlock`: a fire
alarm unlocks its building's access doors over MQTT; `camera`: a perimeter alarm gets the nearest
camera). One condition (rule + device) has at most one live alarm: repeats bump `count` and
`last_seen` (a unique partial index on `alarm_state` holds this even against bugs).

Alarm state lives in PostgreSQL (`alarm_state`, the system of record for alarms, as the ledger is
for events) and is mirrored to graph Alarm nodes (RAISED_ON the place or device, EVIDENCED_BY the
first and the clearing event); :meth:`AlarmEngine.restore` mirrors it again after a replay. The
disposal workflow is :data:`TRANSITIONS` (open → acknowledged → dispatched → resolved → closed; an
alarm that cleared by itself may be closed). An alarm that opens is assigned to the staff
RESPONSIBLE_FOR the grid its device is in (grid workers by default; the first is its `handler`) and
pushed to each of them on MQTT (:func:`handler_topic`). Every change is published on an :class:`AlarmBus`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from graph import GraphStore, TwinhoodError, UnknownEntity
from graph import uid as uids
from graph.ontology import Alarm, EvidencedBy, Link, RaisedOn, ShownBy
from ingest.devices import DeviceDirectory, DeviceInfo
from ingest.events import KINDS, Event, WaterTank
from spatial.queries import nearest_devices

log = logging.getLogger(__name__)

Status = Literal["open", "acknowledged", "dispatched", "resolved", "closed", "cleared"]
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "open": frozenset({"acknowledged"}),
    "acknowledged": frozenset({"dispatched", "resolved"}),
    "dispatched": frozenset({"resolved"}),
    "resolved": frozenset({"closed"}),
    "cleared": frozenset({"closed"}),
    "closed": frozenset(),
}
"""The disposal workflow: which status may follow which (`cleared` is set by the engine only)."""
_STAMP = {
    "acknowledged": "acknowledged_at",
    "dispatched": "dispatched_at",
    "resolved": "resolved_at",
    "closed": "closed_at",
}
FIRE_KINDS = frozenset({"smoke", "heat", "gas"})


class IllegalTransition(TwinhoodError):
    """An alarm cannot move from its status to the one asked for."""

    def __init__(self, alarm_uid: str, current: str, to: str) -> None:
        self.alarm_uid, self.current, self.to = alarm_uid, current, to
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "nothing (it is final)"
        super().__init__(f"alarm {alarm_uid} is {current}; it cannot become {to} (allowed: {allowed})")


# --- rules ------------------------------------------------------------------------------------


Verdict = bool | None
"""True: abnormal; False: normal; None: says nothing (a value inside the hysteresis band)."""


@dataclass(frozen=True)
class Rule:
    """When events of `kind` raise an alarm, when it clears, how severe it is and what it sets off."""

    name: str
    kind: str
    verdict: Callable[[Event], Verdict]
    description: str
    clear_after: int = 3
    grade: Callable[[Event], int | None] = lambda _event: None
    linkage: Literal["unlock", "camera"] | None = None

    def severity(self, event: Event) -> int:
        return self.grade(event) or KINDS[self.kind].severity


def _by_state(event: Event) -> Verdict:
    return {"alarm": True, "normal": False}.get(event.state or "")


def _above(high: float, normal: float) -> Callable[[Event], Verdict]:
    def verdict(event: Event) -> Verdict:
        value = event.value
        if value is None:
            return None
        return True if value >= high else False if value < normal else None

    return verdict


def _below(low: float, normal: float) -> Callable[[Event], Verdict]:
    def verdict(event: Event) -> Verdict:
        value = event.value
        if value is None:
            return None
        return True if value < low else False if value >= normal else None

    return verdict


def _water_quality(event: Event) -> Verdict:
    """Drinking water limits (GB 5749-2022): turbidity ≤ 1 NTU, 0.05 ≤ chlorine ≤ 2 mg/L, 6.5 ≤ pH ≤ 8.5."""
    if not isinstance(event, WaterTank):
        return None
    checks = [
        None if event.turbidity_ntu is None else event.turbidity_ntu > 1,
        None if event.chlorine_mg_l is None else not 0.05 <= event.chlorine_mg_l <= 2,
        None if event.ph is None else not 6.5 <= event.ph <= 8.5,
        None if event.colour_pt_co is None else event.colour_pt_co > 15,
    ]
    known = [c for c in checks if c is not None]
    return any(known) if known else None


def _always(_event: Event) -> Verdict:
    return True


def _state_rule(kind: str, description: str, **options: Any) -> Rule:
    return Rule(f"{kind}@1", kind, _by_state, description, **options)


RULES: dict[str, tuple[Rule, ...]] = {}
for _rule in (
    _state_rule("smoke", "smoke detected", linkage="unlock"),
    Rule("heat@1", "heat", _above(57, 50), "temperature at or above 57 °C", linkage="unlock"),
    Rule(
        "gas@1",
        "gas",
        _above(20, 10),
        "combustible gas at or above 20 %LEL",
        grade=lambda e: 1 if (e.value or 0) >= 50 else 2,
        linkage="unlock",
    ),
    _state_rule("door_forced", "door forced open"),
    _state_rule("door_left_open", "door left open"),
    _state_rule("perimeter_intrusion", "perimeter intrusion", linkage="camera"),
    _state_rule("fire_lane_blocked", "fire lane blocked"),
    _state_rule("fire_door_open", "fire door open", clear_after=1),
    Rule("hydrant_pressure@1", "hydrant_pressure", _below(0.14, 0.2), "hydrant pressure below 0.14 MPa"),
    Rule("ebike_in_building@1", "ebike_in_building", _always, "e-bike entering a building or lift", clear_after=0),
    _state_rule("manhole", "manhole cover tilted, open or faulty"),
    _state_rule("street_light_fault", "street light fault", clear_after=1),
    Rule("water_tank_level@1", "water_tank", _below(0.5, 0.8), "water tank level below 0.5 m"),
    Rule("water_quality@1", "water_tank", _water_quality, "water quality outside drinking-water limits"),
    _state_rule(
        "elevator_fault", "lift fault", grade=lambda e: 1 if getattr(e, "trapped", False) else None, clear_after=1
    ),
    Rule("heating_pressure@1", "heating", _below(0.2, 0.25), "heating supply pressure below 0.2 MPa"),
    Rule("pm25@1", "environment", _above(115, 75), "PM2.5 at or above 115 µg/m³"),
    Rule("falling_object@1", "falling_object", _always, "object falling from height", clear_after=0),
):
    RULES[_rule.kind] = (*RULES.get(_rule.kind, ()), _rule)


# --- records and the pure state machine ------------------------------------------------------


@dataclass(frozen=True)
class AlarmRecord:
    """One alarm as `alarm_state` holds it."""

    uid: str
    rule: str
    kind: str
    condition: str
    entity: str
    device: str | None
    severity: int
    status: str
    description: str | None
    count: int
    normal_streak: int
    opened_at: datetime
    last_seen: datetime
    first_event: str
    last_event: str
    acknowledged_at: datetime | None = None
    dispatched_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    cleared_at: datetime | None = None
    handler: str | None = None
    clear_event: str | None = None
    cameras: tuple[str, ...] = ()
    history: tuple[dict[str, Any], ...] = ()
    building: str | None = None
    grid: str | None = None
    assignees: tuple[str, ...] = ()
    unlocked: tuple[str, ...] = ()
    """The access doors its linkage commanded to unlock (the broker took each command)."""
    unlocked_at: datetime | None = None

    @property
    def live(self) -> bool:
        """True while the condition lasts and nobody closed it: repeats join this alarm."""
        return self.cleared_at is None and self.status != "closed"

    def node(self) -> Alarm:
        """Return the graph Alarm node mirroring this record."""
        return Alarm(
            uid=self.uid,
            source="ingest:alarms",
            kind=self.kind,
            rule=self.rule,
            description=self.description,
            severity=self.severity,
            status=self.status,  # type: ignore[arg-type,unused-ignore]
            opened_at=self.opened_at,
            last_seen=self.last_seen,
            count=self.count,
            acknowledged_at=self.acknowledged_at,
            dispatched_at=self.dispatched_at,
            resolved_at=self.resolved_at,
            closed_at=self.closed_at,
            cleared_at=self.cleared_at,
            handler=self.handler,
        )

    def notice(self) -> dict[str, Any]:
        """Return what a handler is told of this alarm (the JSON body of the push)."""
        return {
            "alarm": self.uid,
            "kind": self.kind,
            "rule": self.rule,
            "severity": self.severity,
            "status": self.status,
            "description": self.description,
            "entity": self.entity,
            "device": self.device,
            "building": self.building,
            "grid": self.grid,
            "opened_at": self.opened_at.isoformat(),
            "count": self.count,
            "handler": self.handler,
            "assignees": list(self.assignees),
        }


Change = Literal["opened", "repeated", "cleared", "transition"]


@dataclass(frozen=True)
class AlarmChange:
    """What happened to an alarm (published on the bus)."""

    change: Change
    alarm: AlarmRecord


def handler_topic(root: str, estate: str, handler: str) -> str:
    """Return the MQTT topic alarms are pushed to for one handler: `{root}/{estate}/alarms/{handler uid}`."""
    return f"{root}/{estate}/alarms/{handler}"


def alarm_uid(rule: Rule, condition: str, first_event: str) -> str:
    """Return the uid of the alarm a condition's first abnormal event opens (deterministic: replays agree)."""
    digest = hashlib.sha256(f"{rule.name}|{condition}|{first_event}".encode()).hexdigest()[:20]
    return uids.alarm(f"{rule.kind}-{digest}")


def step(
    live: AlarmRecord | None, rule: Rule, event: Event, verdict: Verdict, *, condition: str, entity: str
) -> tuple[AlarmRecord | None, Change | None]:
    """Apply one event's verdict to a condition's live alarm (or none); return the alarm after it and what changed."""
    if live is not None and not live.live:
        live = None
    event_uid = uids.event(event.id)
    if verdict is True:
        if live is not None:
            return (
                replace(
                    live,
                    count=live.count + 1,
                    last_seen=max(live.last_seen, event.ts),
                    last_event=event_uid,
                    normal_streak=0,
                    severity=min(live.severity, rule.severity(event)),
                ),
                "repeated",
            )
        opened = AlarmRecord(
            uid=alarm_uid(rule, condition, event.id),
            rule=rule.name,
            kind=rule.kind,
            condition=condition,
            entity=entity,
            device=uids.device(event.device),
            severity=rule.severity(event),
            status="open",
            description=rule.description,
            count=1,
            normal_streak=0,
            opened_at=event.ts,
            last_seen=event.ts,
            first_event=event_uid,
            last_event=event_uid,
        )
        return opened, "opened"
    if verdict is False and live is not None and rule.clear_after > 0:
        streak = live.normal_streak + 1
        if streak < rule.clear_after:
            return replace(live, normal_streak=streak), None
        status = "cleared" if live.status == "open" else live.status
        history = (*live.history, {"to": "cleared", "at": event.ts.isoformat(), "handler": None})
        cleared = replace(
            live, normal_streak=streak, cleared_at=event.ts, clear_event=event_uid, status=status, history=history
        )
        return cleared, "cleared"
    return live, None


def move(record: AlarmRecord, to: str, handler: str | None, at: datetime) -> AlarmRecord:
    """Return `record` moved to status `to` by `handler` at `at`, or raise IllegalTransition."""
    if to not in TRANSITIONS.get(record.status, frozenset()):
        raise IllegalTransition(record.uid, record.status, to)
    history = (*record.history, {"to": to, "at": at.isoformat(), "handler": handler})
    return replace(
        record,
        status=to,
        handler=handler or record.handler,
        history=history,
        acknowledged_at=at if to == "acknowledged" else record.acknowledged_at,
        dispatched_at=at if to == "dispatched" else record.dispatched_at,
        resolved_at=at if to == "resolved" else record.resolved_at,
        closed_at=at if to == "closed" else record.closed_at,
    )


# --- the bus ------------------------------------------------------------------------------------


def _concerns(change: AlarmChange, handler: str | None) -> bool:
    """True when `handler` is None or the alarm is assigned to or handled by `handler`."""
    return handler is None or handler == change.alarm.handler or handler in change.alarm.assignees


class AlarmSubscription:
    """An async iterator of alarm changes (of one handler's alarms, if given), registered until :meth:`close`."""

    def __init__(self, bus: AlarmBus, handler: str | None = None) -> None:
        self._bus = bus
        self._handler = handler
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[AlarmChange] = asyncio.Queue()
        bus._add(self._deliver)

    def _deliver(self, change: AlarmChange) -> None:
        if _concerns(change, self._handler):
            self._loop.call_soon_threadsafe(self._queue.put_nowait, change)

    def __aiter__(self) -> AlarmSubscription:
        return self

    async def __anext__(self) -> AlarmChange:
        return await self._queue.get()

    def close(self) -> None:
        self._bus._remove(self._deliver)


class AlarmBus:
    """Push alarm changes to subscribers in this process: async iterators or plain queues (thread-safe)."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[AlarmChange], None]] = []
        self._lock = threading.Lock()

    def _add(self, deliver: Callable[[AlarmChange], None]) -> None:
        with self._lock:
            self._subscribers.append(deliver)

    def _remove(self, deliver: Callable[[AlarmChange], None]) -> None:
        with self._lock:
            if deliver in self._subscribers:
                self._subscribers.remove(deliver)

    def subscribe(self, handler: str | None = None) -> AlarmSubscription:
        """Return an async iterator of changes from now on (call inside a running event loop).

        With `handler` (a person uid), only changes of alarms assigned to or handled by that person.
        """
        return AlarmSubscription(self, handler)

    def subscribe_queue(self, handler: str | None = None) -> queue.SimpleQueue[AlarmChange]:
        """Return a queue that receives every change from now on (of `handler`'s alarms, if given)."""
        q: queue.SimpleQueue[AlarmChange] = queue.SimpleQueue()
        self._add(q.put if handler is None else lambda c: q.put(c) if _concerns(c, handler) else None)
        return q

    def publish(self, changes: Iterable[AlarmChange]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for change in changes:
            for deliver in subscribers:
                deliver(change)


# --- the engine ---------------------------------------------------------------------------------

_COLUMNS = (
    "uid, rule, kind, condition, entity, device, severity, status, description, count, normal_streak, opened_at, "
    "last_seen, first_event, last_event, acknowledged_at, dispatched_at, resolved_at, closed_at, cleared_at, "
    "handler, clear_event, cameras, history, building, grid, assignees, unlocked, unlocked_at"
)
_UPSERT: Final = text(
    f"INSERT INTO alarm_state ({_COLUMNS}) VALUES (:uid, :rule, :kind, :condition, :entity, :device, :severity, "
    ":status, :description, :count, :normal_streak, :opened_at, :last_seen, :first_event, :last_event, "
    ":acknowledged_at, :dispatched_at, :resolved_at, :closed_at, :cleared_at, :handler, :clear_event, :cameras, "
    "CAST(:history AS jsonb), :building, :grid, :assignees, :unlocked, :unlocked_at) "
    "ON CONFLICT (uid) DO UPDATE SET severity = EXCLUDED.severity, status = EXCLUDED.status, "
    "count = EXCLUDED.count, normal_streak = EXCLUDED.normal_streak, last_seen = EXCLUDED.last_seen, "
    "last_event = EXCLUDED.last_event, acknowledged_at = EXCLUDED.acknowledged_at, "
    "dispatched_at = EXCLUDED.dispatched_at, resolved_at = EXCLUDED.resolved_at, closed_at = EXCLUDED.closed_at, "
    "cleared_at = EXCLUDED.cleared_at, handler = EXCLUDED.handler, clear_event = EXCLUDED.clear_event, "
    "cameras = EXCLUDED.cameras, history = EXCLUDED.history, building = EXCLUDED.building, grid = EXCLUDED.grid, "
    "assignees = EXCLUDED.assignees"  # not `unlocked`: only the linkage sets it (_UNLOCKED)
)
_UNLOCKED: Final = text("UPDATE alarm_state SET unlocked = :doors, unlocked_at = :at WHERE uid = :uid")


_FIND: Final = (
    f"SELECT {_COLUMNS} FROM alarm_state WHERE (NOT :live OR (cleared_at IS NULL AND status <> 'closed')) "
    "AND (CAST(:kinds AS text[]) IS NULL OR kind = ANY(:kinds)) "
    "AND (CAST(:statuses AS text[]) IS NULL OR status = ANY(:statuses)) "
    "AND (CAST(:sev AS int) IS NULL OR severity <= :sev) "
    "AND (CAST(:entity AS text) IS NULL OR entity = :entity OR device = :entity) "
    "AND (CAST(:since AS timestamptz) IS NULL OR opened_at >= :since) "
    "AND (CAST(:until AS timestamptz) IS NULL OR opened_at < :until) "
    "ORDER BY opened_at DESC, uid LIMIT :limit"
)


def find_alarms(
    engine: Engine,
    *,
    live_only: bool = False,
    kinds: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    max_severity: int | None = None,
    entity: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[AlarmRecord]:
    """Return alarms matching every filter given, newest first: live ones only (not cleared nor closed),
    of these kinds or statuses, this severe or worse (1 is the worst), on an entity or from a
    device, opened in [since, until)."""
    params = {
        "live": live_only,
        "kinds": list(kinds) if kinds else None,
        "statuses": list(statuses) if statuses else None,
        "sev": max_severity,
        "entity": entity,
        "since": since,
        "until": until,
        "limit": limit,
    }
    with engine.connect() as conn:
        return [_record(r) for r in conn.execute(text(_FIND), params).all()]


def _record(row: Any) -> AlarmRecord:
    data = dict(row._mapping)
    data["cameras"] = tuple(data["cameras"] or ())
    data["history"] = tuple(data["history"] or ())
    data["assignees"] = tuple(data["assignees"] or ())
    data["unlocked"] = tuple(data["unlocked"] or ())
    return AlarmRecord(**data)


def _params(record: AlarmRecord) -> dict[str, Any]:
    data = {f: getattr(record, f) for f in record.__dataclass_fields__}
    data["cameras"] = list(record.cameras)
    data["assignees"] = list(record.assignees)
    data["unlocked"] = list(record.unlocked)
    data["history"] = json.dumps(list(record.history))
    return data


@dataclass
class AlarmEngine:
    """Evaluate rules on projected events; keep alarm state; mirror, publish and link.

    `publish(topic, payload)` sends linkage commands and handler pushes at QoS 1 (the worker passes
    its MQTT client's); `topic_root` is their first topic level: `{topic_root}/{estate}/commands/{device}`
    and `{topic_root}/{estate}/alarms/{handler}`. `handler_roles` are the RESPONSIBLE_FOR roles an
    opening alarm is assigned to, in order of preference for its `handler`.
    """

    engine: Engine
    store: GraphStore
    directory: DeviceDirectory
    bus: AlarmBus = field(default_factory=AlarmBus)
    publish: Callable[[str, bytes], bool | None] | None = None
    topic_root: str = "twinhood"
    default_estate: str = "default"
    handler_roles: tuple[str, ...] = ("grid_worker",)
    _told_unpublished: bool = field(default=False, init=False, repr=False)

    def observe(self, conn: Connection, items: Sequence[tuple[Event, DeviceInfo | None]]) -> list[AlarmChange]:
        """Apply the rules to events (oldest first) in the caller's transaction and mirror the changed alarms.

        The events the alarms cite must be in the graph already. Call :meth:`announce` with the
        result after the transaction committed.
        """
        changes = self.evaluate(conn, items)
        self.mirror(changes)
        return changes

    def evaluate(self, conn: Connection, items: Sequence[tuple[Event, DeviceInfo | None]]) -> list[AlarmChange]:
        """Apply the rules to events (oldest first) in the caller's transaction; return the changes.

        Writes `alarm_state` only: call :meth:`mirror` once the events the alarms cite (their
        `first_event` and `clear_event`) are in the graph, and :meth:`announce` after the commit.
        """
        work = [
            (event, device, rule) for event, device in items for rule in RULES.get(event.kind, ()) if device is not None
        ]
        if not work:
            return []
        keys = sorted({(rule.name, device.uid) for _, device, rule in work})
        rows = conn.execute(
            text(
                f"SELECT {_COLUMNS} FROM alarm_state WHERE cleared_at IS NULL AND status <> 'closed' "
                "AND (rule, condition) IN (SELECT * FROM unnest(CAST(:rules AS text[]), CAST(:conds AS text[]))) "
                "ORDER BY uid FOR UPDATE"
            ),
            {"rules": [k[0] for k in keys], "conds": [k[1] for k in keys]},
        ).all()
        live: dict[tuple[str, str], AlarmRecord] = {(r.rule, r.condition): _record(r) for r in rows}
        touched: dict[str, AlarmRecord] = {}
        changes: dict[str, Change] = {}
        for event, device, rule in sorted(work, key=lambda w: w[0].ts):
            key = (rule.name, device.uid)
            after, change = step(
                live.get(key), rule, event, rule.verdict(event), condition=device.uid, entity=device.place or device.uid
            )
            if after is None:
                continue
            if change == "opened":
                after = self._assign(after, device)
                if rule.linkage == "camera":
                    after = replace(after, cameras=self._cameras(conn, device))
            live[key] = after
            touched[after.uid] = after
            if change is not None and changes.get(after.uid) != "opened":
                changes[after.uid] = change
        for record in touched.values():
            conn.execute(_UPSERT, _params(record))
        return [AlarmChange(changes[u], touched[u]) for u in changes]

    def mirror(self, changes: Sequence[AlarmChange]) -> None:
        """Write changed alarms to the graph: their Alarm nodes, and their links when they open or clear."""
        self._mirror([c.alarm for c in changes], [c.alarm for c in changes if c.change in ("opened", "cleared")])

    def restore(self, since: datetime) -> int:
        """Mirror into the graph every alarm live or active at or after `since`; return how many.

        For a graph rebuilt by a replay: `alarm_state` holds what the ledger cannot (who acknowledged,
        dispatched, closed), so the alarms come back as they were, with their uids, counts and
        clear state. Nothing is announced: subscribers, linkage and handlers heard of them already.
        Evidence links are made only to events the graph holds (those replayed).
        """
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT {_COLUMNS} FROM alarm_state WHERE (cleared_at IS NULL AND status <> 'closed') "
                    "OR greatest(opened_at, last_seen, acknowledged_at, dispatched_at, resolved_at, closed_at, "
                    "cleared_at) >= :since ORDER BY uid"
                ),
                {"since": since},
            ).all()
        records = [_record(r) for r in rows]
        for start in range(0, len(records), 1000):
            chunk = records[start : start + 1000]
            self._mirror(chunk, chunk, only_present_evidence=True)
        log.info("restored alarms", extra={"count": len(records), "since": since.isoformat()})
        return len(records)

    def announce(self, changes: Sequence[AlarmChange]) -> None:
        """After commit: send linkage commands for newly opened alarms (recording the doors unlocked), push
        them to their handlers, and publish every change to subscribers."""
        if self.publish is None and not self._told_unpublished and any(c.change == "opened" for c in changes):
            # said once, not for every alarm (the demo and `detect simulate` project a month without one)
            log.warning("no publisher: opened alarms are neither pushed to their handlers nor linked to doors")
            self._told_unpublished = True
        announced = []
        for change in changes:
            log.info(
                "alarm",
                extra={"alarm": change.alarm.uid, "change": change.change, "count": change.alarm.count},
            )
            if change.change == "opened":
                if change.alarm.kind in FIRE_KINDS:
                    change = replace(change, alarm=self._unlock(change.alarm))
                self._push(change.alarm)
            announced.append(change)
        if announced:
            self.bus.publish(announced)

    def transition(self, alarm_uid: str, to: str, handler: str | None, at: datetime | None = None) -> AlarmRecord:
        """Move an alarm along the disposal workflow, or raise IllegalTransition naming what is allowed."""
        at = at or datetime.now(UTC)
        with self.engine.begin() as conn:
            row = conn.execute(
                text(f"SELECT {_COLUMNS} FROM alarm_state WHERE uid = :uid FOR UPDATE"), {"uid": alarm_uid}
            ).first()
            if row is None:
                raise UnknownEntity(alarm_uid)
            record = move(_record(row), to, handler, at)
            conn.execute(_UPSERT, _params(record))
            self._mirror([record], [])
        self.announce([AlarmChange("transition", record)])
        return record

    def get(self, alarm_uid: str) -> AlarmRecord:
        """Return one alarm's state."""
        with self.engine.connect() as conn:
            row = conn.execute(text(f"SELECT {_COLUMNS} FROM alarm_state WHERE uid = :uid"), {"uid": alarm_uid}).first()
        if row is None:
            raise UnknownEntity(alarm_uid)
        return _record(row)

    def alarms(self, *, live_only: bool = False, kind: str | None = None, limit: int = 100) -> list[AlarmRecord]:
        """Return alarms, newest first (only live ones, or of one kind, if asked)."""
        return find_alarms(self.engine, live_only=live_only, kinds=[kind] if kind else None, limit=limit)

    def _mirror(
        self, records: Sequence[AlarmRecord], linked: Sequence[AlarmRecord], *, only_present_evidence: bool = False
    ) -> None:
        """Upsert the Alarm nodes of `records`; write the links of `linked` (RAISED_ON, EVIDENCED_BY, SHOWN_BY)."""
        if records:
            self.store.upsert(r.node() for r in records)
        evidence = [(r.uid, e) for r in linked for e in (r.first_event, r.clear_event) if e]
        if only_present_evidence and evidence:
            present = self.store.existing(e for _, e in evidence)
            evidence = [(a, e) for a, e in evidence if e in present]
        links: list[Link] = [EvidencedBy(start=a, end=e, source="ingest:alarms") for a, e in evidence]
        for r in linked:
            links.append(RaisedOn(start=r.uid, end=r.entity, source="ingest:alarms"))
            if r.device and r.device != r.entity:
                links.append(RaisedOn(start=r.uid, end=r.device, source="ingest:alarms"))
            links += [ShownBy(start=r.uid, end=camera, source="ingest:alarms") for camera in r.cameras]
        if links:
            self.store.link(links)

    def _assign(self, alarm: AlarmRecord, device: DeviceInfo) -> AlarmRecord:
        """Return an opening alarm with its building, grid, assignees and handler (the first assignee)."""
        grid = self.directory.grid(device)
        assignees = tuple(self.directory.staff(grid, self.handler_roles)) if grid else ()
        return replace(
            alarm,
            building=device.building,
            grid=grid,
            assignees=assignees,
            handler=assignees[0] if assignees else alarm.handler,
        )

    def _push(self, alarm: AlarmRecord) -> None:
        """Push an opened alarm to each of its assignees on their MQTT topic."""
        if not alarm.assignees:
            log.warning("no one is responsible for this alarm's grid", extra={"alarm": alarm.uid, "grid": alarm.grid})
            return
        if self.publish is None:
            log.debug("no publisher to push the alarm to its handlers", extra={"alarm": alarm.uid})
            return
        info = next(iter(self.directory.resolve([_code(alarm.device)]).values()), None) if alarm.device else None
        estate = (info.estate_code if info else None) or self.default_estate
        body = json.dumps(alarm.notice(), ensure_ascii=False).encode()
        for person in alarm.assignees:
            topic = handler_topic(self.topic_root, estate, person)
            self.publish(topic, body)
            log.info("alarm pushed to handler", extra={"alarm": alarm.uid, "handler": person, "topic": topic})

    def _cameras(self, conn: Connection, device: DeviceInfo) -> tuple[str, ...]:
        if device.lon is None or device.lat is None:
            return ()
        for category in ("camera", "face_camera"):
            hits = nearest_devices(conn, device.lon, device.lat, category=category, k=1)
            if hits:
                return (hits[0].uid,)
        return ()

    def _unlock(self, alarm: AlarmRecord) -> AlarmRecord:
        """Command every access door of the alarm's building to unlock (6.2.1.5 e); return the alarm with
        the doors whose command the broker took, as recorded in `alarm_state`."""
        if self.publish is None or alarm.device is None:
            log.debug("no publisher or no device for linkage", extra={"alarm": alarm.uid})
            return alarm
        info = next(
            (d for d in self.directory.resolve([_code(alarm.device)]).values()),
            None,
        )
        if info is None or info.building is None:
            log.warning("fire alarm outside a building: nothing to unlock", extra={"alarm": alarm.uid})
            return alarm
        doors = []
        for door in self.directory.access_doors(info.building):
            topic = f"{self.topic_root}/{door.estate_code or self.default_estate}/commands/{door.code}"
            body = {"command": "unlock", "reason": alarm.uid, "building": info.building, "kind": alarm.kind}
            if self.publish(topic, json.dumps(body).encode()) is False:
                log.error("linkage: unlock not sent", extra={"alarm": alarm.uid, "door": door.uid, "topic": topic})
                continue
            doors.append(door.uid)
            log.info("linkage: unlock", extra={"alarm": alarm.uid, "door": door.uid, "topic": topic})
        unlocked = replace(alarm, unlocked=tuple(doors), unlocked_at=datetime.now(UTC))
        try:
            with self.engine.begin() as conn:
                conn.execute(_UNLOCKED, {"doors": doors, "at": unlocked.unlocked_at, "uid": alarm.uid})
        except SQLAlchemyError:  # the doors were commanded; only the record of it is missing
            log.exception("linkage: the unlocked doors were not recorded", extra={"alarm": alarm.uid})
            return alarm
        return unlocked


def _code(device_uid: str) -> str:
    return device_uid.partition(":")[2]
