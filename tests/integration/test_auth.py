"""Login, tokens, roles on REST routes, the audit log, rate limit, blacklist and CORS, through a real uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine

from api.app import create_app
from api.bootstrap import Services
from api.security import Security, SecuritySettings
from api.security.tokens import issue
from graph import GraphStore
from tests.integration.test_ingest import smoke
from tests.integration.test_tiles import serve

PASSWORD = "correct horse battery"


@pytest.fixture
def services(spatial_engine: Engine, store: GraphStore) -> Iterator[Services]:
    services = Services(spatial_engine, store)
    services.security.users.seed_roles()
    for name, role in [("ada", "admin"), ("vic", "viewer"), ("ana", "analyst"), ("dev", "device")]:
        services.security.users.create_user(name, PASSWORD, [role])
    yield services
    services.security.close()


@pytest.fixture
def client(services: Services) -> Iterator[httpx.Client]:
    with serve(create_app(services)) as http:
        yield http


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/auth/login", json={"username": username, "password": password})


def bearer(client: httpx.Client, username: str) -> dict[str, str]:
    answer = login(client, username)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_a_login_gives_a_token_that_says_who_and_what(client: httpx.Client) -> None:
    answer = login(client, "ana")
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 30 * 60
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me["username"] == "ana" and me["roles"] == ["analyst"]
    assert "read:person" in me["permissions"] and "see:id_number" not in me["permissions"]


def test_a_password_form_logs_in_too(client: httpx.Client) -> None:
    answer = client.post("/auth/login", data={"username": "vic", "password": PASSWORD})
    assert answer.status_code == 200 and answer.json()["access_token"]


def test_a_wrong_password_and_an_unknown_user_are_refused_alike(client: httpx.Client) -> None:
    wrong, unknown = login(client, "vic", "not the password"), login(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "wrong username or password"


def test_a_username_with_control_characters_is_refused_naming_the_field(client: httpx.Client) -> None:
    # found by schemathesis: a NUL byte reached PostgreSQL, which cannot store it, and the login answered 500
    answer = login(client, "vic\x00", "not the password")
    assert answer.status_code == 422
    assert "username" in answer.json()["detail"] and "control characters" in answer.json()["detail"]


def test_five_failures_in_a_row_lock_the_account_even_for_the_right_password(
    client: httpx.Client, services: Services
) -> None:
    for _ in range(4):
        assert login(client, "vic", "guess guess guess").json()["detail"] == "wrong username or password"
    fifth = login(client, "vic", "guess guess guess")
    assert fifth.status_code == 401 and "locked the account" in fifth.json()["detail"]
    locked = login(client, "vic")
    assert locked.status_code == 401 and "locked until" in locked.json()["detail"]
    services.security.users.update_user("vic", unlock=True)
    assert login(client, "vic").status_code == 200
    denied = [e for e in services.security.audit.entries(username="vic") if e["operation"] == "login"]
    assert [e["outcome"] for e in denied].count("denied") == 6


def test_an_account_past_its_validity_cannot_log_in(client: httpx.Client, services: Services) -> None:
    services.security.users.create_user("old", PASSWORD, ["viewer"], valid_until=datetime.now(UTC) - timedelta(days=1))
    answer = login(client, "old")
    assert answer.status_code == 401 and "validity period" in answer.json()["detail"]


def test_no_token_a_bad_token_and_an_expired_token_are_401(client: httpx.Client, services: Services) -> None:
    events = [smoke("alarm", 1)]
    none = client.post("/ingest/events", json=events)
    assert none.status_code == 401 and none.headers["www-authenticate"] == "Bearer"
    assert "no bearer token" in none.json()["detail"]
    bad = client.post("/ingest/events", json=events, headers={"Authorization": "Bearer not.a.token"})
    assert bad.status_code == 401 and "invalid" in bad.json()["detail"]
    old = issue("dev", services.security.settings, now=datetime.now(UTC) - timedelta(hours=2)).access_token
    expired = client.post("/ingest/events", json=events, headers={"Authorization": f"Bearer {old}"})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_a_token_signed_with_another_key_is_401(client: httpx.Client) -> None:
    forged = issue("ada", SecuritySettings(jwt_secret="another key that is long enough to be accepted")).access_token
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_a_disabled_account_loses_its_token_at_once(client: httpx.Client, services: Services) -> None:
    headers = bearer(client, "ana")
    assert client.get("/auth/me", headers=headers).status_code == 200
    services.security.users.update_user("ana", disabled=True)
    answer = client.get("/auth/me", headers=headers)
    assert answer.status_code == 401 and "disabled" in answer.json()["detail"]


def test_ingest_needs_the_device_role(client: httpx.Client, services: Services) -> None:
    events = [smoke("alarm", 1)]
    viewer = client.post("/ingest/events", json=events, headers=bearer(client, "vic"))
    assert viewer.status_code == 403 and "ingest:events" in viewer.json()["detail"]
    device = client.post("/ingest/events", json=events, headers=bearer(client, "dev"))
    assert device.status_code == 200 and device.json()["accepted"] == 1
    rows = services.security.audit.entries(operation="POST /ingest/events")
    assert [(r["username"], r["outcome"]) for r in rows] == [("dev", "ok"), ("vic", "denied")]


def test_base_map_tiles_are_public_but_device_tiles_need_a_role(client: httpx.Client) -> None:
    assert client.get("/tiles/buildings/16/35000/22000.pbf").status_code == 204
    assert client.get("/tiles/devices/16/35000/22000.pbf").status_code == 401
    assert client.get("/tiles/devices.json", headers=bearer(client, "vic")).status_code == 403
    assert client.get("/tiles/devices/16/35000/22000.pbf", headers=bearer(client, "ana")).status_code == 204
    assert client.get("/tiles/trajectories.json", headers=bearer(client, "ana")).status_code == 200


def test_building_scenes_need_a_login(client: httpx.Client) -> None:
    assert client.get("/bim/building:NONE/scene.json").status_code == 401
    answer = client.get("/bim/building:NONE/scene.json", headers=bearer(client, "vic"))
    assert answer.status_code == 404 and answer.json()["building_uid"] == "building:NONE"


def test_a_blacklisted_address_is_refused_before_anything(spatial_engine: Engine, store: GraphStore) -> None:
    services = Services(spatial_engine, store)
    services.security = Security(spatial_engine, SecuritySettings(ip_blacklist=["10.0.0.0/8", "127.0.0.1"]))
    with serve(create_app(services)) as http:
        answer = http.get("/healthz")
    assert answer.status_code == 403 and "blacklisted" in answer.json()["detail"]
    rows = services.security.audit.entries()
    assert rows[0]["outcome"] == "denied" and rows[0]["client"] == "127.0.0.1"


def test_a_client_over_its_rate_gets_429_with_retry_after(spatial_engine: Engine, store: GraphStore) -> None:
    services = Services(spatial_engine, store)
    settings = SecuritySettings(rate_limit_per_minute=60, rate_limit_burst=5, workers=1)
    services.security = Security(spatial_engine, settings)
    with serve(create_app(services)) as http:
        codes = [http.get("/metrics").status_code for _ in range(7)]
        last = http.get("/metrics")
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    assert last.status_code == 429 and 1 <= int(last.headers["retry-after"]) <= 2


def test_cors_allows_the_configured_origin_only(client: httpx.Client) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    ok = client.options("/graphql", headers={"Origin": "http://localhost:5173", **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "http://localhost:5173"
    other = client.options("/graphql", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers


def test_metrics_count_requests_per_route_and_status(client: httpx.Client) -> None:
    client.get("/auth/me")
    text = client.get("/metrics").text
    assert 'twinhood_http_requests_total{method="GET",route="/auth/me",status="401"}' in text
    assert "twinhood_http_request_seconds_bucket" in text
