"""IFC import against the real graph server and PostGIS, with the public sample files of ../shared/data/ifc.

Expected counts come from ifcopenshell queries of the same files made here, not from the importer.
Files that tests only read are imported once per module, each into a graph database and a PostGIS
database of its own; tests that write import again into the per-test `store` / `spatial_engine`.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.api
import ifcopenshell.geom
import ifcopenshell.util.element
import ifcopenshell.util.representation
import numpy as np
import psycopg
import pygltflib
import pyproj
import pytest
import trimesh
from fastapi import FastAPI
from ifcopenshell.util.geolocation import dms2dd
from neo4j.exceptions import Neo4jError
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError

from api.routes.bim import get_scene_registry, router
from api.stack import libpq_url
from bim import (
    CorruptModel,
    IfcImportSummary,
    NoLocation,
    SceneRegistry,
    UnsupportedSchema,
    import_ifc,
    scene_frame,
    scene_glb,
)
from graph import Building, Device, GraphSettings, GraphStore, House, Storey, Unit, validate
from graph.admin import create_database, drop_database
from spatial import SpatialSettings
from tests.conftest import SHARED_DATA

with warnings.catch_warnings():
    # Starlette asks for httpx2 behind its TestClient; httpx (what we have) still works.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

IFC = SHARED_DATA / "ifc"
FILES = sorted(p.name for p in IFC.glob("*.ifc"))
NO_SITE = {"revit_quantities.ifc", "xbim-House.ifc"}
REFUSED = {"ADT-FZK-Haus-2005-2006.ifc"}
PRAGUE = (14.3906, 50.1017)  # (lon, lat) given to files that do not say where they are
GEOD = pyproj.Geod(ellps="WGS84")


def _open(path: Path) -> Any:
    """Open with ifcopenshell alone, reading a pre-release IFC4 name as IFC4 as the importer does."""
    try:
        return ifcopenshell.open(path)
    except ifcopenshell.SchemaError:
        return ifcopenshell.file.from_string(path.read_text(encoding="latin-1").replace("'IFC4RC4'", "'IFC4'"))


def _admin(sql: str) -> None:
    with psycopg.connect(libpq_url(SpatialSettings().database_url), autocommit=True) as conn:
        conn.execute(sql)


@dataclass
class Imported:
    """One file imported into a graph and a PostGIS database of its own."""

    path: Path
    summary: IfcImportSummary
    store: GraphStore
    engine: Engine
    registry: SceneRegistry
    model: Any

    def uid(self, guid: str) -> str:
        return self.registry.get(self.summary.building_uid).uids[guid]


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scenes")


@pytest.fixture(scope="module")
def imported(
    graph_settings: GraphSettings, postgis_template: str, scene_dir: Path
) -> Iterator[Callable[[str], Imported]]:
    """Import a sample file on first use (scenes left to be built on demand) and keep it for the module."""
    done: dict[str, Imported] = {}
    made: list[tuple[str, str, GraphStore, Engine]] = []

    def get(name: str) -> Imported:
        if name not in done:
            graph_db, pg_db = f"test_{uuid.uuid4().hex[:12]}", f"test_{uuid.uuid4().hex[:12]}"
            create_database(graph_settings, graph_db)
            _admin(f"CREATE DATABASE {pg_db} TEMPLATE {postgis_template}")
            store = GraphStore.from_settings(graph_settings, graph_db)
            engine = create_engine(make_url(SpatialSettings().database_url).set(database=pg_db))
            made.append((graph_db, pg_db, store, engine))
            store.ensure_schema()
            location = PRAGUE if name in NO_SITE else None
            summary = import_ifc(IFC / name, store, engine, location=location, scene=False, scene_dir=scene_dir)
            done[name] = Imported(IFC / name, summary, store, engine, SceneRegistry(scene_dir), _open(IFC / name))
        return done[name]

    yield get
    for graph_db, pg_db, store, engine in made:
        store.close()
        engine.dispose()
        drop_database(graph_settings, graph_db)
        _admin(f"DROP DATABASE {pg_db} WITH (FORCE)")


def _graph(imp: Imported) -> dict[str, Any]:
    """All nodes of an imported building, by uid, reached from the building (3 hops cover every node)."""
    view = imp.store.neighbourhood(imp.summary.building_uid, hops=3, limit=1_000_000)
    return imp.store.get_many(view.uids())


def _footprint_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT uid, code, name, floors, ST_AsText(geom), ST_Area(geom::geography) FROM buildings")
            ).all()
        )


def _nothing_written(store: GraphStore, engine: Engine) -> None:
    assert not any(store.counts().values())
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM buildings")).scalar_one() == 0


# --- every sample file ------------------------------------------------------------------------


@pytest.mark.parametrize("name", [f for f in FILES if f not in REFUSED])
def test_import_counts_match_ifcopenshell_queries(name: str, imported: Callable[[str], Imported]) -> None:
    imp = imported(name)
    model, summary = imp.model, imp.summary
    storeys = model.by_type("IfcBuildingStorey")
    spaces = model.by_type("IfcSpace")
    doors = model.by_type("IfcDoor")
    stairs = [*model.by_type("IfcStair")] + [
        f for f in model.by_type("IfcStairFlight") if not ifcopenshell.util.element.get_aggregate(f)
    ]
    assert (summary.storeys, summary.spaces, summary.doors, summary.stairs) == (
        len(storeys),
        len(spaces),
        len(doors),
        len(stairs),
    )
    assert summary.houses + summary.units == len(spaces)  # no sample file has apartment zones

    counts = imp.store.counts()
    assert counts["Building"] == 1
    assert counts["Storey"] == len(storeys)
    assert counts["House"] + counts["Unit"] == len(spaces)
    assert counts["Device"] == len(doors) + len(stairs)
    assert counts["ADJACENT_TO"] == summary.adjacencies
    nodes = _graph(imp)
    assert {n.ifc_guid for n in nodes.values() if isinstance(n, Storey)} == {s.GlobalId for s in storeys}
    assert {n.ifc_guid for n in nodes.values() if isinstance(n, (House, Unit))} == {s.GlobalId for s in spaces}
    door_guids = {n.ifc_guid for n in nodes.values() if isinstance(n, Device) and n.category == "door"}
    assert door_guids == {d.GlobalId for d in doors}
    assert all(isinstance(n, House) and n.floor >= 1 for n in nodes.values() if n.label == "House")
    assert all(n.source == f"ifc:{name}" for n in nodes.values())


def test_fzk_haus_has_two_storeys_seven_spaces_five_doors(imported: Callable[[str], Imported]) -> None:
    summary = imported("AC20-FZK-Haus.ifc").summary
    assert (summary.schema, summary.storeys, summary.spaces, summary.doors) == ("IFC4", 2, 7, 5)
    assert (summary.stairs, summary.georeference) == (1, "site")


def test_every_imported_file_has_a_footprint_or_says_why(imported: Callable[[str], Imported]) -> None:
    for name in (f for f in FILES if f not in REFUSED):
        imp = imported(name)
        rows = _footprint_rows(imp.engine)
        if imp.summary.footprint_m2 is None:
            assert rows == []
            assert any("footprint" in w for w in imp.summary.warnings)
            continue
        ((uid, code, _, floors, wkt, area),) = rows
        assert uid == imp.summary.building_uid
        assert code == imp.store.get(uid).code  # type: ignore[attr-defined]
        assert floors == imp.store.get(uid).floors_above  # type: ignore[attr-defined]
        assert wkt.startswith("MULTIPOLYGON")
        assert area == pytest.approx(imp.summary.footprint_m2, rel=0.02)


def test_fzk_haus_footprint_is_its_twelve_by_ten_metres_near_its_site(imported: Callable[[str], Imported]) -> None:
    imp = imported("AC20-FZK-Haus.ifc")
    ((_, _, _, floors, _, area),) = _footprint_rows(imp.engine)
    assert floors == 2
    assert area == pytest.approx(120, abs=3)
    site = imp.model.by_type("IfcSite")[0]
    lat, lon = dms2dd(*site.RefLatitude), dms2dd(*site.RefLongitude)
    building = imp.store.get(imp.summary.building_uid)
    assert isinstance(building, Building) and building.lon is not None and building.lat is not None
    assert GEOD.inv(lon, lat, building.lon, building.lat)[2] < 20  # the house's centre is metres from the origin


# --- IFC2X3 and IFC4 twins ------------------------------------------------------------------------


def test_ifc2x3_and_ifc4_twins_give_the_same_graph(imported: Callable[[str], Imported]) -> None:
    ifc2x3, ifc4 = imported("AC11-FZK-Haus-IFC.ifc"), imported("AC20-FZK-Haus.ifc")
    assert (ifc2x3.summary.schema, ifc4.summary.schema) == ("IFC2X3", "IFC4")
    assert ifc2x3.store.counts() == ifc4.store.counts()
    a, b = _graph(ifc2x3), _graph(ifc4)
    assert sorted((n.number, n.name) for n in a.values() if isinstance(n, Storey)) == sorted(
        (n.number, n.name) for n in b.values() if isinstance(n, Storey)
    )

    def spaces(nodes: dict[str, Any]) -> list[tuple[str, str, str | None]]:
        return sorted(
            (n.uid, n.label, n.room if isinstance(n, House) else n.name)
            for n in nodes.values()
            if isinstance(n, (House, Unit))
        )

    assert spaces(a) == spaces(b)
    assert set(a) == set(b)  # the same uids: the twins share GlobalIds of building, spaces and doors
    assert ifc2x3.summary.adjacencies == ifc4.summary.adjacencies == 15
    assert ifc2x3.summary.connections == ifc4.summary.connections


# --- georeferencing ---------------------------------------------------------------------------------


def test_map_conversion_origin_lands_within_a_metre(imported: Callable[[str], Imported]) -> None:
    imp = imported("geographic-referencing.ifc")
    conversion = imp.model.by_type("IfcMapConversion")[0]
    crs = conversion.TargetCRS.Name
    to_wgs84 = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(conversion.Eastings, conversion.Northings)
    assert imp.summary.georeference == "map_conversion"
    assert GEOD.inv(lon, lat, imp.summary.lon, imp.summary.lat)[2] < 1.0
    frame = imp.registry.get(imp.summary.building_uid).frame
    assert frame["method"] == "map_conversion" and frame["source_crs"] == crs
    assert GEOD.inv(lon, lat, frame["origin"]["lon"], frame["origin"]["lat"])[2] < 1.0
    grid = math.degrees(math.atan2(conversion.XAxisOrdinate, conversion.XAxisAbscissa))
    assert frame["rotation_deg"] == pytest.approx(grid, abs=1.0)  # grid north is within a degree of true north here


def test_site_latitude_longitude_and_true_north_place_the_model(imported: Callable[[str], Imported]) -> None:
    imp = imported("AC20-FZK-Haus.ifc")
    site = imp.model.by_type("IfcSite")[0]
    assert (imp.summary.lat, imp.summary.lon) == pytest.approx(
        (dms2dd(*site.RefLatitude), dms2dd(*site.RefLongitude)), abs=1e-7
    )
    north = next(c.TrueNorth for c in imp.model.by_type("IfcGeometricRepresentationContext") if c.TrueNorth)
    expected = 90 - math.degrees(math.atan2(north.DirectionRatios[1], north.DirectionRatios[0]))
    assert imp.registry.get(imp.summary.building_uid).frame["rotation_deg"] == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("name", sorted(NO_SITE))
def test_a_file_without_site_needs_a_location(name: str, store: GraphStore, spatial_engine: Engine) -> None:
    assert not _open(IFC / name).by_type("IfcSite")
    with pytest.raises(NoLocation, match=name):
        import_ifc(IFC / name, store, spatial_engine, scene=False)
    _nothing_written(store, spatial_engine)


@pytest.mark.parametrize("name", sorted(NO_SITE))
def test_a_file_without_site_lands_where_it_is_told(name: str, imported: Callable[[str], Imported]) -> None:
    summary = imported(name).summary
    assert summary.georeference == "location"
    assert (summary.lon, summary.lat) == pytest.approx(PRAGUE, abs=1e-9)


# --- refused files -----------------------------------------------------------------------------


def test_ifc2x_final_is_refused_naming_its_schema_and_nothing_is_written(
    store: GraphStore, spatial_engine: Engine, tmp_path: Path
) -> None:
    with pytest.raises(UnsupportedSchema, match="IFC2X_FINAL") as caught:
        import_ifc(IFC / "ADT-FZK-Haus-2005-2006.ifc", store, spatial_engine, scene_dir=tmp_path)
    assert caught.value.schema == "IFC2X_FINAL"
    _nothing_written(store, spatial_engine)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("keep", [0.6, 0.97])
def test_a_truncated_file_is_refused_and_nothing_is_written(
    keep: float, store: GraphStore, spatial_engine: Engine, tmp_path: Path
) -> None:
    data = (IFC / "AC20-FZK-Haus.ifc").read_bytes()
    truncated = tmp_path / "truncated.ifc"
    truncated.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CorruptModel, match="truncated"):
        import_ifc(truncated, store, spatial_engine, scene_dir=tmp_path)
    _nothing_written(store, spatial_engine)


def test_a_file_cut_short_but_closed_is_refused_for_its_dangling_references(
    store: GraphStore, spatial_engine: Engine, tmp_path: Path
) -> None:
    data = (IFC / "AC20-FZK-Haus.ifc").read_bytes()
    cut = data[: int(len(data) * 0.8)]
    cut = cut[: cut.rindex(b";\n") + 2] + b"ENDSEC;\nEND-ISO-10303-21;\n"
    closed = tmp_path / "closed.ifc"
    closed.write_bytes(cut)
    with pytest.raises(CorruptModel, match="not found"):
        import_ifc(closed, store, spatial_engine, scene_dir=tmp_path)
    _nothing_written(store, spatial_engine)


# --- importing again, matching a building --------------------------------------------------------------


def test_importing_the_same_file_twice_changes_nothing(
    store: GraphStore, spatial_engine: Engine, tmp_path: Path
) -> None:
    reported: list[tuple[str, int, int]] = []
    first = import_ifc(
        IFC / "example.ifc", store, spatial_engine, scene_dir=tmp_path, progress=lambda *p: reported.append(p)
    )
    stages = list(dict.fromkeys(stage for stage, _, _ in reported))
    assert stages == ["open", "geometry", "structure", "write", "scene"] == list(first.seconds)
    assert all(0 <= done <= total for _, done, total in reported)
    counts = store.counts()
    view = store.neighbourhood(first.building_uid, hops=3, limit=100_000)
    before = {u: n.model_dump() for u, n in store.get_many(view.uids()).items()}
    footprint = _footprint_rows(spatial_engine)
    assert first.scene is not None
    scene = Path(first.scene).read_bytes()

    second = import_ifc(IFC / "example.ifc", store, spatial_engine, scene_dir=tmp_path)
    assert store.counts() == counts
    assert {u: n.model_dump() for u, n in store.get_many(view.uids()).items()} == before
    assert _footprint_rows(spatial_engine) == footprint
    assert second.scene == first.scene and Path(second.scene).read_bytes() == scene
    assert (second.nodes, second.links) == (first.nodes, first.links)


def test_a_building_uid_given_matches_the_existing_building(
    store: GraphStore, spatial_engine: Engine, tmp_path: Path
) -> None:
    existing = validate(
        Building,
        {
            "uid": "building:B03",
            "source": "registry",
            "code": "B03",
            "name": "3号楼",
            "floors_above": 6,
            "address": "幸福路 3 号",
        },
    )
    store.upsert([existing])
    summary = import_ifc(
        IFC / "example.ifc", store, spatial_engine, building_uid="building:B03", scene=False, scene_dir=tmp_path
    )
    assert summary.building_uid == "building:B03"
    building = store.get("building:B03")
    assert isinstance(building, Building)
    assert (building.name, building.address, building.source) == ("3号楼", "幸福路 3 号", "registry")
    assert building.ifc_guid == _open(IFC / "example.ifc").by_type("IfcBuilding")[0].GlobalId
    assert building.floors_above == 1
    assert store.counts()["Building"] == 1
    storeys = store.neighbourhood("building:B03", labels=["Storey"], rel_types=["LOCATED_IN"])
    assert [n.uid for n in storeys.nodes[1:]] == ["storey:B03-1"]
    assert [r[0] for r in _footprint_rows(spatial_engine)] == ["building:B03"]


# --- devices, zones, and the question the graph must answer ------------------------------------------


def _space(model: Any, name: str) -> Any:
    return next(s for s in model.by_type("IfcSpace") if s.Name == name)


def _centre(element: Any) -> Any:
    geom: Any = ifcopenshell.geom
    settings = geom.settings()
    settings.set("use-world-coords", True)
    verts = np.array(geom.create_shape(settings, element).geometry.verts).reshape(-1, 3)
    return (verts.min(axis=0) + verts.max(axis=0)) / 2


@pytest.fixture
def fzk_with_devices(tmp_path: Path) -> Path:
    """AC20-FZK-Haus with a smoke sensor in the kitchen, an alarm in the bedroom and a lift over both floors."""
    model = ifcopenshell.open(IFC / "AC20-FZK-Haus.ifc")
    ground = next(s for s in model.by_type("IfcBuildingStorey") if s.Name == "Erdgeschoss")
    run = ifcopenshell.api.run
    sensor = run("root.create_entity", model, ifc_class="IfcSensor", predefined_type="SMOKESENSOR", name="Rauchmelder")
    run("spatial.assign_container", model, products=[sensor], relating_structure=_space(model, "6"))
    alarm = run("root.create_entity", model, ifc_class="IfcAlarm", predefined_type="SIREN", name="Sirene")
    run("spatial.assign_container", model, products=[alarm], relating_structure=ground)
    at = np.eye(4)
    at[:3, 3] = _centre(_space(model, "4"))
    run("geometry.edit_object_placement", model, product=alarm, matrix=at)
    lift = run("root.create_entity", model, ifc_class="IfcTransportElement", predefined_type="ELEVATOR", name="Lift")
    run("spatial.assign_container", model, products=[lift], relating_structure=ground)
    at = np.eye(4)
    at[:3, 3] = [-3.0, -3.0, 0.0]  # outside the house, a lift shaft standing on the ground floor
    run("geometry.edit_object_placement", model, product=lift, matrix=at)
    body = ifcopenshell.util.representation.get_context(model, "Model", "Body", "MODEL_VIEW")
    box = run("geometry.add_wall_representation", model, context=body, length=1.5, height=5.6, thickness=1.5)
    run("geometry.assign_representation", model, product=lift, representation=box)
    path = tmp_path / "fzk-with-devices.ifc"
    model.write(str(path))
    return path


def test_houses_above_a_smoke_sensor_and_the_stair_that_serves_them(
    fzk_with_devices: Path, store: GraphStore, spatial_engine: Engine, tmp_path: Path
) -> None:
    summary = import_ifc(fzk_with_devices, store, spatial_engine, scene=False, scene_dir=tmp_path)
    assert (summary.devices, summary.lifts, summary.stairs) == (2, 1, 1)
    uids = SceneRegistry(tmp_path).get(summary.building_uid).uids
    model = ifcopenshell.open(fzk_with_devices)
    sensor = uids[model.by_type("IfcSensor")[0].GlobalId]
    device = store.get(sensor)
    assert isinstance(device, Device) and device.category == "smoke_detector" and device.floor == 1

    # the sensor's room, that room's storey, the storeys above it
    (room,) = store.neighbourhood(sensor, rel_types=["INSTALLED_IN"]).nodes[1:]
    assert room.uid == uids[_space(model, "6").GlobalId]
    (storey,) = store.neighbourhood(room.uid, labels=["Storey"], rel_types=["LOCATED_IN"]).nodes[1:]
    floor = store.get(storey.uid).number  # type: ignore[attr-defined]
    storeys = store.neighbourhood(summary.building_uid, labels=["Storey"], rel_types=["LOCATED_IN"]).uids()[1:]
    above = [u for u, n in store.get_many(storeys).items() if n.number > floor]  # type: ignore[attr-defined]
    assert len(above) == 1

    # the houses on them, and the stairs and lifts that serve them
    houses = {
        n.uid for u in above for n in store.neighbourhood(u, labels=["House"], rel_types=["LOCATED_IN"]).nodes[1:]
    }
    assert houses == {uids[_space(model, "7").GlobalId]}  # the gallery under the roof
    serving = {n.uid for u in above for n in store.neighbourhood(u, labels=["Device"], rel_types=["SERVES"]).nodes[1:]}
    categories = {store.get(u).category for u in serving}  # type: ignore[attr-defined]
    assert categories == {"stair", "elevator"}
    stair = uids[model.by_type("IfcStair")[0].GlobalId]
    assert stair in serving
    assert set(store.neighbourhood(stair, labels=["Storey"], rel_types=["SERVES"]).uids()[1:]) == {storey.uid, *above}

    # the stair reaches the gallery in two steps: it serves the gallery's storey
    path = store.shortest_path(stair, next(iter(houses)))
    assert path is not None and [e.type for e in path.edges] == ["SERVES", "LOCATED_IN"]

    alarm = uids[model.by_type("IfcAlarm")[0].GlobalId]
    (alarm_room,) = store.neighbourhood(alarm, rel_types=["INSTALLED_IN"]).nodes[1:]
    assert alarm_room.uid == uids[_space(model, "4").GlobalId]  # found by its position, not by containment


@pytest.fixture
def fzk_ifc2x3_with_zone(tmp_path: Path) -> Path:
    """AC11-FZK-Haus (IFC2X3) with an apartment zone of two rooms and a smoke detector typed the IFC2X3 way."""
    model = ifcopenshell.open(IFC / "AC11-FZK-Haus-IFC.ifc")
    run = ifcopenshell.api.run
    zone = run("root.create_entity", model, ifc_class="IfcZone", name="Wohnung 1")
    run("group.assign_group", model, products=[_space(model, "2"), _space(model, "3")], group=zone)
    detector = run("root.create_entity", model, ifc_class="IfcDistributionControlElement", name="Rauchmelder")
    smoke = run("root.create_entity", model, ifc_class="IfcSensorType", predefined_type="SMOKESENSOR", name="RM")
    run("type.assign_type", model, related_objects=[detector], relating_type=smoke)
    run("spatial.assign_container", model, products=[detector], relating_structure=_space(model, "2"))
    path = tmp_path / "fzk-2x3-zone.ifc"
    model.write(str(path))
    return path


def test_an_apartment_zone_becomes_a_house_of_units_and_ifc2x3_sensor_types_are_read(
    fzk_ifc2x3_with_zone: Path, store: GraphStore, spatial_engine: Engine, tmp_path: Path
) -> None:
    summary = import_ifc(fzk_ifc2x3_with_zone, store, spatial_engine, scene=False, scene_dir=tmp_path)
    uids = SceneRegistry(tmp_path).get(summary.building_uid).uids
    model = ifcopenshell.open(fzk_ifc2x3_with_zone)
    zone = store.get(uids[model.by_type("IfcZone")[0].GlobalId])
    assert isinstance(zone, House) and zone.room == "Wohnung 1" and zone.floor == 1
    members = store.neighbourhood(zone.uid, labels=["Unit"], rel_types=["LOCATED_IN"]).uids()[1:]
    assert set(members) == {uids[_space(model, "2").GlobalId], uids[_space(model, "3").GlobalId]}
    assert zone.area_m2 == pytest.approx(12.985 + 12.5027, abs=0.01)
    (detector,) = model.by_type("IfcDistributionControlElement")
    device = store.get(uids[detector.GlobalId])
    assert isinstance(device, Device) and device.category == "smoke_detector"
    (room,) = store.neighbourhood(device.uid, rel_types=["INSTALLED_IN"]).nodes[1:]
    assert room.uid == uids[_space(model, "2").GlobalId]


# --- the scene ------------------------------------------------------------------------------------


def test_scene_is_a_glb_with_one_node_per_element_named_by_uid(imported: Callable[[str], Imported]) -> None:
    imp = imported("AC20-FZK-Haus.ifc")
    entry, data = imp.registry.glb(imp.summary.building_uid)
    gltf = pygltflib.GLTF2.load_from_bytes(data)
    names = [n.name for n in gltf.nodes]
    assert len(names) == len(set(names))
    openings = {o.GlobalId for o in imp.model.by_type("IfcOpeningElement")}
    guids = {n.extras["ifc_guid"] for n in gltf.nodes}
    assert not guids & openings
    shown = {p.GlobalId for p in imp.model.by_type("IfcProduct") if p.Representation} - openings
    shown -= {p.GlobalId for c in ("IfcAnnotation", "IfcVirtualElement") for p in imp.model.by_type(c)}
    assert guids == shown
    for kind in ("IfcSpace", "IfcDoor", "IfcStair"):
        for element in imp.model.by_type(kind):
            node = next(n for n in gltf.nodes if n.extras["ifc_guid"] == element.GlobalId)
            assert node.name == entry.uids[element.GlobalId] == node.extras["uid"]
            assert node.extras["ifc_class"] == element.is_a()
            assert node.extras["storey"].startswith("storey:")
    wall = imp.model.by_type("IfcWall")[0]
    assert next(n for n in gltf.nodes if n.extras["ifc_guid"] == wall.GlobalId).name == wall.GlobalId

    scene: Any = trimesh.load(io.BytesIO(data), file_type="glb")
    assert set(names) <= set(scene.graph.nodes)  # trimesh splits a node's colours into children of it
    assert len(scene.graph.nodes_geometry) == sum(len(m.primitives) for m in gltf.meshes)
    low, high = scene.bounds
    assert 5 < high[1] - low[1] < 12  # y is up: the house is a few metres high, in metres


def test_scene_of_a_file_is_cached_by_its_hash_and_uids(imported: Callable[[str], Imported], scene_dir: Path) -> None:
    imp = imported("example.ifc")
    entry = imp.registry.get(imp.summary.building_uid)
    first = scene_glb(imp.path, entry.uids, cache_dir=scene_dir)
    assert (scene_dir / f"{entry.scene_key}.glb").read_bytes() == first
    assert scene_glb(imp.path, entry.uids, cache_dir=scene_dir) == first
    by_guid = pygltflib.GLTF2.load_from_bytes(scene_glb(imp.path, cache_dir=scene_dir))
    assert all(n.name == n.extras["ifc_guid"] for n in by_guid.nodes)


def test_scene_frame_names_origin_rotation_crs_and_method() -> None:
    frame = scene_frame(IFC / "xbim-House.ifc", location=PRAGUE)
    assert (frame["origin"]["lon"], frame["origin"]["lat"]) == pytest.approx(PRAGUE)
    assert (frame["crs"], frame["method"], frame["rotation_deg"]) == ("EPSG:4326", "location", 0.0)
    with pytest.raises(NoLocation):
        scene_frame(IFC / "xbim-House.ifc")


def test_scene_endpoint_serves_the_glb_with_an_etag_and_the_frame(
    imported: Callable[[str], Imported], scene_dir: Path
) -> None:
    imp = imported("xbim-House.ifc")
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_scene_registry] = lambda: SceneRegistry(scene_dir)
    client = TestClient(app)
    uid = imp.summary.building_uid

    response = client.get(f"/bim/{uid}/scene.glb")
    assert response.status_code == 200
    assert response.headers["content-type"] == "model/gltf-binary"
    etag = response.headers["etag"]
    assert imp.registry.get(uid).sha256 in etag
    gltf = pygltflib.GLTF2.load_from_bytes(response.content)
    assert {n.extras["ifc_guid"] for n in gltf.nodes} >= {s.GlobalId for s in imp.model.by_type("IfcSpace")}
    assert client.get(f"/bim/{uid}/scene.glb", headers={"If-None-Match": etag}).status_code == 304

    frame = client.get(f"/bim/{uid}/scene.json").json()
    assert frame["method"] == "location" and frame["building_uid"] == uid
    assert (frame["origin"]["lon"], frame["origin"]["lat"]) == pytest.approx(PRAGUE)

    missing = client.get("/bim/building:nowhere/scene.glb")
    assert missing.status_code == 404 and "building:nowhere" in missing.json()["detail"]
    assert client.get("/bim/building:nowhere/scene.json").status_code == 404


def test_registry_refuses_to_rebuild_a_scene_from_a_changed_file(
    store: GraphStore, spatial_engine: Engine, tmp_path: Path
) -> None:
    copy = tmp_path / "example.ifc"
    shutil.copy(IFC / "example.ifc", copy)
    summary = import_ifc(copy, store, spatial_engine, scene=False, scene_dir=tmp_path / "scenes")
    copy.write_bytes(copy.read_bytes().replace(b"Room I'", b"Room X'"))
    registry = SceneRegistry(tmp_path / "scenes")
    with pytest.raises(LookupError, match="changed since the import"):
        registry.glb(summary.building_uid)
    assert json.loads(next((tmp_path / "scenes" / "buildings").iterdir()).read_text())["path"] == str(copy)


# --- all or nothing across the two stores --------------------------------------------------------------


def test_a_graph_write_that_fails_leaves_no_footprint(
    graph_settings: GraphSettings, spatial_engine: Engine, tmp_path: Path
) -> None:
    name = f"test_{uuid.uuid4().hex[:12]}"
    create_database(graph_settings, name)
    dropped: list[str] = []

    def drop_before_writing(stage: str, done: int, total: int) -> None:
        if stage == "write" and not dropped:  # the footprint's upsert starts next, the graph's write fails
            drop_database(graph_settings, name)
            dropped.append(name)

    try:
        with GraphStore.from_settings(graph_settings, name) as store, pytest.raises(Neo4jError):
            import_ifc(
                IFC / "example.ifc",
                store,
                spatial_engine,
                scene=False,
                scene_dir=tmp_path,
                progress=drop_before_writing,
            )
    finally:
        if not dropped:
            drop_database(graph_settings, name)
    assert dropped
    with spatial_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM buildings")).scalar_one() == 0


def test_a_footprint_the_map_refuses_leaves_the_graph_as_it_was(
    store: GraphStore, spatial_engine: Engine, tmp_path: Path
) -> None:
    existing = validate(
        Building, {"uid": "building:B03", "source": "registry", "code": "B03", "name": "B\x0003", "floors_above": 6}
    )
    store.upsert([existing])  # the graph stores a NUL, PostgreSQL's text cannot
    counts, before = store.counts(), store.get("building:B03")
    with pytest.raises(DataError, match="NUL"):
        import_ifc(
            IFC / "example.ifc", store, spatial_engine, building_uid="building:B03", scene=False, scene_dir=tmp_path
        )
    assert store.counts() == counts
    assert store.get("building:B03") == before
    with spatial_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM buildings")).scalar_one() == 0
