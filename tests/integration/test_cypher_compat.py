"""Every Cypher shape twinhood relies on, run against the configured graph server.

When `TWINHOOD_NEO4J_URI` points at a real Neo4j 5 the same tests must pass there, so a driver or
server upgrade that breaks a shape is caught here first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from neo4j.exceptions import ConstraintError

from graph import NODE_TYPES, RELATIONS, GraphStore, Person, cypher
from graph.ontology import RELATION_OF_MODEL
from tests.samples import LINKS, NODES


def test_schema_is_created_idempotently(store: GraphStore) -> None:
    n = len(cypher.schema_statements())
    assert store.ensure_schema() == n
    names = {r["name"] for r in store._read("SHOW CONSTRAINTS")}
    assert {f"{label.lower()}_uid" for label in NODE_TYPES} <= names


@pytest.mark.parametrize("label", NODE_TYPES)
def test_node_upsert_shape_runs_and_round_trips(store: GraphStore, label: str) -> None:
    node = NODES[label]
    assert store.upsert([node]) == 1
    back = store.get(node.uid)
    assert back.model_dump(exclude={"ingested_at"}) == node.model_dump(exclude={"ingested_at"})
    assert back.ingested_at is not None and back.ingested_at.tzinfo is not None


@pytest.mark.parametrize("rel_type", RELATIONS)
def test_relationship_upsert_shape_runs(store: GraphStore, rel_type: str) -> None:
    store.upsert(NODES.values())
    link = LINKS[rel_type]
    assert store.link([link]) == 1
    edges = store.neighbourhood(link.start, hops=1, rel_types=[rel_type]).edges
    assert [(e.uid, e.type, e.start, e.end) for e in edges] == [(link.uid, rel_type, link.start, link.end)]


def test_every_label_and_relationship_type_written_together_in_one_statement(store: GraphStore) -> None:
    nodes, links = list(NODES.values()), list(LINKS.values())
    assert store.write(nodes, links) == (len(nodes), len(links))
    for node in nodes:
        back = store.get(node.uid)
        assert back.model_dump(exclude={"ingested_at"}) == node.model_dump(exclude={"ingested_at"})
    for link in links:
        (back_link,) = store.links(RELATION_OF_MODEL[type(link)].type)
        assert back_link.model_dump(exclude={"ingested_at"}) == link.model_dump(exclude={"ingested_at"})


def test_uid_uniqueness_is_enforced_by_the_server(store: GraphStore) -> None:
    store.upsert([NODES["Person"]])
    with pytest.raises(ConstraintError):
        store._write("CREATE (n:Person {uid: $uid})", uid=NODES["Person"].uid)


def test_stored_temporals_compare_and_do_arithmetic_in_cypher(store: GraphStore) -> None:
    store.upsert([NODES["Person"]])
    records = store._read(
        "MATCH (n:Person {uid: $uid}) WHERE n.birth_date < date($d) AND n.ingested_at > datetime($t) "
        "RETURN duration.between(n.birth_date, date($d)).years AS age",
        uid=NODES["Person"].uid,
        d="2020-06-01",
        t="2000-01-01T00:00:00Z",
    )
    assert records[0]["age"] == 30


def test_time_zones_survive_the_round_trip(store: GraphStore) -> None:
    store.upsert(NODES.values())
    east8 = datetime.fromisoformat("2024-05-01T17:30:00+08:00")
    link = LINKS["LIVES_IN"].model_copy(update={"since": east8})
    store.link([link])
    (stay,) = store.residence_history(link.end)
    assert stay.since == east8 == datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def test_birth_dates_come_back_as_dates(store: GraphStore) -> None:
    store.upsert([NODES["Person"]])
    person = store.get(NODES["Person"].uid)
    assert isinstance(person, Person) and person.birth_date == date(1990, 1, 1)
