"""IfcSpace and IfcZone: which spaces are dwellings, their areas, and which spaces are adjacent.

**House or Unit.** The ontology has House (a dwelling, on floor 1 or above) and Unit; a space
becomes

- a Unit inside a House when an apartment IfcZone groups it: the zone is the House (a zone is an
  apartment unless its name or type says fire, thermal, HVAC, lighting or security zone; a space
  in two apartment zones stays in the first by GlobalId);
- otherwise a House when it is on floor 1 or above and is not circulation, parking or plant
  (PredefinedType PARKING/EXTERNAL/GFA, or a name, long name or type with one of
  :data:`NOT_DWELLING`: corridor, hall, stair, lift, garage, Flur, Коридор, 走廊…);
- otherwise (below ground, no storey, circulation, plant) a Unit.

**Area:** the space's NetFloorArea, else GrossFloorArea quantity (in the project's area unit;
the length unit squared when none is declared), else the area of its outline from geometry.

**Adjacency** (ADJACENT_TO): where the file has second-level space boundaries with a
CorrespondingBoundary, the two spaces of each pair; otherwise two spaces bounded by the same
element (wall, slab, virtual element) whose outlines face each other across it: on one storey,
at most 2 × :data:`FACING` (0.7 m, a thick wall) apart along half a metre or more; on storeys one
above the other, overlapping by :data:`OVERLAP_M2` seen from above. A model without boundaries
falls back to the same test for every two spaces of one storey (they share a wall, or no wall).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import ifcopenshell.util.element
from shapely.geometry.base import BaseGeometry

from bim.geometry import Shape
from bim.model import IfcModel, attribute
from bim.storeys import StoreyInfo, storey_of

Kind = Literal["house", "unit"]
NOT_DWELLING = (
    "corridor", "hallway", "hall", "lobby", "foyer", "vestibule", "entrance", "stair", "landing", "lift",
    "elevator", "shaft", "garage", "parking", "plant", "technical", "mechanical", "electrical", "riser",
    "flur", "diele", "treppe", "aufzug", "technik", "tiefgarage",
    "коридор", "холл", "тамбур", "прихожая", "лестни", "лифт", "гараж",
    "走廊", "过道", "楼梯", "电梯", "门厅", "大堂", "车库", "设备",
)  # fmt: skip
NOT_DWELLING_TYPES = ("PARKING", "EXTERNAL", "GFA")
NOT_APARTMENT_ZONE = (
    "fire", "brand", "thermal", "hvac", "heating", "cooling", "ventilation", "lighting", "security",
    "acoustic", "пожар", "防火", "消防", "暖通",
)  # fmt: skip
USES = (
    ("office", ("office", "büro", "buero", "офис", "办公")),
    ("storage", ("storage", "store room", "lager", "abstell", "кладов", "储藏", "库房")),
    ("commercial", ("shop", "retail", "laden", "магазин", "商铺", "商业")),
)
FACING = 0.35  # metres each outline is grown by: spaces up to 0.7 m apart face each other
FACING_M2 = 0.2  # … along about half a metre or more
OVERLAP_M2 = 0.5  # outlines on storeys one above the other overlapping this much are adjacent
VERTICAL_GAP = 1.0  # metres of slab between spaces one above the other
MAX_AREA_M2 = 2000.0  # House.area_m2's bound


@dataclass(eq=False)
class SpaceInfo:
    """One IfcSpace as the import sees it."""

    entity: Any
    storey: StoreyInfo | None
    area_m2: float | None
    shape: Shape | None
    kind: Kind = "unit"
    zone: ZoneInfo | None = None

    @property
    def guid(self) -> str:
        return str(self.entity.GlobalId)

    @property
    def name(self) -> str | None:
        return _text(self.entity.Name)

    @property
    def long_name(self) -> str | None:
        return _text(attribute(self.entity, "LongName"))

    @property
    def label(self) -> str:
        """Name and long name as one caption, e.g. "4 Schlafzimmer"."""
        parts = [p for p in (self.name, self.long_name) if p]
        if len(parts) == 2 and parts[0] == parts[1]:
            parts = parts[:1]
        return " ".join(parts) or self.guid

    @property
    def footprint(self) -> BaseGeometry | None:
        return self.shape.footprint if self.shape is not None and not self.shape.footprint.is_empty else None

    @cached_property
    def grown(self) -> BaseGeometry | None:
        """The outline grown by :data:`FACING`: what reaches it across a wall."""
        return self.footprint.buffer(FACING) if self.footprint is not None else None

    def words(self) -> str:
        predefined = attribute(self.entity, "PredefinedType")
        return " ".join(str(p) for p in (self.name, self.long_name, self.entity.ObjectType, predefined) if p).lower()


@dataclass(eq=False)
class ZoneInfo:
    """An IfcZone used as an apartment: the House its spaces belong to."""

    entity: Any
    spaces: list[SpaceInfo] = field(default_factory=list)

    @property
    def guid(self) -> str:
        return str(self.entity.GlobalId)

    @property
    def label(self) -> str:
        parts = [p for p in (_text(self.entity.Name), _text(attribute(self.entity, "LongName"))) if p]
        return " ".join(dict.fromkeys(parts)) or self.guid

    @property
    def floor(self) -> int | None:
        """The lowest floor ≥ 1 among its spaces."""
        floors = [s.storey.number for s in self.spaces if s.storey is not None and s.storey.number >= 1]
        return min(floors) if floors else None

    @property
    def area_m2(self) -> float | None:
        areas = [s.area_m2 for s in self.spaces if s.area_m2]
        return round(sum(areas), 3) if areas and len(areas) == len(self.spaces) else None


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def quantity_area(space: Any, area_scale: float) -> float | None:
    """Return the space's floor area from its quantity sets, in m²."""
    quantities = ifcopenshell.util.element.get_psets(space, qtos_only=True)
    for name in ("NetFloorArea", "GrossFloorArea"):
        for values in quantities.values():
            value = values.get(name)
            if isinstance(value, (int, float)) and value > 0:
                return round(float(value) * area_scale, 3)
    return None


def use_of(words: str) -> Literal["residential", "commercial", "office", "storage"]:
    """Return the House.use a space's names suggest; residential unless they say office, storage or shop."""
    for use, keys in USES:
        if any(k in words for k in keys):
            return use  # type: ignore[return-value]
    return "residential"


def is_dwelling(space: SpaceInfo) -> bool:
    """Return True when a space is a House by itself (see the module's rule)."""
    if space.storey is None or space.storey.number < 1:
        return False
    predefined = str(attribute(space.entity, "PredefinedType") or "").upper()
    if predefined in NOT_DWELLING_TYPES:
        return False
    words = space.words()
    return not any(k in words for k in NOT_DWELLING)


def read_spaces(model: IfcModel, storeys: dict[str, StoreyInfo], shapes: dict[int, Shape]) -> list[SpaceInfo]:
    """Return the model's spaces, lowest storey first, each with its storey, area and shape."""
    out = []
    for entity in model.by_type("IfcSpace"):
        storey = storey_of(entity)
        info = storeys.get(str(storey.GlobalId)) if storey is not None else None
        shape = shapes.get(entity.id())
        area = quantity_area(entity, model.area_scale)
        if area is None and shape is not None and not shape.footprint.is_empty:
            area = round(float(shape.footprint.area), 3)
        out.append(SpaceInfo(entity=entity, storey=info, area_m2=area, shape=shape))
    out.sort(key=lambda s: (s.storey.number if s.storey else 0, s.guid))
    return out


def apartment_zones(model: IfcModel, spaces: list[SpaceInfo], warnings: list[str]) -> list[ZoneInfo]:
    """Return the IfcZones used as apartments, with their spaces; mark those spaces' `zone`."""
    by_id = {s.entity.id(): s for s in spaces}
    zones = []
    for entity in sorted(model.by_type("IfcZone"), key=lambda z: str(z.GlobalId)):
        words = " ".join(str(p) for p in (entity.Name, entity.ObjectType, entity.Description) if p).lower()
        if any(k in words for k in NOT_APARTMENT_ZONE):
            continue
        zone = ZoneInfo(entity=entity)
        for member in ifcopenshell.util.element.get_grouped_by(entity):
            space = by_id.get(member.id())
            if space is None:
                continue
            if space.zone is not None:
                warnings.append(f"space {space.guid} is in apartment zones {space.zone.guid} and {zone.guid}")
                continue
            zone.spaces.append(space)
        if zone.spaces and zone.floor is not None:
            for space in zone.spaces:
                space.zone = zone
            zones.append(zone)
    return zones


def classify(spaces: list[SpaceInfo]) -> None:
    """Set each space's kind: a House by itself, or a Unit (in a zone's House, or not a dwelling)."""
    for space in spaces:
        space.kind = "house" if space.zone is None and is_dwelling(space) else "unit"


def _z_overlap(a: Shape, b: Shape) -> float:
    return min(a.zmax, b.zmax) - max(a.zmin, b.zmin)


def apart(a: BaseGeometry, b: BaseGeometry) -> bool:
    """Return True when two outlines' bounding boxes do not meet (so neither do they): no overlay needed."""
    ax0, ay0, ax1, ay1 = a.bounds
    bx0, by0, bx1, by1 = b.bounds
    return ax1 < bx0 or bx1 < ax0 or ay1 < by0 or by1 < ay0


def faces_across(a: SpaceInfo, b: SpaceInfo) -> bool | None:
    """Return whether two spaces' outlines face each other, side by side or one above the other.

    None when either has no geometry.
    """
    if a.shape is None or b.shape is None or a.footprint is None or b.footprint is None:
        return None
    if _z_overlap(a.shape, b.shape) > 0.1:
        assert a.grown is not None and b.grown is not None
        return not apart(a.grown, b.grown) and bool(a.grown.intersection(b.grown).area >= FACING_M2)
    if -_z_overlap(a.shape, b.shape) <= VERTICAL_GAP:
        return not apart(a.footprint, b.footprint) and bool(a.footprint.intersection(b.footprint).area >= OVERLAP_M2)
    return False


def adjacent_pairs(model: IfcModel, spaces: list[SpaceInfo]) -> tuple[set[tuple[str, str]], str]:
    """Return pairs of adjacent spaces (GlobalIds, ordered) and how they were found (see the module)."""
    by_id = {s.entity.id(): s for s in spaces}
    boundaries = [
        b for b in model.by_type("IfcRelSpaceBoundary") if b.RelatingSpace is not None and b.RelatingSpace.id() in by_id
    ]
    pairs: set[tuple[str, str]] = set()
    for b in boundaries:
        other = attribute(b, "CorrespondingBoundary")
        if other is not None and other.RelatingSpace is not None and other.RelatingSpace.id() in by_id:
            a, c = by_id[b.RelatingSpace.id()], by_id[other.RelatingSpace.id()]
            if a is not c:
                pairs.add(tuple(sorted((a.guid, c.guid))))  # type: ignore[arg-type]
    if pairs:
        return pairs, "second-level space boundaries"
    by_element: dict[int, set[int]] = defaultdict(set)
    for b in boundaries:
        if b.RelatedBuildingElement is not None:
            by_element[b.RelatedBuildingElement.id()].add(b.RelatingSpace.id())
    candidates = {tuple(sorted(p)) for ids in by_element.values() for p in itertools.combinations(sorted(ids), 2)}
    method = "space boundaries sharing an element"
    if not candidates:
        method = "spaces on one storey sharing a wall (geometry)"
        candidates = {
            (a.entity.id(), b.entity.id())
            for a, b in itertools.combinations(spaces, 2)
            if a.storey is not None and a.storey is b.storey
        }
    for i, j in candidates:
        a, b = by_id[i], by_id[j]
        facing = faces_across(a, b)
        if facing or (facing is None and method.startswith("space boundaries")):
            pairs.add(tuple(sorted((a.guid, b.guid))))  # type: ignore[arg-type]
    return pairs, method
