"""Graph algorithms over a projection, and writing their results back to the graph.

Each algorithm takes an undirected networkx graph (``Projection.graph``) and returns a typed
result: :class:`Scores` (PageRank, betweenness, core number), :class:`Partition` (Louvain,
Leiden, connected components) or :class:`Path` (shortest path). PageRank runs on GraphBLAS
(graphblas-algorithms, over an adjacency matrix read straight from the graph) on graphs big enough
for it to be faster than networkx, conversion included (``tests/perf/bench_algorithms.py``);
graphblas-algorithms implements none of the others, so they run on networkx, and Leiden on
igraph (or leidenalg).
Each result's `seconds` is the algorithm with its conversions, not the modularity computed after.

Results written back (:func:`write_back`) are versioned node properties, three per algorithm, so
each value says which run produced it:

- ``algo_<name>``: the value (a score, a core number, or a community / component number, 0 for
  the largest);
- ``algo_<name>_version``: the algorithm's version here (bumped when its code or defaults change);
- ``algo_<name>_run_at``: when the run started (a Cypher datetime, the same for every node of a run).

A node that was not in a later run's projection keeps the older values, recognisable by their
older ``run_at``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import networkx as nx

from graph import GraphStore, ValidationError

__all__ = [
    "ALGORITHMS",
    "EXACT_BETWEENNESS_UP_TO",
    "GRAPHBLAS_FROM_EDGES",
    "Algorithm",
    "Partition",
    "Path",
    "Scores",
    "adjacency",
    "betweenness",
    "components",
    "core_number",
    "leiden",
    "louvain",
    "pagerank",
    "shortest_path",
    "write_back",
]

Backend = Literal["graphblas", "networkx"]
LeidenImplementation = Literal["igraph", "leidenalg"]
EXACT_BETWEENNESS_UP_TO = 2000
"""Betweenness is exact up to this many nodes, and estimated from `k` sampled sources above it."""
GRAPHBLAS_FROM_EDGES = 2000
"""PageRank runs on GraphBLAS from this many edges up (measured: networkx wins at 1,100, GraphBLAS at 3,500)."""


@dataclass(frozen=True)
class Scores:
    """A number per node: PageRank, betweenness or core number."""

    algorithm: str
    values: dict[str, float]
    seconds: float
    params: dict[str, Any] = field(default_factory=dict)

    def top(self, k: int = 10) -> list[tuple[str, float]]:
        """Return the `k` highest-scoring nodes, highest first (ties by uid)."""
        return sorted(self.values.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


@dataclass(frozen=True)
class Partition:
    """A group number per node (0 = the largest group): communities or connected components."""

    algorithm: str
    membership: dict[str, int]
    seconds: float
    modularity: float | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def values(self) -> dict[str, int]:
        return self.membership

    def sizes(self) -> list[int]:
        """Return the size of each group, by group number (so largest first)."""
        out = [0] * (max(self.membership.values(), default=-1) + 1)
        for group in self.membership.values():
            out[group] += 1
        return out

    def groups(self) -> list[set[str]]:
        """Return the groups as sets of uids, by group number."""
        out: list[set[str]] = [set() for _ in self.sizes()]
        for uid, group in self.membership.items():
            out[group].add(uid)
        return out


@dataclass(frozen=True)
class Path:
    """A shortest path: its uids in order and its length (hops, or summed weight)."""

    algorithm: str
    nodes: list[str]
    length: float
    seconds: float
    params: dict[str, Any] = field(default_factory=dict)


def _numbered(groups: Iterable[Iterable[str]]) -> dict[str, int]:
    """Number groups by size, largest first (ties by smallest uid), so runs compare."""
    ordered = sorted((sorted(g) for g in groups), key=lambda g: (-len(g), g[0] if g else ""))
    return {uid: i for i, group in enumerate(ordered) for uid in group}


def _modularity(graph: nx.Graph, membership: dict[str, int]) -> float:
    groups: list[set[str]] = [set() for _ in range(max(membership.values(), default=-1) + 1)]
    for uid, group in membership.items():
        groups[group].add(uid)
    return float(nx.community.modularity(graph, groups, weight="weight")) if graph.number_of_edges() else 0.0


def pagerank(graph: nx.Graph, alpha: float = 0.85, backend: Backend | None = None) -> Scores:
    """Return the PageRank of each node, weighted by edge weight.

    Without a `backend`, GraphBLAS from :data:`GRAPHBLAS_FROM_EDGES` edges up, where it was measured
    faster, conversion included, and networkx below, where GraphBLAS's fixed cost loses; both give
    the same numbers.
    """
    started = time.perf_counter()
    chosen: Backend = backend or ("graphblas" if graph.number_of_edges() >= GRAPHBLAS_FROM_EDGES else "networkx")
    if chosen == "graphblas" and graph.number_of_nodes():
        values = _graphblas_pagerank(graph, alpha)
    else:
        values = nx.pagerank(graph, alpha=alpha, weight="weight")
    return Scores("pagerank", values, time.perf_counter() - started, {"alpha": alpha, "backend": chosen})


def _graphblas_pagerank(graph: nx.Graph, alpha: float) -> dict[str, float]:
    """PageRank on graphblas-algorithms, over an adjacency matrix read straight from the graph's dicts.

    Converting is what costs: ``graphblas_algorithms.Graph.from_networkx`` and
    ``nx.to_scipy_sparse_array`` both walk the graph through networkx's views and take ~10x as
    long as the PageRank itself; :func:`adjacency` walks the raw adjacency dicts instead, and the
    result vector is read out whole rather than node by node.
    """
    import graphblas_algorithms as ga

    nodes, matrix = adjacency(graph)
    ranks = nx.pagerank(ga.Graph(matrix, key_to_id={u: i for i, u in enumerate(nodes)}), alpha=alpha)
    indices, scores = ranks.vector.to_coo()
    values = dict.fromkeys(nodes, 0.0)
    values.update(zip([nodes[i] for i in indices], scores.tolist(), strict=True))
    return values


def adjacency(graph: nx.Graph) -> tuple[list[str], Any]:
    """Return the nodes in order and the weighted adjacency of `graph` as a GraphBLAS matrix (both directions)."""
    import graphblas as gb

    nodes = list(graph)
    index = {u: i for i, u in enumerate(nodes)}
    rows: list[int] = []
    cols: list[int] = []
    weights: list[float] = []
    for u, neighbours in graph.adjacency():
        i = index[u]
        for v, data in neighbours.items():
            rows.append(i)
            cols.append(index[v])
            weights.append(float(data.get("weight", 1.0)))
    n = len(nodes)
    return nodes, gb.Matrix.from_coo(rows, cols, weights, nrows=n, ncols=n, dtype=float)


def betweenness(graph: nx.Graph, k: int | None = None, seed: int = 7) -> Scores:
    """Return each node's betweenness centrality (normalised, unweighted: hops).

    Exact up to :data:`EXACT_BETWEENNESS_UP_TO` nodes; above it, estimated from `k` sampled
    sources (default 100), which costs k breadth-first searches instead of one per node.
    """
    started = time.perf_counter()
    n = graph.number_of_nodes()
    if k is None and n > EXACT_BETWEENNESS_UP_TO:
        k = 100
    k = min(k, n) if k is not None else None
    values = nx.betweenness_centrality(graph, k=k, seed=seed)
    return Scores("betweenness", values, time.perf_counter() - started, {"k": k, "seed": seed})


def core_number(graph: nx.Graph) -> Scores:
    """Return each node's core number: the largest k of a k-core (all degrees ≥ k) holding it."""
    started = time.perf_counter()
    values = {u: float(c) for u, c in nx.core_number(graph).items()}
    return Scores("core", values, time.perf_counter() - started)


def components(graph: nx.Graph) -> Partition:
    """Return the connected components, numbered by size (0 = the largest)."""
    started = time.perf_counter()
    membership = _numbered(nx.connected_components(graph))
    return Partition("component", membership, time.perf_counter() - started)


def louvain(graph: nx.Graph, resolution: float = 1.0, seed: int = 7) -> Partition:
    """Return Louvain communities (networkx), weighted, with their modularity."""
    started = time.perf_counter()
    found = nx.community.louvain_communities(graph, weight="weight", resolution=resolution, seed=seed)
    membership = _numbered(found)
    seconds = time.perf_counter() - started
    params = {"resolution": resolution, "seed": seed}
    return Partition("louvain", membership, seconds, _modularity(graph, membership), params)


def leiden(
    graph: nx.Graph, resolution: float = 1.0, seed: int = 7, implementation: LeidenImplementation = "igraph"
) -> Partition:
    """Return Leiden communities optimising modularity (with a resolution), weighted.

    igraph's own Leiden (C) is the default: on a 10,000-resident community it finds the same
    modularity as leidenalg's ~15x faster (``tests/perf/bench_algorithms.py``); ``"leidenalg"``
    runs leidenalg's RBConfiguration partition instead. Conversion to igraph is included in `seconds`.
    """
    import igraph as ig
    import leidenalg

    started = time.perf_counter()
    nodes = list(graph)
    index = {u: i for i, u in enumerate(nodes)}
    edges = [(index[a], index[b]) for a, b in graph.edges()]
    weights = [float(w) for _, _, w in graph.edges(data="weight", default=1.0)]
    g = ig.Graph(n=len(nodes), edges=edges)
    if implementation == "leidenalg":
        found = list(
            leidenalg.find_partition(
                g, leidenalg.RBConfigurationVertexPartition, weights=weights, resolution_parameter=resolution, seed=seed
            )
        )
    else:
        ig.set_random_number_generator(random.Random(seed))  # igraph draws from Python's random by default
        try:
            found = list(
                g.community_leiden(
                    objective_function="modularity", weights=weights, resolution=resolution, n_iterations=-1
                )
            )
        finally:
            ig.set_random_number_generator(random)
    membership = _numbered([nodes[i] for i in community] for community in found)
    seconds = time.perf_counter() - started
    params = {"resolution": resolution, "seed": seed, "implementation": implementation}
    return Partition("leiden", membership, seconds, _modularity(graph, membership), params)


def shortest_path(graph: nx.Graph, source: str, target: str, weighted: bool = False) -> Path:
    """Return a shortest path from `source` to `target` (in hops, or by summed weight)."""
    for name, uid in (("source", source), ("target", target)):
        if uid not in graph:
            raise ValidationError(name, uid, "is not in the projection")
    started = time.perf_counter()
    weight = "weight" if weighted else None
    try:
        nodes = nx.shortest_path(graph, source, target, weight=weight)
    except nx.NetworkXNoPath:
        raise ValidationError("target", target, f"cannot be reached from {source} in the projection") from None
    length = float(nx.path_weight(graph, nodes, "weight") if weighted else len(nodes) - 1)
    return Path("shortest_path", nodes, length, time.perf_counter() - started, {"weighted": weighted})


@dataclass(frozen=True)
class Algorithm:
    """An algorithm the command line can run: its name, version and what it returns."""

    name: str
    version: str
    run: Callable[[nx.Graph], Scores | Partition]
    summary: str


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("pagerank", "1", pagerank, "PageRank (weighted, damping 0.85)"),
        Algorithm("betweenness", "1", betweenness, "betweenness centrality, sampled above 2,000 nodes"),
        Algorithm("core", "1", core_number, "core number (k-core membership)"),
        Algorithm("component", "1", components, "connected components"),
        Algorithm("louvain", "1", louvain, "Louvain communities (networkx)"),
        Algorithm("leiden", "1", leiden, "Leiden communities (igraph)"),
    )
}


def write_back(store: GraphStore, result: Scores | Partition, run_at: datetime | None = None) -> int:
    """Write a result to its nodes as ``algo_<name>``, ``_version`` and ``_run_at``; return nodes written."""
    algorithm = ALGORITHMS[result.algorithm]
    stamp = run_at or datetime.now(UTC)
    prefix = f"algo_{algorithm.name}"
    return store.set_properties(
        (uid, {prefix: value, f"{prefix}_version": algorithm.version, f"{prefix}_run_at": stamp})
        for uid, value in result.values.items()
    )
