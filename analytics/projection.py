"""Projections: a filtered, time-sliced subgraph of the community exported into networkx.

A projection chooses node labels and relationship types, keeps only relationships that overlap a
time slice, and may keep only what belongs to one estate. It may also *fold* a label away: the
nodes of that label disappear and the nodes they joined are linked directly, so that
Person–House–Person becomes a weighted person graph (who shares a home with whom).

The projected graph is undirected (our relationship directions are grammatical, "person LIVES_IN
house", not flows). Nodes are keyed by uid and carry `label`; edges carry `type` (the
relationship types joined by ``|`` where several join one pair, ``VIA_<LABEL>`` for a folded
edge) and `weight` (the sum of the relationships' counts: a pass or a co-travel counts as often
as it happened, other relationships as 1).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

import networkx as nx

from graph import NODE_TYPES, RELATIONS, GraphStore, ValidationError, uid

__all__ = ["Projection", "fold_through", "project"]


@dataclass
class Projection:
    """A projected graph and how it was made (so results written back can say where they came from)."""

    graph: nx.Graph
    labels: tuple[str, ...]
    rel_types: tuple[str, ...]
    since: datetime | None = None
    until: datetime | None = None
    estate: str | None = None
    fold: str | None = None
    seconds: float = 0.0
    read: dict[str, int] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """Return the projection's parameters and size as plain data."""
        return {
            "labels": list(self.labels),
            "rel_types": list(self.rel_types),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "estate": self.estate,
            "fold": self.fold,
            "nodes": self.graph.number_of_nodes(),
            "edges": self.graph.number_of_edges(),
        }


def _check(labels: Sequence[str], rel_types: Sequence[str] | None, fold: str | None) -> None:
    for label in (*labels, *([fold] if fold else [])):
        if label not in NODE_TYPES:
            raise ValidationError("labels", label, f"unknown node label; known: {', '.join(NODE_TYPES)}")
    for rel_type in rel_types or ():
        if rel_type not in RELATIONS:
            raise ValidationError("rel_types", rel_type, f"unknown relationship type; known: {', '.join(RELATIONS)}")
    if not labels:
        raise ValidationError("labels", list(labels), "name at least one node label")


def project(
    store: GraphStore,
    labels: Sequence[str],
    rel_types: Sequence[str] | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    estate: str | None = None,
    fold: str | None = None,
) -> Projection:
    """Read the nodes of `labels` and the relationships of `rel_types` between them into networkx.

    `rel_types` defaults to every type that joins two of the labels. `since`/`until` keep the
    relationships that overlap [since, until); `estate` keeps what belongs to that estate (see
    :meth:`GraphStore.estate_scope`); `fold` reads that label too and then folds it away, linking
    the nodes it joined with weight = the sum over shared nodes of the smaller of their two weights.
    """
    _check(labels, rel_types, fold)
    if since and until and until <= since:
        raise ValidationError("until", until.isoformat(), f"must be after since ({since.isoformat()})")
    if fold and fold in labels:
        raise ValidationError("fold", fold, "is folded away, so it cannot also be a label of the result")
    started = time.perf_counter()
    read_labels = tuple(dict.fromkeys([*labels, *([fold] if fold else [])]))
    types = (
        tuple(rel_types)
        if rel_types
        else tuple(
            t for t, r in RELATIONS.items() if set(r.sources) & set(read_labels) and set(r.targets) & set(read_labels)
        )
    )
    scope = store.estate_scope(estate, read_labels) if estate else None

    graph = nx.Graph()
    if scope is None:
        for label in read_labels:
            graph.add_nodes_from((u, {"label": label}) for u in store.uids_of(label))
    else:  # a uid names its label, so the scope alone gives the nodes
        graph.add_nodes_from((u, {"label": uid.label_of(u)}) for u in scope if uid.label_of(u) in read_labels)
    read = {"nodes": graph.number_of_nodes(), "relationships": 0}
    for rel_type in types:
        # one query per type; ends outside the chosen labels (or the scope) are dropped here
        for a, b, weight in store.relationships_of(rel_type, since, until):
            if a in graph and b in graph and a != b:
                _add(graph, a, b, rel_type, weight)
                read["relationships"] += 1
    if fold:
        graph = fold_through(graph, fold)
    return Projection(graph, tuple(labels), types, since, until, estate, fold, time.perf_counter() - started, read)


def _add(graph: nx.Graph, a: str, b: str, rel_type: str, weight: float) -> None:
    """Add an edge, or add to the weight of the pair's edge and to its types."""
    data = graph.get_edge_data(a, b)
    if data is None:
        graph.add_edge(a, b, type=rel_type, weight=weight)
        return
    data["weight"] += weight
    if rel_type not in data["type"].split("|"):
        data["type"] = "|".join(sorted([*data["type"].split("|"), rel_type]))


def fold_through(graph: nx.Graph, fold: str) -> nx.Graph:
    """Return `graph` without its `fold`-labelled nodes, each pair of their neighbours linked instead.

    A pair's weight is the sum, over the fold nodes they share, of the smaller of their two
    weights (for plain relationships: how many they share); its type is ``VIA_<FOLD>``.
    """
    out = nx.Graph()
    out.add_nodes_from((u, d) for u, d in graph.nodes(data=True) if d["label"] != fold)
    out.add_edges_from(
        (a, b, d) for a, b, d in graph.edges(data=True) if graph.nodes[a]["label"] != fold != graph.nodes[b]["label"]
    )
    through: dict[tuple[str, str], float] = defaultdict(float)
    for f, d in graph.nodes(data=True):
        if d["label"] != fold:
            continue
        joined = sorted((n, w) for n, w in graph[f].items() if graph.nodes[n]["label"] != fold)
        for (a, wa), (b, wb) in combinations(joined, 2):
            through[a, b] += min(wa["weight"], wb["weight"])
    for (a, b), weight in through.items():
        _add(out, a, b, f"VIA_{fold.upper()}", weight)
    return out
