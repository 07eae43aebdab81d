"""Anchoring the graph to the map: footprints, device points, estate and grid polygons, search.

The graph and the map share uids; this module, which may see both stores, keeps them in step:
it places a generated community on footprints (real ones from a GIS file, or drawn from each
building's size), writes the layers for it, indexes its entities for search, and turns imported
footprints and grid polygons into graph nodes and IN_GRID relationships.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from shapely import MultiPoint, Point, Polygon, affinity, box, unary_union
from sqlalchemy import Connection

from graph import Building, Device, Estate, GraphStore, Grid, House, InGrid, Link, Node, ResponsibleFor, uid, validate
from graph.generator import Community
from spatial import Feature, write_features
from spatial.queries import buildings_by_uid, grid_assignments
from spatial.search import Document, index_documents

METRES_PER_DEGREE = 111_320.0


def _metres_to_degrees(lat: float) -> tuple[float, float]:
    return 1 / (METRES_PER_DEGREE * math.cos(math.radians(lat))), 1 / METRES_PER_DEGREE


def drawn_footprint(building: Building) -> Polygon:
    """Return a slab-shaped footprint (3:1, east-west) around a building's point, sized from its floor area."""
    assert building.lon is not None and building.lat is not None
    per_floor = (building.floor_area_m2 or 600.0) / building.floors_above
    area = min(max(per_floor, 150.0), 2500.0)
    width = math.sqrt(area / 3)
    dx, dy = _metres_to_degrees(building.lat)
    half_w, half_h = 1.5 * width * dx, 0.5 * width * dy
    return box(building.lon - half_w, building.lat - half_h, building.lon + half_w, building.lat + half_h)


@dataclass
class Placement:
    """Where each generated building stands: its footprint in WGS84."""

    footprints: dict[str, Polygon]


def place(community: Community, footprints: Sequence[Polygon] | None = None) -> Placement:
    """Give every building of `community` a footprint and move its nodes there (in place).

    With real `footprints`, each estate takes a compact block of them nearest the centre of the
    file, buildings in the generator's order (grid by grid); everything located by a building
    (houses, devices) moves with it, everything located by an estate moves with the estate.
    Without them, footprints are drawn around the generated coordinates.
    """
    buildings = [n for n in community.nodes if isinstance(n, Building)]
    if footprints is None:
        return Placement({b.uid: drawn_footprint(b) for b in buildings})
    usable = [f for f in footprints if f.area > 0]
    if len(usable) < len(buildings):
        raise ValueError(
            f"the GIS file has {len(usable)} usable footprints but the community needs {len(buildings)}; "
            "generate fewer residents or use a larger area"
        )
    centre = unary_union(usable).centroid
    chosen = sorted(usable, key=lambda f: f.centroid.distance(centre))[: len(buildings)]
    chosen.sort(key=lambda f: (f.centroid.x, f.centroid.y))  # west to east, so estates stay compact
    assigned = {b.uid: f for b, f in zip(buildings, _by_estate(community, chosen), strict=True)}
    _move(community, {u: (f.centroid.x, f.centroid.y) for u, f in assigned.items()})
    return Placement(assigned)


def _by_estate(community: Community, footprints: list[Polygon]) -> list[Polygon]:
    """Order footprints to match the buildings' order, giving each estate a contiguous block in rows."""
    estate_of = _parents(community, "LOCATED_IN")
    counts: dict[str, int] = defaultdict(int)
    for n in community.nodes:
        if isinstance(n, Building):
            counts[estate_of[n.uid]] += 1
    out: list[Polygon] = []
    start = 0
    for size in counts.values():
        block = footprints[start : start + size]
        start += size
        out += sorted(block, key=lambda f: (-round(f.centroid.y, 4), f.centroid.x))
    return out


def _parents(community: Community, rel_type: str) -> dict[str, str]:
    return {link.start: link.end for link in community.links if link.type == rel_type}


def _move(community: Community, positions: dict[str, tuple[float, float]]) -> None:
    """Move buildings to `positions` and shift everything anchored to them by the same offset."""
    nodes = {n.uid: n for n in community.nodes}
    shift: dict[str, tuple[float, float]] = {}
    for b_uid, (lon, lat) in positions.items():
        b = nodes[b_uid]
        assert isinstance(b, Building) and b.lon is not None and b.lat is not None
        shift[b_uid] = (lon - b.lon, lat - b.lat)
    estate_of = _parents(community, "LOCATED_IN")
    per_estate: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for b_uid, offset in list(shift.items()):
        per_estate[estate_of[b_uid]].append(offset)
    for e_uid, offsets in per_estate.items():
        shift[e_uid] = (sum(o[0] for o in offsets) / len(offsets), sum(o[1] for o in offsets) / len(offsets))
    everywhere = (
        sum(o[0] for o in shift.values()) / len(shift),
        sum(o[1] for o in shift.values()) / len(shift),
    )
    anchor = _anchors(community, nodes)
    moved = []
    for n in community.nodes:
        here: tuple[float | None, float | None] = (getattr(n, "lon", None), getattr(n, "lat", None))
        if here[0] is None or here[1] is None:
            moved.append(n)
            continue
        dx, dy = shift.get(anchor.get(n.uid, ""), everywhere)
        moved.append(n.model_copy(update={"lon": round(here[0] + dx, 7), "lat": round(here[1] + dy, 7)}))
    community.nodes[:] = moved


def _anchors(community: Community, nodes: dict[str, Node]) -> dict[str, str]:
    """Map each located node to the building or estate it moves with."""
    located_in = _parents(community, "LOCATED_IN")
    installed_in = _parents(community, "INSTALLED_IN")

    def up(u: str) -> str:
        while u in located_in and uid.label_of(u) not in ("Building", "Estate"):
            u = located_in[u]
        return u

    anchor = {}
    for n in nodes.values():
        if isinstance(n, Building | Estate):
            anchor[n.uid] = n.uid
        elif isinstance(n, House):
            anchor[n.uid] = uid.building(n.building_code)
        elif n.uid in installed_in:
            anchor[n.uid] = up(installed_in[n.uid])
        elif n.uid in located_in:
            anchor[n.uid] = up(located_in[n.uid])
    return anchor


def layer_features(community: Community, placement: Placement) -> dict[str, list[Feature]]:
    """Return the map layers of a placed community: buildings, devices, estate and grid polygons."""
    source = f"generator:seed={community.seed}"
    nodes = {n.uid: n for n in community.nodes}
    features: dict[str, list[Feature]] = defaultdict(list)
    for b_uid, footprint in placement.footprints.items():
        b = nodes[b_uid]
        assert isinstance(b, Building)
        columns = {"code": b.code, "name": b.name, "address": b.address, "floors": b.floors_above}
        features["buildings"].append(Feature(b_uid, footprint, source, columns | {"height_m": b.height_m}))
    for d in (n for n in community.nodes if isinstance(n, Device)):
        if d.lon is not None and d.lat is not None:
            columns = {"code": d.code, "name": d.name, "category": d.category, "floor": d.floor, "online": d.online}
            features["devices"].append(Feature(d.uid, Point(d.lon, d.lat), source, columns))
    located_in = _parents(community, "LOCATED_IN")
    by_estate: dict[str, list[Polygon]] = defaultdict(list)
    for b_uid, footprint in placement.footprints.items():
        by_estate[located_in[b_uid]].append(footprint)
    for e_uid, prints in by_estate.items():
        e = nodes[e_uid]
        assert isinstance(e, Estate)
        outline = _outline(prints, margin_m=25)
        features["boundaries"].append(
            Feature(e_uid, outline, source, {"kind": "estate", "code": e.code, "name": e.name})
        )
    by_grid: dict[str, list[Polygon]] = defaultdict(list)
    for link in community.links:
        if isinstance(link, InGrid) and link.start in placement.footprints:
            by_grid[link.end].append(placement.footprints[link.start])
    workers: dict[str, list[dict[str, str]]] = defaultdict(list)
    for link in community.links:
        if isinstance(link, ResponsibleFor):
            workers[link.end].append({"role": link.role, "uid": link.start})
    for g_uid, prints in by_grid.items():
        g = nodes[g_uid]
        assert isinstance(g, Grid)
        grid_columns = {"code": g.code, "name": g.name, "workers": workers[g_uid]}
        features["grids"].append(Feature(g_uid, _outline(prints, margin_m=8), source, grid_columns))
    return features


def _outline(footprints: Sequence[Polygon], margin_m: float) -> Polygon:
    """Return the convex hull of footprints grown by `margin_m` metres."""
    hull = MultiPoint([c for f in footprints for c in f.exterior.coords]).convex_hull
    dx, dy = _metres_to_degrees(hull.centroid.y)
    grown = affinity.scale(hull, 1 / dx, 1 / dy, origin=hull.centroid).buffer(margin_m, join_style="mitre")
    return affinity.scale(grown, dx, dy, origin=hull.centroid)


def write_layers(conn: Connection, features: dict[str, list[Feature]]) -> dict[str, int]:
    """Write layer features in one transaction (the caller's); return rows per layer."""
    return {layer: write_features(conn, layer, rows) for layer, rows in features.items()}


def map_community(conn: Connection, community: Community, placement: Placement) -> dict[str, int]:
    """Write a placed community's map layers and search index (the caller's transaction); return rows per table."""
    rows = write_layers(conn, layer_features(community, placement))
    rows["search documents"] = index_documents(conn, search_documents(community.nodes))
    return rows


def search_documents(nodes: Iterable[Node]) -> Iterator[Document]:
    """Return a search document per node: its caption, and its searchable properties as the body."""
    for n in nodes:
        title = getattr(n, n.caption, None)
        if title is None:
            continue
        words = []
        for field in n.searchable:
            value = getattr(n, field, None)
            words += [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else []
        yield Document(n.uid, n.label, str(title), " ".join(words))


def link_to_grids(store: GraphStore, conn: Connection, layers: Sequence[str] = ("buildings", "devices")) -> int:
    """Assign features to the grid whose polygon holds them (9.1.1) and write IN_GRID to the graph."""
    links: list[Link] = []
    for layer in layers:
        for feature_uid, grid_uid in grid_assignments(conn, layer).items():
            links.append(InGrid(start=feature_uid, end=grid_uid, source="geometry"))
    present = store.get_many(u for link in links for u in (link.start, link.end))
    return store.link(link for link in links if link.start in present and link.end in present)


def footprints_from(path: str, layer: str | None = None) -> list[Polygon]:
    """Return the building footprints of a GIS file in WGS84 (the largest part of multipolygons)."""
    import geopandas as gpd

    frame = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    if frame.crs is None:
        raise ValueError(f"{path} has no CRS")
    polygons = []
    for geometry in frame.to_crs(4326).geometry:
        if geometry is None or geometry.is_empty:
            continue
        parts = list(geometry.geoms) if geometry.geom_type == "MultiPolygon" else [geometry]
        largest = max((p for p in parts if p.geom_type == "Polygon"), key=lambda p: p.area, default=None)
        if largest is not None:
            polygons.append(largest)
    return polygons


def anchor_buildings(store: GraphStore, conn: Connection, uids: Sequence[str], source: str) -> tuple[int, int]:
    """Match imported footprints to graph buildings by uid (their code), creating the missing ones.

    A building already in the graph keeps its attributes and gains the footprint's point when it
    had none; a new one takes code, name, address, floors and height from the footprint row.
    Return (matched, created).
    """
    rows = buildings_by_uid(conn, uids)
    existing = store.get_many(r.uid for r in rows)
    nodes: list[Node] = []
    for r in rows:
        if r.uid in existing:
            old = existing[r.uid]
            if getattr(old, "lon", None) is None:
                nodes.append(old.model_copy(update={"lon": round(r.lon, 7), "lat": round(r.lat, 7)}))
            continue
        code = r.code or r.uid.partition(":")[2]
        nodes.append(
            validate(
                Building,
                {
                    "uid": r.uid,
                    "source": source,
                    "code": code,
                    "name": r.name or code,
                    "address": r.address,
                    "floors_above": max(r.floors or 1, 1),
                    "height_m": r.height_m if r.height_m and r.height_m > 0 else None,
                    "lon": round(r.lon, 7),
                    "lat": round(r.lat, 7),
                },
            )
        )
    store.upsert(nodes)
    return len(existing), len(rows) - len(existing)
