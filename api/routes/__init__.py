"""The HTTP routes of the API, one module per area; :func:`api.app.create_app` includes every router in `ROUTERS`.

Adding an area is adding a module with an `APIRouter` named `router` and listing it here.
GraphQL is the exception: :data:`api.routes.graphql.ROUTES` are plain Starlette routes.
"""

from fastapi import APIRouter

from api.routes import auth, bim, graphql, ingest, metrics, tiles

ROUTERS: list[APIRouter] = [tiles.router, bim.router, ingest.router, auth.router, metrics.router]

__all__ = ["ROUTERS", "graphql"]
