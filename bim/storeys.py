"""Storeys of a building and their floor numbers, and which storey an element is on.

Floor numbers follow the Storey model: 1 is the ground floor, negative numbers are below ground,
there is no 0. The ground storey is the lowest storey whose Pset_BuildingStoreyCommon says
``EntranceLevel``; without that, the storey whose elevation is nearest 0 m (ties: the higher).
Storeys are ordered by elevation (then GlobalId); those below the ground storey count -1, -2, …
downwards and those above 2, 3, … upwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ifcopenshell.util.element
import ifcopenshell.util.placement

from bim.model import IfcModel, attribute

MAX_DEPTH = 32  # of containment and aggregation walked up from an element


@dataclass(frozen=True, eq=False)
class StoreyInfo:
    """One IfcBuildingStorey: its floor number and elevation in metres."""

    entity: Any
    number: int
    elevation_m: float

    @property
    def guid(self) -> str:
        return str(self.entity.GlobalId)

    @property
    def name(self) -> str | None:
        return self.entity.Name or attribute(self.entity, "LongName") or None


def elevation_m(storey: Any, length_scale: float) -> float:
    """Return a storey's elevation in metres: its placement's Z, else its Elevation attribute."""
    return float(ifcopenshell.util.placement.get_storey_elevation(storey)) * length_scale


def _is_entrance(storey: Any) -> bool:
    common = ifcopenshell.util.element.get_pset(storey, "Pset_BuildingStoreyCommon") or {}
    return common.get("EntranceLevel") is True


def number_storeys(model: IfcModel) -> list[StoreyInfo]:
    """Return the model's storeys, lowest first, with floor numbers by the module's rule."""
    ordered = sorted(
        ((elevation_m(s, model.length_scale), str(s.GlobalId), s) for s in model.by_type("IfcBuildingStorey")),
        key=lambda t: (t[0], t[1]),
    )
    if not ordered:
        return []
    entrances = [i for i, (_, _, s) in enumerate(ordered) if _is_entrance(s)]
    nearest = min(range(len(ordered)), key=lambda i: (abs(ordered[i][0]), -ordered[i][0]))
    ground = entrances[0] if entrances else nearest
    return [
        StoreyInfo(entity=s, number=i - ground + 1 if i >= ground else i - ground, elevation_m=round(z, 4))
        for i, (z, _, s) in enumerate(ordered)
    ]


def storey_of(element: Any) -> Any | None:
    """Return the IfcBuildingStorey an element is on, through containment, spaces and aggregates."""
    node = element
    for _ in range(MAX_DEPTH):
        if node is None or node.is_a("IfcBuildingStorey"):
            return node
        if node.is_a("IfcSpatialStructureElement") or node.is_a("IfcSpatialElement"):
            node = ifcopenshell.util.element.get_aggregate(node) or _containing_structure(node)
        else:
            node = ifcopenshell.util.element.get_container(node)
    return None


def _containing_structure(spatial: Any) -> Any | None:
    """Return the structure a spatial element is contained in.

    Spaces are aggregated into storeys, but some exporters (IFC Engine) contain them instead,
    which IFC2X3's inverse attributes do not show.
    """
    for rel in spatial.file.get_inverse(spatial):
        if rel.is_a("IfcRelContainedInSpatialStructure") and rel.RelatingStructure is not None:
            return rel.RelatingStructure
    return None


def direct_space(element: Any) -> Any | None:
    """Return the IfcSpace an element is contained in directly, if it is."""
    container: Any = ifcopenshell.util.element.get_container(element, should_get_direct=True)
    return container if container is not None and container.is_a("IfcSpace") else None
