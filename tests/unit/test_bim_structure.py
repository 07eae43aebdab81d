"""The graph, footprint, georeference and scene of a small IFC model built here with ifcopenshell.api.

The model: a basement (-3 m), a ground floor (0 m) and an upper floor (3 m); on the ground floor
the rooms "101" and "102" either side of a "Corridor", 0.2 m of wall between each, a door from
101 into the corridor and a heat sensor in 102; a cellar below and room "201" above 101; a stair
on the ground floor. Boxes stand in for real geometry.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.api
import ifcopenshell.api.georeference
import numpy as np
import pyproj
import pytest

from bim.errors import NoLocation, UnsupportedModel
from bim.footprint import building_footprint
from bim.geometry import element_shapes
from bim.georef import georeference
from bim.importer import merge
from bim.model import IfcModel, open_model
from bim.scene import SPACE_ALPHA, build_glb
from bim.structure import Structure, extract, map_elements
from graph import Building, Device, House, Storey, Unit, uid, validate
from graph.errors import ValidationError

CODE = "T1"
BUILDING = uid.building(CODE)
GEOD = pyproj.Geod(ellps="WGS84")


class Tower:
    """Builds the test model; `boxes` places an element as an axis-aligned box in metres."""

    def __init__(self) -> None:
        run = ifcopenshell.api.run
        self.run = run
        self.file = ifcopenshell.file(schema="IFC4")
        self.project = run("root.create_entity", self.file, ifc_class="IfcProject", name="Tower")
        run("unit.assign_unit", self.file)  # millimetres: the geometry kernel must scale to metres
        model = run("context.add_context", self.file, context_type="Model")
        self.body = run(
            "context.add_context",
            self.file,
            context_type="Model",
            context_identifier="Body",
            target_view="MODEL_VIEW",
            parent=model,
        )
        self.site = run("root.create_entity", self.file, ifc_class="IfcSite", name="Site")
        run("aggregate.assign_object", self.file, products=[self.site], relating_object=self.project)
        self.building = run("root.create_entity", self.file, ifc_class="IfcBuilding", name="Tower")
        run("aggregate.assign_object", self.file, products=[self.building], relating_object=self.site)
        self.storeys = {name: self.storey(name, z) for name, z in (("B1", -3.0), ("EG", 0.0), ("OG", 3.0))}
        self.spaces = {
            "Keller": self.space("Keller", "B1", (0, 0)),
            "101": self.space("101", "EG", (0, 0)),
            "Corridor": self.space("Corridor", "EG", (5.2, 0), size=(2, 4)),
            "102": self.space("102", "EG", (7.4, 0)),
            "201": self.space("201", "OG", (0, 0)),
        }
        self.door = self.element("IfcDoor", "Door 101", "EG", (5.0, 1.0, 0.0), (0.2, 1.0, 2.1))
        self.stair = self.element("IfcStair", "Stair", "EG", (12.6, 0.0, 0.0), (1.0, 3.0, 3.0))
        self.sensor = self.element("IfcSensor", "Heat", "EG", (9.0, 2.0, 2.5), None, predefined_type="HEATSENSOR")

    def place(self, product: Any, at: tuple[float, float, float]) -> None:
        matrix = np.eye(4)
        matrix[:3, 3] = at
        self.run("geometry.edit_object_placement", self.file, product=product, matrix=matrix)

    def box(self, product: Any, size: tuple[float, float, float]) -> None:
        length, thickness, height = size
        shape = self.run(
            "geometry.add_wall_representation",
            self.file,
            context=self.body,
            length=length,
            height=height,
            thickness=thickness,
        )
        self.run("geometry.assign_representation", self.file, product=product, representation=shape)

    def storey(self, name: str, z: float) -> Any:
        storey = self.run("root.create_entity", self.file, ifc_class="IfcBuildingStorey", name=name)
        self.run("aggregate.assign_object", self.file, products=[storey], relating_object=self.building)
        self.place(storey, (0, 0, z))
        return storey

    def space(self, name: str, storey: str, xy: tuple[float, float], size: tuple[float, float] = (5, 4)) -> Any:
        space = self.run("root.create_entity", self.file, ifc_class="IfcSpace", name=name)
        self.run("aggregate.assign_object", self.file, products=[space], relating_object=self.storeys[storey])
        z = float(self.storeys[storey].ObjectPlacement.RelativePlacement.Location.Coordinates[2]) / 1000
        self.place(space, (xy[0], xy[1], z))
        self.box(space, (size[0], size[1], 2.8))
        return space

    def element(
        self,
        ifc_class: str,
        name: str,
        storey: str,
        at: tuple[float, float, float],
        size: tuple[float, float, float] | None,
        **attributes: Any,
    ) -> Any:
        element = self.run("root.create_entity", self.file, ifc_class=ifc_class, name=name, **attributes)
        self.run("spatial.assign_container", self.file, products=[element], relating_structure=self.storeys[storey])
        self.place(element, at)
        if size:
            self.box(element, size)
        return element

    def save(self, path: Path) -> IfcModel:
        self.file.write(str(path))
        return open_model(path)


@pytest.fixture
def tower() -> Tower:
    return Tower()


def _extract(model: IfcModel, location: tuple[float, float] | None = (14.4, 50.1)) -> Structure:
    shapes, _ = element_shapes(model, map_elements(model), openings=False)
    return extract(model, georeference(model, location), shapes, building_uid=BUILDING, code=CODE)


def _by_guid(structure: Structure) -> dict[str, Any]:
    return {str(getattr(n, "ifc_guid", None)): n for n in structure.nodes}


def test_storeys_are_numbered_from_the_ground_floor(tower: Tower, tmp_path: Path) -> None:
    structure = _extract(tower.save(tmp_path / "t.ifc"))
    nodes = _by_guid(structure)
    numbers = {name: nodes[s.GlobalId].number for name, s in tower.storeys.items()}
    assert numbers == {"B1": -1, "EG": 1, "OG": 2}
    assert nodes[tower.storeys["OG"].GlobalId].uid == uid.storey(CODE, 2)
    assert nodes[tower.storeys["B1"].GlobalId].elevation_m == -3.0
    assert (structure.building.floors_above, structure.building.floors_below) == (2, 1)


def test_an_entrance_level_storey_is_the_ground_floor(tower: Tower, tmp_path: Path) -> None:
    pset = tower.run("pset.add_pset", tower.file, product=tower.storeys["OG"], name="Pset_BuildingStoreyCommon")
    tower.run("pset.edit_pset", tower.file, pset=pset, properties={"EntranceLevel": True})
    nodes = _by_guid(_extract(tower.save(tmp_path / "t.ifc")))
    assert [nodes[s.GlobalId].number for s in tower.storeys.values()] == [-2, -1, 1]


def test_rooms_above_ground_are_houses_and_cellars_and_corridors_units(tower: Tower, tmp_path: Path) -> None:
    structure = _extract(tower.save(tmp_path / "t.ifc"))
    nodes = _by_guid(structure)
    kinds = {name: type(nodes[s.GlobalId]) for name, s in tower.spaces.items()}
    assert kinds == {"Keller": Unit, "101": House, "Corridor": Unit, "102": House, "201": House}
    house = nodes[tower.spaces["201"].GlobalId]
    assert (house.uid, house.floor, house.room, house.area_m2) == (uid.house(CODE, 1, "201"), 2, "201", 20.0)
    corridor = nodes[tower.spaces["Corridor"].GlobalId]
    assert corridor.number >= 100_000 and corridor.name == "Corridor"
    located = {(link.start, link.end) for link in structure.links if link.type == "LOCATED_IN"}
    assert (house.uid, uid.storey(CODE, 2)) in located
    assert (uid.storey(CODE, 2), BUILDING) in located


def test_spaces_sharing_a_wall_are_adjacent_and_the_door_connects_its_two(tower: Tower, tmp_path: Path) -> None:
    structure = _extract(tower.save(tmp_path / "t.ifc"))
    u = {name: structure.uids[s.GlobalId] for name, s in tower.spaces.items()}
    adjacent = {frozenset((link.start, link.end)) for link in structure.links if link.type == "ADJACENT_TO"}
    assert adjacent == {frozenset((u["101"], u["Corridor"])), frozenset((u["Corridor"], u["102"]))}
    assert structure.adjacency_method == "spaces on one storey sharing a wall (geometry)"
    door = structure.uids[tower.door.GlobalId]
    assert {link.end for link in structure.links if link.type == "CONNECTS" and link.start == door} == {
        u["101"],
        u["Corridor"],
    }


def test_stairs_serve_their_storey_and_the_next_and_sensors_sit_in_their_room(tower: Tower, tmp_path: Path) -> None:
    structure = _extract(tower.save(tmp_path / "t.ifc"))
    stair = structure.uids[tower.stair.GlobalId]
    assert {link.end for link in structure.links if link.type == "SERVES" and link.start == stair} == {
        uid.storey(CODE, 1),
        uid.storey(CODE, 2),
    }
    sensor = _by_guid(structure)[tower.sensor.GlobalId]
    assert isinstance(sensor, Device)
    assert (sensor.category, sensor.floor, sensor.name) == ("heat_detector", 1, "Heat")
    (home,) = [link.end for link in structure.links if link.type == "INSTALLED_IN" and link.start == sensor.uid]
    assert home == structure.uids[tower.spaces["102"].GlobalId]
    assert structure.counts["devices"] == 1 and structure.counts["doors"] == 1 and structure.counts["stairs"] == 1


def test_every_node_and_link_is_valid_and_keeps_its_guid(tower: Tower, tmp_path: Path) -> None:
    structure = _extract(tower.save(tmp_path / "t.ifc"))
    assert all(getattr(n, "ifc_guid", None) for n in structure.nodes)
    assert all(n.source == "ifc:t.ifc" for n in [*structure.nodes, *structure.links])
    assert len({n.uid for n in structure.nodes}) == len(structure.nodes)
    assert len({link.uid for link in structure.links}) == len(structure.links)


def test_a_model_with_two_buildings_is_refused(tower: Tower, tmp_path: Path) -> None:
    other = tower.run("root.create_entity", tower.file, ifc_class="IfcBuilding", name="Annex")
    tower.run("aggregate.assign_object", tower.file, products=[other], relating_object=tower.site)
    with pytest.raises(UnsupportedModel, match="2 buildings"):
        _extract(tower.save(tmp_path / "t.ifc"))


def test_footprint_is_the_outline_of_the_rooms_in_metres(tower: Tower, tmp_path: Path) -> None:
    model = tower.save(tmp_path / "t.ifc")
    shapes, _ = element_shapes(model, map_elements(model), openings=False)
    footprint = building_footprint(model, shapes)
    assert footprint is not None
    assert footprint.outline.area == pytest.approx(20 + 8 + 20, abs=0.01)  # three rooms, 0.2 m walls between
    assert footprint.outline.bounds == pytest.approx((0, 0, 12.4, 4))
    assert footprint.height_m == pytest.approx(8.8)  # the cellar's floor to the top of room 201


# --- georeference ----------------------------------------------------------------------------


def test_a_model_without_a_place_needs_a_location(tower: Tower, tmp_path: Path) -> None:
    model = tower.save(tmp_path / "t.ifc")
    with pytest.raises(NoLocation, match=r"t\.ifc"):
        georeference(model)
    with pytest.raises(ValidationError, match="location"):
        georeference(model, (14.4, 95.0))
    placed = georeference(model, (14.4, 50.1))
    assert placed.method == "location"
    assert placed.origin == pytest.approx((14.4, 50.1))


def test_site_latitude_longitude_and_true_north_turn_the_model(tower: Tower, tmp_path: Path) -> None:
    tower.site.RefLatitude, tower.site.RefLongitude = (50, 6, 0, 0), (14, 24, 0, 0)
    context = tower.file.by_type("IfcGeometricRepresentationContext")[0]
    north = math.radians(90 - 30)  # the model's +X axis is 30° anticlockwise from east
    context.TrueNorth = tower.file.createIfcDirection((math.cos(north), math.sin(north)))
    georef = georeference(tower.save(tmp_path / "t.ifc"), location=(0.0, 0.0))
    assert georef.method == "site" and "location given was not used" in georef.warnings[0]
    assert georef.origin == pytest.approx((14.4, 50.1))
    assert georef.rotation_deg == pytest.approx(30, abs=1e-6)
    lon, lat = georef.to_lonlat([0.0], [100.0])
    azimuth, _, distance = GEOD.inv(14.4, 50.1, lon[0], lat[0])
    assert (azimuth % 360, distance) == (pytest.approx(330, abs=1e-3), pytest.approx(100, abs=1e-3))


@pytest.mark.parametrize("scale", [None, 0.001])
def test_map_conversion_takes_model_metres_to_the_crs(tower: Tower, tmp_path: Path, scale: float | None) -> None:
    ifcopenshell.api.georeference.add_georeferencing(tower.file, name="EPSG:32633")
    theta = math.radians(10)
    conversion = tower.file.by_type("IfcMapConversion")[0]
    conversion.Eastings, conversion.Northings, conversion.OrthogonalHeight = 455_000.0, 5_550_000.0, 200.0
    conversion.XAxisAbscissa, conversion.XAxisOrdinate, conversion.Scale = math.cos(theta), math.sin(theta), scale
    georef = georeference(tower.save(tmp_path / "t.ifc"))
    assert (georef.method, georef.source_crs, georef.height_m) == ("map_conversion", "EPSG:32633", 200.0)
    e, n = georef.to_map([10.0], [0.0])
    assert (e[0], n[0]) == pytest.approx((455_000 + 10 * math.cos(theta), 5_550_000 + 10 * math.sin(theta)))
    lon, lat = pyproj.Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True).transform(455_000, 5_550_000)
    assert georef.origin == pytest.approx((lon, lat))
    assert not georef.warnings


# --- merging with what the graph holds ------------------------------------------------------------


def test_an_existing_node_keeps_its_own_properties_and_takes_the_models() -> None:
    old = validate(
        Building,
        {
            "uid": BUILDING,
            "source": "registry",
            "code": CODE,
            "name": "1号楼",
            "floors_above": 9,
            "address": "幸福路 1 号",
        },
    )
    new = validate(
        Building,
        {
            "uid": BUILDING,
            "source": "ifc:t.ifc",
            "code": CODE,
            "name": "Tower",
            "floors_above": 2,
            "ifc_guid": "0" * 22,
        },
    )
    merged = merge(new, old)
    assert isinstance(merged, Building)
    assert (merged.name, merged.address, merged.source) == ("1号楼", "幸福路 1 号", "registry")
    assert (merged.floors_above, merged.ifc_guid) == (2, "0" * 22)
    assert merge(new, None) is new
    storey = validate(Storey, {"uid": uid.storey(CODE, 1), "source": "ifc:t.ifc", "building_code": CODE, "number": 1})
    assert merge(storey, storey.model_copy(update={"name": "old"})) is storey


# --- the scene --------------------------------------------------------------------------------


def _gltf(data: bytes) -> dict[str, Any]:
    magic, version, length = struct.unpack_from("<III", data)
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    size, kind = struct.unpack_from("<II", data, 12)
    assert kind == 0x4E4F534A
    document: dict[str, Any] = json.loads(data[20 : 20 + size])
    return document


def test_scene_nodes_are_named_by_uid_with_extras_in_a_y_up_metric_frame(tower: Tower, tmp_path: Path) -> None:
    model = tower.save(tmp_path / "t.ifc")
    structure = _extract(model)
    data, warnings = build_glb(model, structure.uids)
    assert warnings == []
    document = _gltf(data)
    nodes = {n["extras"]["ifc_guid"]: n for n in document["nodes"]}
    assert set(nodes) == {s.GlobalId for s in tower.spaces.values()} | {tower.door.GlobalId, tower.stair.GlobalId}
    upper = nodes[tower.spaces["201"].GlobalId]
    assert upper["name"] == upper["extras"]["uid"] == structure.uids[tower.spaces["201"].GlobalId]
    assert upper["extras"] | {"name": None} == {
        "uid": upper["name"],
        "ifc_guid": tower.spaces["201"].GlobalId,
        "ifc_class": "IfcSpace",
        "name": None,
        "storey": uid.storey(CODE, 2),
    }
    position = document["accessors"][document["meshes"][upper["mesh"]]["primitives"][0]["attributes"]["POSITION"]]
    assert position["min"] == pytest.approx([0, 3, -4], abs=1e-4)  # glTF y is up, z is −model Y
    assert position["max"] == pytest.approx([5, 5.8, 0], abs=1e-4)
    material = document["materials"][document["meshes"][upper["mesh"]]["primitives"][0]["material"]]
    assert material["pbrMetallicRoughness"]["baseColorFactor"][3] <= SPACE_ALPHA  # spaces are see-through
    assert build_glb(model, structure.uids)[0] == data  # deterministic: the ETag can be the content's key
