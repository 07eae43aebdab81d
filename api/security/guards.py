"""Which REST routes need which permission, applied where `create_app` includes the routers.

Base-map tiles (buildings, roads, parcels, …) are public: they carry only whitelisted,
non-personal attributes. Device tiles need `read:devices` and trajectory tiles
`read:trajectories` (where people went); building scenes need `read:map`; pushing events needs
`ingest:events` (the `device` role, for devices and services).
"""

from __future__ import annotations

from typing import Final

from fastapi import Depends, HTTPException, Request
from fastapi.params import Depends as DependsParam

from api.security.dependencies import SecurityDep, principal_of, require
from api.security.errors import Unauthenticated
from api.security.permissions import INGEST_EVENTS, READ_DEVICES, READ_MAP, READ_TRAJECTORIES

PROTECTED_LAYERS: Final[dict[str, str]] = {"devices": READ_DEVICES, "trajectories": READ_TRAJECTORIES}
"""Tile layers that need a permission, and which."""


async def tile_guard(request: Request, security: SecurityDep) -> None:
    """Let a tile or TileJSON request through when its layer is public or the caller may read it."""
    layer = request.path_params.get("layer", "")
    permission = PROTECTED_LAYERS.get(layer)
    if permission is None:
        return
    try:
        caller = await principal_of(request, security)
    except Unauthenticated as exc:
        raise HTTPException(401, exc.reason, headers={"WWW-Authenticate": "Bearer"}) from None
    if not caller.may(permission):
        raise HTTPException(403, f"permission {permission!r} is required for the {layer} layer")


ROUTE_GUARDS: Final[dict[str, list[DependsParam]]] = {
    "/tiles": [Depends(tile_guard)],
    "/bim": [Depends(require(READ_MAP))],
    "/ingest": [Depends(require(INGEST_EVENTS))],
}
"""Router prefix → the dependencies every route of that router runs first."""
