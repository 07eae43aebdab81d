"""Detection end to end on the real stores: simulated events through ingest into the ledger, the community
in the graph, detectors over both, flags on the graph — the same findings as the in-memory run."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from analytics import findings as detection
from analytics.context import Context
from analytics.detectors import Inputs, configure, run
from analytics.simulate import simulate
from graph import GraphStore
from graph.generator import generate
from graph.ontology import RiskFlag
from ingest import ledger


def test_flags_from_the_ledger_match_the_in_memory_run_and_clear_when_no_longer_found(
    store: GraphStore, spatial_engine: Engine
) -> None:
    community = generate(500, 5)
    activity = simulate(community, days=21, seed=5, cases=2)
    store.upsert([*community.nodes, *activity.nodes])
    store.link([*community.links, *activity.links])
    assert activity.to_ledger(spatial_engine) == len(activity)
    with spatial_engine.connect() as conn:
        assert ledger.count(conn) == len(activity)

    found, written = detection.detect(spatial_engine, store, since=activity.start, until=activity.end)
    context = Context.from_graph([*community.nodes, *activity.nodes], [*community.links, *activity.links])
    in_memory = run(configure(), Inputs(activity.frame(), context, activity.start, activity.end))
    assert {(f.detector, f.subject, f.key) for f in found} == {(f.detector, f.subject, f.key) for f in in_memory}
    planted = {(t.detector, t.subject) for t in activity.truth}
    assert planted and planted <= {(f.detector, f.subject) for f in found}

    assert written is not None and written.raised == len(found) and written.cleared == 0
    flags = [n for n in store.nodes("RiskFlag") if isinstance(n, RiskFlag)]
    assert len(flags) == len(found) and all(f.status == "open" for f in flags)
    long_out = next(f for f in found if f.detector == "long_out")
    flagged = store.neighbourhood(long_out.subject, rel_types=["FLAGS"])
    flag = next(n for n in store.get_many(flagged.uids()).values() if isinstance(n, RiskFlag))
    assert flag.detector == "long_out" and flag.version == "1" and "not seen" in flag.explanation
    assert long_out.inputs["last_event"] in flag.inputs

    # a week earlier nobody had been gone long: the long_out flags clear, the others stay open
    _, again = detection.detect(
        spatial_engine, store, since=activity.start, until=activity.end - timedelta(days=11), only=["long_out"]
    )
    assert again is not None and again.cleared == sum(f.detector == "long_out" for f in found)
    cleared = {n.uid for n in store.nodes("RiskFlag") if isinstance(n, RiskFlag) and n.status == "cleared"}
    assert flag.uid in cleared
    assert all(n.detector == "long_out" for n in store.get_many(cleared).values() if isinstance(n, RiskFlag))
