"""Projections read from the graph server, algorithms run on them, results written back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from analytics.algorithms import louvain, pagerank, write_back
from analytics.projection import project
from graph import GraphStore, LivesIn, LocatedIn, PassedThrough, UnknownEntity, ValidationError
from graph.generator import Community, generate
from tests.integration.test_community_load import run_cli


def load(store: GraphStore, residents: int, seed: int) -> Community:
    community = generate(residents, seed=seed)
    store.upsert(community.nodes)
    store.link(community.links)
    return community


def pairs(links: object) -> set[frozenset[str]]:
    return {frozenset((link.start, link.end)) for link in links}  # type: ignore[attr-defined]


def overlaps(stay: LivesIn, since: datetime, until: datetime) -> bool:
    return (stay.since is None or stay.since < until) and (stay.until is None or stay.until > since)


def test_projection_holds_the_chosen_labels_and_relationships(store: GraphStore) -> None:
    community = load(store, 300, seed=4)
    projection = project(store, ["Person", "House"], ["LIVES_IN", "OWNS"])
    g = projection.graph

    expected_nodes = {n.uid: n.label for n in community.nodes if n.label in ("Person", "House")}
    assert dict(g.nodes(data="label")) == expected_nodes
    stays = [link for link in community.links if isinstance(link, LivesIn)]
    owned = [link for link in community.links if link.type == "OWNS" and link.end.startswith("house:")]
    assert {frozenset(e) for e in g.edges} == pairs(stays) | pairs(owned)
    both = pairs(stays) & pairs(owned)
    a, b = next(iter(both))
    assert g[a][b]["type"] == "LIVES_IN|OWNS" and g[a][b]["weight"] >= 2
    assert projection.read["relationships"] == len(stays) + len(owned)


def test_time_slice_keeps_the_stays_that_overlap_it(store: GraphStore) -> None:
    community = load(store, 300, seed=4)
    since, until = datetime(2015, 1, 1, tzinfo=UTC), datetime(2016, 1, 1, tzinfo=UTC)
    stays = [link for link in community.links if isinstance(link, LivesIn)]
    kept = pairs(s for s in stays if overlaps(s, since, until))
    assert 0 < len(kept) < len(pairs(stays))

    g = project(store, ["Person", "House"], ["LIVES_IN"], since=since, until=until).graph

    assert {frozenset(e) for e in g.edges} == kept
    with pytest.raises(ValidationError) as bad:
        project(store, ["Person"], since=until, until=since)
    assert bad.value.field == "until"


def test_passes_weigh_by_count_and_are_sliced_by_first_and_last_seen(store: GraphStore) -> None:
    community = load(store, 120, seed=2)
    people = [n.uid for n in community.nodes if n.label == "Person"][:3]
    camera = next(n.uid for n in community.nodes if n.label == "Device")
    day = datetime(2026, 3, 1, tzinfo=UTC)
    store.link(
        [
            PassedThrough(start=people[0], end=camera, source="t", count=7, first_seen=day, last_seen=day),
            PassedThrough(
                start=people[1],
                end=camera,
                source="t",
                count=2,
                first_seen=day + timedelta(days=10),
                last_seen=day + timedelta(days=20),
            ),
        ]
    )

    g = project(store, ["Person", "Device"], ["PASSED_THROUGH"]).graph
    assert g[people[0]][camera] == {"type": "PASSED_THROUGH", "weight": 7.0}
    assert g[people[1]][camera]["weight"] == 2.0

    sliced = project(store, ["Person", "Device"], ["PASSED_THROUGH"], since=day + timedelta(days=5)).graph
    assert list(sliced.edges(camera)) == [(camera, people[1])]


def test_estate_scope_keeps_what_is_located_in_it_and_its_residents(store: GraphStore) -> None:
    community = load(store, 3000, seed=9)
    estates = [n.uid for n in community.nodes if n.label == "Estate"]
    assert len(estates) == 2
    parent = {link.start: link.end for link in community.links if isinstance(link, LocatedIn)}

    def estate_of(uid: str) -> str | None:
        while uid in parent and not uid.startswith("estate:"):
            uid = parent[uid]
        return uid if uid.startswith("estate:") else None

    houses = {n.uid for n in community.nodes if n.label == "House" and estate_of(n.uid) == estates[0]}
    residents = {s.start for s in community.links if isinstance(s, LivesIn) and s.end in houses}

    g = project(store, ["Person", "House"], ["LIVES_IN"], estate=estates[0]).graph

    assert {u for u, label in g.nodes(data="label") if label == "House"} == houses
    assert {u for u, label in g.nodes(data="label") if label == "Person"} >= residents
    assert all(estate_of(h) == estates[0] for _, h in g.edges if h.startswith("house:"))
    with pytest.raises(UnknownEntity):
        project(store, ["House"], estate="estate:E99")
    with pytest.raises(ValidationError) as not_an_estate:
        project(store, ["House"], estate=next(iter(houses)))
    assert not_an_estate.value.field == "uid"


def test_folding_houses_gives_a_person_graph_of_housemates(store: GraphStore) -> None:
    community = load(store, 300, seed=4)
    stays = [s for s in community.links if isinstance(s, LivesIn)]
    by_house: dict[str, set[str]] = {}
    for s in stays:
        by_house.setdefault(s.end, set()).add(s.start)
    housemates = {frozenset((a, b)) for people in by_house.values() for a in people for b in people if a != b}

    projection = project(store, ["Person"], ["LIVES_IN"], fold="House")

    assert {label for _, label in projection.graph.nodes(data="label")} == {"Person"}
    assert {frozenset(e) for e in projection.graph.edges} == housemates
    assert {t for *_, t in projection.graph.edges(data="type")} == {"VIA_HOUSE"}


def test_results_are_written_back_as_versioned_properties(store: GraphStore) -> None:
    load(store, 300, seed=4)
    projection = project(store, ["Person"], ["LIVES_IN"], fold="House")
    run_at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    communities = louvain(projection.graph)
    ranks = pagerank(projection.graph)

    assert write_back(store, communities, run_at) == projection.graph.number_of_nodes()
    assert write_back(store, ranks, run_at) == projection.graph.number_of_nodes()

    rows = store._read(
        "MATCH (n:Person) RETURN n.uid AS uid, n.algo_louvain AS c, n.algo_louvain_version AS v, "
        "n.algo_louvain_run_at AS at, n.algo_pagerank AS pr"
    )
    assert {r["uid"]: r["c"] for r in rows} == communities.membership
    assert {r["uid"]: r["pr"] for r in rows} == pytest.approx(ranks.values)
    assert {r["v"] for r in rows} == {"1"} and {r["at"].to_native() for r in rows} == {run_at}
    person = store.get(rows[0]["uid"])  # typed reads ignore the derived properties
    assert person.uid == rows[0]["uid"]


def test_derived_properties_cannot_overwrite_ontology_fields(store: GraphStore) -> None:
    community = load(store, 50, seed=1)
    person = next(n.uid for n in community.nodes if n.label == "Person")
    with pytest.raises(ValidationError, match="is a Person property of the ontology"):
        store.set_properties([(person, {"name": "x"})])
    with pytest.raises(ValidationError) as naive:
        store.set_properties([(person, {"algo_x_run_at": datetime(2026, 1, 1)})])
    assert naive.value.field == "algo_x_run_at"


def test_cli_runs_an_algorithm_prints_the_top_and_writes_back(graph_database: str, spatial_engine: Engine) -> None:
    store_run = run_cli(graph_database, spatial_engine, "generate", "--residents", "150", "--seed", "3")
    assert store_run.returncode == 0, store_run.stderr

    done = run_cli(
        graph_database,
        spatial_engine,
        "algo",
        "run",
        "pagerank",
        "--labels",
        "Person",
        "--fold",
        "House",
        "--types",
        "LIVES_IN",
        "--write",
    )

    assert done.returncode == 0, done.stderr
    assert "person:" in done.stdout and "written" in done.stdout
    bad = run_cli(graph_database, spatial_engine, "algo", "run", "pagerank", "--labels", "Nobody")
    assert bad.returncode == 1 and "labels" in bad.stderr and "unknown node label" in bad.stderr
