"""The HTTP routes of the API, one module per area; :func:`api.app.create_app` includes every router in `ROUTERS`.

Adding an area is adding a module with an `APIRouter` named `router` and listing it here.
"""

from fastapi import APIRouter

from api.routes import auth, bim, graphql, ingest, metrics, tiles

ROUTERS: list[APIRouter] = [tiles.router, bim.router, ingest.router, auth.router, metrics.router, graphql.router]

__all__ = ["ROUTERS"]
