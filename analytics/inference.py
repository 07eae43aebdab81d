"""Inferred relationships from the event ledger: who travels, sleeps and turns up together.

Three inferences, each one SQL statement over ``event_ledger`` (the pairing is an equi-join on
time buckets, so its cost grows with the events, not with their square), each writing
``ASSOCIATED_WITH`` edges (:class:`graph.ontology.AssociatedWith`) with their evidence:

``co_travel``
    two subjects (people by face or access opening, vehicles by plate) pass the same device
    within ``co_travel_seconds`` of each other, on at least ``co_travel_min_days`` distinct local days.
``same_house_night``
    two people open the same house's door (the ``house`` an access opening names) at night,
    ``night_start_hour``–``night_end_hour`` local time, on at least ``same_house_min_nights`` nights.
``co_presence``
    two subjects are captured by the same device within ``co_presence_seconds``, at at least
    ``co_presence_min_devices`` distinct devices.

Every edge carries ``count`` (co-occurrences: event pairs, or shared nights), ``first_seen`` and
``last_seen``, ``evidence`` (the events of the first co-occurrence on each day, night or device,
earliest first, up to ``evidence_sample`` ids), ``algorithm`` (name/version) and ``confidence``::

    confidence = support / min(base_a, base_b) × support / (support + threshold)

where ``support`` is the days, nights or devices the two shared, ``base_x`` how many days, nights
or devices subject x was seen on in the window (so the first factor is how consistently the less
frequent subject is seen with the other), and the second factor discounts small samples: a pair
exactly at the threshold scores at most 0.5, one at three times the threshold at most 0.75.
Pairs below ``min_confidence`` (0.2) are dropped: someone who passes every gate all day meets
everyone a few times, but with each of them on a small share of their days.

Subjects are read from the payload as the projector does: ``person`` (a person uid or code),
a stranger's ``face_id`` or ``card`` (the projector's opaque person uid), ``plate`` (vehicle uid).
Edges are written only between subjects the graph holds; the rest are counted as skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, text

from graph import AssociatedWith, GraphStore
from graph import uid as uids

log = logging.getLogger(__name__)

Kind = Literal["co_travel", "same_house_night", "co_presence"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
VERSION: Final = "1"
SOURCE: Final = "analytics:inference"


class InferenceSettings(BaseSettings):
    """Thresholds of the inferences, read from ``TWINHOOD_INFER_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="TWINHOOD_INFER_", extra="ignore")

    window_days: int = Field(30, ge=1, le=3660, description="how far back a run looks when no --since is given")
    timezone: str = Field("Asia/Shanghai", description="local time for days and nights")
    co_travel_seconds: int = Field(30, ge=1, le=3600, description="largest gap between two passes of one device")
    co_travel_min_days: int = Field(3, ge=1, description="distinct days the pair must pass together")
    night_start_hour: int = Field(22, ge=12, le=23, description="local hour a night starts")
    night_end_hour: int = Field(6, ge=0, le=11, description="local hour a night ends")
    same_house_min_nights: int = Field(3, ge=1, description="nights both must open the same house's door")
    co_presence_seconds: int = Field(300, ge=1, le=86400, description="largest gap between two captures")
    co_presence_min_devices: int = Field(3, ge=1, description="distinct devices the pair must be seen at together")
    evidence_sample: int = Field(10, ge=2, le=200, description="event ids kept on an edge")
    work_mem_mb: int = Field(64, ge=4, le=4096, description="PostgreSQL work_mem for the pairing statements")
    min_confidence: float = Field(
        0.2, ge=0, le=1, description="weaker pairs are dropped: chance meetings of people who pass everywhere"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _night_spans_midnight(self) -> InferenceSettings:
        if self.night_end_hour >= self.night_start_hour:
            raise ValueError("night_end_hour must come before night_start_hour (a night spans midnight)")
        return self


@lru_cache
def get_settings() -> InferenceSettings:
    """Return the inference settings from the environment (read once)."""
    return InferenceSettings()


@dataclass(frozen=True)
class Association:
    """One inferred relationship between subjects `a` < `b`, with what it rests on."""

    kind: Kind
    a: str
    b: str
    count: int
    support: int
    base: int
    first_seen: datetime
    last_seen: datetime
    evidence: list[str]
    confidence: float

    def link(self) -> AssociatedWith:
        """Return the graph edge of this association."""
        return AssociatedWith(
            start=self.a,
            end=self.b,
            source=SOURCE,
            kind=self.kind,
            count=self.count,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            evidence=self.evidence,
            confidence=self.confidence,
            algorithm=f"{self.kind}/{VERSION}",
        )


@dataclass
class InferenceResult:
    """What a run found, per kind, and the pairs left out because a subject is not in the graph."""

    since: datetime
    until: datetime
    found: dict[str, list[Association]]
    written: int = 0
    skipped: int = 0

    def all(self) -> list[Association]:
        return [a for kind in self.found.values() for a in kind]


def confidence(support: int, base: int, threshold: int) -> float:
    """Return the documented confidence: consistency × support / (support + threshold), in 0..1."""
    if support <= 0 or base <= 0:
        return 0.0
    return round(min(1.0, support / base) * support / (support + threshold), 4)


# Who a sighting is, read from the payload as the projector reads it. A stranger's face or card
# becomes the projector's opaque uid: 'person:U' + the first 16 hex digits of sha256(kind:value).
_SUBJECT: Final = (
    "CASE WHEN kind = 'plate_read' THEN 'vehicle:' || upper(replace(replace(payload->>'plate', ' ', ''), '·', '')) "
    "WHEN payload->>'person' LIKE 'person:%' THEN payload->>'person' "
    "WHEN coalesce(payload->>'person', '') <> '' THEN 'person:' || (payload->>'person') "
    "WHEN coalesce(payload->>'face_id', '') <> '' THEN 'person:U' || upper(left(encode(sha256("
    "convert_to('face:' || (payload->>'face_id'), 'UTF8')), 'hex'), 16)) "
    "WHEN coalesce(payload->>'card', '') <> '' THEN 'person:U' || upper(left(encode(sha256("
    "convert_to('card:' || (payload->>'card'), 'UTF8')), 'hex'), 16)) END"
)
_SEEN: Final = (
    "seen AS ("
    f" SELECT id, device, ts, (ts AT TIME ZONE :tz)::date AS day, {_SUBJECT} AS subject,"
    "  payload->>'house' AS house, floor(extract(epoch FROM ts) / :gap)::bigint AS bucket"
    " FROM event_ledger WHERE kind = ANY(:kinds) AND ts >= :since AND ts < :until"
    "), sightings AS (SELECT * FROM seen WHERE subject IS NOT NULL)"
)
# Pairs of sightings of two subjects at one device within :gap seconds: each sighting, copied into
# its own and the two neighbouring buckets, meets the sightings there, an equi-join on (device,
# bucket) that the planner hashes. Joining on `bucket + offset` instead (or on a time range) lets
# it hash on the device alone and compare every pair of a device's sightings: 8 s, not 0.26 s, on
# 23k events; MATERIALIZED keeps the planner from folding the copies back into that plan.
_PAIRS: Final = (
    "shifted AS MATERIALIZED ("
    " SELECT s.*, s.bucket + d.off AS near FROM sightings s CROSS JOIN (VALUES (-1), (0), (1)) AS d(off)"
    "), pairs AS ("
    " SELECT a.subject AS s1, b.subject AS s2, a.id AS e1, b.id AS e2, a.day, a.device,"
    "  least(a.ts, b.ts) AS t1, greatest(a.ts, b.ts) AS t2"
    " FROM shifted a JOIN sightings b ON b.device = a.device AND b.bucket = a.near"
    " WHERE a.subject < b.subject AND abs(extract(epoch FROM b.ts - a.ts)) <= :gap"
    ")"
)


def _summary(unit: str) -> str:
    """Aggregate `pairs` per subject pair, `unit` (day, device, night) being what counts as support.

    Most pairs at a busy place never reach the threshold, so everything is counted with hashed
    GROUP BYs: per pair and unit its count, span and first co-occurrence (the least
    ``[time, event, event]`` array), then per pair; only the pairs that reach the threshold are
    sorted, for their evidence.
    """
    return (
        f", units AS (SELECT s1, s2, {unit} AS u, count(*) AS n, min(t1) AS t1, max(t2) AS t2,"
        "  min(ARRAY[to_char(t1 AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), e1, e2]) AS first"
        f"  FROM pairs GROUP BY s1, s2, {unit})"
        ", kept AS (SELECT s1, s2, count(*) AS support, sum(n)::bigint AS n, min(t1) AS first_seen,"
        "  max(t2) AS last_seen FROM units GROUP BY s1, s2 HAVING count(*) >= :threshold)"
        ", found AS (SELECT k.s1, k.s2, k.support, k.n, k.first_seen, k.last_seen,"
        "  (array_agg(u.first[2] ORDER BY u.first))[1:CAST(:sample AS int)] AS ev1,"
        "  (array_agg(u.first[3] ORDER BY u.first))[1:CAST(:sample AS int)] AS ev2"
        "  FROM kept k JOIN units u ON u.s1 = k.s1 AND u.s2 = k.s2"
        "  GROUP BY k.s1, k.s2, k.support, k.n, k.first_seen, k.last_seen)"
        f", base AS (SELECT subject, count(DISTINCT {unit}) AS n FROM sightings"
        "  WHERE subject IN (SELECT s1 FROM found UNION SELECT s2 FROM found) GROUP BY subject)"
        " SELECT f.s1, f.s2, f.n, f.support, least(b1.n, b2.n) AS base, f.first_seen, f.last_seen, f.ev1, f.ev2"
        " FROM found f JOIN base b1 ON b1.subject = f.s1 JOIN base b2 ON b2.subject = f.s2 ORDER BY f.s1, f.s2"
    )


_CO_TRAVEL: Final = text(f"WITH {_SEEN}, {_PAIRS}{_summary('day')}")
_CO_PRESENCE: Final = text(f"WITH {_SEEN}, {_PAIRS}{_summary('device')}")
# At night: one sighting per person, house and night (the first), then pairs of people per house
# and night. A night is keyed by its evening's date: local time minus the end hour.
_SAME_HOUSE_NIGHT: Final = text(
    f"WITH {_SEEN}, nightly AS ("
    " SELECT DISTINCT ON (subject, house, night) subject, house, night, id, ts FROM ("
    "  SELECT subject, id, ts, house, ((ts AT TIME ZONE :tz) - make_interval(hours => :night_end))::date AS night,"
    "   extract(hour FROM ts AT TIME ZONE :tz) AS hour"
    "  FROM sightings WHERE subject LIKE 'person:%' AND house LIKE 'house:%') x"
    " WHERE hour >= :night_start OR hour < :night_end ORDER BY subject, house, night, ts, id"
    "), pairs AS ("
    " SELECT a.subject AS s1, b.subject AS s2, a.id AS e1, b.id AS e2, a.night, a.house,"
    "  least(a.ts, b.ts) AS t1, greatest(a.ts, b.ts) AS t2"
    " FROM nightly a JOIN nightly b ON b.house = a.house AND b.night = a.night AND a.subject < b.subject"
    ")"
    ", ranked AS (SELECT *, row_number() OVER (PARTITION BY s1, s2, night ORDER BY t1, e1, e2) AS nth FROM pairs)"
    ", found AS (SELECT s1, s2, count(*) AS n, count(DISTINCT night) AS support, min(t1) AS first_seen,"
    "  max(t2) AS last_seen,"
    "  (array_agg(e1 ORDER BY t1, e1, e2) FILTER (WHERE nth = 1))[1:CAST(:sample AS int)] AS ev1,"
    "  (array_agg(e2 ORDER BY t1, e1, e2) FILTER (WHERE nth = 1))[1:CAST(:sample AS int)] AS ev2"
    "  FROM ranked GROUP BY s1, s2 HAVING count(DISTINCT night) >= :threshold)"
    ", base AS (SELECT subject, count(DISTINCT night) AS n FROM nightly"
    "  WHERE subject IN (SELECT s1 FROM found UNION SELECT s2 FROM found) GROUP BY subject)"
    " SELECT f.s1, f.s2, f.n, f.support, least(b1.n, b2.n) AS base, f.first_seen, f.last_seen, f.ev1, f.ev2"
    " FROM found f JOIN base b1 ON b1.subject = f.s1 JOIN base b2 ON b2.subject = f.s2 ORDER BY f.s1, f.s2"
)
_PASSING: Final = ["face_capture", "access_open", "plate_read"]
# Turning nested loops off adds a huge constant to the plan's cost, which would make PostgreSQL
# JIT-compile it (6 s measured on 23k events); the statements run once, so no JIT.
_PLANNER: Final = text(
    "SELECT set_config('enable_nestloop', 'off', true), set_config('work_mem', :work_mem, true),"
    " set_config('jit', 'off', true)"
)


def _interleave(first: Sequence[str], second: Sequence[str], limit: int) -> list[str]:
    out: list[str] = []
    for pair in zip(first, second, strict=True):
        out += [e for e in pair if e not in out]
    return out[:limit]


def _valid(subject: str) -> bool:
    try:
        return uids.label_of(subject) in ("Person", "Vehicle")
    except ValueError:
        return False


def find(
    engine: Engine,
    kind: Kind,
    since: datetime,
    until: datetime,
    settings: InferenceSettings | None = None,
) -> list[Association]:
    """Return the associations of one `kind` that the ledger's events between `since` and `until` support."""
    s = settings or get_settings()
    params: dict[str, object] = {"tz": s.timezone, "since": since, "until": until, "sample": s.evidence_sample}
    if kind == "co_travel":
        query = _CO_TRAVEL
        params |= {"kinds": _PASSING, "gap": s.co_travel_seconds, "threshold": s.co_travel_min_days}
        threshold = s.co_travel_min_days
    elif kind == "co_presence":
        query = _CO_PRESENCE
        params |= {"kinds": _PASSING, "gap": s.co_presence_seconds, "threshold": s.co_presence_min_devices}
        threshold = s.co_presence_min_devices
    elif kind == "same_house_night":
        query = _SAME_HOUSE_NIGHT
        params |= {
            "kinds": ["access_open"],
            "gap": 3600,
            "threshold": s.same_house_min_nights,
            "night_start": s.night_start_hour,
            "night_end": s.night_end_hour,
        }
        threshold = s.same_house_min_nights
    else:
        raise ValueError(f"kind: unknown inference {kind!r}; known: {', '.join(KINDS)}")
    with engine.begin() as conn:
        # The planner cannot estimate rows computed from payloads and guesses one: left alone it
        # loops over a million pairs per kept pair. These are analytic statements: hash, in memory.
        conn.execute(_PLANNER, {"work_mem": f"{s.work_mem_mb}MB"})
        rows = conn.execute(query, params).all()
    found = [
        Association(
            kind=kind,
            a=r.s1,
            b=r.s2,
            count=int(r.n),
            support=int(r.support),
            base=int(r.base),
            first_seen=r.first_seen,
            last_seen=r.last_seen,
            evidence=_interleave(r.ev1, r.ev2, s.evidence_sample),
            confidence=confidence(int(r.support), int(r.base), threshold),
        )
        for r in rows
        if _valid(r.s1) and _valid(r.s2)
    ]
    return [a for a in found if a.confidence >= s.min_confidence]


def infer(
    engine: Engine,
    store: GraphStore,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    kinds: Sequence[Kind] = KINDS,
    settings: InferenceSettings | None = None,
    write: bool = True,
) -> InferenceResult:
    """Run the inferences over the ledger's events in [`since`, `until`) and write the edges to the graph.

    `since` defaults to ``window_days`` before `until` (default now). Pairs naming a subject the
    graph does not hold are left out and counted in ``skipped``.
    """
    s = settings or get_settings()
    until = until or datetime.now(UTC)
    since = since or until - timedelta(days=s.window_days)
    for name, value in (("since", since), ("until", until)):
        if value.tzinfo is None:
            raise ValueError(f"{name}: needs a time zone (got {value.isoformat()})")
    if since >= until:
        raise ValueError(f"since: {since.isoformat()} is not before until {until.isoformat()}")
    result = InferenceResult(since, until, {k: find(engine, k, since, until, s) for k in kinds})
    found = result.all()
    present = store.existing({u for a in found for u in (a.a, a.b)}) if found else set()
    kept = [a for a in found if a.a in present and a.b in present]
    result.skipped = len(found) - len(kept)
    if write and kept:
        result.written = store.link(a.link() for a in kept)
    log.info(
        "inferred relationships",
        extra={"found": {k: len(v) for k, v in result.found.items()}, "written": result.written},
    )
    return result
