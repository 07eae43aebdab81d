"""Geometry of the community in PostgreSQL/PostGIS, keyed by the same uids as the graph.

One table per map layer (`spatial.schema.LAYERS`), SRID 4326, migrated with Alembic
(`migrate`); features are written by uid (`write_features`).
"""

from spatial.db import make_engine, migrate
from spatial.features import Feature, write_features
from spatial.schema import LAYERS, Layer
from spatial.settings import SpatialSettings

__all__ = ["LAYERS", "Feature", "Layer", "SpatialSettings", "make_engine", "migrate", "write_features"]
