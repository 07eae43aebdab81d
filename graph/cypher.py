"""Every Cypher statement twinhood runs, as module constants or built from the ontology.

Statements built here take identifiers (labels, relationship types, property names) only from
:mod:`graph.ontology`, never from input; every value travels as a parameter. The shapes are the
ones checked to run on both Neo4j 5 and ArcadeDB (see GRAPH-SERVER.md): temporal values travel as
ISO-8601 strings and become Cypher dates and datetimes in the statement.
"""

from __future__ import annotations

from typing import Final

from graph.ontology import NODE_TYPES, RELATIONS, Link, Node

ENTITY: Final = "Entity"  # a second label on every node, so one index finds any uid
MAX_HOPS: Final = 3
MAX_PATH_HOPS: Final = 8


def _temporal_sets(var: str, model: type[Node] | type[Link]) -> str:
    return "".join(
        f", {var}.{name} = {fn}(row.t.{name})" for name, fn in model.temporal_fields().items() if name != "ingested_at"
    )


def schema_statements() -> list[str]:
    """Constraints and indexes, all idempotent: uid unique per label, lookups, relationship uids."""
    out = [f"CREATE CONSTRAINT entity_uid IF NOT EXISTS FOR (n:{ENTITY}) REQUIRE n.uid IS UNIQUE"]
    for label, model in NODE_TYPES.items():
        out.append(f"CREATE CONSTRAINT {label.lower()}_uid IF NOT EXISTS FOR (n:{label}) REQUIRE n.uid IS UNIQUE")
        out += [
            f"CREATE INDEX {label.lower()}_{prop} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})" for prop in model.indexed
        ]
    out += [f"CREATE INDEX rel_{rel.lower()}_uid IF NOT EXISTS FOR ()-[r:{rel}]-() ON (r.uid)" for rel in RELATIONS]
    return out


def upsert_nodes(model: type[Node]) -> str:
    """MERGE a batch of `model` nodes on uid; `ingested_at` is kept from the first write."""
    return (
        f"UNWIND $rows AS row "
        f"MERGE (n:{ENTITY}:{model.label} {{uid: row.uid}}) "
        f"ON CREATE SET n.ingested_at = datetime(row.t.ingested_at) "
        f"SET n += row.props{_temporal_sets('n', model)} "
        f"RETURN count(n) AS written"
    )


def upsert_links(rel_type: str) -> str:
    """MERGE a batch of relationships between existing nodes; returns the uids written."""
    model = RELATIONS[rel_type].model
    return (
        f"UNWIND $rows AS row "
        f"MATCH (a:{ENTITY} {{uid: row.start}}) "
        f"MATCH (b:{ENTITY} {{uid: row.end}}) "
        f"MERGE (a)-[r:{rel_type} {{uid: row.uid}}]->(b) "
        f"ON CREATE SET r.ingested_at = datetime(row.t.ingested_at) "
        f"SET r += row.props{_temporal_sets('r', model)} "
        f"RETURN row.uid AS uid"
    )


def neighbourhood(hops: int) -> str:
    """Distinct relationships on paths of 1..`hops` from a uid, filtered by types and labels."""
    if not 1 <= hops <= MAX_HOPS:
        raise ValueError(f"hops must be between 1 and {MAX_HOPS}")
    return (
        f"MATCH p = (n:{ENTITY} {{uid: $uid}})-[*1..{hops}]-(m:{ENTITY}) "
        "WHERE ($rel_types IS NULL OR all(r IN relationships(p) WHERE type(r) IN $rel_types)) "
        "AND ($labels IS NULL OR all(x IN nodes(p)[1..] WHERE any(l IN labels(x) WHERE l IN $labels))) "
        "WITH p LIMIT $limit "
        "UNWIND relationships(p) AS r "
        "WITH DISTINCT r "
        "RETURN r.uid AS uid, type(r) AS type, startNode(r).uid AS start, endNode(r).uid AS end, "
        "properties(r) AS props"
    )


NODES_BY_UID: Final = (
    f"MATCH (n:{ENTITY}) WHERE n.uid IN $uids RETURN n.uid AS uid, labels(n) AS labels, properties(n) AS props"
)

SHORTEST_PATH: Final = (
    f"MATCH (a:{ENTITY} {{uid: $start}}) MATCH (b:{ENTITY} {{uid: $end}}) "
    f"MATCH p = shortestPath((a)-[*..{MAX_PATH_HOPS}]-(b)) "
    "WHERE $rel_types IS NULL OR all(r IN relationships(p) WHERE type(r) IN $rel_types) "
    "RETURN [x IN nodes(p) | x.uid] AS nodes, "
    "[r IN relationships(p) | {uid: r.uid, type: type(r), start: startNode(r).uid, "
    "end: endNode(r).uid, props: properties(r)}] AS rels"
)

RESIDENCE_HISTORY: Final = (
    "MATCH (h:House {uid: $uid}) "
    "OPTIONAL MATCH (p:Person)-[r:LIVES_IN]->(h) "
    "RETURN p.uid AS person, p.name AS name, r.since AS since, r.until AS until, "
    "r.registered AS registered, r.role AS role "
    "ORDER BY since"
)

COUNT_NODES: Final = f"MATCH (n:{ENTITY}) RETURN labels(n) AS labels, count(*) AS n"
COUNT_RELATIONSHIPS: Final = "MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n"
PING: Final = "RETURN 1 AS ok"
