from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import Engine, text

from graph import GraphStore
from graph.generator import generate


def test_loading_a_generated_community_twice_changes_nothing(store: GraphStore) -> None:
    community = generate(400, seed=11)
    store.upsert(community.nodes)
    store.link(community.links)
    counts = store.counts()
    assert {k: v for k, v in counts.items() if v} == {k: v for k, v in community.summary().items() if v}
    people = [n.uid for n in community.nodes if n.label in ("Person", "House", "Vehicle")]
    before = {u: n.model_dump() for u, n in store.get_many(people).items()}

    store.upsert(generate(400, seed=11).nodes)
    store.link(generate(400, seed=11).links)

    assert store.counts() == counts
    assert {u: n.model_dump() for u, n in store.get_many(people).items()} == before


def test_every_current_resident_has_one_open_stay(store: GraphStore) -> None:
    community = generate(250, seed=5)
    store.upsert(community.nodes)
    store.link(community.links)
    houses = [n.uid for n in community.nodes if n.label == "House"]
    open_stays = [r for h in houses for r in store.residence_history(h) if r.until is None]
    assert len(open_stays) == 250
    assert len({r.person for r in open_stays}) == 250


def run_cli(database: str, engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TWINHOOD_NEO4J_DATABASE": database,
        "TWINHOOD_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "COLUMNS": "200",
    }
    cli = [sys.executable, "-c", "from api.cli import main; main()", *args]
    return subprocess.run(cli, env=env, capture_output=True, text=True, timeout=300)


def test_cli_generates_shows_searches_and_explains_errors_in_one_line(
    graph_database: str, spatial_engine: Engine
) -> None:
    def twinhood(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(graph_database, spatial_engine, *args)

    done = twinhood("generate", "--residents", "120", "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert "Person" in done.stdout
    with spatial_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM buildings")).scalar_one() > 0

    found = twinhood("search", "1号楼", "--mode", "exact", "--kind", "Building")
    assert found.returncode == 0 and "building:E01B01" in found.stdout

    shown = twinhood("show", "person:P000001")
    assert shown.returncode == 0 and '"label": "Person"' in shown.stdout

    missing = twinhood("show", "person:nobody")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: no entity with uid 'person:nobody'"

    bad = twinhood("neighbours", "nobody")
    assert bad.returncode == 1 and "must look like 'prefix:key'" in bad.stderr
