"""Graph algorithms on small hand-built graphs whose answers are known."""

from __future__ import annotations

from functools import partial

import networkx as nx
import pytest

from analytics.algorithms import (
    ALGORITHMS,
    EXACT_BETWEENNESS_UP_TO,
    GRAPHBLAS_FROM_EDGES,
    betweenness,
    components,
    core_number,
    leiden,
    louvain,
    pagerank,
    shortest_path,
)
from analytics.projection import fold_through
from graph import ValidationError

A = [f"person:A{i}" for i in range(5)]
B = [f"person:B{i}" for i in range(5)]
LONER = "person:Z"


def two_cliques() -> nx.Graph:
    """Two 5-cliques joined by one bridge A0–B0, and one person on their own."""
    g = nx.Graph()
    for clique in (A, B):
        g.add_edges_from(((x, y) for i, x in enumerate(clique) for y in clique[i + 1 :]), weight=1.0)
    g.add_edge(A[0], B[0], weight=1.0)
    g.add_node(LONER)
    return g


@pytest.mark.parametrize("detect", [louvain, leiden, partial(leiden, implementation="leidenalg")])
def test_two_cliques_joined_by_a_bridge_are_two_communities(detect: object) -> None:
    assert callable(detect)
    found = detect(two_cliques())
    assert sorted(found.groups(), key=len, reverse=True)[:2] in ([set(A), set(B)], [set(B), set(A)])
    assert found.membership[LONER] == 2 and found.sizes() == [5, 5, 1]
    assert found.modularity == pytest.approx(nx.community.modularity(two_cliques(), [set(A), set(B), {LONER}]))


def test_leiden_finds_at_least_louvains_modularity_on_a_planted_partition() -> None:
    g = nx.planted_partition_graph(6, 20, 0.5, 0.02, seed=3)
    g = nx.relabel_nodes(g, {n: f"person:P{n:03d}" for n in g})
    nx.set_edge_attributes(g, 1.0, "weight")
    by_louvain, by_leiden, by_leidenalg = louvain(g), leiden(g), leiden(g, implementation="leidenalg")
    assert len(by_leiden.sizes()) == 6 == len(by_louvain.sizes()) == len(by_leidenalg.sizes())
    assert by_leiden.modularity is not None and by_louvain.modularity is not None
    assert by_leiden.modularity >= by_louvain.modularity - 1e-9
    assert by_leiden.modularity == pytest.approx(by_leidenalg.modularity)
    assert leiden(g).membership == by_leiden.membership  # the seed makes it repeatable


def test_bridge_endpoints_have_the_highest_betweenness() -> None:
    scores = betweenness(two_cliques())
    assert {uid for uid, _ in scores.top(2)} == {A[0], B[0]}
    # A0 lies on every shortest path from A1..A4 to B0..B4: 4*5 of the 45 pairs of the other 10 nodes
    assert scores.values[A[0]] == pytest.approx(20 / 45)
    assert scores.values[A[1]] == 0 and scores.params["k"] is None


def test_large_graphs_get_sampled_betweenness() -> None:
    g = nx.path_graph(EXACT_BETWEENNESS_UP_TO + 1)
    assert betweenness(nx.relabel_nodes(g, str)).params["k"] == 100


def test_graphblas_pagerank_equals_networkx_also_with_isolates_and_weights() -> None:
    g = two_cliques()
    g[A[1]][A[2]]["weight"] = 5.0
    ours, plain = pagerank(g, backend="graphblas"), pagerank(g, backend="networkx")
    assert ours.params["backend"] == "graphblas" and plain.params["backend"] == "networkx"
    assert ours.values.keys() == plain.values.keys()
    for uid, score in plain.values.items():
        assert ours.values[uid] == pytest.approx(score, abs=1e-9)
    assert sum(ours.values.values()) == pytest.approx(1.0)


def test_pagerank_picks_graphblas_only_for_graphs_big_enough_for_it_to_win() -> None:
    assert pagerank(two_cliques()).params["backend"] == "networkx"
    big = nx.relabel_nodes(nx.path_graph(GRAPHBLAS_FROM_EDGES + 1), lambda n: f"person:P{n}")
    assert pagerank(big).params["backend"] == "graphblas"


def test_core_numbers_and_components_of_two_cliques() -> None:
    cores = core_number(two_cliques())
    assert {cores.values[u] for u in A + B} == {4.0} and cores.values[LONER] == 0
    parts = components(two_cliques())
    assert parts.sizes() == [10, 1] and parts.membership[LONER] == 1


def test_shortest_path_crosses_the_bridge_and_names_a_missing_end() -> None:
    path = shortest_path(two_cliques(), A[1], B[1])
    assert path.nodes == [A[1], A[0], B[0], B[1]] and path.length == 3
    with pytest.raises(ValidationError) as missing:
        shortest_path(two_cliques(), A[1], "person:nobody")
    assert missing.value.field == "target"
    with pytest.raises(ValidationError, match="cannot be reached"):
        shortest_path(two_cliques(), A[1], LONER)


def test_weighted_shortest_path_avoids_a_heavy_edge() -> None:
    g = nx.Graph()
    g.add_edge("person:S", "person:T", weight=10.0)
    g.add_edge("person:S", "person:M", weight=1.0)
    g.add_edge("person:M", "person:T", weight=1.0)
    assert shortest_path(g, "person:S", "person:T").nodes == ["person:S", "person:T"]
    weighted = shortest_path(g, "person:S", "person:T", weighted=True)
    assert weighted.nodes == ["person:S", "person:M", "person:T"] and weighted.length == 2


def test_folding_houses_links_people_who_share_one() -> None:
    g = nx.Graph()
    for person in ("person:P1", "person:P2", "person:P3", "person:P4"):
        g.add_node(person, label="Person")
    for house in ("house:H1", "house:H2"):
        g.add_node(house, label="House")
    g.add_edge("person:P1", "house:H1", type="LIVES_IN", weight=1.0)
    g.add_edge("person:P2", "house:H1", type="LIVES_IN|OWNS", weight=2.0)
    g.add_edge("person:P3", "house:H1", type="LIVES_IN", weight=1.0)
    g.add_edge("person:P2", "house:H2", type="OWNS", weight=1.0)
    g.add_edge("person:P4", "house:H2", type="LIVES_IN", weight=1.0)
    g.add_edge("person:P1", "person:P4", type="ASSOCIATED_WITH", weight=3.0)

    people = fold_through(g, "House")

    assert set(people) == {"person:P1", "person:P2", "person:P3", "person:P4"}
    assert {frozenset(e) for e in people.edges} == {
        frozenset(p)
        for p in [
            ("person:P1", "person:P2"),
            ("person:P1", "person:P3"),
            ("person:P2", "person:P3"),
            ("person:P2", "person:P4"),
            ("person:P1", "person:P4"),
        ]
    }
    assert people["person:P1"]["person:P2"] == {"type": "VIA_HOUSE", "weight": 1.0}
    assert people["person:P1"]["person:P4"] == {"type": "ASSOCIATED_WITH", "weight": 3.0}
    assert people.nodes["person:P1"]["label"] == "Person"


def test_every_registered_algorithm_returns_a_value_per_node() -> None:
    g = two_cliques()
    for algorithm in ALGORITHMS.values():
        result = algorithm.run(g)
        assert result.algorithm == algorithm.name
        assert set(result.values) == set(g)
