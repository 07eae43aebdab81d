"""Every Cypher statement twinhood runs, as module constants or built from the ontology.

Statements built here take identifiers (labels, relationship types, property names) only from
:mod:`graph.ontology`, never from input; every value travels as a parameter. A node is found by
its label and uid, and the label comes from the uid's prefix (:func:`graph.uid.label_of`), so
every look-up uses that label's unique index: ArcadeDB writes multi-label nodes ~100x slower, so
there is no catch-all second label. The shapes run on both Neo4j 5 and ArcadeDB (see
GRAPH-SERVER.md): temporal values travel as ISO-8601 strings and become Cypher dates and
datetimes in the statement.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final

from graph.ontology import CAPTIONS, NODE_TYPES, RELATIONS, Link, Node, Record

MAX_HOPS: Final = 3
MAX_PATH_HOPS: Final = 8


def _label(label: str) -> str:
    if label not in NODE_TYPES:
        raise ValueError(f"unknown node label {label!r}")
    return label


def _temporal_sets(var: str, model: type[Node] | type[Link], row: str = "row") -> str:
    return "".join(
        f", {var}.{name} = {fn}({row}.t.{name})"
        for name, fn in model.temporal_fields().items()
        if name != "ingested_at"
    )


def schema_statements() -> list[str]:
    """Constraints and indexes, all idempotent: uid unique per label, lookups, relationship uids."""
    out = []
    for label, model in NODE_TYPES.items():
        out.append(f"CREATE CONSTRAINT {label.lower()}_uid IF NOT EXISTS FOR (n:{label}) REQUIRE n.uid IS UNIQUE")
        out += [
            f"CREATE INDEX {label.lower()}_{prop} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})" for prop in model.indexed
        ]
    out += [f"CREATE INDEX rel_{rel.lower()}_uid IF NOT EXISTS FOR ()-[r:{rel}]-() ON (r.uid)" for rel in RELATIONS]
    return out


@cache
def upsert_nodes(model: type[Node]) -> str:
    """MERGE a batch of `model` nodes on uid; `ingested_at` is kept from the first write."""
    return (
        f"UNWIND $rows AS row "
        f"MERGE (n:{model.label} {{uid: row.uid}}) "
        f"ON CREATE SET n.ingested_at = datetime(row.t.ingested_at) "
        f"SET n += row.props{_temporal_sets('n', model)} "
        f"RETURN count(n) AS written"
    )


@cache
def upsert_links(rel_type: str, start: str, end: str, shared: tuple[bool, ...]) -> str:
    """MERGE a batch of `rel_type` relationships from `start`-labelled to `end`-labelled nodes.

    Rows are lists of the values of :func:`link_columns` not marked in `shared`, as in
    :func:`upsert_attached`.
    """
    model = RELATIONS[rel_type].model
    head, expr = _expressions(link_columns(rel_type), [model], shared)
    return (
        f"{head}UNWIND $rows AS row "
        f"MATCH (a:{_label(start)} {{uid: {expr[0, 'start']}}}) "
        f"MATCH (b:{_label(end)} {{uid: {expr[0, 'end']}}}) "
        f"MERGE (a)-[r:{rel_type} {{uid: {expr[0, 'uid']}}}]->(b) {_sets('r', model, 0, expr)} "
        f"RETURN count(r) AS written"
    )


@cache
def upsert_together(nodes: tuple[type[Node], ...], links: tuple[tuple[str, str, str], ...]) -> str:
    """MERGE batches of nodes, then batches of relationships between them, in one statement.

    Batch i is `$rows<i>`: `nodes` (one model each) come first, then `links` ((type, start label,
    end label) each), in the map rows :func:`upsert_nodes` takes (a relationship's with `start`
    and `end`); `written` lists how many of each batch were written. One statement is one round
    trip where a statement per batch was one each (an IFC model's dozen batches took 10-18 ms on
    ArcadeDB, this 4-5 ms).
    Each batch is unwound and counted in turn, carrying the counts before it (plain openCypher,
    no subqueries), so a batch of relationships none of whose ends exist leaves no row: then
    there is no record at all.
    """
    counts: list[str] = []
    parts = []
    for model in nodes:
        parts.append(
            f"UNWIND $rows{len(counts)} AS row MERGE (n:{model.label} {{uid: row.uid}}) "
            f"ON CREATE SET n.ingested_at = datetime(row.t.ingested_at) "
            f"SET n += row.props{_temporal_sets('n', model)} "
            f"WITH {''.join(f'{c}, ' for c in counts)}count(n) AS c{len(counts)}"
        )
        counts.append(f"c{len(counts)}")
    for rel_type, start, end in links:
        parts.append(
            f"UNWIND $rows{len(counts)} AS row "
            f"MATCH (a:{_label(start)} {{uid: row.start}}) "
            f"MATCH (b:{_label(end)} {{uid: row.end}}) "
            f"MERGE (a)-[r:{rel_type} {{uid: row.uid}}]->(b) "
            f"ON CREATE SET r.ingested_at = datetime(row.t.ingested_at) "
            f"SET r += row.props{_temporal_sets('r', RELATIONS[rel_type].model)} "
            f"WITH {''.join(f'{c}, ' for c in counts)}count(r) AS c{len(counts)}"
        )
        counts.append(f"c{len(counts)}")
    return " ".join(parts) + f" RETURN [{', '.join(counts)}] AS written"


@cache
def properties(var: str, model: type[Record]) -> str:
    """The properties of `var` (a `model` node or relationship) as a map, its dates and datetimes as ISO-8601 text.

    The Python driver turns each Bolt date or datetime into a `neo4j.time` value in pure Python,
    ~90 µs apiece (two or three per node: reading a building's 636 residents took 100 ms, 11 ms
    without them); text costs nothing, and the store parses it back (:func:`graph.store.typed`).
    Derived datetimes the model does not declare (roll-ups, algorithm runs) still come as values.
    """
    return properties_of_any(var, (model,))


@cache
def properties_of_any(var: str, models: tuple[type[Record], ...]) -> str:
    """:func:`properties` of `var` that may be any of `models`: the dates and datetimes of each as text.

    A name the element does not have comes as null (which no stored property is).
    """
    temporal = dict.fromkeys(name for model in models for name in model.temporal_fields())
    if not temporal:
        return f"properties({var})"
    return f"{var} {{.*, " + ", ".join(f"{name}: toString({var}.{name})" for name in temporal) + "}"


Column = tuple[int, str]
"""A column of a list row: whose (-1 for the node, else the link's position) and which field."""


def _columns(owner: int, model: type[Record], keys: tuple[str, ...]) -> list[Column]:
    temporal = [t for t in model.temporal_fields() if t != "ingested_at"]
    return [*((owner, k) for k in keys), (owner, "props"), *((owner, t) for t in temporal), (owner, "ingested_at")]


def link_columns(rel_type: str) -> list[Column]:
    """The columns of an :func:`upsert_links` row: `start`, `end`, `uid`, `props`, its dates, `ingested_at`."""
    return _columns(0, RELATIONS[rel_type].model, ("start", "end", "uid"))


def attached_columns(model: type[Node], links: tuple[tuple[str, str], ...]) -> list[Column]:
    """The columns of an :func:`upsert_attached` row: (-1 for the node or the link's position, field name).

    A node's are `uid`, `props`, its dates and datetimes but `ingested_at`, then `ingested_at`; each
    link's are `end`, `uid`, `props`, its dates and datetimes but `ingested_at`, then `ingested_at`.
    """
    out = _columns(-1, model, ("uid",))
    for i, (rel_type, _) in enumerate(links):
        out += _columns(i, RELATIONS[rel_type].model, ("end", "uid"))
    return out


def _expressions(
    columns: list[Column], models: list[type[Record]], shared: tuple[bool, ...]
) -> tuple[str, dict[Column, str]]:
    """Return the clause that makes the shared values once (as `s`) and each column's expression.

    `models[owner]` is the model of each owner's columns (the node's, -1, is last). A column not
    shared is the next item of `row`; a shared one is its item of `$shared`; dates and datetimes
    are made by their Cypher function.
    """
    values: list[str] = []
    expr: dict[Column, str] = {}
    k = 0
    for (owner, name), is_shared in zip(columns, shared, strict=True):
        fn = models[owner].temporal_fields().get(name)
        if is_shared:
            expr[owner, name] = f"s[{len(values)}]"
            values.append(f"{fn}($shared[{len(values)}])" if fn else f"$shared[{len(values)}]")
        else:
            expr[owner, name] = f"{fn}(row[{k}])" if fn else f"row[{k}]"
            k += 1
    return (f"WITH [{', '.join(values)}] AS s " if values else ""), expr


def _sets(var: str, model: type[Record], owner: int, expr: dict[Column, str]) -> str:
    temporal = [t for t in model.temporal_fields() if t != "ingested_at"]
    return (
        f"ON CREATE SET {var}.ingested_at = {expr[owner, 'ingested_at']} "
        f"SET {var} += {expr[owner, 'props']}" + "".join(f", {var}.{t} = {expr[owner, t]}" for t in temporal)
    )


@cache
def upsert_attached(model: type[Node], links: tuple[tuple[str, str], ...], shared: tuple[bool, ...]) -> str:
    """MERGE a batch of `model` nodes on uid, each with its relationships `links` ((type, end label), in order).

    A row is a list of the values of :func:`attached_columns` not marked in `shared`; a shared
    column has the same value in every row and travels once, in `$shared` (in column order), its
    dates and datetimes made once. ArcadeDB decodes a map in every row at a cost: list rows, and
    the source and ingest time of a batch sent once, cut its time per event by a third. A row
    whose end is missing is dropped (the count tells).
    """
    models = [RELATIONS[t].model for t, _ in links]
    head, expr = _expressions(attached_columns(model, links), [*models, model], shared)
    carried = ", s" if head else ""
    node = f"MERGE (n:{model.label} {{uid: {expr[-1, 'uid']}}}) {_sets('n', model, -1, expr)}"
    parts = [f"{head}UNWIND $rows AS row {node}"]
    for i, (rel_type, end) in enumerate(links):
        parts.append(
            f"WITH n, row{carried} MATCH (b{i}:{_label(end)} {{uid: {expr[i, 'end']}}}) "
            f"MERGE (n)-[r{i}:{rel_type} {{uid: {expr[i, 'uid']}}}]->(b{i}) {_sets(f'r{i}', models[i], i, expr)}"
        )
    return " ".join(parts) + " RETURN count(n) AS written"


@cache
def existing(label: str) -> str:
    """The uids of the nodes of one label among a list of uids (nothing else read)."""
    return f"MATCH (n:{_label(label)}) WHERE n.uid IN $uids RETURN n.uid AS uid"


@cache
def nodes_by_uid(label: str) -> str:
    """Nodes of one label among a list of uids."""
    return (
        f"MATCH (n:{_label(label)}) WHERE n.uid IN $uids "
        f"RETURN n.uid AS uid, labels(n) AS labels, {properties('n', NODE_TYPES[label])} AS props"
    )


@cache
def all_nodes(label: str) -> str:
    """Every node of one label, for batch jobs that read a whole community."""
    return f"MATCH (n:{_label(label)}) RETURN labels(n) AS labels, {properties('n', NODE_TYPES[label])} AS props"


@cache
def all_links(rel_type: str) -> str:
    """Every relationship of one type with its ends' uids."""
    if rel_type not in RELATIONS:
        raise ValueError(f"unknown relationship type {rel_type!r}")
    props = properties("r", RELATIONS[rel_type].model)
    return f"MATCH (a)-[r:{rel_type}]->(b) RETURN a.uid AS start, b.uid AS end, {props} AS props"


def _end(node: str) -> str:
    caption = ", ".join(f"{node}.{field}" for field in CAPTIONS)
    return f"{{uid: {node}.uid, labels: labels({node}), caption: toString(coalesce({caption}))}}"


# Views carry each node's uid, label and caption, and each relationship's ends and period, but
# not whole property maps (their datetimes are slow to read, see `properties`). Details come from nodes_by_uid.
_EDGE = (
    "{uid: r.uid, type: type(r), since: toString(r.since), until: toString(r.until), "
    f"start: {_end('startNode(r)')}, end: {_end('endNode(r)')}}}"
)


@cache
def neighbourhood(label: str, hops: int) -> str:
    """Distinct relationships, with their end nodes, on paths of 1..`hops` from a uid."""
    if not 1 <= hops <= MAX_HOPS:
        raise ValueError(f"hops must be between 1 and {MAX_HOPS}")
    return (
        f"MATCH p = (n:{_label(label)} {{uid: $uid}})-[*1..{hops}]-() "
        "WHERE ($rel_types IS NULL OR all(r IN relationships(p) WHERE type(r) IN $rel_types)) "
        "AND ($labels IS NULL OR all(x IN nodes(p)[1..] WHERE any(l IN labels(x) WHERE l IN $labels))) "
        "WITH p LIMIT $limit "
        "UNWIND relationships(p) AS r "
        "WITH DISTINCT r "
        f"RETURN collect({_EDGE}) AS edges"
    )


@cache
def shortest_path(start: str, end: str, rel_types: tuple[str, ...] = ()) -> str:
    """A shortest path of at most MAX_PATH_HOPS between two nodes, over `rel_types` only when given.

    The types go into the pattern, not a WHERE, so the search itself keeps to them instead of
    discarding a shortest path that strays.
    """
    unknown = [t for t in rel_types if t not in RELATIONS]
    if unknown:
        raise ValueError(f"unknown relationship type(s) {', '.join(unknown)}")
    types = ":" + "|".join(rel_types) if rel_types else ""
    return (
        f"MATCH (a:{_label(start)} {{uid: $start}}) MATCH (b:{_label(end)} {{uid: $end}}) "
        f"MATCH p = shortestPath((a)-[{types}*..{MAX_PATH_HOPS}]-(b)) "
        "RETURN [x IN nodes(p) | x.uid] AS path, "
        f"[r IN relationships(p) | {_EDGE}] AS edges"
    )


RESIDENCE_HISTORY: Final = (
    "MATCH (h:House {uid: $uid}) "
    "OPTIONAL MATCH (p:Person)-[r:LIVES_IN]->(h) "
    "RETURN p.uid AS person, p.name AS name, r.since AS since, r.until AS until, "
    "r.registered AS registered, r.role AS role "
    "ORDER BY since"
)

COUNT_NODES: Final = "MATCH (n) RETURN labels(n) AS labels, count(*) AS n"
COUNT_RELATIONSHIPS: Final = "MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n"
PING: Final = "RETURN 1 AS ok"


# --- projections for graph algorithms, and the properties they write back -------------------


@cache
def uids_of(label: str) -> str:
    """The uids of every node of one label."""
    return f"MATCH (n:{_label(label)}) RETURN n.uid AS uid"


@cache
def projected_links(rel_type: str) -> str:
    """Relationships of one type that overlap the slice [$since, $until), with their ends and a weight.

    A Period (`since`/`until`) overlaps when it starts before `$until` and ends after `$since`; a
    roll-up (`first_seen`/`last_seen`) when it was first seen before `$until` and last seen at or
    after `$since`; other relationships are timeless and always kept. Either bound may be null.
    The weight is the relationship's `count` where it has one (passes, co-travels), else 1.
    """
    if rel_type not in RELATIONS:
        raise ValueError(f"unknown relationship type {rel_type!r}")
    relation = RELATIONS[rel_type]
    fields = relation.model.model_fields
    where = ""
    if relation.temporal:
        where = (
            "WHERE ($until IS NULL OR r.since IS NULL OR r.since < datetime($until)) "
            "AND ($since IS NULL OR r.until IS NULL OR r.until > datetime($since)) "
        )
    elif "first_seen" in fields and "last_seen" in fields:
        where = (
            "WHERE ($until IS NULL OR r.first_seen < datetime($until)) "
            "AND ($since IS NULL OR r.last_seen >= datetime($since)) "
        )
    weight = "coalesce(r.count, 1)" if "count" in fields else "1"
    return f"MATCH (a)-[r:{rel_type}]->(b) {where}RETURN a.uid AS start, b.uid AS end, {weight} AS weight"


_PLACES_OF_ESTATE = f"MATCH (e:Estate {{uid: $uid}})<-[:LOCATED_IN*0..{MAX_PATH_HOPS}]-(p) "  # from e: faster
_OF_LABELS = "WHERE any(l IN labels(n) WHERE l IN $labels) "
ESTATE_SCOPE: Final = (
    # the estate and what is LOCATED_IN it, then what is joined to those places (residents, owners,
    # devices, grids; not the regions above), then what is joined to the devices installed there
    f"{_PLACES_OF_ESTATE}RETURN p.uid AS uid "
    f"UNION {_PLACES_OF_ESTATE}MATCH (p)<-[]-(n) {_OF_LABELS}RETURN n.uid AS uid "
    f"UNION {_PLACES_OF_ESTATE}MATCH (p)-[r]->(n) {_OF_LABELS}AND type(r) <> 'LOCATED_IN' RETURN n.uid AS uid "
    f"UNION {_PLACES_OF_ESTATE}MATCH (d:Device)-[:INSTALLED_IN]->(p) MATCH (d)-[]-(n) {_OF_LABELS}"
    "RETURN n.uid AS uid"
)

_PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@cache
def set_properties(label: str, names: tuple[str, ...], temporal: tuple[str, ...] = ()) -> str:
    """SET derived properties (analytics outputs) on a batch of existing `label` nodes found by uid.

    The names must be lower-case identifiers that are not properties of the label's model, so
    derived values never overwrite the validated domain data; `temporal` ones are stored as
    Cypher datetimes from ISO-8601 strings.
    """
    model = NODE_TYPES[_label(label)]
    for name in (*names, *temporal):
        if not _PROPERTY_NAME.match(name):
            raise ValueError(f"property name {name!r} must be a lower-case identifier")
        if name in model.model_fields or name == "label":
            raise ValueError(f"{name!r} is a {label} property of the ontology, not a derived one")
    sets = "".join(f", n.{name} = datetime(row.t.{name})" for name in temporal)
    return f"UNWIND $rows AS row MATCH (n:{label} {{uid: row.uid}}) SET n += row.props{sets} RETURN count(n) AS written"
