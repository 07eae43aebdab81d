"""Mapbox vector tiles of the layers: built in PostGIS for tables, in Python for dynamic overlays.

Base layers are served from SQL (`ST_AsMVT` over `ST_TileEnvelope`, measured ~16x faster than
building the same tiles in Python, see DESIGN.md); overlays that live in no table (alarms,
trajectories being replayed, analysis results) are encoded with `mapbox_vector_tile` on the same
grid, extent and buffer, so a client decodes both kinds the same way. A tile carries only its
layer's `tile_attributes` (:data:`spatial.schema.LAYERS`): every other column, and `props`,
never reaches a tile.

Errors raised here, in the :class:`spatial.errors.SpatialError` tree::

    SpatialError
    ├── UnknownLayer(layer, available)
    │   └── UnknownTileLayer(layer, available)   no layer of that name in LAYERS (a LookupError)
    └── TileOutOfRange(z, x, y, reason)          z/x/y off the tile grid (a ValueError)

and a plain ValueError for an overlay attribute of a type a tile cannot carry.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import mapbox_vector_tile
import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Engine, TextClause, text

from spatial.errors import SpatialError, UnknownLayer
from spatial.schema import LAYERS, SRID, Layer

EXTENT: Final = 4096
"""Tile units per tile side, as PostGIS and every MVT client default to."""
BUFFER: Final = 64
"""Tile units kept beyond each edge, so strokes and labels continue across tile borders."""
MAX_ZOOM: Final = 24
"""Deepest zoom served: a z24 tile is ~2 m wide, a tile unit under a millimetre."""

WEB_MERCATOR: Final = 3857
_RADIUS = 6378137.0
_ORIGIN = math.pi * _RADIUS  # half the width of the Web Mercator square, in metres
_MAX_LATITUDE = 85.0511287798066
WORLD_BOUNDS: Final = (-180.0, -_MAX_LATITUDE, 180.0, _MAX_LATITUDE)

Bounds = tuple[float, float, float, float]
"""(west, south, east, north) or (minx, miny, maxx, maxy)."""


class UnknownTileLayer(UnknownLayer):
    """No layer named `layer` can be tiled; `available` lists, sorted, the names that can."""


class TileOutOfRange(SpatialError, ValueError):
    """`z/x/y` names no tile of the grid; `reason` says which coordinate and its range."""

    def __init__(self, z: int, x: int, y: int, reason: str) -> None:
        self.z, self.x, self.y, self.reason = z, x, y, reason
        super().__init__(f"tile {z}/{x}/{y} is outside the grid: {reason}")


def tile_layer(name: str) -> Layer:
    """Return the layer named `name`, or raise :class:`UnknownTileLayer`."""
    try:
        return LAYERS[name]
    except KeyError:
        raise UnknownTileLayer(name, sorted(LAYERS)) from None


def check_tile(z: int, x: int, y: int) -> None:
    """Raise :class:`TileOutOfRange` unless `z/x/y` is a tile of the grid served (z up to MAX_ZOOM)."""
    if not 0 <= z <= MAX_ZOOM:
        raise TileOutOfRange(z, x, y, f"z must be in 0..{MAX_ZOOM}")
    last = 2**z - 1
    if not 0 <= x <= last:
        raise TileOutOfRange(z, x, y, f"x must be in 0..{last} at zoom {z}")
    if not 0 <= y <= last:
        raise TileOutOfRange(z, x, y, f"y must be in 0..{last} at zoom {z}")


def tile_bounds(z: int, x: int, y: int) -> Bounds:
    """Return the Web Mercator bounds (minx, miny, maxx, maxy) of tile `z/x/y`, y counted from the north."""
    check_tile(z, x, y)
    size = 2 * _ORIGIN / 2**z
    return (-_ORIGIN + x * size, _ORIGIN - (y + 1) * size, -_ORIGIN + (x + 1) * size, _ORIGIN - y * size)


def etag_of(data: bytes) -> str:
    """Return a strong ETag (quoted, as sent in the header) for tile bytes."""
    return f'"{hashlib.blake2b(data, digest_size=16).hexdigest()}"'


# --- tiles built in PostGIS --------------------------------------------------------------------


def _quote(name: str) -> str:
    """Return `name` quoted as a PostgreSQL identifier (names come from LAYERS, never from a request)."""
    return '"' + name.replace('"', '""') + '"'


_GEOMETRY = "mvt_geom"  # the geometry column of the MVT row; no layer has an attribute of that name


def _tile_statement(layer: Layer) -> TextClause:
    columns = {c.name for c in layer.table.columns}
    missing = [a for a in layer.tile_attributes if a not in columns or a in ("geom", "props", _GEOMETRY)]
    if missing:  # a mistake in LAYERS, caught at import rather than in a tile
        raise ValueError(f"layer {layer.name!r}: tile attribute(s) {', '.join(missing)} cannot be tiled")
    attributes = ", ".join(f"t.{_quote(a)}" for a in layer.tile_attributes)
    # The bbox filter runs on the stored 4326 geometry (GiST index) with the tile grown by the
    # buffer, so features whose strokes reach into the buffer are kept, as ST_AsMVTGeom clips there.
    # ST_AsMVT skips the rows whose geometry ST_AsMVTGeom clipped away (NULL): filtering them in
    # SQL would run ST_AsMVTGeom twice per row.
    return text(
        f"""
        WITH bounds AS (
            SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
                   ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), {SRID}) AS area
        ), features AS (
            SELECT ST_AsMVTGeom(ST_Transform(t.geom, {WEB_MERCATOR}), bounds.tile, :extent, :buffer, true)
                       AS {_GEOMETRY},
                   {attributes}
            FROM {_quote(layer.table.name)} AS t, bounds
            WHERE t.geom && bounds.area
        )
        SELECT ST_AsMVT(features.*, :name, :extent, '{_GEOMETRY}') FROM features
        """
    )


def _version_statement(layer: Layer) -> TextClause:
    # Upserts keep `ingested_at`, so the newest row version (xmin, new for every inserted or
    # updated row) and the row count tell changes apart: only rows with an xmin at most the old
    # maximum can survive from the old contents, so an equal (count, max xmin) means equal rows
    # (until transaction ids wrap around, some 4 billion transactions on).
    return text(f"SELECT count(*), max(ingested_at), max(xmin::text::bigint) FROM {_quote(layer.table.name)}")


def _bounds_statement(layer: Layer) -> TextClause:
    return text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        f"FROM (SELECT ST_Extent(geom) AS e FROM {_quote(layer.table.name)}) AS extent"
    )


_TILE_SQL = {name: _tile_statement(layer) for name, layer in LAYERS.items()}
_VERSION_SQL = {name: _version_statement(layer) for name, layer in LAYERS.items()}
_BOUNDS_SQL = {name: _bounds_statement(layer) for name, layer in LAYERS.items()}


@contextmanager
def _connected(bind: Connection | Engine) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.connect() as conn:
            # each read is one statement: autocommit spares the BEGIN and ROLLBACK round trips
            yield conn.execution_options(isolation_level="AUTOCOMMIT")


def tile(bind: Connection | Engine, layer: str, z: int, x: int, y: int) -> bytes:
    """Return the vector tile `z/x/y` of `layer`, built by PostGIS; empty bytes when no feature is in it.

    The tile holds one MVT layer named `layer` whose features carry the layer's `tile_attributes`
    only (NULL values are left out). Extent :data:`EXTENT`, buffer :data:`BUFFER`, Web Mercator
    grid with y counted from the north (XYZ, as OpenStreetMap's tiles).
    """
    tile_layer(layer)
    check_tile(z, x, y)
    params = {"z": z, "x": x, "y": y, "margin": BUFFER / EXTENT, "extent": EXTENT, "buffer": BUFFER, "name": layer}
    with _connected(bind) as conn:
        data = conn.execute(_TILE_SQL[layer], params).scalar()
    return bytes(data) if data else b""


def layer_version(bind: Connection | Engine, layer: str) -> tuple[Any, ...]:
    """Return a value that changes whenever a row of `layer` is inserted, updated or deleted."""
    tile_layer(layer)
    with _connected(bind) as conn:
        row = conn.execute(_VERSION_SQL[layer]).one()
    return tuple(row)


def layer_bounds(bind: Connection | Engine, layer: str) -> Bounds | None:
    """Return the WGS84 bounds (west, south, east, north) of `layer`, or None when it is empty."""
    tile_layer(layer)
    with _connected(bind) as conn:
        row = conn.execute(_BOUNDS_SQL[layer]).one()
    if row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


@dataclass(frozen=True)
class Tile:
    """Tile bytes with their strong ETag (quoted, ready for the header)."""

    data: bytes
    etag: str

    @property
    def empty(self) -> bool:
        """True when no feature is in the tile."""
        return not self.data


_Key = tuple[str, int, int, int, tuple[Any, ...]]


class TileCache:
    """A bounded LRU of the PostGIS-built tiles of one database, keyed by tile and layer version.

    A layer's version (:func:`layer_version`) is read at most once per `version_ttl` seconds, so
    a write shows in tiles within that time; :meth:`invalidate` shows it at once. When a layer's
    version changes, its older tiles are dropped. Thread-safe: FastAPI calls it from a threadpool.

    Parameters
    ----------
    engine : Engine
        The database whose tiles are cached; one cache per database.
    maxsize : int
        The most tiles kept.
    max_bytes : int
        The most tile bytes kept.
    version_ttl : float
        Seconds a layer version is trusted before it is read again; 0 reads it for every tile.
    """

    def __init__(
        self, engine: Engine, maxsize: int = 4096, max_bytes: int = 64 * 2**20, version_ttl: float = 1.0
    ) -> None:
        if maxsize < 1 or max_bytes < 1 or version_ttl < 0:
            raise ValueError("maxsize and max_bytes must be positive and version_ttl not negative")
        self.engine, self.maxsize, self.max_bytes, self.version_ttl = engine, maxsize, max_bytes, version_ttl
        self.hits = self.misses = 0
        self._tiles: OrderedDict[_Key, Tile] = OrderedDict()
        self._bytes = 0
        self._versions: dict[str, tuple[tuple[Any, ...], float]] = {}
        self._bounds: dict[str, tuple[tuple[Any, ...], Bounds | None]] = {}
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tiles)

    def get(self, layer: str, z: int, x: int, y: int) -> Tile:
        """Return tile `z/x/y` of `layer` from the cache, building it in PostGIS when missing or stale."""
        tile_layer(layer)
        check_tile(z, x, y)
        version = self._trusted_version(layer)
        if version is not None and (cached := self._lookup((layer, z, x, y, version))) is not None:
            return cached
        with _connected(self.engine) as conn:  # a hit within the version TTL needs no connection
            if version is None:
                version = self._read_version(conn, layer)
                if (cached := self._lookup((layer, z, x, y, version))) is not None:
                    return cached
            data = tile(conn, layer, z, x, y)
        built = Tile(data, etag_of(data))
        with self._lock:
            self.misses += 1
            key = (layer, z, x, y, version)
            if key not in self._tiles:
                self._tiles[key] = built
                self._bytes += len(built.data)
            while self._tiles and (len(self._tiles) > self.maxsize or self._bytes > self.max_bytes):
                _, evicted = self._tiles.popitem(last=False)
                self._bytes -= len(evicted.data)
        return built

    def bounds(self, layer: str) -> Bounds | None:
        """Return the WGS84 bounds of `layer` (None when empty), recomputed when its version changes."""
        tile_layer(layer)
        with _connected(self.engine) as conn:
            version = self._trusted_version(layer) or self._read_version(conn, layer)
            with self._lock:
                known = self._bounds.get(layer)
            if known is not None and known[0] == version:
                return known[1]
            found = layer_bounds(conn, layer)
        with self._lock:
            self._bounds[layer] = (version, found)
        return found

    def invalidate(self, layer: str | None = None) -> None:
        """Forget the tiles and version of `layer` (of every layer when None), e.g. right after a write."""
        if layer is not None:
            tile_layer(layer)
        with self._lock:
            for name in [layer] if layer else list(LAYERS):
                self._versions.pop(name, None)
                self._bounds.pop(name, None)
                self._generations[name] = self._generations.get(name, 0) + 1
                self._drop(name)

    def _lookup(self, key: _Key) -> Tile | None:
        with self._lock:
            cached = self._tiles.get(key)
            if cached is not None:
                self._tiles.move_to_end(key)
                self.hits += 1
            return cached

    def _trusted_version(self, layer: str) -> tuple[Any, ...] | None:
        """Return the layer's version if read less than `version_ttl` seconds ago, else None."""
        with self._lock:
            known = self._versions.get(layer)
        if known is not None and time.monotonic() - known[1] < self.version_ttl:
            return known[0]
        return None

    def _read_version(self, conn: Connection, layer: str) -> tuple[Any, ...]:
        with self._lock:
            generation = self._generations.get(layer, 0)
        read_at = time.monotonic()
        version = layer_version(conn, layer)
        with self._lock:
            # a version read before an invalidate() that ran meanwhile may predate the write: not kept
            if self._generations.get(layer, 0) == generation:
                known = self._versions.get(layer)
                if known is not None and known[0] != version:
                    self._drop(layer)
                self._versions[layer] = (version, read_at)
        return version

    def _drop(self, layer: str) -> None:
        for key in [k for k in self._tiles if k[0] == layer]:
            self._bytes -= len(self._tiles.pop(key).data)


# --- tiles built in Python for overlays ----------------------------------------------------------

Coordinates = NDArray[np.float64]


def _to_web_mercator(coords: Coordinates) -> Coordinates:
    lon, lat = coords[:, 0], np.clip(coords[:, 1], -_MAX_LATITUDE, _MAX_LATITUDE)
    x = np.radians(lon) * _RADIUS
    y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * _RADIUS
    return np.column_stack((x, y))


def _tile_units(geometry: BaseGeometry, bounds: Bounds) -> BaseGeometry | None:
    """Return `geometry` (Web Mercator) in tile units, y down, as ST_AsMVTGeom makes it, or None if nothing is left.

    As PostGIS does, coordinates are snapped to the integer grid before clipping to the buffered
    tile, clipped points are snapped again, and collapsed parts are dropped.
    """
    minx, _, maxx, maxy = bounds
    scale = EXTENT / (maxx - minx)
    snapped = shapely.transform(geometry, lambda c: np.rint((c - (minx, maxy)) * (scale, -scale)))
    clipped = shapely.clip_by_rect(snapped, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    if clipped.is_empty:
        return None
    clipped = shapely.transform(clipped, np.rint)
    dimension = shapely.get_dimensions(clipped)
    if dimension == 2:
        polygons = [
            q
            for p in shapely.get_parts(shapely.make_valid(clipped))
            if isinstance(p, shapely.Polygon | shapely.MultiPolygon)
            for q in shapely.get_parts(p)
            if q.area > 0
        ]
        if not polygons:
            return None
        return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)
    if dimension == 1:
        lines = [line for line in shapely.get_parts(shapely.remove_repeated_points(clipped)) if line.length > 0]
        if not lines:
            return None
        return lines[0] if len(lines) == 1 else shapely.MultiLineString(lines)
    return clipped


def _check_properties(properties: Mapping[str, Any], index: int) -> dict[str, str | int | float | bool]:
    kept: dict[str, str | int | float | bool] = {}
    for key, value in properties.items():
        if value is None:
            continue
        if not isinstance(key, str) or not isinstance(value, str | int | float | bool):
            raise ValueError(
                f"overlay feature {index}: attribute {key!r} is a {type(value).__name__}; "
                "a tile carries str, int, float or bool values only"
            )
        kept[key] = value
    return kept


def encode_overlay(
    features: Sequence[tuple[BaseGeometry, Mapping[str, Any]]], layer_name: str, z: int, x: int, y: int
) -> bytes:
    """Return a vector tile of one layer `layer_name` holding `features` (WGS84 geometry, attributes).

    Same grid, extent, buffer and clipping as :func:`tile`, so an overlay decodes exactly as a
    PostGIS-built tile would; features outside the tile and its buffer are left out, as are
    attributes whose value is None. Empty bytes when no feature is in the tile.
    """
    if not layer_name:
        raise ValueError("an overlay needs a layer name")
    bounds = tile_bounds(z, x, y)
    margin = (bounds[2] - bounds[0]) * BUFFER / EXTENT
    area = shapely.box(bounds[0] - margin, bounds[1] - margin, bounds[2] + margin, bounds[3] + margin)
    encoded: list[dict[str, Any]] = []
    for index, (geometry, properties) in enumerate(features):
        attributes = _check_properties(properties, index)
        if geometry is None or geometry.is_empty:
            continue
        projected = shapely.transform(geometry, _to_web_mercator)
        if not projected.intersects(area):
            continue
        in_tile = _tile_units(projected, bounds)
        if in_tile is not None:
            encoded.append({"geometry": in_tile, "properties": attributes})
    if not encoded:
        return b""
    data: bytes = mapbox_vector_tile.encode(
        [{"name": layer_name, "features": encoded}],
        default_options={"extents": EXTENT, "y_coord_down": True},
    )
    return data


# --- TileJSON --------------------------------------------------------------------------------------


def _field_type(layer: Layer, attribute: str) -> str:
    try:
        python_type = layer.table.c[attribute].type.python_type
    except NotImplementedError:
        return "String"
    if python_type is bool:
        return "Boolean"
    return "Number" if python_type in (int, float) else "String"


def tilejson(layer: str, base_url: str, bounds: Bounds | None, minzoom: int = 12, maxzoom: int = 20) -> dict[str, Any]:
    """Return the TileJSON 3.0.0 document of `layer`, its tiles under `base_url` (the tile directory).

    `bounds` are WGS84 (west, south, east, north), e.g. from :func:`layer_bounds`; None means
    the whole Web Mercator world. `vector_layers` names the MVT layer and its fields, which are
    the layer's `tile_attributes` with their types ("String", "Number", "Boolean").
    """
    spec = tile_layer(layer)
    if not 0 <= minzoom <= maxzoom <= MAX_ZOOM:
        raise ValueError(f"need 0 <= minzoom <= maxzoom <= {MAX_ZOOM}, got minzoom {minzoom}, maxzoom {maxzoom}")
    west, south, east, north = bounds if bounds is not None else WORLD_BOUNDS
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise ValueError(f"bounds must be WGS84 (west, south, east, north), got {bounds}")
    fields = {a: _field_type(spec, a) for a in spec.tile_attributes}
    return {
        "tilejson": "3.0.0",
        "name": layer,
        "scheme": "xyz",
        "tiles": [f"{base_url.rstrip('/')}/{layer}/{{z}}/{{x}}/{{y}}.pbf"],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, minzoom],
        "vector_layers": [{"id": layer, "fields": fields, "minzoom": minzoom, "maxzoom": maxzoom}],
    }
