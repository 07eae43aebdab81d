"""Geometry of the community in PostgreSQL/PostGIS, keyed by the same uids as the graph.

So far: where the database is (:class:`SpatialSettings`). Layers, imports, spatial queries,
search and vector tiles land here next.
"""

from spatial.settings import SpatialSettings

__all__ = ["SpatialSettings"]
