"""`import_ifc`: one IFC file into the graph, its footprint onto the map, its scene into the cache.

The work is ordered so that a failure leaves nothing behind:

1. open and check the file (schema, completeness), find its georeference (or raise NoLocation),
   triangulate what the graph and footprint need: nothing is written until all of it has succeeded;
2. in one PostgreSQL transaction: upsert the footprint as soon as the building is known and,
   while that runs, build and validate every node and link and write them in one graph
   transaction (:meth:`graph.GraphStore.write`), which commits only once the footprint is
   written. Whatever fails in between (a node that does not validate, a graph write, which is
   rolled back whole) rolls the footprint back, and a footprint that fails rolls the graph back;
3. record the model in the scene registry and (optionally) build the scene; a scene that fails
   is a warning, as the endpoint builds it again on demand.

Importing the same file again writes the same nodes, links and footprint: nothing changes.
A node that already exists (a building matched by `building_uid`, a house of the same uid)
keeps its own properties except those the model knows (:data:`IFC_FIELDS`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from bim import identity
from bim.footprint import Footprint, building_footprint
from bim.geometry import Shape, element_shapes
from bim.georef import Georeference, Method, georeference
from bim.model import IfcModel, open_model
from bim.registry import RegisteredModel, SceneRegistry
from bim.scene import build_glb, scene_elements, scene_key, store_scene
from bim.settings import get_settings
from bim.storeys import number_storeys
from bim.structure import Structure, building_node, extract, map_elements, spatial_root
from graph import Building, GraphStore, Node, uid, validate
from graph.errors import ValidationError
from spatial import Feature, write_features

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
"""`progress(stage, done, total)`: stages are open, geometry, structure, write, scene."""

# Of a node that exists already, the properties an import sets; None: all of them.
IFC_FIELDS: dict[str, frozenset[str] | None] = {
    "Building": frozenset({"ifc_guid", "floors_above", "floors_below", "height_m", "lon", "lat"}),
    "Storey": None,
    "Unit": frozenset({"ifc_guid", "name"}),
    "House": frozenset({"ifc_guid", "floor", "area_m2", "lon", "lat"}),
    "Device": frozenset({"ifc_guid", "name", "category", "floor", "lon", "lat"}),
}


@dataclass
class IfcImportSummary:
    """What an IFC import did: counts, where the building is and how that was found, warnings, timings."""

    path: str
    schema: str
    building_uid: str
    storeys: int = 0
    spaces: int = 0
    houses: int = 0
    units: int = 0
    zones: int = 0
    doors: int = 0
    stairs: int = 0
    lifts: int = 0
    devices: int = 0
    adjacencies: int = 0
    connections: int = 0
    georeference: Method = "location"
    lon: float = 0.0
    lat: float = 0.0
    footprint_m2: float | None = None
    scene: str | None = None
    nodes: int = 0
    links: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


class _Clock:
    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, total: int = 1) -> Iterator[None]:
        self.report(name, 0, total)
        started = time.perf_counter()
        yield
        self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - started, 4)
        self.report(name, total, total)

    def report(self, name: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(name, done, total)


def merge(new: Node, old: Node | None) -> Node:
    """Return `new` as it should be written over `old`: the model's properties over the node's own."""
    fields = IFC_FIELDS.get(new.label)
    if old is None or fields is None or type(old) is not type(new):
        return new
    data = old.model_dump()
    data.update({name: getattr(new, name) for name in fields if getattr(new, name) is not None})
    return validate(type(new), data)


def _building_identity(model: IfcModel, store: GraphStore, building_uid: str | None) -> tuple[str, str, Node | None]:
    """Return the building's uid, its code and the node that exists under that uid, if any."""
    if building_uid is None:
        code = identity.building_code(str(spatial_root(model).GlobalId))
        building_uid = uid.building(code)
    else:
        try:
            label = uid.label_of(building_uid)
        except ValueError as exc:
            raise ValidationError("building_uid", building_uid, str(exc)) from None
        if label != "Building":
            raise ValidationError("building_uid", building_uid, f"must be a Building uid, not a {label} uid")
    existing = store.get_many([building_uid]).get(building_uid)
    code = existing.code if isinstance(existing, Building) else identity.code_of_building_uid(building_uid)
    return building_uid, code, existing


def _footprint(model: IfcModel, shapes: dict[int, Shape], threads: int, warnings: list[str]) -> Footprint | None:
    found = building_footprint(model, shapes)
    if found is None:  # no walls, slabs or spaces: try every element with a body
        rest = [e for e in scene_elements(model) if e.id() not in shapes]
        more, missing = element_shapes(model, rest, openings=False, threads=threads)
        warnings += missing
        found = building_footprint(model, {**shapes, **more})
    if found is None:
        warnings.append("no element has geometry: no footprint written")
    return found


def _building(building: Building, footprint: Footprint | None, georef: Georeference) -> Building:
    lon, lat = georef.origin
    if footprint is not None:
        centre = footprint.outline.representative_point()
        lons, lats = georef.to_lonlat([centre.x], [centre.y])
        lon, lat = float(lons[0]), float(lats[0])
    data = building.model_dump()
    data |= {"lon": round(lon, 8), "lat": round(lat, 8)}
    if footprint is not None and footprint.height_m:
        data["height_m"] = footprint.height_m
    return validate(Building, data)


def _feature(building: Building, footprint: Footprint, georef: Georeference, model: IfcModel) -> Feature:
    """The building's row of the map's `buildings` layer."""
    return Feature(
        uid=building.uid,
        geometry=georef.geometry_to_wgs84(footprint.outline),
        source=model.source,
        columns={
            "code": building.code,
            "name": building.name,
            "floors": building.floors_above,
            "height_m": building.height_m,
        },
        props={"ifc_guid": building.ifc_guid, "georeference": georef.method, "sha256": model.sha256},
    )


def import_ifc(
    path: Path | str,
    store: GraphStore,
    engine: Engine,
    *,
    building_uid: str | None = None,
    location: tuple[float, float] | None = None,
    progress: Progress | None = None,
    scene: bool = True,
    scene_dir: Path | str | None = None,
) -> IfcImportSummary:
    """Import an IFC file: its building into the graph, its footprint into PostGIS, its scene into the cache.

    `building_uid` names the Building to create or match (an existing node keeps its name,
    address and other properties the model does not know); without it, the uid is derived from
    the IfcBuilding's GlobalId. `location` is (longitude, latitude) of the model origin, used only
    when the file has neither IfcMapConversion nor IfcSite latitude/longitude. `scene=False`
    skips building the 3D scene (the endpoint builds it on first request).

    Raises UnsupportedSchema, CorruptModel, UnsupportedModel or NoLocation before anything is
    written, ValidationError for a bad `building_uid` or `location`.
    """
    settings = get_settings()
    threads = settings.geometry_threads
    registry = SceneRegistry(scene_dir)
    clock = _Clock(progress)
    with clock.stage("open"):
        model = open_model(path)
        georef = georeference(model, location)
        spatial_root(model)
        building_uid, code, existing_building = _building_identity(model, store, building_uid)
    warnings = [*model.warnings, *georef.warnings]

    elements = map_elements(model)
    with clock.stage("geometry", len(elements)):
        shapes, missing = element_shapes(
            model,
            elements,
            openings=False,
            threads=threads,
            tick=lambda done, total: clock.report("geometry", done, total),
        )
        warnings += missing
        footprint = _footprint(model, shapes, threads, warnings)
    # The footprint's upsert starts as soon as the building is known and runs on its own thread
    # while the rest of the graph is made and written (a fresh connection's first PostGIS
    # statement loads the extension, ~8 ms); the graph commits only once the footprint is
    # written, and a failure before that rolls the footprint back.
    with engine.begin() as conn, ThreadPoolExecutor(1, thread_name_prefix="footprint") as pool:
        with clock.stage("structure"):
            storeys = number_storeys(model)
            found = building_node(model, storeys, building_uid=building_uid, code=code)
            building = merge(_building(found, footprint, georef), existing_building)
            assert isinstance(building, Building)
            footprint_written: Callable[[], object] | None = None
            if footprint is not None:
                feature = _feature(building, footprint, georef, model)
                footprint_written = pool.submit(write_features, conn, "buildings", [feature]).result
            structure = extract(model, georef, shapes, building_uid=building_uid, code=code, storeys=storeys)
            warnings += structure.warnings
            # uids carry the building's code: a building new to the graph has no other node to merge with
            existing = store.get_many(n.uid for n in structure.nodes) if existing_building is not None else {}
            nodes = [building, *(merge(n, existing.get(n.uid)) for n in structure.nodes)]
        with clock.stage("write", len(nodes) + len(structure.links)):
            written_nodes, written_links = store.write(nodes, structure.links, before_commit=footprint_written)

    key = scene_key(model.sha256, structure.uids)
    frame = georef.frame() | {"building_uid": building_uid, "sha256": model.sha256}
    registry.register(
        RegisteredModel(
            building_uid=building_uid,
            path=str(model.path),
            sha256=model.sha256,
            schema=model.header_schema,
            imported_at=datetime.now(UTC).isoformat(),
            scene_key=key,
            frame=frame,
            uids=structure.uids,
        )
    )
    scene_path = None
    if scene:
        with clock.stage("scene"):
            scene_path = _scene(model, structure, registry, key, threads, clock, warnings, shapes)

    lon, lat = georef.origin
    counts = structure.counts
    summary = IfcImportSummary(
        path=str(model.path),
        schema=model.header_schema,
        building_uid=building_uid,
        **{k: counts[k] for k in ("storeys", "spaces", "houses", "units", "zones", "doors", "stairs", "lifts")},
        devices=counts["devices"],
        adjacencies=counts["adjacencies"],
        connections=counts["connections"],
        georeference=georef.method,
        lon=lon,
        lat=lat,
        footprint_m2=round(footprint.outline.area, 2) if footprint is not None else None,
        scene=scene_path,
        nodes=written_nodes,
        links=written_links,
        warnings=warnings,
        seconds=clock.seconds,
    )
    log.info("imported ifc", extra={"path": summary.path, "building_uid": building_uid, "seconds": clock.seconds})
    return summary


def _scene(
    model: IfcModel,
    structure: Structure,
    registry: SceneRegistry,
    key: str,
    threads: int,
    clock: _Clock,
    warnings: list[str],
    shapes: dict[int, Shape],
) -> str | None:
    cached = registry.directory / f"{key}.glb"
    if cached.is_file():
        return str(cached)
    try:
        data, missing = build_glb(
            model,
            structure.uids,
            threads=threads,
            tick=lambda done, total: clock.report("scene", done, total),
            made=shapes,
        )
    except (RuntimeError, OSError) as exc:
        warnings.append(f"scene not built ({exc}); it is built on first request")
        return None
    warnings.extend(w for w in missing if w not in warnings)
    return str(store_scene(registry.directory, key, data))
