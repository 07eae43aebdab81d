"""The FastAPI application: services built at start and closed at shutdown, health, and the routers.

Run it with `uvicorn --factory api.app:create_app`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import neo4j.exceptions
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.bootstrap import Services, ServicesDep, build_services
from api.routes import ROUTERS, graphql
from api.security.gatekeeper import Gatekeeper
from api.security.guards import ROUTE_GUARDS
from api.security.settings import SecuritySettings
from graph import TwinhoodError, heap

log = logging.getLogger(__name__)
WEB_UI = Path(__file__).resolve().parent / "static"
"""The built web UI, served at `/`."""


def _graph_state(services: Services) -> dict[str, str]:
    try:
        up = services.graph.ping()
    except (TwinhoodError, neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError) as exc:
        return {"state": "down", "error": str(exc)}
    return {"state": "up"} if up else {"state": "down", "error": "the ping query answered wrongly"}


def _postgis_state(services: Services) -> dict[str, str]:
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()
    except SQLAlchemyError as exc:
        return {"state": "down", "error": str(exc).splitlines()[0]}
    return {"state": "up"}


def create_app(services: Services | None = None) -> FastAPI:
    """Return the twinhood API app.

    With `services` given (tests, tools), the app uses them and leaves closing them to the
    caller; without, its lifespan builds them from settings at start and closes them at shutdown.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = await run_in_threadpool(build_services) if services is None else services
        try:
            await run_in_threadpool(app.state.services.security.users.seed_roles)
        except SQLAlchemyError as exc:  # PostGIS down: serve anyway, /healthz says so
            log.warning("could not seed the roles", extra={"error": str(exc).splitlines()[0]})
        app.state.reads = app.state.services.graph.async_reads()  # GraphQL's, on this event loop
        if owned:  # its own process (`twinhood serve`), not a test's
            heap.settle()
        try:
            yield
        finally:
            await app.state.reads.close()
            live = getattr(app.state.services, "_graphql_live", None)
            if live is not None:  # the GraphQL subscriptions' alarm feed
                await run_in_threadpool(live.close)
            if owned:
                await run_in_threadpool(app.state.services.close)

    app = FastAPI(title="twinhood", summary="A residential community as a living knowledge graph", lifespan=lifespan)

    @app.get("/healthz", tags=["health"], responses={503: {"description": "a store is down"}})
    def healthz(running: ServicesDep) -> JSONResponse:
        """Say whether the graph and PostGIS answer a query; 503 when one does not."""
        stores = {"graph": _graph_state(running), "postgis": _postgis_state(running)}
        healthy = all(s["state"] == "up" for s in stores.values())
        if not healthy:
            log.warning("unhealthy", extra={"stores": stores})
        return JSONResponse(
            {"status": "ok" if healthy else "unavailable", "stores": stores}, status_code=200 if healthy else 503
        )

    for router in ROUTERS:
        app.include_router(router, dependencies=ROUTE_GUARDS.get(router.prefix, []))
    app.router.routes.extend(graphql.ROUTES)
    rest_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        document = rest_openapi()  # built once, then cached by FastAPI
        document["paths"].setdefault("/graphql", graphql.OPENAPI)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    # the web UI (built from web/ by `npm run build`), after the API so no route is shadowed
    app.mount("/", StaticFiles(directory=WEB_UI, html=True, check_dir=False), name="web")
    # the middleware added last runs first: CORS answers preflights, then the gatekeeper refuses, limits, counts, audits
    app.add_middleware(Gatekeeper)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=SecuritySettings().cors_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "If-None-Match"],
        expose_headers=["ETag", "Retry-After"],
        max_age=600,
    )
    return app
