"""Detection end to end on the real stores: simulated events through ingest into the ledger, the community
in the graph, detectors over both, flags on the graph — the same findings as the in-memory run."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from analytics import findings as detection
from analytics.context import Context
from analytics.detectors import Inputs, configure, run
from analytics.simulate import simulate
from analytics.stream import Follower
from graph import GraphStore
from graph.generator import generate
from graph.ontology import RiskFlag
from ingest import intake, ledger
from ingest.events import parse_event
from tests.integration.test_community_load import run_cli


def test_flags_from_the_ledger_match_the_in_memory_run_and_clear_when_no_longer_found(
    store: GraphStore, spatial_engine: Engine
) -> None:
    community = generate(500, 5)
    activity = simulate(community, days=21, seed=5, cases=2)
    store.upsert([*community.nodes, *activity.nodes])
    store.link([*community.links, *activity.links])
    _append(spatial_engine, list(activity.rows()))
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


def test_following_the_ledger_keeps_flags_as_a_batch_run_would(store: GraphStore, spatial_engine: Engine) -> None:
    community = generate(400, 9)
    activity = simulate(community, days=21, seed=9, cases=2)
    store.upsert([*community.nodes, *activity.nodes])
    store.link([*community.links, *activity.links])
    rows = list(activity.rows())
    middle = activity.start + timedelta(days=12)
    first = [r for r in rows if datetime.fromisoformat(r["ts"]) < middle]
    follower = Follower.configured(spatial_engine, store, window=timedelta(days=21))

    _append(spatial_engine, first)
    early = follower.tick(now=middle)
    assert early.read == len(first) and early.window_events == len(first)
    _append(spatial_engine, [r for r in rows if datetime.fromisoformat(r["ts"]) >= middle][::-1])  # latest first
    late = follower.tick(now=activity.end)
    in_window = sum(datetime.fromisoformat(r["ts"]) < activity.end for r in rows)
    assert late.read == len(rows) - len(first) and late.window_events == in_window
    batch, _ = detection.detect(spatial_engine, store, since=activity.start, until=activity.end, write_flags=False)
    assert {(f.detector, f.subject, f.key) for f in late.findings} == {(f.detector, f.subject, f.key) for f in batch}
    assert late.written.raised == len(batch)
    # people who are long gone at the end had been seen in the first half: their absence flags are new
    assert {f.subject for f in late.findings if f.detector == "long_out"} - {
        f.subject for f in early.findings if f.detector == "long_out"
    }
    assert follower.tick(now=activity.end).read == 0  # nothing new: nothing read twice


def _append(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        outcomes = intake.accept(conn, [(r, parse_event(r)) for r in rows], source="test")
    assert {o.status for o in outcomes} == {"accepted"}


def test_the_cli_loads_a_simulated_month_writes_its_truth_and_flags_it(
    graph_database: str, spatial_engine: Engine, store: GraphStore, tmp_path: Path
) -> None:
    truth = tmp_path / "truth.json"
    loaded = run_cli(
        graph_database,
        spatial_engine,
        "detect",
        "simulate",
        "--residents",
        "300",
        "--days",
        "21",
        "--truth",
        str(truth),
    )
    assert loaded.returncode == 0, loaded.stderr
    planted = json.loads(truth.read_text())
    assert planted and {"detector", "subject", "note"} <= set(planted[0])
    with spatial_engine.connect() as conn:
        assert ledger.count(conn) > 10_000
        assert ledger.pending(conn) == 0  # the month is in the graph too, as a worker would have put it
    counts = store.counts()
    assert counts["Event"] > 1_000 and counts["RECORDED_BY"] == counts["Event"] and counts["PASSED_THROUGH"] > 100
    window = re.search(r"twinhood detect (--since \S+ --until \S+)", loaded.stdout)
    assert window, loaded.stdout
    found = run_cli(graph_database, spatial_engine, "detect", *window.group(1).split())
    assert found.returncode == 0, found.stderr
    flagged = {
        (n.detector, s) for n in store.nodes("RiskFlag") if isinstance(n, RiskFlag) for s in [_subject(store, n)]
    }
    assert {(p["detector"], p["subject"]) for p in planted} <= flagged


def _subject(store: GraphStore, flag: RiskFlag) -> str:
    return next(iter(set(store.neighbourhood(flag.uid, rel_types=["FLAGS"]).uids()) - {flag.uid}), "")
