"""A served demo community for browser tests: fresh databases, `twinhood serve`, the ingest worker, Chromium.

The session builds, through the command line as a user would, a 2,000-resident demo community in
a graph database and a PostGIS database of its own, imports an IFC model as one of its buildings,
creates the accounts, then runs `twinhood serve` (real uvicorn) and `twinhood ingest worker` on a
topic root of its own. Tests drive Debian's Chromium (`/usr/bin/chromium`, headless) with
Playwright. A missing browser or a server that does not answer fails the tests; nothing skips.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from sqlalchemy.engine import make_url

from api.stack import libpq_url
from graph import GraphSettings, GraphStore
from graph.admin import create_database, drop_database
from spatial import SpatialSettings
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[2]
TWINHOOD = ROOT / ".venv" / "bin" / "twinhood"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
"""Where the README's screenshots live: the tests write them there only when asked (TWINHOOD_SCREENSHOTS=1)."""
IFC_MODEL = SHARED_DATA / "ifc" / "xbim-House.ifc"
BIM_BUILDING = "building:E01B01"
ADMIN = ("e2e-admin", "e2e-admin-password")
ANALYST = ("e2e-analyst", "e2e-analyst-password")  # reads people, identities masked
RESIDENTS = 2000
# as the machine notes say: no GPU, and nothing reaching out to the network at start
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Served:
    """The running app over the demo community, and how to reach it."""

    base_url: str
    env: dict[str, str]
    database_url: str
    topic_root: str
    logs: Path

    def token(self, user: tuple[str, str] = ADMIN) -> str:
        answer = httpx.post(f"{self.base_url}/auth/login", json={"username": user[0], "password": user[1]})
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def gql(self, query: str, variables: dict[str, Any] | None = None, user: tuple[str, str] = ADMIN) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token(user)}"},
            timeout=30,
        )
        body: dict[str, Any] = answer.json()
        assert answer.status_code == 200 and not body.get("errors"), answer.text
        data: dict[str, Any] = body["data"]
        return data

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        return _sql(self.database_url, statement)


def _sql(database_url: str, statement: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        return conn.execute(statement).fetchall()


def _admin_sql(statement: str) -> None:
    with psycopg.connect(libpq_url(SpatialSettings().database_url), autocommit=True) as conn:
        conn.execute(statement)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run(args: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("a") as out:
        done = subprocess.run([str(TWINHOOD), *args], env=env, stdout=out, stderr=subprocess.STDOUT, timeout=600)
    if done.returncode != 0:
        pytest.fail(f"twinhood {' '.join(args)} failed:\n{log.read_text()[-3000:]}")


def _wait_for(what: str, ready: Any, log: Path, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.5)
    pytest.fail(f"{what} did not come up in {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@pytest.fixture(scope="package")  # torn down with the e2e tests: sync Playwright holds an event loop
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Load the demo community into fresh databases, then serve it and run the ingest worker."""
    tag = uuid.uuid4().hex[:10]
    graph_settings = GraphSettings()
    try:
        with GraphStore.from_settings(graph_settings) as store:
            store.ping()
    except Exception as exc:
        pytest.fail(f"graph server {graph_settings.neo4j_uri} is not answering ({exc}); run `twinhood up`")
    graph_name, pg_name = f"e2e_{tag}", f"e2e_{tag}"
    try:
        _admin_sql(f"CREATE DATABASE {pg_name}")
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL at {SpatialSettings().database_url} is not usable ({exc}); run `twinhood up`")
    create_database(graph_settings, graph_name)
    database_url = make_url(SpatialSettings().database_url).set(database=pg_name).render_as_string(False)
    work = tmp_path_factory.mktemp("e2e")
    env = {
        **os.environ,
        "TWINHOOD_NEO4J_DATABASE": graph_name,
        "TWINHOOD_DATABASE_URL": database_url,
        "TWINHOOD_SCENE_DIR": str(work / "scenes"),
        "TWINHOOD_MQTT_TOPIC_ROOT": f"e2e-{tag}",
        "TWINHOOD_MQTT_CLIENT_ID": f"e2e-ingest-{tag}",
        "TWINHOOD_RETENTION_INTERVAL_S": "0",
        "COLUMNS": "120",
    }
    log = work / "setup.log"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        _run(["generate", "--residents", str(RESIDENTS), "--seed", "7"], env, log)
        lon, lat = _sql(
            database_url,
            f"SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM buildings WHERE uid = '{BIM_BUILDING}'",
        )[0]
        _run(
            ["import", "ifc", str(IFC_MODEL), "--building-uid", BIM_BUILDING, "--lon", str(lon), "--lat", str(lat)],
            env,
            log,
        )
        _run(["user", "add", ADMIN[0], "--role", "admin", "--password", ADMIN[1]], env, log)
        _run(["user", "add", ANALYST[0], "--role", "analyst", "--password", ANALYST[1]], env, log)

        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        serve_log, worker_log = work / "serve.log", work / "worker.log"
        with serve_log.open("w") as out:
            processes.append(
                subprocess.Popen(
                    [str(TWINHOOD), "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
                )
            )
        with worker_log.open("w") as out:
            processes.append(
                subprocess.Popen([str(TWINHOOD), "ingest", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)
            )
        _wait_for("twinhood serve", lambda: _healthy(base_url), serve_log)
        _wait_for("the ingest worker", lambda: "mqtt subscribed" in worker_log.read_text(), worker_log)
        yield Served(base_url, env, database_url, env["TWINHOOD_MQTT_TOPIC_ROOT"], work)
    finally:
        for process in processes:
            _stop(process)
        drop_database(graph_settings, graph_name)
        with contextlib.suppress(psycopg.Error):
            _admin_sql(f"DROP DATABASE {pg_name} WITH (FORCE)")


@pytest.fixture(scope="package")  # torn down with the e2e tests: sync Playwright holds an event loop
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")  # torn down with the e2e tests: sync Playwright holds an event loop
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does, as root)")
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab (its own session storage) that fails the test on any uncaught page error."""
    context = browser.new_context(viewport={"width": 1400, "height": 860}, locale="zh-CN")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"the page raised: {errors}"


def log_in(page: Page, served: Served, user: tuple[str, str] = ADMIN) -> None:
    """Log in through the login form, as a person would."""
    page.goto(f"{served.base_url}/#/login")
    page.fill("input[name=username]", user[0])
    page.fill("input[name=password]", user[1])
    page.click("form#login button[type=submit]")
    page.wait_for_selector("#bar:not([hidden])")


def screenshot(page: Page, name: str) -> None:
    """Take a screenshot of the page (so drawing it is exercised), kept in docs/screenshots only when asked."""
    data = page.screenshot()
    assert data.startswith(b"\x89PNG"), f"screenshot {name} is not a PNG"
    if os.environ.get("TWINHOOD_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / f"{name}.png").write_bytes(data)
