"""Graph ML on the real stores: the snapshot read from the graph and the ledger equals the in-memory one,
and a model's scores land on the House nodes with its version."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import torch
from sqlalchemy import Engine

from analytics import gnn
from analytics.context import Context
from analytics.detectors import Inputs
from analytics.simulate import simulate
from graph import GraphStore
from graph.generator import generate
from graph.ontology import House
from ingest.sources.files import FileSummary, ingest_rows


def test_the_snapshot_from_graph_and_ledger_equals_the_in_memory_one_and_scores_land_on_houses(
    store: GraphStore, spatial_engine: Engine
) -> None:
    community = generate(300, 5)
    activity = simulate(community, days=21, seed=5, cases=2)
    store.upsert([*community.nodes, *activity.nodes])
    store.link([*community.links, *activity.links])
    ledgered = ingest_rows(spatial_engine, enumerate(activity.rows(), 1), "simulator", FileSummary("month"))
    assert ledgered.accepted == len(activity)

    stored = gnn.from_stores(store, spatial_engine, activity.start, activity.end)
    context = Context.from_graph([*community.nodes, *activity.nodes], [*community.links, *activity.links])
    in_memory = gnn.snapshot(Inputs(activity.frame(), context, activity.start, activity.end))
    assert stored.uids == in_memory.uids
    for kind in gnn.FEATURES:
        pd.testing.assert_frame_equal(stored.frame(kind), in_memory.frame(kind), rtol=1e-6)
    for edge in gnn.EDGE_TYPES:
        assert torch.equal(stored.data[edge].edge_index, in_memory.data[edge].edge_index), edge
    opened = ("person", "opened", "house")
    assert torch.equal(stored.data[opened].edge_weight, in_memory.data[opened].edge_weight)

    training = [gnn.simulated(300, seed, 21, 2) for seed in (1, 2)]
    config = gnn.TrainConfig(residents=300, seeds=(1, 2), days=21, cases=2, epochs=30)
    trained = gnn.fit(config, [s for s, _, _ in training], [y for _, _, y in training])
    scores = gnn.scores(trained.model, stored)
    scored_at = datetime(2026, 1, 1, tzinfo=UTC)
    assert gnn.write_scores(store, scores, trained.version, scored_at) == len(scores) == len(context.houses)

    props = store.properties(scores)
    assert {p["gnn_model_version"] for p in props.values()} == {trained.version}
    assert all(p["gnn_group_rental_score"] == round(scores[h], 6) for h, p in props.items())
    assert {p["gnn_scored_at"] for p in props.values()} == {scored_at}
    planted = {t.subject for t in activity.truth if t.detector == "group_rental"}
    ranked = sorted(props, key=lambda h: -props[h]["gnn_group_rental_score"])
    assert planted and set(ranked[: len(planted)]) == planted
    assert all(isinstance(n, House) for n in store.nodes("House"))  # the derived properties leave the model intact
