"""Vector tiles of the map layers over HTTP, with TileJSON to describe them.

`GET /tiles/{layer}/{z}/{x}/{y}.pbf` answers with a Mapbox vector tile built in PostGIS (through
the app's :class:`spatial.tiles.TileCache`), a strong ETag and `Cache-Control: public, max-age=60`;
`If-None-Match` naming the current ETag gives 304. A tile with no feature in it is
`204 No Content` (with the same headers), which MapLibre, Mapbox GL and OpenLayers draw as an
empty tile and which spares a CDN storing empty bodies. An unknown layer is 404 and a tile off the
grid 422, both JSON saying what was wrong and what is allowed.

`GET /tiles/{layer}.json` is the layer's TileJSON 3.0.0, bounds from the layer's extent.
Handlers are plain functions: FastAPI runs them in its threadpool, as the database calls block.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.bootstrap import ServicesDep
from api.etags import matches
from spatial.tiles import TileOutOfRange, UnknownTileLayer, tilejson

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
CACHE_CONTROL = "public, max-age=60"

router = APIRouter(prefix="/tiles", tags=["tiles"])


def _unknown_layer(exc: UnknownTileLayer) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "layer": exc.layer, "layers": exc.available}, status_code=404)


@router.get(
    "/{layer}/{z}/{x}/{y}.pbf",
    name="tile",
    response_class=Response,
    responses={
        200: {"content": {MVT_MEDIA_TYPE: {}}, "description": "the vector tile"},
        204: {"description": "no feature of the layer is in this tile"},
        304: {"description": "the tile is unchanged since the ETag sent in If-None-Match"},
        404: {"description": "no layer of that name; the answer lists the layers"},
        422: {"description": "z, x or y is off the tile grid"},
    },
)
def get_tile(layer: str, z: int, x: int, y: int, request: Request, services: ServicesDep) -> Response:
    """Return tile `z/x/y` of `layer` as a Mapbox vector tile."""
    try:
        found = services.tiles.get(layer, z, x, y)
    except UnknownTileLayer as exc:
        return _unknown_layer(exc)
    except TileOutOfRange as exc:
        return JSONResponse({"detail": str(exc), "z": z, "x": x, "y": y}, status_code=422)
    headers = {"ETag": found.etag, "Cache-Control": CACHE_CONTROL}
    if matches(request.headers.get("if-none-match"), found.etag):
        return Response(status_code=304, headers=headers)
    if found.empty:
        return Response(status_code=204, headers=headers)
    return Response(found.data, media_type=MVT_MEDIA_TYPE, headers=headers)


@router.get("/{layer}.json", name="tilejson", responses={404: {"description": "no layer of that name"}})
def get_tilejson(layer: str, request: Request, services: ServicesDep) -> Response:
    """Return the TileJSON 3.0.0 document of `layer`: tile URL, zooms, bounds and attribute fields."""
    try:
        bounds = services.tiles.bounds(layer)
    except UnknownTileLayer as exc:
        return _unknown_layer(exc)
    directory = str(request.url_for("tilejson", layer=layer)).rsplit("/", 1)[0]
    return JSONResponse(tilejson(layer, directory, bounds), headers={"Cache-Control": CACHE_CONTROL})
