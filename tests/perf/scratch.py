"""Scratch databases for benchmarks: made empty (graph schema / migrations applied), dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from api.stack import libpq_url
from graph import GraphSettings, GraphStore
from graph.admin import create_database, drop_database
from spatial import SpatialSettings, make_engine, migrate


@contextmanager
def scratch_graph(settings: GraphSettings | None = None) -> Iterator[GraphStore]:
    """Yield a store on a new graph database with constraints and indexes in place; drop it afterwards."""
    settings = settings or GraphSettings()
    name = f"bench_{uuid.uuid4().hex[:10]}"
    create_database(settings, name)
    try:
        with GraphStore.from_settings(settings, name) as store:
            store.ensure_schema()  # every run starts from the same constraints and indexes
            yield store
    finally:
        drop_database(settings, name)


def _admin(sql: str) -> None:
    with psycopg.connect(libpq_url(SpatialSettings().database_url), autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def scratch_postgis() -> Iterator[Engine]:
    """Yield an engine (made as the app makes it) on a new, migrated PostGIS database; drop it afterwards."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    _admin(f"CREATE DATABASE {name}")
    url = make_url(SpatialSettings().database_url).set(database=name)
    engine = make_engine(SpatialSettings(database_url=url.render_as_string(hide_password=False)))
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        _admin(f"DROP DATABASE {name} WITH (FORCE)")
