"""3D scenes of imported IFC models over HTTP, for the viewer.

`GET /bim/{building_uid}/scene.glb` answers with the building's glTF binary scene (one node per
element, named by its uid; see :mod:`bim.scene`), a strong ETag (the file's sha256 with the
digest of the uids the nodes carry) and `Cache-Control: public, max-age=3600`; `If-None-Match`
naming it gives 304. A scene the cache lost is built again from the imported file (seconds).
`GET /bim/{building_uid}/scene.json` is the scene's frame: origin longitude, latitude and height,
rotation from true north, CRS and how the model was georeferenced. A building with no imported
model is 404 naming the uid. Handlers are plain functions: FastAPI runs them in its threadpool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from api.etags import matches
from bim import MEDIA_TYPE, SceneRegistry, UnknownScene

CACHE_CONTROL = "public, max-age=3600"

router = APIRouter(prefix="/bim", tags=["bim"])


def get_scene_registry() -> SceneRegistry:
    """Return the registry of imported models in the configured scene directory (a FastAPI dependency)."""
    return SceneRegistry()


SceneRegistryDep = Annotated[SceneRegistry, Depends(get_scene_registry)]


def _unknown(exc: UnknownScene) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "building_uid": exc.building_uid}, status_code=404)


@router.get(
    "/{building_uid}/scene.glb",
    name="bim_scene",
    response_class=Response,
    responses={
        200: {"content": {MEDIA_TYPE: {}}, "description": "the building's scene, glTF binary"},
        304: {"description": "the scene is unchanged since the ETag sent in If-None-Match"},
        404: {"description": "no IFC model is imported for this building"},
    },
)
def get_scene(building_uid: str, request: Request, registry: SceneRegistryDep) -> Response:
    """Return the 3D scene of a building's IFC model as glTF binary."""
    try:
        entry = registry.get(building_uid)
        headers = {"ETag": entry.etag, "Cache-Control": CACHE_CONTROL}
        if matches(request.headers.get("if-none-match"), entry.etag):
            return Response(status_code=304, headers=headers)
        _, data = registry.glb(building_uid)
    except UnknownScene as exc:
        return _unknown(exc)
    return Response(data, media_type=MEDIA_TYPE, headers=headers)


@router.get(
    "/{building_uid}/scene.json",
    name="bim_scene_frame",
    responses={404: {"description": "no IFC model is imported for this building"}},
)
def get_scene_frame(building_uid: str, request: Request, registry: SceneRegistryDep) -> Response:
    """Return where the scene's local frame is on Earth: origin, rotation from true north, CRS, method."""
    try:
        entry = registry.get(building_uid)
    except UnknownScene as exc:
        return _unknown(exc)
    scene = str(request.url_for("bim_scene", building_uid=building_uid))
    return JSONResponse(entry.frame | {"scene": scene, "etag": entry.etag})
