"""Real servers for integration tests: each test gets a graph database of its own.

The servers come from `twinhood up` (scripts/test runs it). A server that does not answer fails
the test with what to do; it never skips.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from api.stack import libpq_url
from graph import GraphSettings, GraphStore
from graph.admin import create_database, drop_database
from ingest import IngestSettings
from spatial import SpatialSettings, migrate


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


def _admin(sql: str) -> None:
    with psycopg.connect(libpq_url(SpatialSettings().database_url), autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def postgis_template() -> Iterator[str]:
    """A migrated PostGIS database of this session's own, used as the template for each test's."""
    name = f"test_tmpl_{uuid.uuid4().hex[:10]}"
    try:
        _admin(f"CREATE DATABASE {name}")
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL at {SpatialSettings().database_url} is not usable ({exc}); run `twinhood up`")
    url = make_url(SpatialSettings().database_url).set(database=name)
    engine = create_engine(url)
    migrate(engine)
    engine.dispose()
    yield name
    _admin(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def spatial_engine(postgis_template: str) -> Iterator[Engine]:
    """An engine on a fresh, migrated PostGIS database for this test alone."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    _admin(f"CREATE DATABASE {name} TEMPLATE {postgis_template}")
    engine = create_engine(make_url(SpatialSettings().database_url).set(database=name))
    yield engine
    engine.dispose()
    _admin(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def ingest_settings() -> IngestSettings:
    return IngestSettings()
