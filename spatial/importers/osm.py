"""OpenStreetMap files (XML ``.osm``, ``.osm.bz2``/``.gz``, PBF, O5M, OPL) through pyosmium.

The file is read in one pass of :class:`osmium.FileProcessor` with node locations and osmium's
area assembly (limited to relations tagged ``building``) and yields three layers, named like ours:

- ``buildings``: ways tagged ``building=*`` (their polygon is built here from the node locations,
  so an invalid outline is repaired or rejected like any other geometry instead of being dropped
  by the assembler) and ``type=multipolygon`` relations tagged ``building=*`` (assembled by osmium;
  one that cannot be assembled is rejected). ``name``, ``addr:*`` as ``address``,
  ``building:levels`` as ``floors``, ``height`` as ``height_m``.
- ``entrances``: nodes tagged ``entrance=*`` (kind ``entrance``), and nodes with
  ``addr:housenumber`` that are not an entrance and not tagged ``building``/``building:part``
  (kind ``address``).
- ``roads``: ways tagged ``highway=*``, kind the ``highway`` value.

Keys are the OSM ids: ``osm-n1``, ``osm-w2``, ``osm-r3``. Other tags go into ``props``.
Coordinates in OSM are WGS84 by definition, so a CRS given for an OSM file is not used.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import osmium
import osmium.filter
import osmium.geom
import osmium.osm
import shapely
from pyproj import CRS
from shapely import LineString, MultiLineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from spatial.errors import UnreadableSource
from spatial.importers.keys import COMPRESSION_SUFFIXES
from spatial.importers.source import LayerInfo, PlannedLayer, SourceFeature, SourceLayer, geojson_feature

logger = logging.getLogger(__name__)

OSM_SUFFIXES: tuple[str, ...] = (".osm", ".pbf", ".o5m", ".opl")
LAYER_GEOMETRY: dict[str, str] = {"buildings": "MultiPolygon", "entrances": "Point", "roads": "LineString"}
WGS84 = CRS.from_epsg(4326)


def address(tags: Mapping[str, str]) -> str | None:
    """Return one line of address from ``addr:*`` tags: ``"Mauerstraße 75, 10117 Berlin"``."""
    if "addr:full" in tags:
        return tags["addr:full"]
    street = " ".join(t for t in (tags.get("addr:street") or tags.get("addr:place"), tags.get("addr:housenumber")) if t)
    place = " ".join(t for t in (tags.get("addr:postcode"), tags.get("addr:city")) if t)
    return ", ".join(t for t in (street, place) if t) or None


def building_columns(tags: Mapping[str, str]) -> dict[str, Any]:
    """Return the buildings columns from a building's tags (numbers still as text)."""
    return {
        "name": tags.get("name"),
        "address": address(tags),
        "floors": tags.get("building:levels"),
        "height_m": tags.get("height"),
    }


def _props(tags: Mapping[str, str], *used: str) -> dict[str, Any]:
    return {k: v for k, v in tags.items() if k not in used}


def _tagged(tags: Mapping[str, str], key: str) -> bool:
    return tags.get(key, "no") != "no"


@dataclass
class _Layers:
    buildings: list[SourceFeature] = field(default_factory=list)
    entrances: list[SourceFeature] = field(default_factory=list)
    roads: list[SourceFeature] = field(default_factory=list)
    relations: dict[int, tuple[dict[str, str], int]] = field(default_factory=dict)
    areas: dict[int, BaseGeometry] = field(default_factory=dict)


class OsmImporter:
    """Reads OpenStreetMap files into buildings, entrances and roads."""

    name = "osm"

    def accepts(self, path: Path) -> bool:
        """Return True for names ending in an OSM suffix, compressed or not (``.osm.bz2``)."""
        name = path.name.lower()
        for suffix in COMPRESSION_SUFFIXES:
            name = name.removesuffix(suffix)
        return name.endswith(OSM_SUFFIXES)

    def layers(self, path: Path) -> list[LayerInfo]:
        """Return the three layers an OSM file yields; their sizes are known only once read."""
        return [LayerInfo(name, geometry, None, "EPSG:4326") for name, geometry in LAYER_GEOMETRY.items()]

    def read(self, path: Path, plan: Sequence[PlannedLayer]) -> list[SourceLayer]:
        """Return the planned layers read from the file in one pass."""
        for planned in plan:
            if not planned.crs.equals(WGS84):
                logger.warning("OSM coordinates are WGS84; ignoring crs", extra={"crs": planned.crs.to_string()})
        layers = self._parse(path)
        by_name = {"buildings": layers.buildings, "entrances": layers.entrances, "roads": layers.roads}
        return [SourceLayer(p.info.name, p.target, by_name[p.info.name]) for p in plan]

    def _parse(self, path: Path) -> _Layers:
        layers = _Layers()
        wkb = osmium.geom.WKBFactory()
        processor = osmium.FileProcessor(str(path)).with_locations().with_areas(osmium.filter.KeyFilter("building"))
        try:
            for obj in processor:
                if isinstance(obj, osmium.osm.Changeset) or not obj.tags:
                    continue
                if isinstance(obj, osmium.osm.Node):
                    self._node(obj, layers)
                elif isinstance(obj, osmium.osm.Way):
                    self._way(obj, layers)
                elif isinstance(obj, osmium.osm.Relation):
                    tags = {t.k: t.v for t in obj.tags}
                    if tags.get("type") == "multipolygon" and _tagged(tags, "building"):
                        layers.relations[obj.id] = (tags, len(obj.members))
                elif isinstance(obj, osmium.osm.Area) and not obj.from_way():
                    try:
                        layers.areas[obj.orig_id()] = shapely.from_wkb(wkb.create_multipolygon(obj))
                    except RuntimeError:
                        continue  # rejected below, with the relation's tags
        except RuntimeError as exc:
            raise UnreadableSource(path, str(exc)) from exc
        for rid, (tags, members) in layers.relations.items():
            key, geometry = f"osm-r{rid}", layers.areas.get(rid)
            problem = (
                ""
                if geometry is not None
                else f"multipolygon relation of {members} member(s) could not be assembled into a polygon "
                "(members missing from the file or rings not closed)"
            )
            layers.buildings.append(
                SourceFeature(
                    key,
                    geometry,
                    columns=building_columns(tags),
                    props=_props(tags, "name", "building:levels", "height"),
                    raw=partial(geojson_feature, key, geometry, tags),
                    problem=problem,
                )
            )
        return layers

    def _node(self, node: osmium.osm.Node, layers: _Layers) -> None:
        tags = {t.k: t.v for t in node.tags}
        if _tagged(tags, "entrance"):
            kind = "entrance"
        elif "addr:housenumber" in tags and not (_tagged(tags, "building") or _tagged(tags, "building:part")):
            kind = "address"
        else:
            return
        key = f"osm-n{node.id}"
        located = node.location.valid()
        geometry = Point(node.location.lon, node.location.lat) if located else None
        layers.entrances.append(
            SourceFeature(
                key,
                geometry,
                columns={"kind": kind, "name": tags.get("name") or tags.get("ref"), "address": address(tags)},
                props=_props(tags, "name"),
                raw=partial(geojson_feature, key, geometry, tags),
                problem="" if located else "node has no valid location",
            )
        )

    def _way(self, way: osmium.osm.Way, layers: _Layers) -> None:
        tags = {t.k: t.v for t in way.tags}
        refs = [n.ref for n in way.nodes]
        located = [(n.lon, n.lat) if n.location.valid() else None for n in way.nodes]
        key = f"osm-w{way.id}"
        if _tagged(tags, "building"):
            layers.buildings.append(self._building_way(key, tags, refs, located))
        elif "highway" in tags:
            layers.roads.append(self._road(key, tags, located))

    def _building_way(
        self, key: str, tags: dict[str, str], refs: list[int], located: list[tuple[float, float] | None]
    ) -> SourceFeature:
        coords = [c for c in located if c is not None]
        missing = len(located) - len(coords)
        geometry: BaseGeometry | None = None
        if missing:
            problem = f"{missing} of {len(refs)} nodes of the way are missing from the file"
        elif len(refs) < 4:
            problem = f"way of {len(refs)} node(s) is too short to outline a polygon"
        elif refs[0] != refs[-1]:
            problem = "way is not closed"
        else:
            problem, geometry = "", Polygon(coords)
        shown = geometry if geometry is not None else _outline(coords)
        return SourceFeature(
            key,
            geometry,
            columns=building_columns(tags),
            props=_props(tags, "name", "building:levels", "height"),
            raw=partial(geojson_feature, key, shown, tags, nodes=refs),
            problem=problem,
        )

    def _road(self, key: str, tags: dict[str, str], located: list[tuple[float, float] | None]) -> SourceFeature:
        runs: list[list[tuple[float, float]]] = [[]]
        for coord in located:
            if coord is None:
                runs.append([])
            else:
                runs[-1].append(coord)
        lines = [LineString(run) for run in runs if len(run) >= 2]
        missing = sum(c is None for c in located)
        geometry = (lines[0] if len(lines) == 1 else MultiLineString(lines)) if lines else None
        return SourceFeature(
            key,
            geometry,
            columns={"kind": tags["highway"], "name": tags.get("name")},
            props=_props(tags, "name", "highway"),
            raw=partial(geojson_feature, key, geometry if geometry is not None else _outline(located), tags),
            problem="" if lines else _short_way(len(located), missing),
            repair=f"kept the parts between {missing} missing node(s)" if missing and lines else "",
        )


def _short_way(nodes: int, missing: int) -> str:
    if missing:
        return f"{missing} of {nodes} nodes of the way are missing from the file, leaving no line"
    return f"way of {nodes} node(s) is too short to draw a line"


def _outline(coords: Sequence[tuple[float, float] | None]) -> BaseGeometry | None:
    present = [c for c in coords if c is not None]
    if len(present) >= 2:
        return LineString(present)
    return Point(present[0]) if present else None
