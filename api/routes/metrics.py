"""`GET /metrics`: the API's call statistics and errors in Prometheus text format (7.2.7).

Counts and latencies per route template and status, GraphQL operations by name and outcome,
refusals (blacklist, rate limit, authentication, permission), and audit entries written.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUESTS: Final = Counter("twinhood_http_requests", "HTTP requests served", ["method", "route", "status"])
LATENCY: Final = Histogram(
    "twinhood_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REFUSED: Final = Counter("twinhood_http_refused", "requests refused before reaching a route", ["reason"])
GRAPHQL: Final = Counter("twinhood_graphql_operations", "GraphQL operations", ["operation", "outcome"])

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics() -> Response:
    """Return the process's metrics in Prometheus text exposition format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
