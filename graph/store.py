"""GraphStore: the narrow door to the graph server (Neo4j 5 or ArcadeDB over Bolt)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from itertools import islice
from typing import Any, Final, Literal, NoReturn, TypeVar

import neo4j
from neo4j.exceptions import ConstraintError, ServiceUnavailable
from neo4j.time import Date as CypherDate
from neo4j.time import DateTime as CypherDateTime
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from graph import cypher
from graph import uid as uids
from graph.errors import GraphUnavailable, MissingEndpoints, UnknownEntity, ValidationError
from graph.ontology import NODE_TYPES, RELATION_OF_MODEL, RELATIONS, STORED, Link, Node, Record
from graph.settings import GraphSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R", bound=Record)
W = TypeVar("W")
N = TypeVar("N", "Node", "StoredNode")
Neighbours = dict[str, list[tuple[N, dict[str, Any]]]]
"""A neighbour read's answer: for each uid asked about, the nodes reached and the last relationship's properties."""
CONSTRAINT_RETRIES = 3  # ArcadeDB may raise ConstraintError on concurrent MERGE of one key


@dataclass(frozen=True)
class NodeRef:
    """A node as a graph view shows it: uid, label and caption; `GraphStore.get` has the rest."""

    uid: str
    label: str
    caption: str

    @classmethod
    def of(cls, node: Node) -> NodeRef:
        return cls(node.uid, node.label, str(getattr(node, node.caption, None) or node.uid))


@dataclass(frozen=True)
class Edge:
    """A relationship as a graph view shows it: uid, type, both ends and, if it has one, its period."""

    uid: str
    type: str
    start: str
    end: str
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class Subgraph:
    """Nodes and relationships, e.g. a neighbourhood or a path (in order, for a path)."""

    nodes: list[NodeRef]
    edges: list[Edge]

    def uids(self) -> list[str]:
        return [n.uid for n in self.nodes]


@dataclass(frozen=True)
class Residence:
    """One stay of a person in a house."""

    person: str
    name: str
    since: datetime | None
    until: datetime | None
    registered: bool
    role: str


@dataclass(frozen=True)
class Relationship:
    """A relationship seen from one end: its uid, type, direction, the node at the other end, its properties."""

    uid: str
    type: str
    outgoing: bool
    other: NodeRef
    properties: dict[str, Any]


OPEN_ALARM_STATUSES = ("open", "acknowledged", "dispatched")
PLACES = tuple(NODE_TYPES[label] for label in ("Region", "Estate", "Building", "Storey", "Unit", "House"))
"""What a node may be LOCATED_IN (and, transitively, what contains it)."""


@cache
def _relationships_query(label: str, rel_types: tuple[str, ...], order_by: str | None = None) -> str:
    """Relationships of one node (of `rel_types`, all when empty) with the other end and the properties.

    `order_by` names a relationship property (of the ontology) to return the largest values first.
    """
    unknown = [t for t in rel_types if t not in RELATIONS]
    if unknown:
        raise ValueError(f"unknown relationship type(s) {', '.join(unknown)}")
    if order_by is not None and not any(order_by in r.model.model_fields for r in RELATIONS.values()):
        raise ValueError(f"no relationship has a property {order_by!r}")
    types = ":" + "|".join(rel_types) if rel_types else ""
    # sort and cut before reading whole property maps
    order = f"ORDER BY r.{order_by} DESC " if order_by else ""
    props = cypher.properties_of_any("r", tuple(RELATIONS[t].model for t in rel_types or RELATIONS))
    return (
        f"MATCH (n:{label} {{uid: $uid}})-[r{types}]-(m) WITH r, m {order}LIMIT $limit "
        f"RETURN r.uid AS uid, type(r) AS type, startNode(r).uid = $uid AS outgoing, {cypher._end('m')} AS other, "
        f"{props} AS props"
    )


@cache
def _containers_query(label: str) -> str:
    """The places a node is LOCATED_IN, transitively, nearest first."""
    return (
        f"MATCH p = (n:{label} {{uid: $uid}})-[:LOCATED_IN*1..{cypher.MAX_PATH_HOPS}]->(c) "
        f"RETURN c.uid AS uid, labels(c) AS labels, {cypher.properties_of_any('c', PLACES)} AS props, "
        "length(p) AS hops ORDER BY hops"
    )


@cache
def _attached_query(label: str, rel_type: str, target: str) -> str:
    """Nodes of `label` joined by `rel_type` to any of a list of `target`-labelled uids, with a status filter."""
    return (
        f"MATCH (t:{target}) WHERE t.uid IN $uids "
        f"MATCH (x:{label})-[:{rel_type}]->(t) WHERE x.status IN $statuses "
        f"RETURN t.uid AS target, labels(x) AS labels, {cypher.properties('x', NODE_TYPES[label])} AS props"
    )


@dataclass(frozen=True)
class Step:
    """One hop of a batched neighbour read: a relationship type, its direction from here, the label reached."""

    rel_type: str
    direction: Literal["out", "in", "both"]
    label: str


_ARROWS: dict[str, tuple[str, str]] = {"out": ("-", "->"), "in": ("<-", "-"), "both": ("-", "-")}


@cache
def _neighbours_query(label: str, steps: tuple[Step, ...]) -> str:
    """Nodes reached from a list of `label` uids along `steps`, with the last relationship's properties."""
    if not steps:
        raise ValueError("a neighbour read needs at least one step")
    pattern = "(n)"
    for i, step in enumerate(steps):
        if step.rel_type not in RELATIONS:
            raise ValueError(f"unknown relationship type {step.rel_type!r}")
        left, right = _ARROWS[step.direction]
        last = i == len(steps) - 1
        rel, node = ("r", "m") if last else ("", "")
        pattern += f"{left}[{rel}:{step.rel_type}]{right}({node}:{cypher._label(step.label)})"
    node, rel = (
        cypher.properties("m", NODE_TYPES[steps[-1].label]),
        cypher.properties("r", RELATIONS[steps[-1].rel_type].model),
    )
    return (
        f"MATCH (n:{cypher._label(label)}) WHERE n.uid IN $uids MATCH {pattern} "
        f"RETURN n.uid AS source, labels(m) AS labels, {node} AS props, {rel} AS rel ORDER BY m.uid LIMIT $limit"
    )


@cache
def _delete_query(label: str) -> str:
    """Delete one node and its relationships by uid."""
    return (
        f"MATCH (n:{cypher._label(label)} {{uid: $uid}}) WITH n, n.uid AS gone DETACH DELETE n RETURN count(gone) AS n"
    )


@dataclass(frozen=True)
class _Statement:
    """One statement of an :class:`Attachment`: its rows, the values they share and the pairs it links."""

    query: str
    rows: list[list[Any]]
    shared: list[Any]
    types: str
    ends: list[tuple[str, str]]


@dataclass(frozen=True)
class Attachment:
    """Nodes with their links made into statements by :meth:`GraphStore.prepare_attach`, ready to send."""

    statements: list[_Statement]


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


_PLAIN: Final = frozenset({str, int, float, bool})
"""Types of stored values that are Python values already."""


def _native(value: Any) -> Any:
    if isinstance(value, (CypherDateTime, CypherDate)):
        return value.to_native()
    if isinstance(value, list):
        return [_native(v) for v in value]
    return value


def typed(model: type[Record], props: dict[str, Any]) -> dict[str, Any]:
    """Return stored properties as Python values, parsing the dates and datetimes read as text (cypher.properties)."""
    return _typed(props, model.temporal_fields())


def _typed(props: dict[str, Any], temporal: dict[str, str], fields: Container[str] | None = None) -> dict[str, Any]:
    """:func:`typed` with the model's temporal fields given; only the properties among `fields`, if given."""
    out = {}
    for name, value in props.items():
        if value is None or (fields is not None and name not in fields):
            continue  # stored properties are never null: a datetime the element lacks, read as text
        kind = temporal.get(name)
        if kind is not None and isinstance(value, str):
            out[name] = datetime.fromisoformat(value) if kind == "datetime" else date.fromisoformat(value)
        else:
            out[name] = value if type(value) in _PLAIN else _native(value)
    return out


@cache
def _list_of(model: type[Record]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _rows(records: Sequence[Record]) -> list[dict[str, Any]]:
    """Split models of one type into the parameter rows the upsert statements expect.

    Two dumps of the whole list (pydantic's own loop), not one per model: building rows was a
    fifth of the ingest projector's CPU time.
    """
    if not records:
        return []
    model = type(records[0])
    temporal = set(model.temporal_fields())
    listed, records = _list_of(model), list(records)
    props = listed.dump_python(records, mode="json", exclude={"__all__": {"uid", "start", "end", *temporal}})
    times = listed.dump_python(records, mode="json", include={"__all__": temporal})
    now = datetime.now(UTC).isoformat()
    rows = []
    for record, plain, timed in zip(records, props, times, strict=True):
        if timed["ingested_at"] is None:
            timed["ingested_at"] = now
        row = {"uid": record.uid, "props": plain, "t": timed}
        if isinstance(record, Link):
            row["start"], row["end"] = record.start, record.end
        rows.append(row)
    return rows


def _value(row: dict[str, Any], name: str) -> Any:
    """Return the value of a list row's column (:data:`cypher.Column`) from a row of :func:`_rows`."""
    return row[name] if name in ("uid", "start", "end", "props") else row["t"][name]


def _share(rows: list[list[Any]], columns: list[cypher.Column]) -> tuple[tuple[bool, ...], list[list[Any]], list[Any]]:
    """Return which columns hold one value in every row, the rows without them, and those values once.

    Keys (uids and ends) are never shared, so a statement's shape depends only on properties.
    """
    first = rows[0]
    shared = tuple(
        name not in ("uid", "start", "end") and all(row[c] == first[c] for row in rows)
        for c, (_, name) in enumerate(columns)
    )
    listed = [[v for v, s in zip(row, shared, strict=True) if not s] for row in rows]
    return shared, listed, [v for v, s in zip(first, shared, strict=True) if s]


def _by_label(uids: Iterable[str]) -> dict[str, list[str]]:
    """Group uids by their label (once each, in order), rejecting a malformed one."""
    out: dict[str, list[str]] = defaultdict(list)
    for u in dict.fromkeys(uids):
        out[_label_of(u)].append(u)
    return out


def _label_of(uid: str, expected: str | None = None) -> str:
    """Return the label of a uid, rejecting a malformed one (or one of another label) up front."""
    try:
        label = uids.label_of(uid)
    except ValueError as exc:
        raise ValidationError("uid", uid, str(exc)) from None
    if expected and label != expected:
        raise ValidationError("uid", uid, f"must be a {expected} uid, not a {label} uid")
    return label


def node_from_props(labels: Sequence[str], props: dict[str, Any]) -> Node:
    """Rebuild the typed node from its stored labels and properties."""
    label = next(lbl for lbl in labels if lbl in NODE_TYPES)
    model = NODE_TYPES[label]
    return model.model_validate(_known(model, props), context=STORED)


@dataclass(frozen=True, slots=True)
class StoredNode:
    """A node read back for display: its label, uid and properties as Python values, not validated again.

    `props` holds every field of the label's model (defaults where the store has nothing, as
    nulls are not stored), like `model_dump()` of the model, and nothing else. What is read
    was validated when it was written; building the pydantic model again and dumping it took
    ~17 % of the API's CPU for a building's houses and residents. Treat `props` as read-only.
    """

    label: str
    uid: str
    props: dict[str, Any]


@cache
def _shape(labels: tuple[str, ...]) -> tuple[str, dict[str, str], frozenset[str], dict[str, Any]]:
    """For nodes of these stored labels: the label, its temporal fields, its fields, and their defaults."""
    label = next(lbl for lbl in labels if lbl in NODE_TYPES)
    fields = NODE_TYPES[label].model_fields
    defaults = {n: i.get_default(call_default_factory=True) for n, i in fields.items() if not i.is_required()}
    return label, NODE_TYPES[label].temporal_fields(), frozenset(fields), defaults


def stored_node(labels: Sequence[str], props: dict[str, Any]) -> StoredNode:
    """The :class:`StoredNode` of stored labels and properties."""
    label, temporal, fields, defaults = _shape(tuple(labels))
    values = defaults | _typed(props, temporal, fields)
    return StoredNode(label, values["uid"], values)


def _known(model: type[Record], props: dict[str, Any]) -> dict[str, Any]:
    """Return the stored properties `model` has, as Python values."""
    fields = model.model_fields  # a computed property: once, not per key (it was a tenth of a read's time)
    return {k: v if type(v) in _PLAIN else _native(v) for k, v in props.items() if k in fields}


def validate(model: type[R], data: dict[str, Any]) -> R:
    """Build a model from raw data, raising our ValidationError naming the field."""
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationError.from_pydantic(model.__name__, exc) from None


class GraphStore:
    """Batched writes and typed reads of the community graph, keyed by uid."""

    def __init__(
        self,
        driver: neo4j.Driver,
        database: str,
        batch_size: int = 5000,
        uri: str = "bolt",
        progress: Callable[[int], None] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.driver, self.database, self.batch_size = driver, database, batch_size
        self.uri, self.progress, self.auth = uri, progress, auth

    @classmethod
    def from_settings(cls, settings: GraphSettings, database: str | None = None) -> GraphStore:
        auth = (settings.neo4j_user, settings.neo4j_password.get_secret_value())
        driver = neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=auth)
        return cls(driver, database or settings.neo4j_database, settings.batch_size, settings.neo4j_uri, auth=auth)

    def async_reads(self) -> AsyncReads:
        """Open an asyncio driver to the same server and database, for the running event loop; close it there."""
        if self.auth is None:
            raise RuntimeError("this store was not made by GraphStore.from_settings: it has no credentials to reuse")
        return AsyncReads(neo4j.AsyncGraphDatabase.driver(self.uri, auth=self.auth), self.database, self.uri)

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, query: str, **params: Any) -> list[neo4j.Record]:
        """Run a read-only statement in an auto-commit transaction (routed to a reader in a Neo4j cluster).

        Auto-commit, not `execute_query`'s managed transaction: RUN and PULL go in one round trip,
        with no BEGIN before nor COMMIT after. Reading a person by uid 4,000 times, 50 at once on
        ArcadeDB, took 1.0–1.1 ms of the client's CPU a read instead of 1.6–1.7 (25 threads), and
        0.44–0.49 ms instead of 0.68–0.84 on the asyncio driver.
        """
        try:
            with self.driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS) as session:
                return list(session.run(query, params))
        except ServiceUnavailable as exc:
            raise GraphUnavailable(self.uri, str(exc)) from exc

    def _write(
        self,
        query: str,
        check: Callable[[neo4j.ManagedTransaction, list[neo4j.Record]], None] | None = None,
        **params: Any,
    ) -> list[neo4j.Record]:
        """Run one statement in a managed write transaction; `check` may raise to roll it back."""

        def work(tx: neo4j.ManagedTransaction) -> list[neo4j.Record]:
            records = list(tx.run(query, params))
            if check:
                check(tx, records)
            return records

        return self._transaction(work)

    def _transaction(self, work: Callable[[neo4j.ManagedTransaction], W]) -> W:
        """Run `work` in a managed write transaction, retried when concurrent MERGEs collide on a constraint."""
        for attempt in range(CONSTRAINT_RETRIES):
            try:
                with self.driver.session(database=self.database) as session:
                    return session.execute_write(work)
            except ConstraintError:
                if attempt == CONSTRAINT_RETRIES - 1:
                    raise
                log.info("retrying after a constraint conflict", extra={"attempt": attempt + 1})
            except ServiceUnavailable as exc:
                raise GraphUnavailable(self.uri, str(exc)) from exc
        raise AssertionError("unreachable")

    # --- schema and health ---------------------------------------------------------------

    def ping(self) -> bool:
        """Return True when the server answers a real query on our database."""
        return bool(self._read(cypher.PING)[0]["ok"] == 1)

    def ensure_schema(self) -> int:
        """Create every constraint and index that is missing; safe to call at each start."""
        statements = cypher.schema_statements()
        for statement in statements:
            self._write(statement)
        return len(statements)

    # --- writes ----------------------------------------------------------------------------

    def upsert(self, nodes: Iterable[Node]) -> int:
        """Create or update nodes by uid, in batches per label; return how many were written."""
        written = 0
        for model, rows in _node_rows(nodes).items():
            query = cypher.upsert_nodes(model)
            for chunk in _chunks(rows, self.batch_size):
                written += self._write(query, rows=chunk)[0]["written"]
                self._report(len(chunk))
        return written

    def link(self, links: Iterable[Link]) -> int:
        """Create or update relationships by uid.

        Rows travel as lists, a value every row shares once (:func:`cypher.upsert_links`). A batch
        naming a node that does not exist is rolled back whole and MissingEndpoints says which
        ends are missing; batches before it stay written.
        """
        written = 0
        for (rel_type, start, end), rows in _link_rows(links).items():
            columns = cypher.link_columns(rel_type)
            for chunk in _chunks(rows, self.batch_size):
                shared, listed, values = _share([[_value(r, name) for _, name in columns] for r in chunk], columns)
                query = cypher.upsert_links(rel_type, start, end, shared)
                check = _all_written(rel_type, _ends(chunk))
                written += self._write(query, check=check, rows=listed, shared=values)[0]["written"]
                self._report(len(chunk))
        return written

    def attach(self, items: Iterable[tuple[Node, Sequence[Link]]] | Attachment) -> int:
        """Create or update nodes together with relationships from each of them to nodes that exist.

        Every link of an item starts at its node. Nodes with links of the same types to the same
        labels go in one statement (:func:`cypher.upsert_attached`): a node and its links cost the
        graph server one row, where upsert then link cost it one per item (ArcadeDB wrote the
        projector's events 1.6x faster so). Rows travel as lists, a value every row shares once.
        `items` may have been made into statements ahead (:meth:`prepare_attach`). A batch naming
        a missing end is rolled back whole, MissingEndpoints naming it. Return how many nodes were
        written.
        """
        attachment = items if isinstance(items, Attachment) else self.prepare_attach(items)
        written = 0
        for statement in attachment.statements:
            check = _all_written(statement.types, statement.ends, len(statement.rows))
            records = self._write(statement.query, check=check, rows=statement.rows, shared=statement.shared)
            written += records[0]["written"]
            self._report(len(statement.rows))
        return written

    def prepare_attach(self, items: Iterable[tuple[Node, Sequence[Link]]]) -> Attachment:
        """Make the statements of :meth:`attach` without sending them (no I/O: a pipeline builds them ahead)."""
        groups: dict[tuple[type[Node], tuple[tuple[str, str], ...]], list[tuple[Node, list[Link]]]] = defaultdict(list)
        for node, links in items:
            ordered = sorted(links, key=lambda x: (RELATION_OF_MODEL[type(x)].type, x.end))
            stray = [x for x in ordered if x.start != node.uid]
            if stray:
                raise ValidationError("links", stray[0].start, f"must start at the node they come with, {node.uid}")
            shape = tuple((RELATION_OF_MODEL[type(x)].type, uids.label_of(x.end)) for x in ordered)
            groups[type(node), shape].append((node, ordered))
        statements = []
        for (model, shape), members in groups.items():
            columns = cypher.attached_columns(model, shape)
            parts = [_rows([node for node, _ in members])]
            parts += [_rows([x[i] for _, x in members]) for i in range(len(shape))]
            rows = [[_value(parts[owner + 1][r], name) for owner, name in columns] for r in range(len(members))]
            types = "/".join(dict.fromkeys(t for t, _ in shape))
            for chunk in _chunks(range(len(rows)), self.batch_size):
                shared, listed, values = _share([rows[r] for r in chunk], columns)
                statements.append(
                    _Statement(
                        cypher.upsert_attached(model, shape, shared),
                        rows=listed,
                        shared=values,
                        types=types,
                        ends=[(parts[0][r]["uid"], part[r]["end"]) for r in chunk for part in parts[1:]],
                    )
                )
        return Attachment(statements)

    def write(
        self, nodes: Iterable[Node], links: Iterable[Link], before_commit: Callable[[], object] | None = None
    ) -> tuple[int, int]:
        """Create or update nodes, then relationships, in one transaction; return how many of each.

        All or nothing: a relationship naming a node that is neither in the graph nor among
        `nodes` rolls everything back, and MissingEndpoints says which ends are missing. For a
        set that belongs together (one imported model), sent in one transaction, not a bulk load:
        batches go together into statements of up to `batch_size` rows
        (:func:`cypher.upsert_together`), so a model is one round trip, not one per label and
        relationship type. `before_commit()` runs last in the transaction: what it raises rolls
        the graph back (another store's write that must succeed for this one to stand).
        """
        batches: list[tuple[type[Node] | tuple[str, str, str], list[dict[str, Any]]]] = [
            (model, chunk) for model, rows in _node_rows(nodes).items() for chunk in _chunks(rows, self.batch_size)
        ]
        batches += [(key, chunk) for key, rows in _link_rows(links).items() for chunk in _chunks(rows, self.batch_size)]
        statements: list[list[tuple[type[Node] | tuple[str, str, str], list[dict[str, Any]]]]] = []
        size = self.batch_size
        for batch in batches:
            if size + len(batch[1]) > self.batch_size:
                statements.append([])
                size = 0
            statements[-1].append(batch)
            size += len(batch[1])

        def work(tx: neo4j.ManagedTransaction) -> tuple[int, int]:
            written = [0, 0]
            for statement in statements:
                node_models = tuple(key for key, _ in statement if not isinstance(key, tuple))
                link_keys = tuple(key for key, _ in statement if isinstance(key, tuple))
                query = cypher.upsert_together(node_models, link_keys)
                record = tx.run(query, {f"rows{i}": rows for i, (_, rows) in enumerate(statement)}).single()
                counts = record["written"] if record is not None else None
                if counts != [len(rows) for _, rows in statement]:
                    _raise_missing(tx, [(key, rows) for key, rows in statement if isinstance(key, tuple)])
                written[0] += sum(counts[: len(node_models)])
                written[1] += sum(counts[len(node_models) :])
            if before_commit is not None:
                before_commit()
            return written[0], written[1]

        done = self._transaction(work)
        self._report(sum(done))
        return done

    def _report(self, n: int) -> None:
        if self.progress:
            self.progress(n)

    # --- reads -----------------------------------------------------------------------------

    def get(self, uid: str) -> Node:
        """Return the node with this uid, typed by its label."""
        found = self.get_many([uid])
        if uid not in found:
            raise UnknownEntity(uid)
        return found[uid]

    def get_many(self, uids: Iterable[str]) -> dict[str, Node]:
        """Return the nodes that exist among `uids`, keyed by uid (one query per label)."""
        return {
            r["uid"]: node_from_props(r["labels"], r["props"])
            for query, params in _node_reads(uids)
            for r in self._read(query, **params)
        }

    def existing(self, uids: Iterable[str]) -> set[str]:
        """Return the uids among `uids` that name a node (one query per label; no property is read)."""
        by_label = _by_label(uids)
        return {r["uid"] for label, wanted in by_label.items() for r in self._read(cypher.existing(label), uids=wanted)}

    def properties(self, uids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Return every stored property of the nodes among `uids`, derived ones too (roll-ups, scores), by uid."""
        by_label = _by_label(uids)
        return {
            r["uid"]: typed(NODE_TYPES[label], r["props"])
            for label, wanted in by_label.items()
            for r in self._read(cypher.nodes_by_uid(label), uids=wanted)
        }

    def neighbourhood(
        self,
        uid: str,
        hops: int = 1,
        labels: Sequence[str] | None = None,
        rel_types: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> Subgraph:
        """Return the k-hop neighbourhood of `uid` as nodes and relationships, in one round trip.

        `labels` keeps only paths whose nodes (after the first) carry one of them; `rel_types`
        keeps only paths made of those relationship types; `limit` caps the paths considered.
        """
        records = self._read(
            cypher.neighbourhood(_label_of(uid), hops),
            uid=uid,
            limit=limit,
            labels=list(labels) if labels else None,
            rel_types=list(rel_types) if rel_types else None,
        )
        nodes, edges = _unpack(records[0]["edges"])
        centre = nodes.pop(uid, None) or NodeRef.of(self.get(uid))
        return Subgraph([centre, *nodes.values()], edges)

    def shortest_path(self, start: str, end: str, rel_types: Sequence[str] | None = None) -> Subgraph | None:
        """Return a shortest path (up to 8 hops) between two uids, or None when there is none."""
        if start == end:
            return Subgraph([NodeRef.of(self.get(start))], [])
        try:
            query = cypher.shortest_path(_label_of(start), _label_of(end), tuple(sorted(set(rel_types or ()))))
        except ValueError as exc:
            raise ValidationError("rel_types", rel_types, str(exc)) from None
        records = self._read(query, start=start, end=end)
        if not records:
            found = self.get_many([start, end])
            for u in (start, end):
                if u not in found:
                    raise UnknownEntity(u)
            return None
        nodes, edges = _unpack(records[0]["edges"])
        return Subgraph([nodes[u] for u in records[0]["path"]], edges)

    def residence_history(self, house_uid: str) -> list[Residence]:
        """Return everyone who lived in a house, oldest stay first (7.1.1.4 d)."""
        _label_of(house_uid, expected="House")
        records = self._read(cypher.RESIDENCE_HISTORY, uid=house_uid)
        if not records:
            raise UnknownEntity(house_uid)
        return [
            Residence(
                r["person"], r["name"], _native(r["since"]), _native(r["until"]), bool(r["registered"]), r["role"]
            )
            for r in records
            if r["person"] is not None
        ]

    def relationships(
        self, uid: str, rel_types: Sequence[str] | None = None, limit: int = 1000, order_by: str | None = None
    ) -> list[Relationship]:
        """Return the relationships of `uid` (of `rel_types`, all when None) with their properties, in one query.

        `order_by` names a relationship property (``count``, ``confidence``, …): the `limit` returned
        are then those with its largest values, largest first.
        """
        try:
            query = _relationships_query(_label_of(uid), tuple(sorted(set(rel_types or ()))), order_by)
        except ValueError as exc:
            bad_order = order_by is not None and "property" in str(exc)
            raise ValidationError(
                "order_by" if bad_order else "rel_types", order_by if bad_order else rel_types, str(exc)
            ) from None
        return [
            Relationship(
                r["uid"],
                r["type"],
                bool(r["outgoing"]),
                NodeRef(
                    r["other"]["uid"],
                    next(x for x in r["other"]["labels"] if x in NODE_TYPES),
                    r["other"]["caption"] or r["other"]["uid"],
                ),
                typed(RELATIONS[r["type"]].model, r["props"]),
            )
            for r in self._read(query, uid=uid, limit=limit)
        ]

    def containers(self, uid: str) -> list[Node]:
        """Return the places `uid` is LOCATED_IN, transitively, nearest first (unit, building, estate, …)."""
        records = self._read(_containers_query(_label_of(uid)), uid=uid)
        return [node_from_props(r["labels"], r["props"]) for r in records]

    def open_alarms(self, uids: Iterable[str]) -> dict[str, list[Node]]:
        """Return the open, acknowledged or dispatched alarms RAISED_ON each of `uids` (one query per label)."""
        return self._attached("Alarm", "RAISED_ON", uids, OPEN_ALARM_STATUSES)

    def risk_flags(self, uids: Iterable[str], statuses: Sequence[str] = ("open",)) -> dict[str, list[Node]]:
        """Return the risk flags (with `statuses`) that FLAGS each of `uids` (one query per label)."""
        return self._attached("RiskFlag", "FLAGS", uids, statuses)

    def _attached(
        self, label: str, rel_type: str, uids: Iterable[str], statuses: Sequence[str]
    ) -> dict[str, list[Node]]:
        by_label = _by_label(uids)
        out: dict[str, list[Node]] = {u: [] for us in by_label.values() for u in us}
        for target, wanted in by_label.items():
            for r in self._read(_attached_query(label, rel_type, target), uids=wanted, statuses=list(statuses)):
                out[r["target"]].append(node_from_props(r["labels"], r["props"]))
        return out

    def counts(self) -> dict[str, int]:
        """Return the number of nodes per label, then of relationships per type, in ontology order."""
        out = dict.fromkeys([*NODE_TYPES, *RELATIONS], 0)
        for r in self._read(cypher.COUNT_NODES):
            for label in r["labels"]:
                if label in NODE_TYPES:
                    out[label] += r["n"]
        for r in self._read(cypher.COUNT_RELATIONSHIPS):
            out[r["type"]] = out.get(r["type"], 0) + r["n"]
        return out

    # --- projections for graph algorithms, and what they write back ------------------------

    def _stream(self, query: str, **params: Any) -> Iterator[neo4j.Record]:
        """Yield a read-only statement's records, fetched from the server `batch_size` at a time."""
        try:
            with self.driver.session(
                database=self.database, default_access_mode=neo4j.READ_ACCESS, fetch_size=self.batch_size
            ) as session:
                yield from session.run(query, params)
        except ServiceUnavailable as exc:
            raise GraphUnavailable(self.uri, str(exc)) from exc

    def uids_of(self, label: str) -> Iterator[str]:
        """Yield the uid of every node of a label, fetched in batches."""
        try:
            query = cypher.uids_of(label)
        except ValueError as exc:
            raise ValidationError("label", label, str(exc)) from None
        for r in self._stream(query):
            yield r["uid"]

    def relationships_of(
        self, rel_type: str, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[tuple[str, str, float]]:
        """Yield (start uid, end uid, weight) of every `rel_type` relationship, fetched in batches.

        Only relationships that overlap [since, until) are kept (see :func:`cypher.projected_links`);
        the weight is the relationship's `count` where it has one, else 1.
        """
        if rel_type not in RELATIONS:
            raise ValidationError("rel_type", rel_type, f"unknown relationship type; known: {', '.join(RELATIONS)}")
        query = cypher.projected_links(rel_type)
        bounds = {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None}
        for r in self._stream(query, **bounds):
            yield r["start"], r["end"], float(r["weight"])

    def estate_scope(self, estate: str, labels: Sequence[str]) -> set[str]:
        """Return the uids of the nodes of `labels` that belong to an estate.

        That is the estate, everything LOCATED_IN it (directly or through a chain), what is joined
        to those places (residents, owners, households, devices, grids, but not the regions
        above) and what is joined to the devices installed there (vehicles and people seen).
        """
        _label_of(estate, expected="Estate")
        found = {r["uid"] for r in self._read(cypher.ESTATE_SCOPE, uid=estate, labels=list(labels))}
        if not found:
            self.get(estate)  # raises UnknownEntity for an estate that does not exist
        return found if "Estate" in labels else found - {estate}

    def set_properties(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Set derived properties (analytics outputs) on existing nodes by uid, in batches per label.

        Values are numbers, text, flags, lists of those, or aware datetimes (stored as Cypher
        datetimes); names must not be properties of the ontology. Return how many nodes were
        written: a uid that no longer exists is skipped.
        """
        groups: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[dict[str, Any]]] = defaultdict(list)
        for node_uid, props in rows:
            plain, times = {}, {}
            for name, value in props.items():
                if isinstance(value, datetime):
                    if value.tzinfo is None:
                        raise ValidationError(name, value, "must carry a time zone")
                    times[name] = value.isoformat()
                elif value is None or isinstance(value, (bool, int, float, str, list)):
                    plain[name] = value
                else:
                    raise ValidationError(name, value, "must be a number, text, flag, list or datetime")
            key = (_label_of(node_uid), tuple(sorted(plain)), tuple(sorted(times)))
            groups[key].append({"uid": node_uid, "props": plain, "t": times})
        written = 0
        for (label, names, temporal), batch in groups.items():
            try:
                query = cypher.set_properties(label, names, temporal)
            except ValueError as exc:
                raise ValidationError("properties", [*names, *temporal], str(exc)) from None
            for chunk in _chunks(batch, self.batch_size):
                written += self._write(query, rows=chunk)[0]["written"]
                self._report(len(chunk))
        return written

    def nodes(self, label: str) -> list[Node]:
        """Return every node of a label, typed (for batch jobs over a whole community)."""
        if label not in NODE_TYPES:
            raise ValidationError("label", label, f"unknown label; known: {', '.join(NODE_TYPES)}")
        return [node_from_props(r["labels"], r["props"]) for r in self._read(cypher.all_nodes(label))]

    def links(self, rel_type: str) -> list[Link]:
        """Return every relationship of a type, typed, with its ends."""
        if rel_type not in RELATIONS:
            raise ValidationError("rel_type", rel_type, f"unknown relationship type; known: {', '.join(RELATIONS)}")
        model = RELATIONS[rel_type].model
        return [
            model.model_validate(
                {
                    **_known(model, r["props"]),
                    "start": r["start"],
                    "end": r["end"],
                }
            )
            for r in self._read(cypher.all_links(rel_type))
        ]

    def neighbours(self, uids: Iterable[str], steps: Sequence[Step], limit: int = 100_000) -> Neighbours[Node]:
        """Return, for each of `uids`, the nodes reached along `steps` with the last relationship's properties.

        One query per label among `uids` (a DataLoader's batch is usually one label: one round
        trip), so a nested API query costs one graph read per level, not one per parent.
        """
        out: Neighbours[Node] = {}
        for query, params in _neighbour_reads(out, uids, steps, limit):
            _add_neighbours(out, steps, self._read(query, **params), node_from_props)
        return out

    def delete(self, uid: str) -> bool:
        """Delete the node with this uid and its relationships; return False when there was none."""
        return bool(self._write(_delete_query(_label_of(uid)), uid=uid)[0]["n"])


def _node_reads(uids: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
    """The statements that read the nodes among `uids`: one per label."""
    return [(cypher.nodes_by_uid(label), {"uids": wanted}) for label, wanted in _by_label(uids).items()]


def _neighbour_reads(
    out: Neighbours[N], uids: Iterable[str], steps: Sequence[Step], limit: int
) -> list[tuple[str, dict[str, Any]]]:
    """The statements of a neighbour read (one per label among `uids`); `out` gets an empty list per uid."""
    by_label = _by_label(uids)
    out.update({u: [] for us in by_label.values() for u in us})
    try:
        return [
            (_neighbours_query(label, tuple(steps)), {"uids": wanted, "limit": limit})
            for label, wanted in by_label.items()
        ]
    except ValueError as exc:
        raise ValidationError("steps", steps, str(exc)) from None


def _add_neighbours(
    out: Neighbours[N],
    steps: Sequence[Step],
    records: Iterable[neo4j.Record],
    build: Callable[[Sequence[str], dict[str, Any]], N],
) -> None:
    rel_model = RELATIONS[steps[-1].rel_type].model
    for r in records:
        out[r["source"]].append((build(r["labels"], r["props"]), typed(rel_model, r["rel"] or {})))


class AsyncReads:
    """The reads GraphQL's DataLoaders make, on neo4j's asyncio driver, for the event loop that opened it.

    From an event loop, a read through the blocking driver goes to a thread and back, and waking
    the thread and handing the GIL over each way cost more CPU than the read: in one process, 50
    concurrent reads of a person by uid took 1.1–1.2 ms of CPU each through 4 threads against
    0.6–0.9 ms on the asyncio driver (both as managed transactions; see :meth:`GraphStore._read`).
    """

    def __init__(self, driver: neo4j.AsyncDriver, database: str, uri: str) -> None:
        self.driver, self.database, self.uri = driver, database, uri

    async def _run(self, query: str, params: dict[str, Any]) -> list[neo4j.Record]:
        async with self.driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS) as session:
            return [record async for record in await session.run(query, params)]

    async def _read(self, query: str, params: dict[str, Any]) -> list[neo4j.Record]:
        """As :meth:`GraphStore._read`."""
        try:
            # shielded: GraphQL cancels a field's pending reads when a sibling fails, and a read
            # cancelled while the driver opens a connection leaks the connection's socket
            return await asyncio.shield(self._run(query, params))
        except ServiceUnavailable as exc:
            raise GraphUnavailable(self.uri, str(exc)) from exc

    async def get_many(self, uids: Iterable[str]) -> dict[str, StoredNode]:
        """As :meth:`GraphStore.get_many`, as :class:`StoredNode` (for display, not validated again)."""
        return {
            r["uid"]: stored_node(r["labels"], r["props"])
            for query, params in _node_reads(uids)
            for r in await self._read(query, params)
        }

    async def neighbours(
        self, uids: Iterable[str], steps: Sequence[Step], limit: int = 100_000
    ) -> Neighbours[StoredNode]:
        """As :meth:`GraphStore.neighbours`, the nodes as :class:`StoredNode`."""
        out: Neighbours[StoredNode] = {}
        for query, params in _neighbour_reads(out, uids, steps, limit):
            _add_neighbours(out, steps, await self._read(query, params), stored_node)
        return out

    async def close(self) -> None:
        await self.driver.close()


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _unpack(raw_edges: list[dict[str, Any]]) -> tuple[dict[str, NodeRef], list[Edge]]:
    """Split edge maps (with their end nodes inlined) into distinct nodes and edges."""
    nodes: dict[str, NodeRef] = {}
    edges = []
    for e in raw_edges:
        for end in (e["start"], e["end"]):
            label = next(lbl for lbl in end["labels"] if lbl in NODE_TYPES)
            nodes.setdefault(end["uid"], NodeRef(end["uid"], label, end["caption"] or end["uid"]))
        edges.append(
            Edge(e["uid"], e["type"], e["start"]["uid"], e["end"]["uid"], _time(e["since"]), _time(e["until"]))
        )
    return nodes, edges


def _node_rows(nodes: Iterable[Node]) -> dict[type[Node], list[dict[str, Any]]]:
    """Parameter rows of nodes, per model."""
    by_model: dict[type[Node], list[Node]] = defaultdict(list)
    for node in nodes:
        by_model[type(node)].append(node)
    return {model: _rows(members) for model, members in by_model.items()}


def _link_rows(links: Iterable[Link]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Parameter rows of relationships, per (type, start label, end label)."""
    groups: dict[tuple[str, str, str], list[Link]] = defaultdict(list)
    for item in links:
        groups[RELATION_OF_MODEL[type(item)].type, uids.label_of(item.start), uids.label_of(item.end)].append(item)
    return {key: _rows(members) for key, members in groups.items()}


def _ends(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["start"], r["end"]) for r in rows]


def _raise_missing(
    tx: neo4j.ManagedTransaction, batches: list[tuple[tuple[str, str, str], list[dict[str, Any]]]]
) -> NoReturn:
    """Raise MissingEndpoints naming the relationships among `batches` whose ends do not exist (in `tx`)."""
    by_label: dict[str, set[str]] = defaultdict(set)
    for (_, start, end), rows in batches:
        by_label[start].update(r["start"] for r in rows)
        by_label[end].update(r["end"] for r in rows)
    present = {
        rec["uid"] for label, us in by_label.items() for rec in tx.run(cypher.nodes_by_uid(label), uids=sorted(us))
    }
    missing: dict[str, list[str]] = defaultdict(list)
    for (rel_type, _, _), rows in batches:
        missing[rel_type] += [f"{r['start']}>{r['end']}" for r in rows if not {r["start"], r["end"]} <= present]
    found = {t: pairs for t, pairs in missing.items() if pairs}
    raise MissingEndpoints("/".join(found) or "/".join(missing), [p for pairs in found.values() for p in pairs])


def _all_written(
    rel_type: str, ends: list[tuple[str, str]], expected: int | None = None
) -> Callable[[neo4j.ManagedTransaction, list[neo4j.Record]], None]:
    """Roll the batch back, naming the missing ends, when fewer than `expected` (default: one per pair) were written."""

    def check(tx: neo4j.ManagedTransaction, records: list[neo4j.Record]) -> None:
        if records[0]["written"] == (len(ends) if expected is None else expected):
            return
        by_label: dict[str, list[str]] = defaultdict(list)
        for u in {u for pair in ends for u in pair}:
            by_label[uids.label_of(u)].append(u)
        present = {rec["uid"] for label, us in by_label.items() for rec in tx.run(cypher.nodes_by_uid(label), uids=us)}
        raise MissingEndpoints(rel_type, [f"{a}>{b}" for a, b in ends if not {a, b} <= present])

    return check
