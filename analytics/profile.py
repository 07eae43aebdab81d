"""The holistic profile (全息档案) of a person, vehicle or house: everything the platform knows, in one call.

:func:`build_profile` gathers, for one uid and one :class:`graph.masking.Viewer`:

- **attributes**, masked for the viewer (:mod:`graph.masking`), and which fields were masked;
- **relationships**: typed neighbours with the relationship's properties (ownership, household,
  work, devices, passes, inferred ``ASSOCIATED_WITH`` edges with their evidence, …);
- **residence history**: a house's residents, oldest first, or a person's stays;
- **timeline**: ledger events that name the subject (``person``, ``plate``, ``house``) or that a
  device installed in the house recorded, newest first, paged by an opaque cursor that stays
  valid while new events arrive;
- **trajectory**: the subject's passes (face, plate, access) at devices with a place on the map,
  in time order, the newest ``trajectory_limit`` of them;
- **BIM location**: the house (a person's current home) up to its storey and building, with the
  IFC GlobalIds and the building's scene URL when it has a model;
- **open alarms** raised on the subject (and on a person's current home) and **open risk flags**
  with their explanations.

Reads are batched and overlapped: the node, its relationships, alarms and flags are a handful of
graph queries, timeline and trajectory one SQL statement each (index range reads, see migration
0005), run in two rounds of concurrent reads.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Engine, text

from graph import GraphStore, Node, Person, Relationship
from graph import uid as uids
from graph.errors import ValidationError
from graph.masking import Viewer, mask_payload, mask_properties, masked_fields

PROFILED: Final = ("Person", "Vehicle", "House")
PASSING_KINDS: Final = ("face_capture", "plate_read", "access_open")
STRUCTURAL_RELATIONS: Final = (
    "LIVES_IN",
    "OWNS",
    "MEMBER_OF",
    "WORKS_AT",
    "LEGAL_REPRESENTATIVE_OF",
    "RESPONSIBLE_FOR",
    "WATCHES",
    "LOCATED_IN",
    "INSTALLED_IN",
    "REGISTERED_AT",
    "IN_GRID",
    "ADJACENT_TO",
    "COVERS",
)
ACTIVITY_RELATIONS: Final = ("PASSED_THROUGH", "ASSOCIATED_WITH")
"""Relationships that grow with activity; a profile shows the `relationships_limit` with the largest count."""
PROFILE_RELATIONS: Final = STRUCTURAL_RELATIONS + ACTIVITY_RELATIONS
"""What a profile shows as relationships: not the event plumbing (CONCERNS, RECORDED_BY), which
the timeline covers, nor RAISED_ON and FLAGS, which the alarm and risk sections cover."""
MAX_EVENTS_LIMIT: Final = 500


class Related(BaseModel):
    """A neighbour and the relationship to it."""

    type: str
    direction: Literal["out", "in"]
    uid: str
    label: str
    caption: str
    properties: dict[str, Any]


class Stay(BaseModel):
    """A stay of a person in a house (7.1.1.4 d)."""

    person: str
    house: str
    name: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    registered: bool | None = None
    role: str | None = None


class TimelineEvent(BaseModel):
    """One ledger event, its payload masked for the viewer."""

    id: str
    kind: str
    device: str
    ts: datetime
    payload: dict[str, Any]


class Timeline(BaseModel):
    """A page of events, newest first; pass ``next_cursor`` as ``events_after`` for the next page."""

    events: list[TimelineEvent]
    next_cursor: str | None = None


class TrajectoryPoint(BaseModel):
    """Where the subject passed a device, and when."""

    at: datetime
    lon: float
    lat: float
    device: str
    kind: str


class PlaceRef(BaseModel):
    """A place in the building model: uid, label, caption and its IFC GlobalId if it came from IFC."""

    uid: str
    label: str
    caption: str
    ifc_guid: str | None = None


class BimLocation(BaseModel):
    """A house's place in its building: the chain of containers up to the building, and the scene."""

    house: PlaceRef
    storey: PlaceRef | None = None
    unit: PlaceRef | None = None
    building: PlaceRef | None = None
    scene_url: str | None = Field(default=None, description="the building's glTF scene, when it has an IFC model")


class AlarmItem(BaseModel):
    """An open alarm on the subject or its home."""

    on: str
    uid: str
    kind: str
    severity: int
    status: str
    opened_at: datetime
    last_seen: datetime | None = None
    count: int
    description: str | None = None
    rule: str | None = None


class RiskItem(BaseModel):
    """An open risk flag, with why it was raised and what clears it."""

    on: str
    uid: str
    detector: str
    version: str
    score: float
    explanation: str
    clears_when: str
    inputs: Any
    thresholds: Any
    raised_at: datetime


class Profile(BaseModel):
    """The holistic profile of one person, vehicle or house, as one viewer may see it."""

    uid: str
    label: str
    caption: str
    viewer: str
    attributes: dict[str, Any]
    masked: list[str]
    relationships: list[Related]
    residence_history: list[Stay]
    timeline: Timeline
    trajectory: list[TrajectoryPoint]
    bim: list[BimLocation]
    alarms: list[AlarmItem]
    risk_flags: list[RiskItem]


# --- the ledger -----------------------------------------------------------------------------

_PLATE: Final = "upper(replace(replace(payload->>'plate', ' ', ''), '·', ''))"
_KEYS: Final = {
    "person": "payload->>'person'",
    "face": "payload->>'face_id'",
    "card": "payload->>'card'",
    "plate": _PLATE,
    "house": "payload->>'house'",
    "device": "device",
}
# One branch per key value, each an index range read (migration 0005) newest first, merged. The
# branches carry narrow rows (UNION compares them to drop an event two keys found); payloads are
# fetched by seq for the page alone.
_BRANCH: Final = (
    "(SELECT seq, ts, kind, device FROM event_ledger WHERE {key} = :v{i} "
    "AND ts <= :before_ts AND (ts < :before_ts OR seq < :before_seq) {kinds}"
    "ORDER BY ts DESC, seq DESC LIMIT :limit)"
)


def _events_query(keys: Sequence[tuple[str, str]], kinds: bool) -> tuple[str, dict[str, Any]]:
    branches, params = [], {}
    for i, (key, value) in enumerate(keys):
        branches.append(_BRANCH.format(key=_KEYS[key], i=i, kinds="AND kind = ANY(:kinds) " if kinds else ""))
        params[f"v{i}"] = value
    return " UNION ".join(branches), params


def encode_cursor(ts: datetime, seq: int) -> str:
    """Return the opaque cursor that pages after the event at (`ts`, `seq`)."""
    return base64.urlsafe_b64encode(json.dumps([ts.isoformat(), seq]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Return the (ts, seq) of a cursor from :func:`encode_cursor`, or raise ValidationError naming it."""
    try:
        ts, seq = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(ts)
        if moment.tzinfo is None or not isinstance(seq, int):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise ValidationError("events_after", cursor, "is not a cursor a profile handed out") from None
    return moment, seq


_FAR_FUTURE: Final = datetime.fromisoformat("9999-01-01T00:00:00+00:00")


def timeline(
    engine: Engine, keys: Sequence[tuple[str, str]], viewer: Viewer, *, after: str | None = None, limit: int = 50
) -> Timeline:
    """Return a page of the ledger events matching any of `keys` ((key, value) pairs), newest first."""
    if not 1 <= limit <= MAX_EVENTS_LIMIT:
        raise ValidationError("events_limit", limit, f"must be between 1 and {MAX_EVENTS_LIMIT}")
    before_ts, before_seq = decode_cursor(after) if after else (_FAR_FUTURE, 0)
    if not keys:
        return Timeline(events=[])
    union, params = _events_query(keys, kinds=False)
    query = (
        f"SELECT e.seq, l.id, e.kind, e.device, e.ts, l.payload FROM ("
        f"SELECT * FROM ({union}) u ORDER BY ts DESC, seq DESC LIMIT :limit) e "
        # LATERAL: an index probe by seq per row of the page, never a hash join over the ledger
        "CROSS JOIN LATERAL (SELECT id, payload FROM event_ledger x WHERE x.seq = e.seq LIMIT 1) l "
        "ORDER BY e.ts DESC, e.seq DESC"
    )
    params |= {"before_ts": before_ts, "before_seq": before_seq if after else 2**62, "limit": limit + 1}
    with engine.connect() as conn:
        rows = conn.execute(text(query), params).all()
    page = rows[:limit]
    return Timeline(
        events=[TimelineEvent(id=r.id, kind=r.kind, device=r.device, ts=r.ts, payload=_shown(r, viewer)) for r in page],
        next_cursor=encode_cursor(page[-1].ts, page[-1].seq) if len(rows) > limit else None,
    )


def _shown(row: Any, viewer: Viewer) -> dict[str, Any]:
    payload = row.payload if isinstance(row.payload, dict) else {"value": row.payload}
    return mask_payload(row.kind, payload, viewer)


def trajectory(engine: Engine, keys: Sequence[tuple[str, str]], limit: int = 500) -> list[TrajectoryPoint]:
    """Return the newest `limit` passes matching `keys` at devices on the map, in time order."""
    if not keys:
        return []
    union, params = _events_query(keys, kinds=True)
    query = (
        f"SELECT e.ts, e.device, e.kind, ST_X(d.geom) AS lon, ST_Y(d.geom) AS lat FROM ("
        f"SELECT * FROM ({union}) u ORDER BY ts DESC, seq DESC LIMIT :limit) e "
        "JOIN devices d ON d.uid = 'device:' || e.device ORDER BY e.ts, e.seq"
    )
    params |= {"before_ts": _FAR_FUTURE, "before_seq": 2**62, "limit": limit, "kinds": list(PASSING_KINDS)}
    with engine.connect() as conn:
        rows = conn.execute(text(query), params).all()
    return [TrajectoryPoint(at=r.ts, lon=r.lon, lat=r.lat, device=r.device, kind=r.kind) for r in rows]


# --- assembling -----------------------------------------------------------------------------


def _related(rel: Relationship) -> Related:
    props = {k: v for k, v in rel.properties.items() if k not in ("uid", "source")}
    return Related(
        type=rel.type,
        direction="out" if rel.outgoing else "in",
        uid=rel.other.uid,
        label=rel.other.label,
        caption=rel.other.caption,
        properties=props,
    )


def _stays(uid: str, label: str, store: GraphStore, rels: list[Relationship]) -> list[Stay]:
    if label == "House":
        return [
            Stay(
                person=r.person,
                house=uid,
                name=r.name,
                since=r.since,
                until=r.until,
                registered=r.registered,
                role=r.role,
            )
            for r in store.residence_history(uid)
        ]
    if label != "Person":
        return []
    stays = [
        Stay(
            person=uid,
            house=r.other.uid,
            name=r.other.caption,
            since=r.properties.get("since"),
            until=r.properties.get("until"),
            registered=r.properties.get("registered"),
            role=r.properties.get("role"),
        )
        for r in rels
        if r.type == "LIVES_IN" and r.outgoing
    ]
    return sorted(stays, key=lambda s: (s.since is None, s.since or datetime.min))


_KNOWN_BY_KEY: Final = {"face": "face", "card": "card", "ref": "person"}


def _keys(uid: str, node: Node, rels: list[Relationship]) -> list[tuple[str, str]]:
    """The ledger keys that name the subject: its person refs, its plate, or its house and devices."""
    if isinstance(node, Person):
        # a stranger's events name what sensors know them by (Person.known_by), never their uid
        known = [(_KNOWN_BY_KEY[kind], value) for kind, _, value in (k.partition(":") for k in node.known_by)]
        return [("person", uid), ("person", uid.removeprefix("person:")), *known]
    if node.label == "Vehicle":
        return [("plate", str(getattr(node, "plate", "")))]
    devices = [r.other.uid.removeprefix("device:") for r in rels if r.type == "INSTALLED_IN" and not r.outgoing]
    return [("house", uid), *(("device", code) for code in devices)]


def _homes(uid: str, label: str, rels: list[Relationship]) -> list[str]:
    """The house itself, or the houses a person lives in now."""
    if label == "House":
        return [uid]
    return list(
        dict.fromkeys(
            r.other.uid for r in rels if r.type == "LIVES_IN" and r.outgoing and not r.properties.get("until")
        )
    )


def _place(node: Node) -> PlaceRef:
    return PlaceRef(
        uid=node.uid,
        label=node.label,
        caption=str(getattr(node, node.caption, None) or node.uid),
        ifc_guid=getattr(node, "ifc_guid", None),
    )


def _bim(store: GraphStore, homes: list[str], scene_exists: Callable[[str], bool] | None) -> list[BimLocation]:
    """Each home's containers up the LOCATED_IN chain (storey, unit, building), one query per home."""
    out = []
    homes_found = store.get_many(homes) if homes else {}
    for home in homes:
        if home not in homes_found:
            continue
        found: dict[str, Node] = {}
        for place in store.containers(home):
            found.setdefault(place.label, place)
        building = found.get("Building")
        scene = None
        if building is not None:
            exists = scene_exists(building.uid) if scene_exists else getattr(building, "ifc_guid", None) is not None
            scene = f"/bim/{building.uid}/scene.glb" if exists else None
        out.append(
            BimLocation(
                house=_place(homes_found[home]),
                storey=_place(found["Storey"]) if "Storey" in found else None,
                unit=_place(found["Unit"]) if "Unit" in found else None,
                building=_place(building) if building is not None else None,
                scene_url=scene,
            )
        )
    return out


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def build_profile(
    uid: str,
    viewer: Viewer,
    store: GraphStore,
    engine: Engine,
    *,
    events_after: str | None = None,
    events_limit: int = 50,
    trajectory_limit: int = 500,
    relationships_limit: int = 100,
    concurrency: int = 4,
    scene_exists: Callable[[str], bool] | None = None,
) -> Profile:
    """Return the holistic profile of the person, vehicle or house `uid`, masked for `viewer`.

    `events_after` is the ``next_cursor`` of a previous page of the timeline. Passes and
    inferred associations are many for a busy subject: the `relationships_limit` with the
    largest ``count`` are shown. Up to `concurrency` reads run at once (1: one after another). `scene_exists` says
    whether a building has a 3D scene (the API passes its scene registry); without it, a building
    with an IFC GlobalId is taken to have one. Raises UnknownEntity for a uid the graph does not
    hold and ValidationError for a uid of another label.
    """
    try:
        label = uids.label_of(uid)
    except ValueError as exc:
        raise ValidationError("uid", uid, str(exc)) from None
    if label not in PROFILED:
        raise ValidationError("uid", uid, f"profiles exist for {', '.join(PROFILED)}, not {label}")
    if concurrency < 1:
        raise ValidationError("concurrency", concurrency, "must be at least 1")
    # Two rounds of independent reads, each round's reads at once: what the uid alone names, then
    # what the relationships lead to (homes, devices). The structure is read apart from the edges
    # that grow with activity, so a busy subject's passes never crowd out where they live.
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        node_f = pool.submit(store.get, uid)
        structure_f = pool.submit(store.relationships, uid, STRUCTURAL_RELATIONS)
        activity_f = pool.submit(store.relationships, uid, ACTIVITY_RELATIONS, relationships_limit, "count")
        flags_f = pool.submit(store.risk_flags, [uid])
        node = node_f.result()
        rels = structure_f.result() + activity_f.result()
        homes = _homes(uid, label, rels)
        keys = _keys(uid, node, rels)
        stays_f = pool.submit(_stays, uid, label, store, rels)
        timeline_f = pool.submit(timeline, engine, keys, viewer, after=events_after, limit=events_limit)
        trajectory_f = pool.submit(trajectory, engine, keys if label != "House" else [], trajectory_limit)
        alarms_f = pool.submit(store.open_alarms, [uid, *homes])
        bim_f = pool.submit(_bim, store, homes, scene_exists)
        flags, stays, alarms = flags_f.result(), stays_f.result(), alarms_f.result()
    props = node.model_dump(mode="json", exclude={"uid"})
    return Profile(
        uid=uid,
        label=label,
        caption=str(getattr(node, node.caption, None) or uid),
        viewer=viewer.name,
        attributes=mask_properties(label, props, viewer),
        masked=masked_fields(label, viewer),
        relationships=[_related(r) for r in rels],
        residence_history=stays,
        timeline=timeline_f.result(),
        trajectory=trajectory_f.result(),
        bim=bim_f.result(),
        alarms=[
            AlarmItem(on=on, **a.model_dump(include=set(AlarmItem.model_fields) - {"on"}))
            for on, found in alarms.items()
            for a in found
        ],
        risk_flags=[
            RiskItem(
                on=uid,
                **f.model_dump(include=set(RiskItem.model_fields) - {"on", "inputs", "thresholds"}),
                inputs=_json_or_text(getattr(f, "inputs", "{}")),
                thresholds=_json_or_text(getattr(f, "thresholds", "{}")),
            )
            for f in flags.get(uid, [])
        ],
    )
