"""Which of our layers a layer of a file goes to, from its name, checked against its geometry type.

A file layer maps to one of ours when a word of its name is one of :data:`LAYER_WORDS`
(``bubenec_streets`` → ``roads``, ``BuildingFootprints`` → ``buildings``) and its declared geometry
type, if any, fits that layer. The geometry type alone never picks a layer: polygons could be
buildings or parcels, so a file layer with an unknown name is skipped unless a target is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LAYER_WORDS: dict[str, tuple[str, ...]] = {
    "buildings": ("building", "buildings", "footprint", "footprints"),
    "roads": ("road", "roads", "street", "streets", "highway", "highways"),
    "parcels": ("parcel", "parcels", "plot", "plots"),
    "entrances": ("entrance", "entrances", "address", "addresses"),
}

FAMILY_OF_LAYER: dict[str, str] = {
    "boundaries": "Polygon",
    "buildings": "Polygon",
    "parcels": "Polygon",
    "grids": "Polygon",
    "roads": "LineString",
    "trajectories": "LineString",
    "entrances": "Point",
    "devices": "Point",
}
"""The simple geometry type each of our layers is made of."""

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@dataclass(frozen=True)
class LayerMatch:
    """Our layer for a file layer (`target`), or None and the `reason` it was not matched."""

    target: str | None
    reason: str = ""


def words(name: str) -> list[str]:
    """Return the lower-case words of a layer name, split at punctuation and camelCase humps."""
    return [w.lower() for w in _WORDS.findall(name)]


def geometry_family(geometry_type: str | None) -> str | None:
    """Return ``"Polygon"``, ``"LineString"`` or ``"Point"`` for an OGR geometry type name, else None.

    ``"MultiPolygon Z"`` gives ``"Polygon"``; ``"Unknown"`` and ``"GeometryCollection"`` give None.
    """
    if geometry_type is None:
        return None
    base = geometry_type.replace("3D ", "").split(" ")[0].removeprefix("Multi")
    return base if base in ("Polygon", "LineString", "Point") else None


def match_layer(name: str, geometry_type: str | None) -> LayerMatch:
    """Return the layer of ours that the file layer `name` holding `geometry_type` maps to."""
    found = set(words(name))
    targets = sorted(layer for layer, names in LAYER_WORDS.items() if found & set(names))
    if not targets:
        return LayerMatch(None, f"layer {name!r} maps to none of ours (by its name); pass a target to import it")
    if len(targets) > 1:
        return LayerMatch(None, f"layer {name!r} could be any of {', '.join(targets)}; pass a target")
    target = targets[0]
    if geometry_type is None:
        return LayerMatch(None, f"layer {name!r} has no geometry")
    family = geometry_family(geometry_type)
    if family is not None and family != FAMILY_OF_LAYER[target]:
        return LayerMatch(None, f"layer {name!r} holds {geometry_type} geometry, not fit for {target}")
    return LayerMatch(target)
