"""Benchmark of graph algorithms over a projection of a generated community.

Each figure stands beside a baseline run in the same process: the projection (batched, filtered
reads through GraphStore) beside one hand-written `MATCH (a)-[r]->(b)` query into networkx; our
PageRank (graphblas-algorithms on an adjacency matrix read from the graph, conversion included) beside plain
networkx and beside networkx's own dispatch to the graphblas backend (which converts the graph
in Python); components and k-core (plain networkx, because graphblas-algorithms does not
implement them: the run says so); Louvain (networkx) beside Leiden (igraph's, and leidenalg's),
time (without computing modularity) and modularity. Medians of `--repeat` runs. Run with
`scripts/bench algorithms [--residents N]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import networkx as nx

from analytics.algorithms import Partition, adjacency, components, core_number, leiden, louvain, pagerank
from analytics.projection import Projection, project
from graph import GraphSettings, GraphStore
from graph.generator import generate
from tests.perf.scratch import scratch_graph

LABELS = ["Estate", "Building", "Unit", "House", "Person", "Household", "Vehicle", "NonMotorVehicle", "Organisation"]


def median_seconds(call: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Run `call` once to warm up (imports, caches), then `repeat` times; return the median time and last result."""
    result = call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def algorithm_seconds(call: Callable[[], Partition], repeat: int) -> tuple[float, Partition]:
    """Run `call` once to warm up, then `repeat` times; return the median of its own `seconds` and the last result."""
    results = [call() for _ in range(repeat + 1)][1:]
    return statistics.median(r.seconds for r in results), results[-1]


def raw_projection(store: GraphStore, labels: list[str]) -> nx.Graph:
    """Baseline: every relationship in one query through the bare driver, filtered by label in Python."""
    records, _, _ = store.driver.execute_query(
        "MATCH (a)-[r]->(b) RETURN a.uid AS a, labels(a) AS la, type(r) AS t, b.uid AS b, labels(b) AS lb",
        database_=store.database,
    )
    g = nx.Graph()
    wanted = set(labels)
    for r in records:
        if wanted & set(r["la"]) and wanted & set(r["lb"]):
            g.add_edge(r["a"], r["b"], type=r["t"], weight=1.0)
    return g


def graphblas_dispatch(graph: nx.Graph) -> dict[str, float]:
    """networkx's own dispatch, converting afresh each time (it would otherwise reuse a cached conversion)."""
    graph.__networkx_cache__.clear()
    return dict(nx.pagerank(graph, weight="weight", backend="graphblas"))


def graphblas_parts(graph: nx.Graph, repeat: int) -> tuple[float, float]:
    """Median seconds of the two halves of our GraphBLAS PageRank: building the matrix, and the algorithm."""
    import graphblas_algorithms as ga

    build, (nodes, matrix) = median_seconds(lambda: adjacency(graph), repeat)
    gbg = ga.Graph(matrix, key_to_id={u: i for i, u in enumerate(nodes)})
    run, _ = median_seconds(lambda: nx.pagerank(gbg), repeat)
    return build, run


def implemented_by_graphblas(name: str, call: Callable[..., Any], graph: nx.Graph) -> str:
    try:
        call(graph, backend="graphblas")
    except NotImplementedError:
        return "not implemented by graphblas-algorithms"
    return "implemented"


def row(name: str, baseline: float, ours: float, note: str = "") -> None:
    print(f"{name:<34}{baseline:>11.3f}{ours:>11.3f}{baseline / ours:>8.2f}  {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="runs per measure; medians are printed")
    args = parser.parse_args(argv)
    settings = GraphSettings()

    community = generate(args.residents, args.seed)
    print(f"community: {args.residents:,} residents → {len(community.nodes):,} nodes, {len(community.links):,} links")
    with scratch_graph(settings) as store:
        started = time.perf_counter()
        store.upsert(community.nodes)
        store.link(community.links)
        print(f"loaded in {time.perf_counter() - started:.1f} s; server {settings.neo4j_uri}")

        raw_s, _ = median_seconds(lambda: raw_projection(store, LABELS), args.repeat)
        ours_s, projection = median_seconds(lambda: project(store, LABELS), args.repeat)
        fold_s, people = median_seconds(lambda: project(store, ["Person"], ["LIVES_IN"], fold="House"), args.repeat)
    assert isinstance(projection, Projection) and isinstance(people, Projection)
    g = projection.graph
    print(
        f"projection: {g.number_of_nodes():,} nodes, {g.number_of_edges():,} edges ({', '.join(projection.rel_types)})"
    )
    pg = people.graph
    print(f"person graph (houses folded): {pg.number_of_nodes():,} nodes, {pg.number_of_edges():,} edges")

    print(f"\nmedian seconds of {args.repeat} runs")
    print(f"{'measure':<34}{'baseline':>11}{'twinhood':>11}{'ratio':>8}  baseline")
    row("projection (whole community)", raw_s, ours_s, "one unfiltered MATCH through the driver")
    print(f"{'projection (person graph, folded)':<34}{'':>11}{fold_s:>11.3f}")

    nx_pr, plain = median_seconds(lambda: pagerank(g, backend="networkx"), args.repeat)
    gb_pr, ours = median_seconds(lambda: pagerank(g, backend="graphblas"), args.repeat)
    dispatch_pr, dispatched = median_seconds(lambda: graphblas_dispatch(g), args.repeat)
    worst = max(abs(ours.values[u] - plain.values[u]) for u in g)
    assert worst < 1e-9 and max(abs(dispatched[u] - plain.values[u]) for u in g) < 1e-9
    row("PageRank", nx_pr, gb_pr, f"networkx; same ranks (max diff {worst:.1e})")
    row("PageRank via nx backend= dispatch", nx_pr, dispatch_pr, "graphblas with networkx's own conversion")
    build, run = graphblas_parts(g, args.repeat)
    print(f"{'  of ours: adjacency → GraphBLAS':<34}{'':>11}{build:>11.3f}")
    print(f"{'  of ours: PageRank on GraphBLAS':<34}{'':>11}{run:>11.3f}")

    for name, ours_call, nx_name in (
        ("connected components", components, nx.connected_components),
        ("k-core (core numbers)", core_number, nx.core_number),
    ):
        seconds, _ = median_seconds(lambda call=ours_call: call(g), args.repeat)  # type: ignore[misc]
        print(f"{name:<34}{seconds:>11.3f}{seconds:>11.3f}{1:>8.2f}  {implemented_by_graphblas(name, nx_name, g)}")

    louvain_s, by_louvain = algorithm_seconds(lambda: louvain(g), args.repeat)
    leiden_s, by_leiden = algorithm_seconds(lambda: leiden(g), args.repeat)
    leidenalg_s, by_leidenalg = algorithm_seconds(lambda: leiden(g, implementation="leidenalg"), args.repeat)
    row("Leiden (igraph) vs Louvain", louvain_s, leiden_s, "Louvain (networkx)")
    row("Leiden (igraph) vs leidenalg", leidenalg_s, leiden_s, "leidenalg RBConfiguration, resolution 1")
    print("\nmodularity (communities):")
    for name, found in (("Louvain", by_louvain), ("Leiden, igraph", by_leiden), ("Leiden, leidenalg", by_leidenalg)):
        print(f"  {name:<18} {found.modularity:.4f} ({len(found.sizes()):,})")
    pg = people.graph
    louvain_p, p_louvain = algorithm_seconds(lambda: louvain(pg), args.repeat)
    leiden_p, p_leiden = algorithm_seconds(lambda: leiden(pg), args.repeat)
    print(
        f"person graph: Louvain {louvain_p:.3f} s, modularity {p_louvain.modularity:.4f}; "
        f"Leiden (igraph) {leiden_p:.3f} s, modularity {p_leiden.modularity:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
