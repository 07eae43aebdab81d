"""The graph store against a real server, on a small graph checked by hand:

Estate E1 ◄─LOCATED_IN─ Building B1 ─IN_GRID─► Grid G1
                           ▲ LOCATED_IN
          Device D1 ─INSTALLED_IN/COVERS─► Unit B1-1
                           ▲ LOCATED_IN (both houses)
Person B ─LIVES_IN 2015–2018─► House 101 ◄─LIVES_IN 2019–─ Person A ─OWNS─► Vehicle 京A12345
                               House 102 ◄─LIVES_IN (tenant, unregistered)─ Person C
                                                   Person A ─MEMBER_OF─► Household HH1
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest

from graph import GraphStore, MissingEndpoints, UnknownEntity, ValidationError, uid
from graph import ontology as o
from graph.store import Neighbours, Step, StoredNode

S = "hand-checked"
A, B, C = uid.person("A"), uid.person("B"), uid.person("C")
H101, H102 = uid.house("B1", 1, "101"), uid.house("B1", 1, "102")
U1, B1, E1, G1 = uid.unit("B1", 1), uid.building("B1"), uid.estate("E1"), uid.grid("G1")
V, HH, D1 = uid.vehicle("京A12345"), uid.household("HH1"), uid.device("D1")


def at(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC)


NODES = [
    o.Estate(uid=E1, source=S, code="E1", name="阳光小区"),
    o.Building(uid=B1, source=S, code="B1", name="1号楼", floors_above=6),
    o.Unit(uid=U1, source=S, building_code="B1", number=1),
    o.House(uid=H101, source=S, building_code="B1", unit_number=1, floor=1, room="101"),
    o.House(uid=H102, source=S, building_code="B1", unit_number=1, floor=1, room="102", rented=True),
    o.Person(uid=A, source=S, name="甲"),
    o.Person(uid=B, source=S, name="乙"),
    o.Person(uid=C, source=S, name="丙"),
    o.Vehicle(uid=V, source=S, plate="京A12345"),
    o.Household(uid=HH, source=S, code="HH1"),
    o.Grid(uid=G1, source=S, code="G1", name="一网格"),
    o.Device(uid=D1, source=S, code="D1", name="单元门禁", category="access_control"),
]
LINKS = [
    o.LocatedIn(start=B1, end=E1, source=S),
    o.LocatedIn(start=U1, end=B1, source=S),
    o.LocatedIn(start=H101, end=U1, source=S),
    o.LocatedIn(start=H102, end=U1, source=S),
    o.InGrid(start=B1, end=G1, source=S),
    o.InstalledIn(start=D1, end=U1, source=S),
    o.Covers(start=D1, end=U1, source=S),
    o.LivesIn(start=A, end=H101, source=S, registered=True, role="owner", since=at(2019)),
    o.LivesIn(start=B, end=H101, source=S, registered=True, role="tenant", since=at(2015), until=at(2018)),
    o.LivesIn(start=C, end=H102, source=S, registered=False, role="tenant", since=at(2022)),
    o.Owns(start=A, end=V, source=S),
    o.MemberOf(start=A, end=HH, source=S, role="head"),
]


@pytest.fixture
def graph(store: GraphStore) -> GraphStore:
    store.upsert(NODES)
    store.link(LINKS)
    return store


def test_one_hop_neighbourhood(graph: GraphStore) -> None:
    sub = graph.neighbourhood(A, hops=1)
    assert set(sub.uids()) == {A, H101, V, HH}
    assert sub.nodes[0].uid == A
    assert sorted(e.type for e in sub.edges) == ["LIVES_IN", "MEMBER_OF", "OWNS"]


def test_two_hop_neighbourhood(graph: GraphStore) -> None:
    sub = graph.neighbourhood(A, hops=2)
    assert set(sub.uids()) == {A, H101, V, HH, B, U1}
    assert len(sub.edges) == 5


def test_views_carry_captions_labels_and_periods(graph: GraphStore) -> None:
    sub = graph.neighbourhood(H101, hops=1)
    refs = {n.uid: (n.label, n.caption) for n in sub.nodes}
    assert refs == {H101: ("House", "101"), U1: ("Unit", "1"), A: ("Person", "甲"), B: ("Person", "乙")}
    stays = {e.start: (e.since, e.until) for e in sub.edges if e.type == "LIVES_IN"}
    assert stays == {A: (at(2019), None), B: (at(2015), at(2018))}


def test_neighbourhood_filtered_by_label_and_by_type(graph: GraphStore) -> None:
    assert set(graph.neighbourhood(A, hops=2, labels=["House", "Person"]).uids()) == {A, H101, B}
    assert set(graph.neighbourhood(A, hops=3, rel_types=["LIVES_IN"]).uids()) == {A, H101, B}
    assert set(graph.neighbourhood(D1, hops=2, rel_types=["COVERS", "LOCATED_IN"]).uids()) == {D1, U1, B1, H101, H102}


def test_shortest_paths(graph: GraphStore) -> None:
    path = graph.shortest_path(A, C)
    assert path is not None and path.uids() == [A, H101, U1, H102, C]
    assert [e.type for e in path.edges] == ["LIVES_IN", "LOCATED_IN", "LOCATED_IN", "LIVES_IN"]
    path = graph.shortest_path(A, G1)
    assert path is not None and path.uids() == [A, H101, U1, B1, G1]
    assert graph.shortest_path(A, C, rel_types=["LIVES_IN"]) is None


def test_a_path_restricted_to_types_is_searched_within_them(graph: GraphStore) -> None:
    graph.link([o.Owns(start=A, end=H102, source=S)])
    shortest = graph.shortest_path(A, C)
    assert shortest is not None and shortest.uids() == [A, H102, C]
    kept = graph.shortest_path(A, C, rel_types=["LIVES_IN", "LOCATED_IN"])
    assert kept is not None and kept.uids() == [A, H101, U1, H102, C]
    with pytest.raises(ValidationError, match="unknown relationship type"):
        graph.shortest_path(A, C, rel_types=["KNOWS"])


def test_residence_history_is_ordered_with_open_and_closed_stays(graph: GraphStore) -> None:
    history = graph.residence_history(H101)
    assert [(r.person, r.since, r.until, r.role) for r in history] == [
        (B, at(2015), at(2018), "tenant"),
        (A, at(2019), None, "owner"),
    ]
    (tenant,) = graph.residence_history(H102)
    assert tenant.person == C and not tenant.registered


def test_unknown_uids_raise_unknown_entity(graph: GraphStore) -> None:
    for call in (
        lambda: graph.get(uid.person("nobody")),
        lambda: graph.neighbourhood(uid.person("nobody")),
        lambda: graph.shortest_path(A, uid.person("nobody")),
        lambda: graph.residence_history(uid.house("B1", 1, "999")),
    ):
        with pytest.raises(UnknownEntity, match=r"nobody|999"):
            call()


def test_relationship_to_a_missing_node_rolls_back_its_batch(graph: GraphStore) -> None:
    ghost = uid.house("B1", 1, "999")
    batch = [o.Owns(start=A, end=H102, source=S), o.Owns(start=A, end=ghost, source=S)]
    with pytest.raises(MissingEndpoints, match="house:B1-1-999") as caught:
        graph.link(batch)
    assert caught.value.uids == [f"{A}>{ghost}"]
    assert graph.shortest_path(A, H102, rel_types=["OWNS"]) is None  # the valid row was not kept


def test_upsert_updates_in_place_and_keeps_the_first_ingest_time(graph: GraphStore) -> None:
    before = graph.get(A)
    changed = NODES[5].model_copy(update={"phone": "13912345678", "source": "hotline"})
    assert graph.upsert([changed]) == 1
    after = graph.get(A)
    assert after.model_dump(include={"phone", "source"}) == {"phone": "13912345678", "source": "hotline"}
    assert after.ingested_at == before.ingested_at


def test_loading_the_same_graph_twice_changes_nothing(graph: GraphStore) -> None:
    counts = graph.counts()
    snapshot = {n.uid: n.model_dump() for n in graph.get_many(n.uid for n in NODES).values()}
    graph.upsert(NODES)
    graph.link(LINKS)
    assert graph.counts() == counts
    assert {n.uid: n.model_dump() for n in graph.get_many(n.uid for n in NODES).values()} == snapshot
    assert counts["Person"] == 3 and counts["LIVES_IN"] == 3 and counts["LOCATED_IN"] == 4


def test_whole_labels_and_types_read_back_as_the_models_written(graph: GraphStore) -> None:
    people = {n.uid: n.model_copy(update={"ingested_at": None}) for n in graph.nodes("Person")}
    assert people == {n.uid: n for n in NODES if isinstance(n, o.Person)}
    stays = {(r.start, r.end, r.registered, r.until) for r in graph.links("LIVES_IN") if isinstance(r, o.LivesIn)}
    assert stays == {(A, H101, True, None), (B, H101, True, at(2018)), (C, H102, False, None)}
    with pytest.raises(ValidationError, match="rel_type"):
        graph.links("KNOWS")
    with pytest.raises(ValidationError, match="label"):
        graph.nodes("Alien")


def test_dates_and_datetimes_read_back_as_python_values_on_every_path(graph: GraphStore) -> None:
    born = o.Person(uid=A, source=S, name="甲", birth_date=datetime(1980, 5, 17).date())
    graph.upsert([born])
    assert graph.get(A).birth_date == born.birth_date  # type: ignore[attr-defined]
    props = graph.properties([A])[A]
    assert props["birth_date"] == born.birth_date and isinstance(props["ingested_at"], datetime)
    assert props["ingested_at"].tzinfo is not None
    residents = graph.neighbours([H101], [Step("LIVES_IN", "in", "Person")])[H101]
    assert sorted((p.uid, rel["since"], rel.get("until")) for p, rel in residents) == [
        (A, at(2019), None),
        (B, at(2015), at(2018)),
    ]
    assert all("until" not in rel for p, rel in residents if p.uid == A)  # no stored property is null
    stays = {r.other.uid: r.properties for r in graph.relationships(H101, ["LIVES_IN"])}
    assert stays[B]["until"] == at(2018) and "until" not in stays[A]
    assert {n.uid: n.ingested_at is not None for n in graph.containers(H101)} == {U1: True, B1: True, E1: True}


def test_async_reads_show_nodes_as_their_models_dump_them(graph: GraphStore) -> None:
    """GraphQL's reads build no model: what they show must be what the model would (dates, defaults, no extras)."""
    graph.upsert([o.Person(uid=A, source=S, name="甲", birth_date=date(1980, 5, 17), tags=["新"], key_person=True)])
    graph._write(f"MATCH (n:Person {{uid: '{B}'}}) SET n.derived_score = 0.5 REMOVE n.key_person")  # not a field; gone
    wanted = [n.uid for n in NODES]

    async def read() -> tuple[dict[str, StoredNode], Neighbours[StoredNode]]:
        reads = graph.async_reads()
        try:
            return await reads.get_many(wanted), await reads.neighbours([H101], [Step("LIVES_IN", "in", "Person")])
        finally:
            await reads.close()

    shown, residents = asyncio.run(read())
    models = graph.get_many(wanted)
    dumped = {u: (m.label, m.model_dump()) for u, m in models.items()}
    assert {u: (n.label, n.props) for u, n in shown.items()} == dumped
    assert shown[A].props["birth_date"] == date(1980, 5, 17) and shown[B].props["key_person"] is False
    assert "derived_score" not in shown[B].props
    assert {(p.uid, rel["since"]) for p, rel in residents[H101]} == {(A, at(2019)), (B, at(2015))}
    assert all(p.props == models[p.uid].model_dump() for p, _ in residents[H101])


def _event(name: str, *ends: str) -> tuple[o.Node, list[o.Link]]:
    event = uid.event(name)
    links: list[o.Link] = [o.RecordedBy(start=event, end=D1, source=S)]
    links += [o.Concerns(start=event, end=end, source=S) for end in ends]
    return o.Event(uid=event, source=S, kind="face_capture", occurred_at=at(2024)), links


def test_nodes_attached_with_their_links_in_one_statement_per_shape(graph: GraphStore) -> None:
    items = [_event("e1", A, U1), _event("e2", V), _event("e3", B, U1), _event("e4")]
    assert graph.attach(items) == 4
    assert graph.attach(items) == 4  # again: nothing new
    counts = graph.counts()
    assert (counts["Event"], counts["RECORDED_BY"], counts["CONCERNS"]) == (4, 4, 5)
    concerned = graph.neighbours([uid.event("e1"), uid.event("e3")], [Step("CONCERNS", "out", "Person")])
    assert {k: [p.uid for p, _ in v] for k, v in concerned.items()} == {uid.event("e1"): [A], uid.event("e3"): [B]}
    assert graph.get(uid.event("e2")).occurred_at == at(2024)  # type: ignore[attr-defined]


def test_attached_values_shared_by_a_batch_or_not_are_written_alike(graph: GraphStore) -> None:
    early, late = at(2020), at(2021)
    same = [_event("s1", A), _event("s2", B)]  # one source and ingest time: sent once for the batch
    node, links = _event("d1", A)
    mixed = [(node.model_copy(update={"ingested_at": early}), links), _event("d2", B)]
    mixed[1][1][1] = o.Concerns(start=uid.event("d2"), end=B, source="another source", ingested_at=late)
    assert graph.attach(same) == 2 and graph.attach(mixed) == 2
    assert graph.get(uid.event("d1")).ingested_at == early
    assert graph.get(uid.event("s1")).ingested_at == graph.get(uid.event("s2")).ingested_at != early
    concerns = {r.other.uid: r.properties for r in graph.relationships(B, ["CONCERNS"])}
    assert concerns[uid.event("d2")]["source"] == "another source" and concerns[uid.event("d2")]["ingested_at"] == late
    assert concerns[uid.event("s2")]["source"] == S


def test_existing_names_only_the_uids_of_nodes(graph: GraphStore) -> None:
    assert graph.existing([A, V, uid.person("nobody"), uid.event("never"), A]) == {A, V}
    assert graph.existing([]) == set()


def test_an_attached_batch_naming_a_missing_node_is_rolled_back_whole(graph: GraphStore) -> None:
    ghost = uid.person("ghost")
    with pytest.raises(MissingEndpoints) as raised:
        graph.attach([_event("e5", A), _event("e6", ghost)])
    assert raised.value.uids == [f"{uid.event('e6')}>{ghost}"]
    assert graph.get_many([uid.event("e5"), uid.event("e6")]) == {}
    node, links = _event("e7", A)
    with pytest.raises(ValidationError, match="must start at the node"):
        graph.attach([(node, [*links, o.Concerns(start=uid.event("e8"), end=A, source=S)])])
