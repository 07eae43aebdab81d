"""Events over HTTP: `POST /ingest/events` with a JSON array (or one object) or NDJSON, per-event results.

Up to :data:`MAX_EVENTS` events a request (more is 413 and nothing is stored). Each event is
`accepted` (appended to the ledger), `duplicate` (its id is already there) or `rejected` with the
field and the reason (kept as a dead letter). The answer is 200 with a result per event in order,
whatever their outcomes; the ingest worker's projector then attaches accepted events to the graph.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.bootstrap import ServicesDep
from ingest.events import parse_message, parse_ndjson
from ingest.intake import Outcome, accept

MAX_EVENTS = 10_000
MAX_BODY_BYTES = 64 * 1024 * 1024
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-lines")

router = APIRouter(prefix="/ingest", tags=["ingest"])


def _store(engine: Engine, items: list[tuple[Any, Any]]) -> list[Outcome]:
    with engine.begin() as conn:
        return accept(conn, items, source="http")


@router.post(
    "/events",
    responses={413: {"description": f"more than {MAX_EVENTS} events or {MAX_BODY_BYTES} bytes; nothing stored"}},
)
async def post_events(request: Request, services: ServicesDep) -> JSONResponse:
    """Ledger a batch of events and say, per event, whether it was accepted, a duplicate or rejected (and why)."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return JSONResponse({"detail": f"the body is larger than {MAX_BODY_BYTES} bytes"}, status_code=413)
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    items = list(parse_ndjson(body) if media in NDJSON_TYPES else parse_message(body))
    if len(items) > MAX_EVENTS:
        return JSONResponse(
            {"detail": f"{len(items)} events in one request; send at most {MAX_EVENTS}"}, status_code=413
        )
    outcomes = await run_in_threadpool(_store, services.engine, items)
    totals = {s: sum(o.status == s for o in outcomes) for s in ("accepted", "duplicate", "rejected")}
    return JSONResponse({**totals, "results": [o.as_dict() for o in outcomes]})
