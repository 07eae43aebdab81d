"""The one place that builds the services (engine, graph store, tile cache) from settings.

FastAPI's `lifespan` calls :func:`build_services` at start and :meth:`Services.close` at shutdown;
everything else receives the services as parameters, route handlers through :func:`get_services`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from api.security import Security
from graph import GraphSettings, GraphStore
from spatial import SpatialSettings, make_engine, migrate
from spatial.tiles import TileCache


@dataclass
class Services:
    """The connection pools of one process, and the caches that belong to them.

    `tiles` is built from `engine` (one tile cache per database), so a `Services` made by hand
    for tests or tools needs only the engine and the graph store.
    """

    engine: Engine
    graph: GraphStore
    tiles: TileCache = field(init=False)
    security: Security = field(init=False)

    def __post_init__(self) -> None:
        self.tiles = TileCache(self.engine)
        self.security = Security(self.engine)

    def close(self) -> None:
        """Write the queued audit entries, then close the graph driver and the database pool."""
        try:
            self.security.close()
            self.graph.close()
        finally:
            self.engine.dispose()


def build_services(spatial: SpatialSettings | None = None, graph: GraphSettings | None = None) -> Services:
    """Connect to PostGIS and the graph from settings (the environment by default) and bring their schemas up.

    Runs the PostGIS migrations and creates the graph's constraints and indexes, both idempotent;
    on failure, whatever was opened is closed again.
    """
    engine = make_engine(spatial or SpatialSettings())
    try:
        migrate(engine)
        store = GraphStore.from_settings(graph or GraphSettings())
    except BaseException:
        engine.dispose()
        raise
    services = Services(engine, store)
    try:
        store.ensure_schema()
    except BaseException:
        services.close()
        raise
    return services


def get_services(request: Request) -> Services:
    """Return the services of the running app (a FastAPI dependency)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
"""A route parameter annotated `ServicesDep` receives the app's :class:`Services`."""
