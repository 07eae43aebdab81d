"""Geometry of the community in PostgreSQL/PostGIS, keyed by the same uids as the graph.

One table per map layer (`spatial.schema.LAYERS`), SRID 4326, migrated with Alembic
(`migrate`); features are written by uid (`write_features`); real GIS files (GeoJSON,
GeoPackage, OSM XML/PBF) come in through `import_gis`. `spatial` imports nothing else of
twinhood's, so its errors have their own root, :class:`SpatialError`.
"""

from spatial.db import make_engine, migrate
from spatial.errors import AmbiguousLayer, EmptySource, SpatialError, UnknownCRS, UnknownLayer, UnreadableSource
from spatial.features import Feature, remove_features, write_features
from spatial.importers import ImportSummary, LayerCounts, Rejection, import_gis
from spatial.schema import LAYERS, Layer
from spatial.settings import SpatialSettings
from spatial.tiles import Tile, TileCache, TileOutOfRange, UnknownTileLayer, encode_overlay, tile, tilejson

__all__ = [
    "LAYERS",
    "AmbiguousLayer",
    "EmptySource",
    "Feature",
    "ImportSummary",
    "Layer",
    "LayerCounts",
    "Rejection",
    "SpatialError",
    "SpatialSettings",
    "Tile",
    "TileCache",
    "TileOutOfRange",
    "UnknownCRS",
    "UnknownLayer",
    "UnknownTileLayer",
    "UnreadableSource",
    "encode_overlay",
    "import_gis",
    "make_engine",
    "migrate",
    "remove_features",
    "tile",
    "tilejson",
    "write_features",
]
