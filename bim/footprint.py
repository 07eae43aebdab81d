"""A building's footprint from its geometry: the outline, seen from above, of walls, floor slabs, columns and spaces.

The outline is the union of those elements' triangles projected on the XY plane (roof slabs,
which overhang, are left out), closed over gaps narrower than :data:`CLOSING` (joints between
elements), without holes (courtyards stay filled), and without parts under :data:`MIN_PART_M2`.
A model with none of those elements uses every element it has a body for, except site and
openings. Coordinates are model metres; :meth:`bim.georef.Georeference.geometry_to_wgs84` places it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from bim.geometry import Shape
from bim.model import IfcModel, attribute

FOOTPRINT_CLASSES = ("IfcWall", "IfcCurtainWall", "IfcSlab", "IfcColumn", "IfcSpace")
NEVER = ("IfcSite", "IfcOpeningElement", "IfcAnnotation", "IfcVirtualElement")
CLOSING = 0.05
MIN_PART_M2 = 1.0


@dataclass(frozen=True)
class Footprint:
    """The outline (model metres) and the height of what it was made from."""

    outline: Polygon | MultiPolygon
    height_m: float | None
    elements: int


def footprint_elements(model: IfcModel) -> list[Any]:
    """Return the elements a footprint is made of: walls, floor slabs (not roofs), columns and spaces."""
    chosen = [e for cls in FOOTPRINT_CLASSES for e in model.by_type(cls)]
    return [e for e in chosen if not (e.is_a("IfcSlab") and attribute(e, "PredefinedType") == "ROOF")]


def building_footprint(model: IfcModel, shapes: dict[int, Shape]) -> Footprint | None:
    """Return the building's footprint from the shapes of its elements, or None when none has a body."""
    used = [shapes[e.id()] for e in footprint_elements(model) if e.id() in shapes]
    if not used:
        used = [s for s in shapes.values() if s.ifc_class not in NEVER]
    parts = [s.footprint for s in used if not s.footprint.is_empty]
    if not parts:
        return None
    union: BaseGeometry = shapely.union_all(parts)
    union = union.buffer(CLOSING, join_style="mitre").buffer(-CLOSING, join_style="mitre")
    polygons = [Polygon(p.exterior) for p in getattr(union, "geoms", [union]) if isinstance(p, Polygon)]
    polygons = [p for p in polygons if p.area >= MIN_PART_M2] or polygons
    if not polygons:
        return None
    merged = shapely.normalize(shapely.union_all(polygons))  # one vertex order, whichever kernel triangulated
    outline = merged if isinstance(merged, (Polygon, MultiPolygon)) else MultiPolygon(polygons)
    height = max(s.zmax for s in used) - min(s.zmin for s in used)
    return Footprint(outline=outline, height_m=round(height, 3) if height > 0 else None, elements=len(used))
