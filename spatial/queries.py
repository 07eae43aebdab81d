"""Spatial questions over the layers: what is here, what is near, what is inside, page by page.

Distances are in metres on the WGS84 spheroid (PostGIS geography); candidates are found with the
GiST index on the 4326 geometry first. Layer names come from :data:`spatial.schema.LAYERS` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shapely import Polygon
from sqlalchemy import Connection, Engine, text

from spatial.schema import LAYERS

POLYGON_LAYERS = ("buildings", "grids", "boundaries", "parcels")


@dataclass(frozen=True)
class Hit:
    """A feature found by a spatial query: its uid, layer, name and (when asked) distance."""

    uid: str
    layer: str
    name: str | None = None
    distance_m: float | None = None


@dataclass(frozen=True)
class Page:
    """One page of a listing; pass `next_after` back to get the next one (None at the end)."""

    items: list[Hit]
    next_after: str | None


def _checked(layers: Sequence[str]) -> list[str]:
    unknown = [name for name in layers if name not in LAYERS]
    if unknown:
        raise ValueError(f"unknown layer(s) {', '.join(unknown)}; layers are {', '.join(LAYERS)}")
    return list(layers)


def _name(layer: str) -> str:
    return "name" if "name" in LAYERS[layer].table.c else "NULL"


def _point(lon: float, lat: float) -> dict[str, float]:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"({lon}, {lat}) is not a WGS84 longitude/latitude")
    return {"lon": lon, "lat": lat}


def _rows(conn: Connection | Engine, sql: str, **params: object) -> list[Hit]:
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return _rows(c, sql, **params)
    return [Hit(*row) for row in conn.execute(text(sql), params)]


def at_point(conn: Connection | Engine, lon: float, lat: float, layers: Sequence[str] = POLYGON_LAYERS) -> list[Hit]:
    """Return the polygon features containing a point (the building, grid, estate … it is in)."""
    parts = [
        f"SELECT uid, '{layer}', {_name(layer)}::text, NULL::float FROM {layer} "
        "WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
        for layer in _checked(layers)
    ]
    return _rows(conn, " UNION ALL ".join(parts) + " ORDER BY 2, 1", **_point(lon, lat))


def within_radius(
    conn: Connection | Engine,
    lon: float,
    lat: float,
    metres: float,
    layers: Sequence[str] = ("buildings", "devices", "entrances"),
    limit: int = 1000,
) -> list[Hit]:
    """Return features within `metres` of a point, nearest first."""
    if metres <= 0:
        raise ValueError("radius must be positive")
    centre = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography"
    parts = [
        f"SELECT uid, '{layer}', {_name(layer)}::text, ST_Distance(geom::geography, {centre}) AS d FROM {layer} "
        f"WHERE ST_DWithin(geom::geography, {centre}, :metres)"
        for layer in _checked(layers)
    ]
    sql = " UNION ALL ".join(parts) + " ORDER BY d, 1 LIMIT :limit"
    return _rows(conn, sql, **_point(lon, lat), metres=metres, limit=limit)


def within_polygon(
    conn: Connection | Engine,
    polygon: Polygon,
    layers: Sequence[str] = ("buildings", "devices", "entrances"),
    limit: int = 1000,
) -> list[Hit]:
    """Return features that lie inside (or cross) a WGS84 polygon."""
    if not polygon.is_valid or polygon.is_empty:
        raise ValueError("the polygon is empty or invalid")
    area = "ST_GeomFromText(:wkt, 4326)"
    parts = [
        f"SELECT uid, '{layer}', {_name(layer)}::text, NULL::float FROM {layer} WHERE ST_Intersects(geom, {area})"
        for layer in _checked(layers)
    ]
    return _rows(conn, " UNION ALL ".join(parts) + " ORDER BY 2, 1 LIMIT :limit", wkt=polygon.wkt, limit=limit)


def nearest_devices(
    conn: Connection | Engine,
    lon: float,
    lat: float,
    *,
    category: str | None = None,
    k: int = 5,
    max_metres: float | None = None,
) -> list[Hit]:
    """Return the `k` devices nearest a point, optionally of one category (the camera nearest an alarm)."""
    centre = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
    # order candidates with the index's KNN operator, then measure them on the spheroid
    sql = (
        "SELECT uid, 'devices', name, d FROM ("
        f"  SELECT uid, name, ST_Distance(geom::geography, {centre}::geography) AS d FROM devices"
        "   WHERE (CAST(:category AS text) IS NULL OR category = :category)"
        f"  ORDER BY geom <-> {centre} LIMIT :candidates"
        ") near WHERE (CAST(:max_metres AS float) IS NULL OR d <= :max_metres) ORDER BY d, uid LIMIT :k"
    )
    return _rows(
        conn, sql, **_point(lon, lat), category=category, k=k, candidates=max(k * 4, 20), max_metres=max_metres
    )


def in_bbox(
    conn: Connection | Engine,
    layer: str,
    bbox: tuple[float, float, float, float],
    *,
    after: str | None = None,
    limit: int = 100,
) -> Page:
    """List a layer's features inside (min lon, min lat, max lon, max lat), in uid order, a page at a time."""
    (name,) = _checked([layer])
    west, south, east, north = bbox
    if not (west < east and south < north):
        raise ValueError(f"bbox {bbox} must be (west, south, east, north) with west < east and south < north")
    sql = (
        f"SELECT uid, '{name}', {_name(name)}::text, NULL::float FROM {name} "
        "WHERE geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326) "
        "AND (CAST(:after AS text) IS NULL OR uid > :after) ORDER BY uid LIMIT :limit"
    )
    items = _rows(conn, sql, west=west, south=south, east=east, north=north, after=after, limit=limit + 1)
    more = len(items) > limit
    return Page(items[:limit], items[limit - 1].uid if more else None)


def grid_assignments(conn: Connection | Engine, layer: str) -> dict[str, str]:
    """Return, for each feature of `layer`, the grid its point-on-surface falls in (smallest grid wins)."""
    (name,) = _checked([layer])
    sql = (
        f"SELECT DISTINCT ON (f.uid) f.uid, g.uid FROM {name} f "
        "JOIN grids g ON ST_Contains(g.geom, ST_PointOnSurface(f.geom)) "
        "ORDER BY f.uid, ST_Area(g.geom), g.uid"
    )
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return grid_assignments(c, layer)
    return {str(a): str(b) for a, b in conn.execute(text(sql))}


@dataclass(frozen=True)
class BuildingRow:
    """A stored footprint's attributes and the point on its surface (WGS84)."""

    uid: str
    code: str | None
    name: str | None
    address: str | None
    floors: int | None
    height_m: float | None
    lon: float
    lat: float


def buildings_by_uid(conn: Connection | Engine, uids: Sequence[str]) -> list[BuildingRow]:
    """Return the stored buildings among `uids`, each with a point on its footprint."""
    sql = (
        "SELECT uid, code, name, address, floors, height_m, "
        "ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
        "FROM buildings WHERE uid = ANY(:uids) ORDER BY uid"
    )
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return buildings_by_uid(c, uids)
    return [BuildingRow(*row) for row in conn.execute(text(sql), {"uids": list(uids)})]
