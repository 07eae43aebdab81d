"""The PostGIS tables: one per map layer, keyed by the same uid as the graph node, SRID 4326.

Every layer row has `uid`, `source`, `ingested_at` and `props` (attributes kept from the source
file that have no column of their own). :data:`LAYERS` says, per layer, its table, geometry type
and the attributes a vector tile may carry: attributes not listed never reach a tile.
"""

from __future__ import annotations

from dataclasses import dataclass

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    Column,
    Computed,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

SRID = 4326
metadata = MetaData()


def _layer(name: str, geometry: str, *columns: Column[object]) -> Table:
    return Table(
        name,
        metadata,
        Column("uid", Text, primary_key=True),
        *columns,
        Column("source", Text, nullable=False),
        Column("ingested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("props", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("geom", Geometry(geometry, srid=SRID, spatial_index=True), nullable=False),
    )


boundaries = _layer(
    "boundaries", "MULTIPOLYGON", Column("kind", Text, nullable=False), Column("code", Text), Column("name", Text)
)
buildings = _layer(
    "buildings",
    "MULTIPOLYGON",
    Column("code", Text),
    Column("name", Text),
    Column("address", Text),
    Column("floors", Integer),
    Column("height_m", Float),
)
entrances = _layer(
    "entrances",
    "POINT",
    Column("kind", Text, nullable=False),
    Column("name", Text),
    Column("address", Text),
    Column("building_uid", Text),
)
parcels = _layer("parcels", "MULTIPOLYGON", Column("code", Text), Column("name", Text))
roads = _layer("roads", "MULTILINESTRING", Column("kind", Text), Column("name", Text))
grids = _layer(
    "grids",
    "MULTIPOLYGON",
    Column("code", Text),
    Column("name", Text),
    Column("workers", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
)
devices = _layer(
    "devices",
    "POINT",
    Column("code", Text),
    Column("name", Text),
    Column("category", Text),
    Column("floor", Integer),
    Column("online", Boolean),
)
trajectories = _layer(
    "trajectories",
    "LINESTRING",
    Column("subject_uid", Text, nullable=False, index=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=False),
    Column("times", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
)

rejected_features = Table(
    "rejected_features",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("path", Text, nullable=False),
    Column("layer", Text, nullable=False),
    Column("feature", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", JSONB, nullable=False),
)

search_documents = Table(
    "search_documents",
    metadata,
    Column("uid", Text, primary_key=True),
    Column("kind", Text, nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False, server_default=""),
    Column("terms", Text, nullable=False, server_default="", comment="title and body, CJK split into characters"),
    Column("tsv", TSVECTOR, Computed("to_tsvector('simple', terms)", persisted=True)),
    Index("search_documents_tsv", "tsv", postgresql_using="gin"),
    Index("search_documents_title_trgm", "title", postgresql_using="gin", postgresql_ops={"title": "gin_trgm_ops"}),
    Index("search_documents_body_trgm", "body", postgresql_using="gin", postgresql_ops={"body": "gin_trgm_ops"}),
)


@dataclass(frozen=True)
class Layer:
    """A map layer: its table, the graph label of its rows, and the attributes tiles may carry."""

    name: str
    table: Table
    label: str | None
    tile_attributes: tuple[str, ...]


LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer("boundaries", boundaries, None, ("uid", "kind", "code", "name")),
        Layer("buildings", buildings, "Building", ("uid", "code", "name", "floors", "height_m")),
        Layer("entrances", entrances, None, ("uid", "kind", "name", "building_uid")),
        Layer("parcels", parcels, None, ("uid", "code")),
        Layer("roads", roads, None, ("uid", "kind", "name")),
        Layer("grids", grids, "Grid", ("uid", "code", "name")),
        Layer("devices", devices, "Device", ("uid", "code", "name", "category", "floor", "online")),
        Layer("trajectories", trajectories, None, ("uid", "subject_uid")),
    )
}
