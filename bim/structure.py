"""The graph of one IFC model: Building, Storeys, Houses and Units, Devices, and how they relate.

- IfcBuilding (or, in a model without one, IfcSite) → Building, with floors above and below
  ground from the storeys (see :mod:`bim.storeys`); IfcBuildingStorey → Storey LOCATED_IN it.
- IfcSpace / IfcZone → House or Unit (the rule is in :mod:`bim.spaces`), LOCATED_IN their Storey
  (and a zone's spaces also LOCATED_IN the zone's House); adjacent spaces → ADJACENT_TO, once per
  pair, from the smaller uid to the larger.
- Doors, stairs, lifts and devices → Device (:mod:`bim.devices`), INSTALLED_IN their space or
  storey; doors CONNECT spaces, stairs and lifts SERVE storeys.

Every node keeps its element's GlobalId in `ifc_guid`; uids come from :mod:`bim.identity`.
Nothing here writes: :func:`extract` returns validated nodes and links for the importer to write.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import ifcopenshell.util.element

from bim import identity
from bim.devices import DeviceInfo, DeviceReader, device_elements
from bim.errors import UnsupportedModel
from bim.footprint import footprint_elements
from bim.geometry import Shape
from bim.georef import Georeference
from bim.model import IfcModel, attribute
from bim.spaces import MAX_AREA_M2, SpaceInfo, ZoneInfo, adjacent_pairs, apartment_zones, classify, read_spaces, use_of
from bim.storeys import StoreyInfo, number_storeys
from graph import (
    AdjacentTo,
    Building,
    Connects,
    Device,
    House,
    InstalledIn,
    Link,
    LocatedIn,
    Node,
    Serves,
    Storey,
    Unit,
    uid,
    validate,
)

HOUSE_UNIT_NUMBER = 1  # IFC does not say which stairwell unit a dwelling is in


@dataclass
class Structure:
    """What one model brings to the graph, validated, with a GlobalId → uid map for the scene."""

    building: Building
    nodes: list[Node]
    links: list[Link]
    uids: dict[str, str]  # GlobalId → uid of every element that became a node
    storey_of: dict[str, str]  # GlobalId of an element → uid of its storey
    counts: Counter[str] = field(default_factory=Counter)
    adjacency_method: str = ""
    warnings: list[str] = field(default_factory=list)


def spatial_root(model: IfcModel) -> Any:
    """Return the IfcBuilding of a model, or its IfcSite when it has no building."""
    buildings = model.by_type("IfcBuilding")
    if len(buildings) > 1:
        raise UnsupportedModel(model.path, f"it holds {len(buildings)} buildings; import one IFC file per building")
    if buildings:
        return buildings[0]
    sites = model.by_type("IfcSite")
    if len(sites) > 1:
        raise UnsupportedModel(model.path, f"it holds {len(sites)} sites and no building")
    if not sites:
        raise UnsupportedModel(model.path, "it holds no IfcBuilding and no IfcSite")
    return sites[0]


def map_elements(model: IfcModel) -> list[Any]:
    """Return the elements whose geometry the graph and the footprint need.

    Walls, floor slabs, columns and spaces (the footprint; spaces also for adjacency and rooms),
    the openings doors fill (which spaces a door reaches) or the door itself when it fills none,
    lifts (the storeys they span) and devices (the room they are in). Not stairs: the storeys
    they serve follow from their own.
    """
    doors = model.by_type("IfcDoor")
    openings = [ifcopenshell.util.element.get_filled_void(d) for d in doors]
    return [
        *footprint_elements(model),
        *(o if o is not None else d for d, o in zip(doors, openings, strict=True)),
        *model.by_type("IfcTransportElement"),
        *device_elements(model),
    ]


class _Builder:
    def __init__(self, model: IfcModel, georef: Georeference, code: str, building_uid: str) -> None:
        self.model, self.georef, self.code, self.building_uid = model, georef, code, building_uid
        self.source = model.source
        self.nodes: list[Node] = []
        self.links: list[Link] = []
        self.uids: dict[str, str] = {}
        self.storey_uids: dict[str, str] = {}
        self.storey_of: dict[str, str] = {}
        self.counts: Counter[str] = Counter()

    def lonlat(self, x: float, y: float) -> dict[str, float]:
        lon, lat = self.georef.to_lonlat([x], [y])
        return {"lon": round(float(lon[0]), 8), "lat": round(float(lat[0]), 8)}

    def link(self, model: type[Link], start: str, end: str) -> None:
        self.links.append(validate(model, {"start": start, "end": end, "source": self.source}))

    def storeys(self, storeys: list[StoreyInfo]) -> None:
        for s in storeys:
            node = validate(
                Storey,
                {
                    "uid": uid.storey(self.code, s.number),
                    "source": self.source,
                    "building_code": self.code,
                    "number": s.number,
                    "name": s.name,
                    "elevation_m": s.elevation_m,
                    "ifc_guid": s.guid,
                },
            )
            self.nodes.append(node)
            self.uids[s.guid] = self.storey_uids[s.guid] = node.uid
            self.link(LocatedIn, node.uid, self.building_uid)
        self.counts["storeys"] = len(storeys)

    def place(self, element_uid: str, storey: StoreyInfo | None) -> str:
        """LOCATED_IN the storey, or the building when on none; return the container uid."""
        container = self.storey_uids[storey.guid] if storey is not None else self.building_uid
        self.link(LocatedIn, element_uid, container)
        return container

    def _centre(self, space: SpaceInfo) -> dict[str, float]:
        footprint = space.footprint
        if footprint is None:
            return {}
        c = footprint.representative_point()
        return self.lonlat(c.x, c.y)

    def _area(self, area: float | None, what: str, warnings: list[str]) -> float | None:
        if area is not None and not 0 < area <= MAX_AREA_M2:
            warnings.append(f"{what}: area {area} m² is out of range; left empty")
            return None
        return area

    def spaces(self, spaces: list[SpaceInfo], zones: list[ZoneInfo], warnings: list[str]) -> None:
        rooms: set[str] = set()

        def room_uid(label: str | None, guid: str) -> str:
            key = identity.room_key(label, guid)
            if key in rooms:
                key = f"{key}-{identity.guid_hex(guid)[:8]}"
            rooms.add(key)
            return uid.house(self.code, HOUSE_UNIT_NUMBER, key)

        zone_uids: dict[str, str] = {}
        for zone in zones:
            floor = zone.floor
            assert floor is not None
            lowest = min((s for s in zone.spaces if s.storey is not None), key=lambda s: s.storey.number)  # type: ignore[union-attr]
            house = validate(
                House,
                {
                    "uid": room_uid(zone.entity.Name or zone.label, zone.guid),
                    "source": self.source,
                    "building_code": self.code,
                    "unit_number": HOUSE_UNIT_NUMBER,
                    "floor": floor,
                    "room": zone.label,
                    "area_m2": self._area(zone.area_m2, f"zone {zone.guid}", warnings),
                    "ifc_guid": zone.guid,
                    **self._centre(lowest),
                },
            )
            self.nodes.append(house)
            zone_uids[zone.guid] = self.uids[zone.guid] = house.uid
            self.storey_of[zone.guid] = self.place(house.uid, lowest.storey)
        numbers = identity.unit_numbers(s.guid for s in spaces if s.kind == "unit")
        for space in spaces:
            area = self._area(space.area_m2, f"space {space.guid}", warnings)
            node: Node
            if space.kind == "house":
                assert space.storey is not None
                node = validate(
                    House,
                    {
                        "uid": room_uid(space.name or space.long_name, space.guid),
                        "source": self.source,
                        "building_code": self.code,
                        "unit_number": HOUSE_UNIT_NUMBER,
                        "floor": space.storey.number,
                        "room": space.label,
                        "area_m2": area,
                        "use": use_of(space.words()),
                        "ifc_guid": space.guid,
                        **self._centre(space),
                    },
                )
                self.counts["houses"] += 1
            else:
                node = validate(
                    Unit,
                    {
                        "uid": uid.unit(self.code, numbers[space.guid]),
                        "source": self.source,
                        "building_code": self.code,
                        "number": numbers[space.guid],
                        "name": space.label,
                        "ifc_guid": space.guid,
                    },
                )
                self.counts["units"] += 1
                if space.zone is not None:
                    self.link(LocatedIn, node.uid, zone_uids[space.zone.guid])
            self.nodes.append(node)
            self.uids[space.guid] = node.uid
            container = self.place(node.uid, space.storey)
            if space.storey is not None:
                self.storey_of[space.guid] = container
        self.counts["houses"] += len(zones)
        self.counts["spaces"] = len(spaces)
        self.counts["zones"] = len(zones)

    def adjacency(self, pairs: set[tuple[str, str]]) -> None:
        edges = {tuple(sorted((self.uids[a], self.uids[b]))) for a, b in pairs}
        for start, end in sorted(edges):
            self.link(AdjacentTo, start, end)
        self.counts["adjacencies"] = len(edges)

    def devices(self, devices: list[DeviceInfo]) -> None:
        for d in devices:
            where = self.lonlat(d.position[0], d.position[1]) if d.position is not None else {}
            code = identity.device_code(self.code, d.guid)
            node = validate(
                Device,
                {
                    "uid": uid.device(code),
                    "source": self.source,
                    "code": code,
                    "name": d.name,
                    "category": d.category,
                    "floor": d.storey.number if d.storey is not None else None,
                    "ifc_guid": d.guid,
                    **where,
                },
            )
            self.nodes.append(node)
            self.uids[d.guid] = node.uid
            if d.storey is not None:
                self.storey_of[d.guid] = self.storey_uids[d.storey.guid]
            home = (
                self.uids[d.space.guid]
                if d.space is not None
                else self.storey_uids[d.storey.guid]
                if d.storey is not None
                else self.building_uid
            )
            self.link(InstalledIn, node.uid, home)
            for space in d.connects:
                self.link(Connects, node.uid, self.uids[space.guid])
            for storey in d.serves:
                self.link(Serves, node.uid, self.storey_uids[storey.guid])
            self.counts["connections"] += len(d.connects)
            self.counts["serves"] += len(d.serves)
            kind = {"door": "doors", "stair": "stairs", "elevator": "lifts"}.get(d.category, "devices")
            self.counts[kind] += 1


def building_node(
    model: IfcModel, storeys: list[StoreyInfo], *, building_uid: str, code: str, building_name: str | None = None
) -> Building:
    """Return the Building of a model (its IfcBuilding, else its IfcSite), floors counted from `storeys`."""
    root = spatial_root(model)
    return validate(
        Building,
        {
            "uid": building_uid,
            "source": model.source,
            "code": code,
            "name": building_name or root.Name or attribute(root, "LongName") or model.path.stem,
            "floors_above": max(sum(1 for s in storeys if s.number >= 1), 1),
            "floors_below": sum(1 for s in storeys if s.number < 0),
            "ifc_guid": root.GlobalId,
        },
    )


def extract(
    model: IfcModel,
    georef: Georeference,
    shapes: dict[int, Shape],
    *,
    building_uid: str,
    code: str,
    building_name: str | None = None,
    storeys: list[StoreyInfo] | None = None,
) -> Structure:
    """Return the nodes and links of a model, validated, for building `building_uid` (code `code`).

    `shapes` are the triangulated elements of :func:`map_elements` (spaces' outlines find
    adjacency, doors' spaces and devices' rooms); an element without a shape falls back to its
    relationships alone. `storeys` are the model's, numbered (:func:`bim.storeys.number_storeys`),
    when the caller has them already.
    """
    root = spatial_root(model)
    warnings: list[str] = []
    storeys = number_storeys(model) if storeys is None else storeys
    by_guid = {s.guid: s for s in storeys}
    spaces = read_spaces(model, by_guid, shapes)
    zones = apartment_zones(model, spaces, warnings)
    classify(spaces)
    pairs, method = adjacent_pairs(model, spaces)
    reader = DeviceReader(model, by_guid, spaces, shapes)
    devices = reader.read()
    warnings += reader.warnings
    if not storeys:
        warnings.append("the model has no IfcBuildingStorey: its spaces and devices are placed in the building")

    builder = _Builder(model, georef, code, building_uid)
    building = building_node(model, storeys, building_uid=building_uid, code=code, building_name=building_name)
    builder.uids[root.GlobalId] = building_uid
    builder.storeys(storeys)
    builder.spaces(spaces, zones, warnings)
    builder.adjacency(pairs)
    builder.devices(devices)
    return Structure(
        building=building,
        nodes=builder.nodes,
        links=builder.links,
        uids=builder.uids,
        storey_of=builder.storey_of,
        counts=builder.counts,
        adjacency_method=method if pairs else "",
        warnings=warnings,
    )
