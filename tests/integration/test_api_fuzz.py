"""Fuzzing through real HTTP: schemathesis over the OpenAPI of the REST routes, and hypothesis-graphql
queries and mutations with generated arguments. No request may end in a server error, and a
low-privilege caller (the analyst) may never see an ID number, a phone number or a face image."""

from __future__ import annotations

import json
import string
from datetime import UTC
from typing import Any

import pytest
import schemathesis
from graphql import build_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries
from schemathesis.checks import not_a_server_error

from api.graphql import schema as graphql_schema
from api.security import RateLimiter
from graph.masking import SENSITIVE_FIELDS
from tests.integration import test_graphql
from tests.integration.test_graphql import World

world = test_graphql.world  # the served community, built once for this module too
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def unlimited(world: World) -> World:
    world.services.security.limiter = RateLimiter(0, 1)  # the fuzzers send thousands of requests at once
    return world


def test_no_rest_operation_ends_in_a_server_error(unlimited: World) -> None:
    rest = schemathesis.openapi.from_url(str(unlimited.http.base_url).rstrip("/") + "/openapi.json")
    headers = {"Authorization": f"Bearer {unlimited.tokens['admin']}"}
    operations = [result.ok() for result in rest.get_all_operations()]
    assert {"/graphql", "/auth/login", "/ingest/events", "/tiles/{layer}/{z}/{x}/{y}.pbf"} <= {
        op.path for op in operations
    }
    for operation in operations:

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        run()


def sensitive_values(world: World) -> set[str]:
    """Every ID number, phone and face reference the community holds (what an analyst must never see)."""
    found = set()
    for node in world.community.nodes:
        for field in SENSITIVE_FIELDS.get(node.label, {}):
            value = getattr(node, field, None)
            if value:
                found.add(str(value))
    return found


def uid_values(world: World) -> st.SearchStrategy[Any]:
    real = [n.uid for n in world.community.nodes]
    return st.one_of(st.sampled_from(real), st.text(string.ascii_letters + ":-_", max_size=20)).map(nodes.String)


def scalars(world: World) -> dict[str, st.SearchStrategy[Any]]:
    moments = st.datetimes(timezones=st.just(UTC)).map(lambda d: nodes.String(d.isoformat()))
    blobs = st.dictionaries(st.sampled_from(["name", "phone", "id_number", "floor", "x"]), st.text(max_size=12))
    return {
        "ID": uid_values(world),
        "DateTime": st.one_of(moments, st.text(max_size=10).map(nodes.String)),
        "JSON": blobs.map(lambda d: nodes.Object([]) if not d else nodes.String(json.dumps(d))),
    }


SDL = build_schema(graphql_schema.as_str())
READS = [
    "entity",
    "entities",
    "search",
    "neighbourhood",
    "shortestPath",
    "events",
    "alarms",
    "riskFlags",
    "atPoint",
    "withinRadius",
    "inBbox",
    "statistics",
    "me",
]


def check(world: World, role: str, document: str) -> dict[str, Any]:
    answer = world.http.post(
        "/graphql", json={"query": document}, headers={"Authorization": f"Bearer {world.tokens[role]}"}
    )
    assert answer.status_code < 500, answer.text
    body: dict[str, Any] = answer.json()
    internal = [e for e in body.get("errors", []) if (e.get("extensions") or {}).get("code") == "INTERNAL"]
    assert not internal, (document, internal)
    return body


def test_generated_queries_give_no_server_error_and_nothing_unmasked_to_an_analyst(unlimited: World) -> None:
    secrets = sensitive_values(unlimited)
    assert len(secrets) > 100

    @FUZZ
    @given(document=queries(SDL, fields=READS, custom_scalars=scalars(unlimited)))
    def run(document: str) -> None:
        text = json.dumps(check(unlimited, "analyst", document), ensure_ascii=False)
        leaked = [s for s in secrets if s in text]
        assert not leaked, (document, leaked[:3])

    run()


def test_generated_mutations_give_no_server_error_and_are_refused_to_an_analyst(unlimited: World) -> None:
    @FUZZ
    @given(document=mutations(SDL, custom_scalars=scalars(unlimited)))
    def run(document: str) -> None:
        body = check(unlimited, "analyst", document)
        codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors", [])}
        assert body.get("data") is None or codes <= {"FORBIDDEN", "VALIDATION", "INVALID_QUERY"}, body
        assert "FORBIDDEN" in codes or codes & {"VALIDATION", "INVALID_QUERY"}, (document, body)

    run()


def test_generated_queries_give_no_server_error_to_an_admin(unlimited: World) -> None:
    @FUZZ
    @given(document=queries(SDL, fields=READS, custom_scalars=scalars(unlimited)))
    def run(document: str) -> None:
        check(unlimited, "admin", document)

    run()
