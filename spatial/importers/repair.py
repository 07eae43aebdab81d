"""Checking one feature's geometry for a layer: accept it, repair it with `make_valid`, or reject it.

A geometry is rejected when it is missing, empty, has non-finite coordinates or is of a kind the
layer cannot hold (a Point in a polygon layer). An invalid geometry is repaired with
:func:`shapely.make_valid`; the parts of the layer's kind are kept (the polygons of a
GeometryCollection for a polygon layer) and the feature counts as repaired. When no such part is
left, it is rejected with the reason GEOS gave, e.g. "self-intersection at (1, 1) could not be
repaired into a polygon".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

import numpy as np
import shapely
from shapely import GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

PART_OF_TYPE: dict[str, type[BaseGeometry]] = {
    "MULTIPOLYGON": Polygon,
    "POLYGON": Polygon,
    "MULTILINESTRING": LineString,
    "LINESTRING": LineString,
    "POINT": Point,
    "MULTIPOINT": Point,
}
"""The simple geometry a layer's PostGIS geometry type is made of."""

FAMILY_NAME: dict[type[BaseGeometry], str] = {Polygon: "polygon", LineString: "line", Point: "point"}

_GEOS_REASON = re.compile(r"^(?P<what>[^\[]+)\[(?P<x>\S+) (?P<y>\S+)(?: \S+)?\]$")


@dataclass(frozen=True)
class CheckedGeometry:
    """The geometry to store (None when rejected), whether it was repaired, and why (if it was not kept as is)."""

    geometry: BaseGeometry | None
    repaired: bool = False
    reason: str = ""


def describe_invalidity(geometry: BaseGeometry) -> str:
    """Return GEOS's reason why `geometry` is invalid as words: ``"self-intersection at (0.5, 0.5)"``."""
    reason = str(shapely.is_valid_reason(geometry))
    found = _GEOS_REASON.match(reason)
    if found is None:
        return reason[:1].lower() + reason[1:]
    what = found["what"].strip()
    return f"{what[:1].lower()}{what[1:].lower()} at ({found['x']}, {found['y']})"


def parts_of(geometry: BaseGeometry, part: type[BaseGeometry]) -> list[BaseGeometry]:
    """Return the non-empty simple geometries of type `part` inside `geometry`, collections flattened."""
    if isinstance(geometry, part):
        return [] if geometry.is_empty else [geometry]
    if isinstance(geometry, GeometryCollection | MultiPolygon | MultiLineString | MultiPoint):
        return [p for g in geometry.geoms for p in parts_of(g, part)]
    return []


def assemble(parts: list[BaseGeometry], part: type[BaseGeometry], single: bool) -> BaseGeometry:
    """Return `parts` as one geometry: the part itself when there is one, else the multi-geometry."""
    if len(parts) == 1 or single:
        return parts[0]
    if part is Polygon:
        return MultiPolygon(cast(list[Polygon], parts))
    if part is LineString:
        return MultiLineString(cast(list[LineString], parts))
    return MultiPoint(cast(list[Point], parts))


def check_geometry(geometry: BaseGeometry | None, geometry_type: str) -> CheckedGeometry:
    """Return `geometry` checked for a layer of PostGIS type `geometry_type` ("MULTIPOLYGON", "POINT", …)."""
    part = PART_OF_TYPE[geometry_type]
    family = FAMILY_NAME[part]
    single = not geometry_type.startswith("MULTI")
    if geometry is None:
        return CheckedGeometry(None, reason="null geometry")
    if geometry.is_empty:
        return CheckedGeometry(None, reason="empty geometry")
    if not np.isfinite(shapely.get_coordinates(geometry, include_z=False)).all():
        return CheckedGeometry(None, reason="non-finite coordinates")
    geometry = shapely.force_2d(geometry)
    parts = parts_of(geometry, part)
    if not parts:
        return CheckedGeometry(None, reason=f"{geometry.geom_type} geometry in {family} layer")
    if single and len(parts) > 1:
        return CheckedGeometry(None, reason=f"{len(parts)} {family}s where the {family} layer holds one")
    mixed = isinstance(geometry, GeometryCollection) and len(parts) < len(geometry.geoms)
    kept = assemble(parts, part, single)
    if kept.is_valid:
        return CheckedGeometry(kept, repaired=mixed, reason="dropped parts of other kinds" if mixed else "")
    problem = describe_invalidity(kept)
    fixed = parts_of(shapely.make_valid(kept), part)
    if not fixed or (single and len(fixed) > 1):
        return CheckedGeometry(None, reason=f"{problem} could not be repaired into a {family}")
    repaired = assemble(fixed, part, single)
    if not repaired.is_valid:
        return CheckedGeometry(None, reason=f"{problem} could not be repaired into a valid {family}")
    return CheckedGeometry(repaired, repaired=True, reason=f"repaired {problem}")
