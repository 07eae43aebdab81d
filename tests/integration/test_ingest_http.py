"""`POST /ingest/events` against real PostgreSQL: per-event results, dead letters, the 10k limit."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from api.bootstrap import Services
from api.routes import ingest as ingest_routes
from graph import GraphStore
from ingest import deadletters, ledger
from tests.integration.test_ingest import smoke

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette asks for httpx2 behind its TestClient; httpx still works
    from fastapi.testclient import TestClient


@pytest.fixture
def client(spatial_engine: Engine, store: GraphStore) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(ingest_routes.router)
    app.state.services = Services(spatial_engine, store)
    with TestClient(app) as c:
        yield c


def test_a_json_array_gets_a_result_per_event(client: TestClient, spatial_engine: Engine) -> None:
    body = [smoke("alarm", 1), smoke("alarm", 1), {"kind": "smoke", "device": "x"}, smoke("normal", 2)]
    answer = client.post("/ingest/events", json=body)
    assert answer.status_code == 200
    data = answer.json()
    assert (data["accepted"], data["duplicate"], data["rejected"]) == (2, 1, 1)
    assert [r["status"] for r in data["results"]] == ["accepted", "duplicate", "rejected", "accepted"]
    assert data["results"][2]["field"] == "ts" and "missing" in data["results"][2]["reason"]
    with spatial_engine.connect() as conn:
        assert ledger.count(conn) == 2 and deadletters.count(conn) == 1


def test_an_event_holding_a_nul_is_a_dead_letter_not_a_failed_request(
    client: TestClient, spatial_engine: Engine
) -> None:
    bad = {**smoke("alarm", 1), "device": "dev\x00ice"}
    answer = client.post("/ingest/events", json=[bad, smoke("alarm", 2)])
    assert answer.status_code == 200  # it was 500: PostgreSQL refused the whole batch
    assert [r["status"] for r in answer.json()["results"]] == ["rejected", "accepted"]
    assert answer.json()["results"][0]["field"] == "device"
    with spatial_engine.connect() as conn:
        (letter,) = deadletters.list_dead_letters(conn)
        assert ledger.count(conn) == 1 and letter.field == "device" and "dev\\u0000ice" in letter.text


def test_ndjson_lines_are_events_and_a_bad_line_is_rejected(client: TestClient) -> None:
    lines = "\n".join([json.dumps(smoke("alarm", 1)), "{broken", "", json.dumps(smoke("alarm", 2))])
    answer = client.post("/ingest/events", content=lines, headers={"content-type": "application/x-ndjson"})
    assert [r["status"] for r in answer.json()["results"]] == ["accepted", "rejected", "accepted"]


def test_more_than_ten_thousand_events_is_refused_whole(client: TestClient, spatial_engine: Engine) -> None:
    answer = client.post("/ingest/events", json=[smoke("alarm", m / 1000) for m in range(10_001)])
    assert answer.status_code == 413 and "at most 10000" in answer.json()["detail"]
    with spatial_engine.connect() as conn:
        assert ledger.count(conn) == 0 and deadletters.count(conn) == 0
