"""Real servers for integration tests: each test gets a graph database of its own.

The servers come from `twinhood up` (scripts/test runs it). A server that does not answer fails
the test with what to do; it never skips.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from api.stack import libpq_url
from graph import GraphSettings, GraphStore
from graph.admin import create_database, drop_database
from ingest import IngestSettings
from spatial import SpatialSettings


@pytest.fixture(scope="session")
def graph_settings() -> GraphSettings:
    settings = GraphSettings()
    try:
        with GraphStore.from_settings(settings) as store:
            store.ping()
    except Exception as exc:
        pytest.fail(f"graph server {settings.neo4j_uri} is not answering ({exc}); run `twinhood up`")
    return settings


@pytest.fixture
def graph_database(graph_settings: GraphSettings) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    create_database(graph_settings, name)
    yield name
    drop_database(graph_settings, name)


@pytest.fixture
def store(graph_settings: GraphSettings, graph_database: str) -> Iterator[GraphStore]:
    with GraphStore.from_settings(graph_settings, graph_database) as s:
        s.ensure_schema()
        yield s


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostGIS database of this test session's own, dropped at the end."""
    admin = libpq_url(SpatialSettings().database_url)
    name = f"test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL at {SpatialSettings().database_url} is not usable ({exc}); run `twinhood up`")
    url = psycopg.conninfo.make_conninfo(admin, dbname=name)
    with psycopg.connect(url, autocommit=True) as conn:
        for ext in ("postgis", "pg_trgm"):
            conn.execute(f"CREATE EXTENSION {ext}")
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def ingest_settings() -> IngestSettings:
    return IngestSettings()
