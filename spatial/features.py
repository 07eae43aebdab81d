"""Writing features into the layer tables: upserts keyed by uid, geometry coerced to the layer's type."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from geoalchemy2.shape import from_shape
from shapely import LineString, MultiLineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, delete
from sqlalchemy.dialects.postgresql import insert

from spatial.schema import LAYERS, SRID, trajectories


@dataclass
class Feature:
    """One row of a layer: its uid, WGS84 geometry, column values and leftover source attributes."""

    uid: str
    geometry: BaseGeometry
    source: str
    columns: dict[str, Any] = field(default_factory=dict)
    props: dict[str, Any] = field(default_factory=dict)


def coerce(geometry: BaseGeometry, geometry_type: str) -> BaseGeometry:
    """Return `geometry` as the layer's type: single polygons and lines become multi-geometries."""
    if geometry_type == "MULTIPOLYGON" and isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    if geometry_type == "MULTILINESTRING" and isinstance(geometry, LineString):
        return MultiLineString([geometry])
    return geometry


def layer_geometry_type(layer: str) -> str:
    """Return the PostGIS geometry type of a layer, e.g. "MULTIPOLYGON"."""
    return str(LAYERS[layer].table.c.geom.type.geometry_type)  # type: ignore[attr-defined]


def write_features(conn: Connection, layer: str, features: Iterable[Feature], batch: int = 2000) -> int:
    """Insert or update features by uid in `layer`; return how many rows were written.

    Runs on the caller's connection, so an import can write several layers in one transaction.
    """
    table = LAYERS[layer].table
    geometry_type = layer_geometry_type(layer)
    known = {c.name for c in table.columns}
    rows: list[dict[str, Any]] = []
    written = 0
    for f in features:
        unknown = set(f.columns) - known
        if unknown:
            raise KeyError(f"layer {layer!r} has no column(s) {', '.join(sorted(unknown))}")
        rows.append(
            {
                **f.columns,
                "uid": f.uid,
                "source": f.source,
                "props": f.props,
                "geom": from_shape(coerce(f.geometry, geometry_type), srid=SRID),
            }
        )
        if len(rows) >= batch:
            written += _upsert(conn, table, rows)
            rows = []
    return written + (_upsert(conn, table, rows) if rows else 0)


def _upsert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    columns = sorted({k for r in rows for k in r})
    full = [{c: r.get(c) for c in columns} for r in rows]
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["uid"],
        set_={c: statement.excluded[c] for c in columns if c not in ("uid", "ingested_at")},
    )
    conn.execute(statement, full)
    return len(full)


def remove_features(conn: Connection, uid: str) -> int:
    """Delete what the map shows of an entity: its rows in every layer and the trajectories of it; return how many."""
    tables = [layer.table for layer in LAYERS.values()]
    removed = sum(conn.execute(delete(table).where(table.c.uid == uid)).rowcount for table in tables)
    return removed + conn.execute(delete(trajectories).where(trajectories.c.subject_uid == uid)).rowcount
