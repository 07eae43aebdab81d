"""A 3D scene of an IFC model as glTF binary (GLB): one node per element, named by its uid.

Every element with a body (openings, annotations and virtual elements excepted) becomes one
glTF node with one mesh, one primitive per surface colour. The node's `name` is the element's
twinhood uid, or its GlobalId when it became no node (walls, slabs, windows…); its `extras` hold
``{"uid", "ifc_guid", "ifc_class", "name", "storey"}``, where `uid` is the element's own uid or,
for a part (a stair's flight), that of the element it belongs to, and `storey` the uid of its
storey. Spaces are translucent unless the model styles them.

Geometry is in a local metric frame: the model's world coordinates in metres, turned Y-up as glTF
wants (x = model X, y = model Z, z = −model Y). Where that frame is on Earth is
:func:`scene_frame`'s answer. Scenes are cached on disk under the file's sha256 and the uids they
carry (:func:`scene_key`), since triangulating dominates the cost of an import.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from bim import csg
from bim.geometry import UNKNOWN_RGBA, Rgba, Shape, Tick, element_shapes, has_body
from bim.georef import georeference
from bim.model import IfcModel, open_model
from bim.settings import get_settings
from bim.storeys import storey_of

SCENE_VERSION = 3  # 2: no NaN in material colours; 3: booleans on meshes (bim.csg)
MEDIA_TYPE = "model/gltf-binary"
EXCLUDED = ("IfcOpeningElement", "IfcAnnotation", "IfcVirtualElement")
SPACE_ALPHA = 0.25
_FLOAT, _UINT32 = 5126, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963


def scene_key(sha256: str, uids: Mapping[str, str] | None = None) -> str:
    """Return the cache key of a scene: the file's sha256, a digest of the uids it names, the format version."""
    if not uids:
        return f"{sha256}-v{SCENE_VERSION}"
    named = hashlib.sha256(json.dumps(dict(uids), sort_keys=True).encode()).hexdigest()[:12]
    return f"{sha256}-{named}-v{SCENE_VERSION}"


def scene_elements(model: IfcModel) -> list[Any]:
    """The products a scene shows: every one with a body, except openings, annotations and virtual elements."""
    return [p for p in model.by_type("IfcProduct") if has_body(p) and not any(p.is_a(c) for c in EXCLUDED)]


class _Glb:
    """Accumulates meshes into one binary buffer and the glTF JSON that describes it."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[dict[str, Any]] = []
        self.accessors: list[dict[str, Any]] = []
        self.materials: list[dict[str, Any]] = []
        self.material_index: dict[Rgba, int] = {}
        self.meshes: list[dict[str, Any]] = []
        self.nodes: list[dict[str, Any]] = []

    def _view(self, data: bytes, target: int) -> int:
        self.blob += b"\0" * (-len(self.blob) % 4)
        self.views.append({"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(data), "target": target})
        self.blob += data
        return len(self.views) - 1

    def material(self, rgba: Rgba) -> int:
        # styles may carry no number (NaN) or values out of range; glTF wants 0..1, and JSON has no NaN
        key = tuple(round(min(max(c, 0.0), 1.0), 4) if math.isfinite(c) else 1.0 for c in rgba)
        if key not in self.material_index:
            material: dict[str, Any] = {
                "pbrMetallicRoughness": {"baseColorFactor": list(key), "metallicFactor": 0.0, "roughnessFactor": 0.9},
                "doubleSided": True,
            }
            if key[3] < 1.0:
                material["alphaMode"] = "BLEND"
            self.material_index[key] = len(self.materials)  # type: ignore[index]
            self.materials.append(material)
        return self.material_index[key]  # type: ignore[index]

    def mesh(self, shape: Shape, translucent: bool) -> int:
        positions = np.column_stack([shape.verts[:, 0], shape.verts[:, 2], -shape.verts[:, 1]]).astype(np.float32)
        position = len(self.accessors)
        self.accessors.append(
            {
                "bufferView": self._view(positions.tobytes(), _ARRAY_BUFFER),
                "componentType": _FLOAT,
                "count": len(positions),
                "type": "VEC3",
                "min": positions.min(axis=0).tolist(),
                "max": positions.max(axis=0).tolist(),
            }
        )
        primitives = []
        for material_id in np.unique(shape.material_ids):
            faces = shape.faces[shape.material_ids == material_id].astype(np.uint32).ravel()
            rgba = shape.materials[material_id] if 0 <= material_id < len(shape.materials) else UNKNOWN_RGBA
            if translucent and rgba[3] >= 1.0:
                rgba = (rgba[0], rgba[1], rgba[2], SPACE_ALPHA)
            self.accessors.append(
                {
                    "bufferView": self._view(faces.tobytes(), _ELEMENT_ARRAY_BUFFER),
                    "componentType": _UINT32,
                    "count": len(faces),
                    "type": "SCALAR",
                }
            )
            primitive = {"attributes": {"POSITION": position}, "indices": len(self.accessors) - 1}
            primitives.append(primitive | {"material": self.material(rgba)})
        self.meshes.append({"primitives": primitives})
        return len(self.meshes) - 1

    def to_bytes(self, extras: dict[str, Any]) -> bytes:
        document: dict[str, Any] = {
            "asset": {"version": "2.0", "generator": f"twinhood bim scene v{SCENE_VERSION}"},
            "scene": 0,
            "scenes": [{"nodes": list(range(len(self.nodes))), "extras": extras}],
            "nodes": self.nodes,
        }
        if self.meshes:
            self.blob += b"\0" * (-len(self.blob) % 4)
            document |= {
                "meshes": self.meshes,
                "materials": self.materials,
                "accessors": self.accessors,
                "bufferViews": self.views,
                "buffers": [{"byteLength": len(self.blob)}],
            }
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        text += b" " * (-len(text) % 4)
        chunks = struct.pack("<II", len(text), 0x4E4F534A) + text
        if self.meshes:
            chunks += struct.pack("<II", len(self.blob), 0x004E4942) + bytes(self.blob)
        return struct.pack("<III", 0x46546C67, 2, 12 + len(chunks)) + chunks


def _owner_uid(element: Any, uids: Mapping[str, str]) -> str | None:
    """The uid of the element, or of the nearest element it is part of (a flight's stair)."""
    node: Any = element
    for _ in range(8):
        if node is None:
            return None
        if str(node.GlobalId) in uids:
            return uids[str(node.GlobalId)]
        decomposes = getattr(node, "Decomposes", None)
        node = decomposes[0].RelatingObject if decomposes else None
    return None


def build_glb(
    model: IfcModel,
    uids: Mapping[str, str] | None = None,
    *,
    threads: int = 1,
    tick: Tick | None = None,
    made: Mapping[int, Shape] | None = None,
) -> tuple[bytes, list[str]]:
    """Triangulate a model and return its GLB and the warnings of elements left without geometry.

    `made` holds shapes already triangulated with booleans off (the import's, by step id): an
    element that needs no boolean is the same either way and is not triangulated again.
    """
    uids = uids or {}
    elements = scene_elements(model)
    reused = {e.id(): made[e.id()] for e in elements if made and e.id() in made and not csg.needs_booleans(e)}
    todo = [e for e in elements if e.id() not in reused]
    shapes, warnings = element_shapes(model, todo, openings=True, threads=threads, tick=tick)
    shapes |= reused
    glb = _Glb()
    for element in sorted(elements, key=lambda e: str(e.GlobalId)):
        shape = shapes.get(element.id())
        if shape is None:
            continue
        guid = str(element.GlobalId)
        storey = storey_of(element) if not element.is_a("IfcBuildingStorey") else element
        storey_ref = uids.get(str(storey.GlobalId), str(storey.GlobalId)) if storey is not None else None
        glb.nodes.append(
            {
                "name": uids.get(guid, guid),
                "mesh": glb.mesh(shape, translucent=element.is_a("IfcSpace")),
                "extras": {
                    "uid": _owner_uid(element, uids),
                    "ifc_guid": guid,
                    "ifc_class": element.is_a(),
                    "name": element.Name,
                    "storey": storey_ref,
                },
            }
        )
    extras = {"ifc_file": model.path.name, "sha256": model.sha256, "schema": model.header_schema}
    return glb.to_bytes(extras), warnings


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)


def cached_scene(cache_dir: Path, key: str) -> Path:
    """The path of a scene in the cache."""
    return cache_dir / f"{key}.glb"


def store_scene(cache_dir: Path, key: str, data: bytes) -> Path:
    """Write a scene into the cache (atomically: a reader never sees half of it) and return its path."""
    path = cached_scene(cache_dir, key)
    _write_atomic(path, data)
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def scene_glb(
    path: Path | str,
    uids: Mapping[str, str] | None = None,
    *,
    cache_dir: Path | str | None = None,
    threads: int | None = None,
) -> bytes:
    """Return the GLB scene of an IFC file, from the cache when it holds it.

    `uids` (GlobalId → twinhood uid, as :func:`bim.import_ifc` made them) name the nodes;
    without, nodes are named by GlobalId. The cache directory defaults to the setting
    `TWINHOOD_SCENE_DIR` (``~/.cache/twinhood/scenes``).
    """
    settings = get_settings()
    cache_dir = Path(cache_dir).expanduser() if cache_dir else settings.scene_path
    path = Path(path)
    key = scene_key(file_sha256(path), uids)
    cached = cached_scene(cache_dir, key)
    if cached.is_file():
        return cached.read_bytes()
    model = open_model(path)
    data, _ = build_glb(model, uids, threads=threads or settings.geometry_threads)
    store_scene(cache_dir, key, data)
    return data


def scene_frame(path: Path | str, location: tuple[float, float] | None = None) -> dict[str, Any]:
    """Return where a scene's local frame is: origin (lon, lat, height), rotation from true north, CRS, method.

    Raises NoLocation when the model is not georeferenced and no `location` (lon, lat) is given.
    """
    model = open_model(path)
    frame = georeference(model, location).frame()
    frame["sha256"] = model.sha256
    return frame
