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
from datetime import UTC, datetime
from typing import Any

import networkx as nx

from analytics.algorithms import (
    Partition,
    adjacency,
    components,
    core_number,
    leiden,
    louvain,
    pagerank,
    write_back,
)
from analytics.projection import Projection, project
from graph import GraphSettings, GraphStore, uid
from graph.generator import generate
from tests.perf.scratch import scratch_graph

LABELS = ["Estate", "Building", "Unit", "House", "Person", "Household", "Vehicle", "NonMotorVehicle", "Organisation"]


def interleaved(calls: dict[str, Callable[[], Any]], repeat: int) -> dict[str, tuple[float, Any]]:
    """Warm each call up once, then run them in turn `repeat` times, so a busy moment of the shared
    machine hits all of them alike; return each one's median seconds and last result.

    A call's time is its wall time, or the result's own `seconds` where it has one (a Partition's
    leaves out the modularity computed afterwards).
    """
    last = {name: call() for name, call in calls.items()}
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            started = time.perf_counter()
            last[name] = call()
            elapsed = time.perf_counter() - started
            times[name].append(last[name].seconds if isinstance(last[name], Partition) else elapsed)
    return {name: (statistics.median(times[name]), last[name]) for name in calls}


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


def raw_write_back(store: GraphStore, values: dict[str, float], run_at: datetime) -> None:
    """Baseline: the same three properties per node, one hand-written UNWIND … SET per label, bare driver."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    for node_uid, value in values.items():
        by_label.setdefault(uid.label_of(node_uid), []).append({"uid": node_uid, "v": value})
    for label, rows in by_label.items():
        for i in range(0, len(rows), store.batch_size):
            store.driver.execute_query(
                f"UNWIND $rows AS row MATCH (n:{label} {{uid: row.uid}}) "
                "SET n.bench_pagerank = row.v, n.bench_version = '1', n.bench_run_at = datetime($at)",
                {"rows": rows[i : i + store.batch_size], "at": run_at.isoformat()},
                database_=store.database,
            )


def graphblas_dispatch(graph: nx.Graph) -> dict[str, float]:
    """networkx's own dispatch, converting afresh each time (it would otherwise reuse a cached conversion)."""
    graph.__networkx_cache__.clear()
    return dict(nx.pagerank(graph, weight="weight", backend="graphblas"))


def graphblas_parts(graph: nx.Graph, repeat: int) -> tuple[float, float]:
    """Median seconds of the two halves of our GraphBLAS PageRank: building the matrix, and the algorithm."""
    import graphblas_algorithms as ga

    build, (nodes, matrix) = interleaved({"build": lambda: adjacency(graph)}, repeat)["build"]
    gbg = ga.Graph(matrix, key_to_id={u: i for i, u in enumerate(nodes)})
    run = interleaved({"run": lambda: nx.pagerank(gbg)}, repeat)["run"][0]
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

        read = interleaved(
            {
                "raw": lambda: raw_projection(store, LABELS),
                "ours": lambda: project(store, LABELS),
                "fold": lambda: project(store, ["Person"], ["LIVES_IN"], fold="House"),
                "estate": lambda: project(store, LABELS, estate="estate:E01"),
            },
            args.repeat,
        )
        ranks_now = pagerank(read["ours"][1].graph)
        run_at = datetime.now(UTC)
        written = interleaved(
            {
                "raw": lambda: raw_write_back(store, ranks_now.values, run_at),
                "ours": lambda: write_back(store, ranks_now, run_at),
            },
            args.repeat,
        )
    projection, people = read["ours"][1], read["fold"][1]
    assert isinstance(projection, Projection) and isinstance(people, Projection)
    g, pg = projection.graph, people.graph
    print(
        f"projection: {g.number_of_nodes():,} nodes, {g.number_of_edges():,} edges ({', '.join(projection.rel_types)})"
    )
    print(f"person graph (houses folded): {pg.number_of_nodes():,} nodes, {pg.number_of_edges():,} edges")

    print(f"\nmedian seconds of {args.repeat} interleaved runs")
    print(f"{'measure':<34}{'baseline':>11}{'twinhood':>11}{'ratio':>8}  baseline")
    row("projection (whole community)", read["raw"][0], read["ours"][0], "one unfiltered MATCH through the driver")
    print(f"{'projection (person graph, folded)':<34}{'':>11}{read['fold'][0]:>11.3f}")
    scoped = read["estate"][1].graph
    print(f"{'projection (estate E01 only)':<34}{'':>11}{read['estate'][0]:>11.3f}  {scoped.number_of_nodes():,} nodes")
    row("write back PageRank", written["raw"][0], written["ours"][0], "hand-written UNWIND … SET, same 3 properties")

    ranks = interleaved(
        {
            "networkx": lambda: pagerank(g, backend="networkx"),
            "ours": lambda: pagerank(g, backend="graphblas"),
            "dispatch": lambda: graphblas_dispatch(g),
        },
        args.repeat,
    )
    plain, ours, dispatched = ranks["networkx"][1], ranks["ours"][1], ranks["dispatch"][1]
    worst = max(abs(ours.values[u] - plain.values[u]) for u in g)
    assert worst < 1e-9 and max(abs(dispatched[u] - plain.values[u]) for u in g) < 1e-9
    row("PageRank", ranks["networkx"][0], ranks["ours"][0], f"networkx; same ranks (max diff {worst:.1e})")
    row(
        "PageRank via nx backend= dispatch",
        ranks["networkx"][0],
        ranks["dispatch"][0],
        "graphblas-algorithms' own conversion",
    )
    build, run = graphblas_parts(g, args.repeat)
    print(f"{'  of ours: adjacency → GraphBLAS':<34}{'':>11}{build:>11.3f}")
    print(f"{'  of ours: PageRank on GraphBLAS':<34}{'':>11}{run:>11.3f}")

    for name, ours_call, nx_name in (
        ("connected components", components, nx.connected_components),
        ("k-core (core numbers)", core_number, nx.core_number),
    ):
        seconds = interleaved({name: lambda call=ours_call: call(g)}, args.repeat)[name][0]  # type: ignore[misc]
        print(f"{name:<34}{seconds:>11.3f}{seconds:>11.3f}{1:>8.2f}  {implemented_by_graphblas(name, nx_name, g)}")

    found = interleaved(
        {
            "louvain": lambda: louvain(g),
            "leiden": lambda: leiden(g),
            "leidenalg": lambda: leiden(g, implementation="leidenalg"),
            "louvain people": lambda: louvain(pg),
            "leiden people": lambda: leiden(pg),
        },
        args.repeat,
    )
    row("Leiden (igraph) vs Louvain", found["louvain"][0], found["leiden"][0], "Louvain (networkx)")
    row("Leiden (igraph) vs leidenalg", found["leidenalg"][0], found["leiden"][0], "leidenalg, RBConfiguration")
    row("person graph: Leiden vs Louvain", found["louvain people"][0], found["leiden people"][0], "Louvain (networkx)")
    print("\nmodularity (communities)")
    for name, label in (
        ("louvain", "Louvain"),
        ("leiden", "Leiden, igraph"),
        ("leidenalg", "Leiden, leidenalg"),
        ("louvain people", "person graph, Louvain"),
        ("leiden people", "person graph, Leiden"),
    ):
        partition = found[name][1]
        print(f"  {label:<24}{partition.modularity:.4f} ({len(partition.sizes()):,})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
