"""Benchmark of the graph store: loading a generated community, then 2-hop neighbourhoods.

Each figure stands beside a baseline run in the same process against the same server: the
baseline writes the same rows with hand-written `UNWIND … MERGE` statements through the bare
driver, and reads with one hand-written 2-hop query. Targets (issue 2): our load rate at least
half the baseline's, and 2-hop p95 under 20 ms. Run with `scripts/bench [--residents N]`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from graph import GraphSettings, GraphStore, uid
from graph.generator import Community, generate
from graph.ontology import RELATION_OF_MODEL
from tests.perf.scratch import scratch_graph

BATCH = 5000


def raw_load(store: GraphStore, community: Community) -> tuple[float, float]:
    """Write the community with hand-written UNWIND statements; return node and link seconds."""
    nodes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n in community.nodes:
        nodes[n.label].append({"uid": n.uid, "props": n.model_dump(mode="json", exclude={"uid"})})
    links: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for link in community.links:
        props = link.model_dump(mode="json", exclude={"uid", "start", "end"})
        key = (RELATION_OF_MODEL[type(link)].type, uid.label_of(link.start), uid.label_of(link.end))
        links[key].append({"uid": link.uid, "start": link.start, "end": link.end, "props": props})
    driver, db = store.driver, store.database

    def run(query: str, rows: list[dict[str, Any]]) -> None:
        for i in range(0, len(rows), BATCH):
            driver.execute_query(query, {"rows": rows[i : i + BATCH]}, database_=db)

    started = time.perf_counter()
    for label, rows in nodes.items():
        run(f"UNWIND $rows AS row MERGE (n:{label} {{uid: row.uid}}) SET n += row.props", rows)
    middle = time.perf_counter()
    for (rel_type, start, end), rows in links.items():
        run(
            f"UNWIND $rows AS row MATCH (a:{start} {{uid: row.start}}) MATCH (b:{end} {{uid: row.end}}) "
            f"MERGE (a)-[r:{rel_type} {{uid: row.uid}}]->(b) SET r += row.props",
            rows,
        )
    return middle - started, time.perf_counter() - middle


def our_load(store: GraphStore, community: Community) -> tuple[float, float]:
    """Write the community through GraphStore (validation, serialisation, temporal conversion)."""
    started = time.perf_counter()
    store.upsert(community.nodes)
    middle = time.perf_counter()
    store.link(community.links)
    return middle - started, time.perf_counter() - middle


def raw_2hop(node_uid: str) -> str:
    return f"MATCH (n:{uid.label_of(node_uid)} {{uid: $uid}})-[*1..2]-(m) RETURN DISTINCT m.uid AS uid"


def latencies(call: Callable[[str], Any], uids: list[str]) -> list[float]:
    out = []
    for u in uids:
        started = time.perf_counter()
        call(u)
        out.append((time.perf_counter() - started) * 1000)
    return out


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=300, help="2-hop queries per side")
    parser.add_argument("--rounds", type=int, default=2, help="loads per side, alternating; best counts")
    args = parser.parse_args(argv)
    settings = GraphSettings()

    started = time.perf_counter()
    community = generate(args.residents, args.seed)
    n_nodes, n_links = len(community.nodes), len(community.links)
    print(
        f"community: {args.residents:,} residents → {n_nodes:,} nodes, {n_links:,} relationships "
        f"(generated in {time.perf_counter() - started:.1f} s); server {settings.neo4j_uri}"
    )

    with scratch_graph(settings) as warm:  # warm the server's JIT and caches on a small load
        our_load(warm, generate(300, args.seed + 1))

    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.rounds):
        for name, load in (("baseline", raw_load), ("twinhood", our_load)):
            with scratch_graph(settings) as store:
                times = load(store, community)
                if name == "twinhood":
                    assert store.counts().get("Person", 0) >= args.residents
            best[name] = min(best.get(name, times), times, key=sum)

    with scratch_graph(settings) as store:
        our_load(store, community)
        rng = random.Random(args.seed)
        pool = [n.uid for n in community.nodes if n.label in ("Person", "House", "Vehicle")]
        uids = rng.sample(pool, min(args.queries, len(pool)))
        latencies(lambda u: store.neighbourhood(u, hops=2), uids[:30])  # warm-up
        raw = latencies(lambda u: store.driver.execute_query(raw_2hop(u), {"uid": u}, database_=store.database), uids)
        ours = latencies(lambda u: store.neighbourhood(u, hops=2), uids)

    rows = [
        ("nodes/s", n_nodes / best["baseline"][0], n_nodes / best["twinhood"][0]),
        ("relationships/s", n_links / best["baseline"][1], n_links / best["twinhood"][1]),
        ("items/s overall", (n_nodes + n_links) / sum(best["baseline"]), (n_nodes + n_links) / sum(best["twinhood"])),
        ("2-hop p50 ms", pct(raw, 50), pct(ours, 50)),
        ("2-hop p95 ms", pct(raw, 95), pct(ours, 95)),
    ]
    print(f"\n{'measure':<18}{'baseline':>12}{'twinhood':>12}{'ratio':>8}")
    for name, base, ours_v in rows:
        print(f"{name:<18}{base:>12,.1f}{ours_v:>12,.1f}{ours_v / base:>8.2f}")
    load_ratio = rows[2][2] / rows[2][1]
    p95 = rows[4][2]
    print(f"\nload rate vs baseline: {load_ratio:.2f} (target ≥ 0.50) {'PASS' if load_ratio >= 0.5 else 'FAIL'}")
    print(f"2-hop p95: {p95:.1f} ms (target < 20 ms) {'PASS' if p95 < 20 else 'FAIL'}")
    return 0 if load_ratio >= 0.5 and p95 < 20 else 1


if __name__ == "__main__":
    sys.exit(main())
