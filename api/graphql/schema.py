"""The GraphQL schema: queries, mutations and subscriptions over the whole platform.

Every resolver checks the caller's permission first (:meth:`Context.require`); nodes reach the
answer only through :func:`api.graphql.nodes.view_of`, which masks them for the caller. Blocking
store calls run in the threadpool. The SDL is exported to `api/schema.graphql`
(``python -m api.graphql > api/schema.graphql``; a test fails when it is stale).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any, TypeVar, cast

import strawberry
from graphql import GraphQLError
from shapely import Polygon
from sqlalchemy import text
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.scalars import JSON

from analytics.profile import build_profile
from api.anchoring import search_documents
from api.graphql import timeline
from api.graphql.context import Context, blocking
from api.graphql.extensions import AuditOperation, NoNulText, PersistedQueries, TypedErrors
from api.graphql.feeds import AlarmFeed, follow_events
from api.graphql.nodes import TYPES, Entity, NodeView, view_of
from api.security import permissions as perm
from api.security.errors import UnknownRole, UnknownUser
from api.security.settings import SecuritySettings
from api.security.users import Role, User
from bim import SceneRegistry, UnknownScene
from graph import uid as uids
from graph.errors import TwinhoodError, UnknownEntity, ValidationError
from graph.masking import mask_payload
from graph.ontology import NODE_TYPES, RELATIONS, Node, WatchEntry, Watches
from graph.store import Subgraph as StoreSubgraph
from graph.store import validate
from ingest.alarms import TRANSITIONS, AlarmChange, AlarmEngine, AlarmRecord, IllegalTransition, find_alarms
from ingest.devices import DeviceDirectory
from ingest.ledger import LedgerRow
from spatial import queries as spatial_queries
from spatial import remove_features
from spatial.search import index_documents, remove_documents
from spatial.search import search as search_index

T = TypeVar("T")
MAX_LIST = 1000


def invalid(field: str, value: Any, reason: str) -> GraphQLError:
    """Return the error for a bad argument, naming it."""
    return GraphQLError(f"{field}: {reason}", extensions={"code": "VALIDATION", "field": field, "reason": reason})


def _limit(value: int, field: str = "limit", most: int = MAX_LIST) -> int:
    if not 1 <= value <= most:
        raise invalid(field, value, f"must be between 1 and {most}")
    return value


# --- live services of one app ------------------------------------------------------------------


class Live:
    """What subscriptions and alarm mutations need in one API process: an alarm engine and its feed."""

    def __init__(self, ctx: Context) -> None:
        services = ctx.services
        self.alarms = AlarmEngine(services.engine, services.graph, DeviceDirectory(services.graph))
        self.feed = AlarmFeed(services.engine, self.alarms)

    def close(self) -> None:
        self.feed.stop()


_LIVE_LOCK = threading.Lock()


def live(ctx: Context) -> Live:
    """Return the app's :class:`Live` (made at first use, kept on the services)."""
    with _LIVE_LOCK:
        found: Live | None = getattr(ctx.services, "_graphql_live", None)
        if found is None:
            found = Live(ctx)
            ctx.services._graphql_live = found  # type: ignore[attr-defined]
        return found


# --- output types --------------------------------------------------------------------------------


@strawberry.type(description="A node of a subgraph: enough to draw it; `entity` has the rest.")
class GraphNode:
    uid: strawberry.ID
    label: str
    caption: str


@strawberry.type(description="A relationship of a subgraph, with its period when it has one.")
class GraphEdge:
    uid: str
    type: str
    start: strawberry.ID
    end: strawberry.ID
    since: datetime | None
    until: datetime | None


@strawberry.type(description="Nodes and relationships: a neighbourhood, or a path (nodes in order).")
class Subgraph:
    nodes: list[GraphNode]
    edges: list[GraphEdge]


def _subgraph(sub: StoreSubgraph, ctx: Context) -> Subgraph:
    may_see_people = ctx.principal is not None and ctx.principal.may(perm.READ_PERSON)
    nodes = []
    for n in sub.nodes:
        personal = n.label in ("Person", "DefenceMember")
        ctx.note(n.uid, person=personal and may_see_people)
        caption = n.caption if may_see_people or not personal else n.uid
        nodes.append(GraphNode(uid=strawberry.ID(n.uid), label=n.label, caption=caption))
    edges = [
        GraphEdge(
            uid=e.uid, type=e.type, start=strawberry.ID(e.start), end=strawberry.ID(e.end), since=e.since, until=e.until
        )
        for e in sub.edges
    ]
    return Subgraph(nodes=nodes, edges=edges)


@strawberry.type(description="A search hit: what matched, and the entity it stands for.")
class SearchHit:
    uid: strawberry.ID
    kind: str
    title: str

    @strawberry.field(description="the entity, masked for you (null when it is no longer in the graph)")
    async def entity(self, info: strawberry.Info[Context]) -> Entity | None:
        node = await info.context.loaders.nodes.load(str(self.uid))
        return view_of(node, info.context) if node else None


@strawberry.type(description="A map feature found by a spatial query.")
class SpatialHit:
    uid: strawberry.ID
    layer: str
    name: str | None
    distance_m: float | None

    @strawberry.field(description="the graph entity with this uid, masked for you (null when there is none)")
    async def entity(self, info: strawberry.Info[Context]) -> Entity | None:
        try:
            uids.label_of(str(self.uid))
        except ValueError:
            return None
        node = await info.context.loaders.nodes.load(str(self.uid))
        return view_of(node, info.context) if node else None


def _hits(hits: list[spatial_queries.Hit]) -> list[SpatialHit]:
    return [SpatialHit(uid=strawberry.ID(h.uid), layer=h.layer, name=h.name, distance_m=h.distance_m) for h in hits]


@strawberry.type(description="One page of a layer's features in a box; pass `nextAfter` back as `after`.")
class SpatialPage:
    items: list[SpatialHit]
    next_after: str | None


@strawberry.type(description="How many of something there are under one key.")
class Count:
    key: str
    count: int


@strawberry.enum(description="What event counts are grouped by.")
class EventGroup(Enum):
    KIND = "kind"
    BUCKET = "bucket"
    GRID = "grid"
    BUILDING = "building"
    DEVICE = "device"


@strawberry.enum(description="The width of a time bucket.")
class Bucket(Enum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@strawberry.type(description="An event from the ledger; the payload is masked for you (a face capture's image).")
class TimelineEvent:
    id: str
    kind: str
    device: str
    ts: datetime
    received_at: datetime
    source: str
    payload: JSON


def _event(event: LedgerRow, ctx: Context) -> TimelineEvent:
    return TimelineEvent(
        id=event.id,
        kind=event.kind,
        device=event.device,
        ts=event.ts,
        received_at=event.received_at,
        source=event.source,
        payload=cast(JSON, mask_payload(event.kind, event.payload, ctx.viewer)),
    )


@strawberry.type
class EventEdge:
    cursor: str
    node: TimelineEvent


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="A page of the events timeline (Relay connection), newest first.")
class EventConnection:
    edges: list[EventEdge]
    page_info: PageInfo


@strawberry.type(description="An alarm as its system of record (PostgreSQL `alarm_state`) holds it.")
class AlarmState:
    uid: strawberry.ID
    rule: str
    kind: str
    condition: str
    entity_uid: strawberry.ID
    device: str | None
    severity: int
    status: str
    description: str | None
    count: int
    opened_at: datetime
    last_seen: datetime
    acknowledged_at: datetime | None
    dispatched_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    cleared_at: datetime | None
    handler: str | None
    cameras: list[str]
    building: str | None
    grid: str | None
    assignees: list[str]
    unlocked: list[str] = strawberry.field(
        description="the access doors the alarm's linkage commanded to unlock (the broker took each command)"
    )
    unlocked_at: datetime | None
    history: JSON
    live: bool

    @strawberry.field(description="statuses the workflow allows next")
    def next_statuses(self) -> list[str]:
        return sorted(TRANSITIONS.get(self.status, ()))

    @strawberry.field(description="the entity the alarm is raised on, masked for you")
    async def entity(self, info: strawberry.Info[Context]) -> Entity | None:
        node = await info.context.loaders.nodes.load(str(self.entity_uid))
        return view_of(node, info.context) if node else None


def _alarm(record: AlarmRecord, ctx: Context) -> AlarmState:
    ctx.note(record.uid)
    return AlarmState(
        uid=strawberry.ID(record.uid),
        rule=record.rule,
        kind=record.kind,
        condition=record.condition,
        entity_uid=strawberry.ID(record.entity),
        device=record.device,
        severity=record.severity,
        status=record.status,
        description=record.description,
        count=record.count,
        opened_at=record.opened_at,
        last_seen=record.last_seen,
        acknowledged_at=record.acknowledged_at,
        dispatched_at=record.dispatched_at,
        resolved_at=record.resolved_at,
        closed_at=record.closed_at,
        cleared_at=record.cleared_at,
        handler=record.handler,
        cameras=list(record.cameras),
        building=getattr(record, "building", None),
        grid=getattr(record, "grid", None),
        assignees=list(getattr(record, "assignees", ())),
        unlocked=list(record.unlocked),
        unlocked_at=record.unlocked_at,
        history=cast(JSON, list(record.history)),
        live=record.live,
    )


@strawberry.type(description="What happened to an alarm: opened, repeated, cleared or transition.")
class AlarmEvent:
    change: str
    alarm: AlarmState


@strawberry.enum(description="Statuses a person may move an alarm to (`cleared` is the engine's alone).")
class AlarmStatus(Enum):
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    RESOLVED = "resolved"
    CLOSED = "closed"


@strawberry.enum(description="How search matches: exact values, fuzzy (trigram) or full text (websearch syntax).")
class SearchMode(Enum):
    EXACT = "exact"
    FUZZY = "fuzzy"
    FULLTEXT = "fulltext"


@strawberry.type(description="An API account (never its password hash).")
class UserAccount:
    username: str
    name: str | None
    roles: list[str]
    valid_from: datetime
    valid_until: datetime | None
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None


def _user(user: User) -> UserAccount:
    return UserAccount(
        username=user.username,
        name=user.name,
        roles=list(user.roles),
        valid_from=user.valid_from,
        valid_until=user.valid_until,
        disabled=user.disabled,
        failed_logins=user.failed_logins,
        locked_until=user.locked_until,
        last_login_at=user.last_login_at,
    )


@strawberry.type(description="A role and the permissions it grants.")
class RoleInfo:
    name: str
    description: str
    permissions: list[str]


def _role(role: Role) -> RoleInfo:
    return RoleInfo(name=role.name, description=role.description, permissions=list(role.permissions))


@strawberry.type(description="The caller.")
class Me:
    username: str
    roles: list[str]
    permissions: list[str]


@strawberry.type(description="One audited operation.")
class AuditRow:
    id: int
    at: datetime
    username: str | None
    operation: str
    targets: list[str]
    outcome: str
    person_read: bool
    client: str | None
    detail: JSON


# --- typed problems of mutations -----------------------------------------------------------------


@strawberry.type(description="An input was rejected: which field, and why.")
class ValidationProblem:
    field: str
    reason: str
    value: str | None


@strawberry.type(description="No entity has this uid.")
class NotFound:
    uid: strawberry.ID


@strawberry.type(description="The alarm workflow does not allow this move.")
class IllegalTransitionProblem:
    uid: strawberry.ID
    current: str
    to: str
    allowed: list[str]


@strawberry.type(description="The entity as written, masked for you.")
class EntityPayload:
    entity: Entity


@strawberry.type(description="A relationship as written.")
class LinkPayload:
    uid: str
    type: str
    start: strawberry.ID
    end: strawberry.ID


@strawberry.type(description="A deleted entity's uid.")
class Deleted:
    uid: strawberry.ID


EntityResult = Annotated[EntityPayload | ValidationProblem | NotFound, strawberry.union("EntityResult")]
LinkResult = Annotated[LinkPayload | ValidationProblem | NotFound, strawberry.union("LinkResult")]
DeleteResult = Annotated[Deleted | NotFound | ValidationProblem, strawberry.union("DeleteResult")]
AlarmResult = Annotated[
    AlarmState | IllegalTransitionProblem | NotFound | ValidationProblem, strawberry.union("AlarmResult")
]
UserResult = Annotated[UserAccount | ValidationProblem | NotFound, strawberry.union("UserResult")]
RoleResult = Annotated[RoleInfo | ValidationProblem | NotFound, strawberry.union("RoleResult")]


def _problem(exc: TwinhoodError) -> ValidationProblem | NotFound:
    if isinstance(exc, ValidationError):
        field = exc.field.split(".", 1)[1] if "." in exc.field and exc.field[0].isupper() else exc.field
        return ValidationProblem(field=field, reason=exc.reason, value=None if exc.value is None else str(exc.value))
    if isinstance(exc, UnknownEntity):
        return NotFound(uid=strawberry.ID(exc.uid))
    if isinstance(exc, UnknownUser):
        return NotFound(uid=strawberry.ID(exc.username))
    if isinstance(exc, UnknownRole):
        return NotFound(uid=strawberry.ID(exc.role))
    raise exc


# --- queries -----------------------------------------------------------------------------------


@strawberry.type(description="Statistics over the graph, the ledger and the alarms (7.2.5 c).")
class Statistics:
    @strawberry.field(description="nodes per label, then relationships per type")
    async def entities(self, info: strawberry.Info[Context]) -> list[Count]:
        counts = await blocking(info.context.services.graph.counts)
        return [Count(key=k, count=v) for k, v in counts.items()]

    @strawberry.field(description="events per kind, time bucket, grid, building or device, in [since, until)")
    async def events(
        self,
        info: strawberry.Info[Context],
        by: EventGroup,
        bucket: Bucket = Bucket.DAY,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: list[str] | None = None,
    ) -> list[Count]:
        info.context.require(perm.READ_EVENTS)
        filters = timeline.Filters(kinds=tuple(kinds or ()), since=since, until=until)
        rows = await blocking(timeline.counts, info.context.services.engine, by.value, filters, bucket.value)
        return [Count(key=k, count=n) for k, n in rows]


@strawberry.type
class Query:
    @strawberry.field(description="who you are and what you may do")
    def me(self, info: strawberry.Info[Context]) -> Me:
        caller = info.context.principal
        if caller is None:
            raise GraphQLError("not authenticated", extensions={"code": "UNAUTHENTICATED"})
        return Me(username=caller.username, roles=sorted(caller.roles), permissions=sorted(caller.permissions))

    @strawberry.field(description="the entity with this uid (null when there is none), masked for you")
    async def entity(self, info: strawberry.Info[Context], uid: strawberry.ID) -> Entity | None:
        try:
            label = uids.label_of(str(uid))
        except ValueError as exc:
            raise invalid("uid", uid, str(exc)) from None
        info.context.require(perm.READ_PERSON if label in ("Person", "DefenceMember") else perm.READ_GRAPH)
        node = await info.context.loaders.nodes.load(str(uid))
        return view_of(node, info.context) if node else None

    @strawberry.field(description="the entities among these uids that exist, masked for you")
    async def entities(
        self,
        info: strawberry.Info[Context],
        wanted: Annotated[list[strawberry.ID], strawberry.argument(name="uids")],
    ) -> list[Entity]:
        info.context.require(perm.READ_GRAPH)
        if len(wanted) > MAX_LIST:
            raise invalid("uids", len(wanted), f"at most {MAX_LIST} at once")
        for u in wanted:
            try:
                uids.label_of(str(u))
            except ValueError as exc:
                raise invalid("uids", u, str(exc)) from None
        nodes = await info.context.loaders.nodes.load_many([str(u) for u in wanted])
        return [view_of(n, info.context) for n in nodes if n is not None]

    @strawberry.field(description="search names, plates, codes and addresses: exact, fuzzy or full text")
    async def search(
        self,
        info: strawberry.Info[Context],
        query: str,
        mode: SearchMode = SearchMode.FULLTEXT,
        labels: list[str] | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        info.context.require(perm.READ_GRAPH)
        _limit(limit, most=200)
        for label in labels or ():
            if label not in NODE_TYPES:
                raise invalid("labels", label, f"unknown label; known: {', '.join(NODE_TYPES)}")
        if not query.strip():
            raise invalid("query", query, "is empty")
        hits = await blocking(
            search_index, info.context.services.engine, query, mode=mode.value, kinds=labels, limit=limit
        )
        return [SearchHit(uid=strawberry.ID(h.uid), kind=h.kind, title=h.title) for h in hits]

    @strawberry.field(description="the k-hop neighbourhood of an entity as nodes and edges (relationship explorer)")
    async def neighbourhood(
        self,
        info: strawberry.Info[Context],
        uid: strawberry.ID,
        hops: int = 1,
        labels: list[str] | None = None,
        rel_types: list[str] | None = None,
        limit: int = 1000,
    ) -> Subgraph:
        info.context.require(perm.READ_GRAPH)
        if not 1 <= hops <= 3:
            raise invalid("hops", hops, "must be between 1 and 3")
        _limit(limit, most=5000)
        for t in rel_types or ():
            if t not in RELATIONS:
                raise invalid("relTypes", t, f"unknown relationship type; known: {', '.join(RELATIONS)}")
        sub = await blocking(
            info.context.services.graph.neighbourhood,
            str(uid),
            hops=hops,
            labels=labels,
            rel_types=rel_types,
            limit=limit,
        )
        return _subgraph(sub, info.context)

    @strawberry.field(description="a shortest path (up to 8 hops) between two entities, or null")
    async def shortest_path(
        self,
        info: strawberry.Info[Context],
        start: strawberry.ID,
        end: strawberry.ID,
        rel_types: list[str] | None = None,
    ) -> Subgraph | None:
        info.context.require(perm.READ_GRAPH)
        sub = await blocking(info.context.services.graph.shortest_path, str(start), str(end), rel_types)
        return _subgraph(sub, info.context) if sub else None

    @strawberry.field(description="the events timeline from the ledger, newest first, filtered and paged")
    async def events(
        self,
        info: strawberry.Info[Context],
        first: int = 50,
        after: str | None = None,
        kinds: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        device: str | None = None,
        subject: strawberry.ID | None = None,
    ) -> EventConnection:
        ctx = info.context
        ctx.require(perm.READ_EVENTS)
        if subject is not None:
            ctx.note(str(subject), person=str(subject).startswith("person:"))
        filters = timeline.Filters(
            kinds=tuple(kinds or ()),
            since=since,
            until=until,
            device=device,
            subject=str(subject) if subject else None,
        )
        found, more = await blocking(timeline.page, ctx.services.engine, filters, first, after)
        edges = [EventEdge(cursor=timeline.encode_cursor(e.ts, e.seq), node=_event(e, ctx)) for e in found]
        return EventConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=more,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )

    @strawberry.field(description="alarms, newest first, filtered by kind, status, severity, entity and time")
    async def alarms(
        self,
        info: strawberry.Info[Context],
        live_only: bool = False,
        kinds: list[str] | None = None,
        statuses: list[str] | None = None,
        max_severity: int | None = None,
        entity: strawberry.ID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        first: int = 100,
    ) -> list[AlarmState]:
        ctx = info.context
        ctx.require(perm.READ_ALARMS)
        _limit(first, "first")
        records = await blocking(
            find_alarms,
            ctx.services.engine,
            live_only=live_only,
            kinds=kinds,
            statuses=statuses,
            max_severity=max_severity,
            entity=str(entity) if entity else None,
            since=since,
            until=until,
            limit=first,
        )
        return [_alarm(r, ctx) for r in records]

    @strawberry.field(description="one alarm by uid")
    async def alarm(self, info: strawberry.Info[Context], uid: strawberry.ID) -> AlarmState | None:
        ctx = info.context
        ctx.require(perm.READ_ALARMS)
        try:
            return _alarm(await blocking(live(ctx).alarms.get, str(uid)), ctx)
        except UnknownEntity:
            return None

    @strawberry.field(description="risk flags (status open by default), of one detector or on one subject")
    async def risk_flags(
        self,
        info: strawberry.Info[Context],
        status: str = "open",
        detector: str | None = None,
        subject: strawberry.ID | None = None,
        first: int = 100,
    ) -> list[Entity]:
        ctx = info.context
        ctx.require(perm.READ_RISK)
        _limit(first, "first")
        store = ctx.services.graph
        if subject is not None:
            flags = (await blocking(store.risk_flags, [str(subject)], (status,))).get(str(subject), [])
        else:
            flags = [f for f in await blocking(store.nodes, "RiskFlag") if getattr(f, "status", None) == status]
        flags = [f for f in flags if detector is None or getattr(f, "detector", None) == detector]
        flags.sort(key=lambda f: getattr(f, "raised_at", datetime.min.replace(tzinfo=UTC)), reverse=True)
        return [view_of(f, ctx) for f in flags[:first]]

    @strawberry.field(description="polygon features containing a point: building, grid, estate, parcel")
    async def at_point(
        self, info: strawberry.Info[Context], lon: float, lat: float, layers: list[str] | None = None
    ) -> list[SpatialHit]:
        info.context.require(perm.READ_MAP)
        args = (layers,) if layers else ()
        return _hits(await _spatial(spatial_queries.at_point, info.context, lon, lat, *args))

    @strawberry.field(description="features within `metres` of a point, nearest first")
    async def within_radius(
        self,
        info: strawberry.Info[Context],
        lon: float,
        lat: float,
        metres: float,
        layers: list[str] | None = None,
        limit: int = 100,
    ) -> list[SpatialHit]:
        info.context.require(perm.READ_MAP)
        _limit(limit)
        extra: dict[str, Any] = {"limit": limit} | ({"layers": layers} if layers else {})
        return _hits(await _spatial(spatial_queries.within_radius, info.context, lon, lat, metres, **extra))

    @strawberry.field(description="features inside a polygon given as [[lon, lat], …] (closed or not)")
    async def within_polygon(
        self,
        info: strawberry.Info[Context],
        coordinates: list[list[float]],
        layers: list[str] | None = None,
        limit: int = 100,
    ) -> list[SpatialHit]:
        info.context.require(perm.READ_MAP)
        _limit(limit)
        if len(coordinates) < 3 or any(len(c) != 2 for c in coordinates):
            raise invalid("coordinates", coordinates[:3], "must be at least 3 [lon, lat] pairs")
        polygon = Polygon([(c[0], c[1]) for c in coordinates])
        extra: dict[str, Any] = {"limit": limit} | ({"layers": layers} if layers else {})
        return _hits(await _spatial(spatial_queries.within_polygon, info.context, polygon, **extra))

    @strawberry.field(description="a layer's features in a box (west, south, east, north), a page at a time")
    async def in_bbox(
        self,
        info: strawberry.Info[Context],
        layer: str,
        west: float,
        south: float,
        east: float,
        north: float,
        after: str | None = None,
        first: int = 100,
    ) -> SpatialPage:
        info.context.require(perm.READ_MAP)
        _limit(first, "first")
        found = await _spatial(
            spatial_queries.in_bbox, info.context, layer, (west, south, east, north), after=after, limit=first
        )
        return SpatialPage(items=_hits(found.items), next_after=found.next_after)

    @strawberry.field(description="the devices nearest a point, optionally of one category")
    async def nearest_devices(
        self,
        info: strawberry.Info[Context],
        lon: float,
        lat: float,
        category: str | None = None,
        k: int = 5,
    ) -> list[SpatialHit]:
        info.context.require(perm.READ_DEVICES)
        _limit(k, "k", 100)
        return _hits(await _spatial(spatial_queries.nearest_devices, info.context, lon, lat, category=category, k=k))

    @strawberry.field(description="features inside a management grid's polygon (9.1.1)")
    async def in_grid(
        self, info: strawberry.Info[Context], grid: strawberry.ID, layers: list[str] | None = None, limit: int = 1000
    ) -> list[SpatialHit]:
        info.context.require(perm.READ_MAP)
        _limit(limit)
        polygon = await blocking(_grid_polygon, info.context, str(grid))
        if polygon is None:
            raise GraphQLError(f"no grid polygon with uid {grid}", extensions={"code": "NOT_FOUND", "uid": str(grid)})
        extra: dict[str, Any] = {"limit": limit} | ({"layers": layers} if layers else {})
        return _hits(await _spatial(spatial_queries.within_polygon, info.context, polygon, **extra))

    @strawberry.field(description="statistics: counts by kind, time bucket, grid and building")
    def statistics(self, info: strawberry.Info[Context]) -> Statistics:
        info.context.require(perm.READ_STATISTICS)
        return Statistics()

    @strawberry.field(description="the watch list (布控)")
    async def watch_list(self, info: strawberry.Info[Context]) -> list[Entity]:
        ctx = info.context
        ctx.require(perm.MANAGE_WATCHLIST)
        return [view_of(n, ctx) for n in await blocking(ctx.services.graph.nodes, "WatchEntry")]

    @strawberry.field(description="API accounts")
    async def users(self, info: strawberry.Info[Context]) -> list[UserAccount]:
        info.context.require(perm.MANAGE_USERS)
        return [_user(u) for u in await blocking(info.context.services.security.users.users)]

    @strawberry.field(description="roles and their permissions")
    async def roles(self, info: strawberry.Info[Context]) -> list[RoleInfo]:
        info.context.require(perm.MANAGE_USERS)
        return [_role(r) for r in await blocking(info.context.services.security.users.roles)]

    @strawberry.field(description="every permission the API checks, with what it allows")
    def permissions(self, info: strawberry.Info[Context]) -> list[str]:
        info.context.require(perm.MANAGE_USERS)
        return [f"{name}: {what}" for name, what in perm.PERMISSIONS.items()]

    @strawberry.field(description="the audit log, newest first")
    async def audit_log(
        self,
        info: strawberry.Info[Context],
        username: str | None = None,
        target: strawberry.ID | None = None,
        operation: str | None = None,
        limit: int = 100,
    ) -> list[AuditRow]:
        info.context.require(perm.READ_AUDIT)
        _limit(limit)
        rows = await blocking(
            info.context.services.security.audit.entries,
            username=username,
            target=str(target) if target else None,
            operation=operation,
            limit=limit,
        )
        return [AuditRow(**r) for r in rows]

    @strawberry.field(
        description="the holistic profile of a person, vehicle or house, masked for you (null for an unknown uid): "
        "attributes, relationships, residence history, timeline, trajectory, BIM location, alarms, risk flags"
    )
    async def profile(
        self,
        info: strawberry.Info[Context],
        uid: strawberry.ID,
        events_after: str | None = None,
        events_limit: int = 50,
    ) -> JSON | None:
        ctx = info.context
        ctx.require(perm.READ_PROFILE)
        try:
            found = await blocking(
                build_profile,
                str(uid),
                ctx.viewer,
                ctx.services.graph,
                ctx.services.engine,
                events_after=events_after,
                events_limit=events_limit,
                scene_exists=_scene_exists,
            )
        except UnknownEntity:
            return None
        ctx.note(str(uid), person=str(uid).startswith("person:"))
        return cast(JSON, found.model_dump(mode="json"))


def _scene_exists(building_uid: str) -> bool:
    try:
        SceneRegistry().get(building_uid)
    except UnknownScene:
        return False
    return True


async def _spatial(fn: Callable[..., T], ctx: Context, *args: Any, **kwargs: Any) -> T:
    try:
        return await blocking(fn, ctx.services.engine, *args, **kwargs)
    except ValueError as exc:
        raise GraphQLError(str(exc), extensions={"code": "VALIDATION", "field": "layers", "reason": str(exc)}) from None


def _grid_polygon(ctx: Context, grid: str) -> Polygon | None:
    from shapely import wkt

    with ctx.services.engine.connect() as conn:
        found = conn.execute(text("SELECT ST_AsText(geom) FROM grids WHERE uid = :u"), {"u": grid}).scalar()
    if found is None:
        return None
    shape = wkt.loads(found)
    hull = shape if isinstance(shape, Polygon) else shape.convex_hull  # a multipolygon grid: its hull
    return hull if isinstance(hull, Polygon) else None


# --- mutations ---------------------------------------------------------------------------------


def _writable(label: str) -> type[Node]:
    if label not in NODE_TYPES:
        raise ValidationError("label", label, f"unknown label; known: {', '.join(NODE_TYPES)}")
    if label in ("Event", "Alarm"):
        raise ValidationError("label", label, "events come through /ingest and alarms from the alarm engine")
    return NODE_TYPES[label]


def _index(ctx: Context, nodes: list[Node]) -> None:
    documents = list(search_documents(nodes))
    with ctx.services.engine.begin() as conn:
        index_documents(conn, documents)
        remove_documents(conn, {n.uid for n in nodes} - {d.uid for d in documents})  # left without a name


def _delete(ctx: Context, uid: str) -> bool:
    """Delete an entity from the graph, then its map features and search document; return whether the graph had it.

    PostGIS is cleaned even when the graph had no such node, so deleting again repairs a delete
    that failed half way.
    """
    gone = ctx.services.graph.delete(uid)
    with ctx.services.engine.begin() as conn:
        remove_features(conn, uid)
        remove_documents(conn, [uid])
    return gone


@strawberry.type
class Mutation:
    @strawberry.mutation(description="create an entity of `label` from its properties (snake_case names)")
    async def create_entity(
        self, info: strawberry.Info[Context], label: str, uid: strawberry.ID, properties: JSON
    ) -> EntityResult:
        ctx = info.context
        ctx.require(perm.WRITE_GRAPH)
        try:
            model = _writable(label)
            if not isinstance(properties, dict):
                raise ValidationError("properties", properties, "must be an object of property names and values")
            node = validate(
                model, {**properties, "uid": str(uid), "source": properties.get("source") or f"api:{ctx.username}"}
            )
            existing = await blocking(ctx.services.graph.get_many, [node.uid])
            if existing:
                raise ValidationError("uid", node.uid, "an entity with this uid exists; use updateEntity")
            await blocking(ctx.services.graph.upsert, [node])
            await blocking(_index, ctx, [node])
        except (ValidationError, UnknownEntity) as exc:
            return _problem(exc)
        return EntityPayload(entity=view_of(node, ctx))

    @strawberry.mutation(description="change some properties of an entity (snake_case names; null clears)")
    async def update_entity(self, info: strawberry.Info[Context], uid: strawberry.ID, properties: JSON) -> EntityResult:
        ctx = info.context
        ctx.require(perm.WRITE_GRAPH)
        try:
            if not isinstance(properties, dict):
                raise ValidationError("properties", properties, "must be an object of property names and values")
            for fixed in ("uid", "ingested_at"):
                if fixed in properties:
                    raise ValidationError(fixed, properties[fixed], "cannot be changed")
            current = await blocking(ctx.services.graph.get, str(uid))
            model = _writable(current.label)
            node = validate(model, {**current.model_dump(), **properties})
            await blocking(ctx.services.graph.upsert, [node])
            await blocking(_index, ctx, [node])
        except (ValidationError, UnknownEntity) as exc:
            return _problem(exc)
        return EntityPayload(entity=view_of(node, ctx))

    @strawberry.mutation(description="delete an entity and its relationships")
    async def delete_entity(self, info: strawberry.Info[Context], uid: strawberry.ID) -> DeleteResult:
        ctx = info.context
        ctx.require(perm.WRITE_GRAPH)
        try:
            _writable(uids.label_of(str(uid)))
            gone = await blocking(_delete, ctx, str(uid))
        except ValueError as exc:
            return _problem(exc if isinstance(exc, ValidationError) else ValidationError("uid", uid, str(exc)))
        ctx.note(str(uid))
        return Deleted(uid=uid) if gone else NotFound(uid=uid)

    @strawberry.mutation(description="create or update a relationship of `type` from `start` to `end`")
    async def link(
        self,
        info: strawberry.Info[Context],
        type: str,
        start: strawberry.ID,
        end: strawberry.ID,
        properties: JSON | None = None,
    ) -> LinkResult:
        ctx = info.context
        ctx.require(perm.WRITE_GRAPH)
        try:
            if type not in RELATIONS:
                raise ValidationError("type", type, f"unknown relationship type; known: {', '.join(RELATIONS)}")
            extra: dict[str, Any] = properties if isinstance(properties, dict) else {}
            item = validate(
                RELATIONS[type].model,
                {**extra, "start": str(start), "end": str(end), "source": extra.get("source") or f"api:{ctx.username}"},
            )
            await blocking(ctx.services.graph.link, [item])
        except ValidationError as exc:
            return _problem(exc)
        except TwinhoodError as exc:  # MissingEndpoints
            return NotFound(uid=strawberry.ID(", ".join(getattr(exc, "uids", [str(start), str(end)]))))
        ctx.note(str(start))
        ctx.note(str(end))
        return LinkPayload(uid=item.uid, type=type, start=start, end=end)

    @strawberry.mutation(description="move an alarm along the workflow: acknowledged → dispatched → resolved → closed")
    async def transition_alarm(
        self, info: strawberry.Info[Context], uid: strawberry.ID, to: AlarmStatus, handler: str | None = None
    ) -> AlarmResult:
        ctx = info.context
        caller = ctx.require(perm.HANDLE_ALARMS)
        try:
            record = await blocking(live(ctx).alarms.transition, str(uid), to.value, handler or caller.username)
        except IllegalTransition as exc:
            return IllegalTransitionProblem(
                uid=uid, current=exc.current, to=exc.to, allowed=sorted(TRANSITIONS.get(exc.current, ()))
            )
        except UnknownEntity as exc:
            return _problem(exc)
        return _alarm(record, ctx)

    @strawberry.mutation(description="put a person or vehicle on the watch list")
    async def add_watch(
        self,
        info: strawberry.Info[Context],
        target: strawberry.ID,
        reason: str,
        level: int = 2,
        until: datetime | None = None,
    ) -> EntityResult:
        ctx = info.context
        caller = ctx.require(perm.MANAGE_WATCHLIST)
        try:
            subject = await blocking(ctx.services.graph.get, str(target))
            if subject.label not in ("Person", "Vehicle"):
                raise ValidationError(
                    "target", str(target), f"the watch list holds persons and vehicles, not a {subject.label}"
                )
            entry = validate(
                WatchEntry,
                {
                    "uid": uids.watch_entry(uuid.uuid4().hex[:16]),
                    "source": f"api:{caller.username}",
                    "reason": reason,
                    "level": level,
                    "plate": getattr(subject, "plate", None),
                    "id_number": getattr(subject, "id_number", None),
                    "added_by": caller.username,
                    "since": datetime.now(UTC),
                    "until": until,
                },
            )
            await blocking(ctx.services.graph.upsert, [entry])
            await blocking(
                ctx.services.graph.link, [Watches(start=entry.uid, end=subject.uid, source=f"api:{caller.username}")]
            )
        except (ValidationError, UnknownEntity) as exc:
            return _problem(exc)
        ctx.note(str(target), person=str(target).startswith("person:"))
        return EntityPayload(entity=view_of(entry, ctx))

    @strawberry.mutation(description="take an entry off the watch list")
    async def remove_watch(self, info: strawberry.Info[Context], uid: strawberry.ID) -> DeleteResult:
        ctx = info.context
        ctx.require(perm.MANAGE_WATCHLIST)
        if not str(uid).startswith("watch:"):
            return ValidationProblem(field="uid", reason="must be a watch-list entry uid (watch:…)", value=str(uid))
        gone = await blocking(ctx.services.graph.delete, str(uid))
        return Deleted(uid=uid) if gone else NotFound(uid=uid)

    @strawberry.mutation(description="create an API account")
    async def create_user(
        self,
        info: strawberry.Info[Context],
        username: str,
        password: str,
        roles: list[str],
        name: str | None = None,
        valid_until: datetime | None = None,
    ) -> UserResult:
        ctx = info.context
        ctx.require(perm.MANAGE_USERS)
        try:
            user = await blocking(
                ctx.services.security.users.create_user, username, password, roles, name=name, valid_until=valid_until
            )
        except (ValidationError, UnknownRole) as exc:
            return _problem(exc)
        return _user(user)

    @strawberry.mutation(description="change an account: roles, password, validity, disabled, unlock")
    async def update_user(
        self,
        info: strawberry.Info[Context],
        username: str,
        add_roles: list[str] | None = None,
        remove_roles: list[str] | None = None,
        password: str | None = None,
        disabled: bool | None = None,
        valid_until: datetime | None = None,
        unlock: bool = False,
    ) -> UserResult:
        ctx = info.context
        ctx.require(perm.MANAGE_USERS)
        users = ctx.services.security.users
        changes: dict[str, Any] = {"unlock": unlock}
        changes |= {
            k: v
            for k, v in (("password", password), ("disabled", disabled), ("valid_until", valid_until))
            if v is not None
        }
        try:
            if add_roles or remove_roles:
                await blocking(users.set_roles, username, add_roles or [], remove_roles or [])
            user = await blocking(users.update_user, username, **changes)
        except (ValidationError, UnknownUser, UnknownRole) as exc:
            return _problem(exc)
        return _user(user)

    @strawberry.mutation(description="delete an API account")
    async def delete_user(self, info: strawberry.Info[Context], username: str) -> DeleteResult:
        ctx = info.context
        ctx.require(perm.MANAGE_USERS)
        try:
            await blocking(ctx.services.security.users.delete_user, username)
        except UnknownUser as exc:
            return _problem(exc)
        return Deleted(uid=strawberry.ID(username))

    @strawberry.mutation(description="create a role granting permissions")
    async def create_role(
        self, info: strawberry.Info[Context], name: str, permissions: list[str], description: str = ""
    ) -> RoleResult:
        ctx = info.context
        ctx.require(perm.MANAGE_USERS)
        try:
            role = await blocking(ctx.services.security.users.create_role, name, description, permissions)
        except ValidationError as exc:
            return _problem(exc)
        return _role(role)

    @strawberry.mutation(description="grant and revoke permissions of a role")
    async def set_role_permissions(
        self,
        info: strawberry.Info[Context],
        name: str,
        grant: list[str] | None = None,
        revoke: list[str] | None = None,
    ) -> RoleResult:
        ctx = info.context
        ctx.require(perm.MANAGE_USERS)
        try:
            role = await blocking(ctx.services.security.users.set_permissions, name, grant or [], revoke or [])
        except (ValidationError, UnknownRole) as exc:
            return _problem(exc)
        return _role(role)

    @strawberry.mutation(description="delete a role (its users lose what it granted)")
    async def delete_role(self, info: strawberry.Info[Context], name: str) -> DeleteResult:
        ctx = info.context
        ctx.require(perm.MANAGE_USERS)
        try:
            await blocking(ctx.services.security.users.delete_role, name)
        except UnknownRole as exc:
            return _problem(exc)
        return Deleted(uid=strawberry.ID(name))


# --- subscriptions -----------------------------------------------------------------------------


@strawberry.type
class Subscription:
    @strawberry.subscription(description="alarms opened, repeated, cleared or moved along the workflow, from now on")
    async def alarm_changed(
        self,
        info: strawberry.Info[Context],
        kinds: list[str] | None = None,
        entity: strawberry.ID | None = None,
    ) -> AsyncGenerator[AlarmEvent, None]:
        ctx = info.context
        ctx.require(perm.READ_ALARMS)
        feed = live(ctx).feed
        subscription = feed.bus.subscribe()
        try:
            await asyncio.to_thread(feed.start)
            async for change in subscription:
                if _wanted(change, kinds, str(entity) if entity else None):
                    ctx.fresh()
                    yield AlarmEvent(change=change.change, alarm=_alarm(change.alarm, ctx))
        finally:
            subscription.close()

    @strawberry.subscription(description="events ledgered from now on, for one subject or device (or all)")
    async def events(
        self,
        info: strawberry.Info[Context],
        subject: strawberry.ID | None = None,
        device: str | None = None,
        kinds: list[str] | None = None,
    ) -> AsyncGenerator[TimelineEvent, None]:
        ctx = info.context
        ctx.require(perm.READ_EVENTS)
        filters = timeline.Filters(kinds=tuple(kinds or ()), device=device, subject=str(subject) if subject else None)
        async for event in follow_events(ctx.services.engine, filters):
            yield _event(event, ctx)


def _wanted(change: AlarmChange, kinds: list[str] | None, entity: str | None) -> bool:
    alarm = change.alarm
    return (not kinds or alarm.kind in kinds) and (entity is None or entity in (alarm.entity, alarm.device))


# --- the schema --------------------------------------------------------------------------------


def make_schema(settings: SecuritySettings | None = None) -> strawberry.Schema:
    """Return the schema with depth, alias and token limits from `settings`, audit and typed errors."""
    settings = settings or SecuritySettings()
    # the limiters' rules are built once, so that the validation cache recognises them request after request
    limits = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=list(TYPES.values()),
        extensions=[
            PersistedQueries,
            # clients send the same documents with other variables: parse and validate each text once
            lambda: ParserCache(maxsize=1024),
            lambda: AddValidationRules(limits),
            lambda: ValidationCache(maxsize=1024),
            lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            NoNulText,
            AuditOperation,
            TypedErrors,
        ],
    )


schema = make_schema()
"""The schema with the limits of the environment's settings."""

__all__ = ["Live", "NodeView", "make_schema", "schema"]
