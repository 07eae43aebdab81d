"""Importers of GIS files into the layer tables: GeoJSON, GeoPackage and whatever GDAL reads; OpenStreetMap.

One module per importer, each implementing :class:`~spatial.importers.source.Importer`;
:data:`IMPORTERS` lists them, and the first that accepts a file's name reads it (adding a format
is adding a module and a line here). :func:`import_gis` is the one entry point.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from spatial.importers.keys import UidFor, default_uid
from spatial.importers.load import load
from spatial.importers.ogr import OgrImporter
from spatial.importers.osm import OsmImporter
from spatial.importers.source import Importer
from spatial.importers.summary import ImportSummary, LayerCounts, Rejection

IMPORTERS: dict[str, Importer] = {"osm": OsmImporter(), "ogr": OgrImporter()}
"""The importers by name, asked in this order; ``ogr`` accepts anything and comes last."""


def importer_for(path: Path) -> Importer:
    """Return the first importer of :data:`IMPORTERS` that accepts `path`."""
    return next(importer for importer in IMPORTERS.values() if importer.accepts(path))


def import_gis(
    engine: Engine,
    path: str | Path,
    *,
    layer: str | None = None,
    target: str | None = None,
    crs: str | None = None,
    source: str | None = None,
    uid_for: UidFor = default_uid,
) -> ImportSummary:
    """Import the features of a GIS file into our layer tables, in one transaction; return what was done.

    Parameters
    ----------
    engine : the PostGIS database.
    path : a GeoJSON, GeoPackage, Shapefile… or an OpenStreetMap file (``.osm``, ``.osm.bz2``, ``.pbf``).
    layer : the layer inside the file to import; None imports every layer that maps to one of ours
        by its name (``buildings``; ``streets``/``roads``/``highways``; ``plots``/``parcels``;
        ``entrances``/``addresses``), and skips and reports the others.
    target : our layer to import the chosen file layer into, whatever its name.
    crs : the coordinate reference system of the file, overriding the one it declares; needed
        when it declares none. Coordinates are stored in EPSG:4326.
    source : stored with every row; defaults to ``gis:<file name>``.
    uid_for : builds a feature's uid from our layer name and its key (:mod:`spatial.importers.keys`).

    Raises
    ------
    UnknownLayer, AmbiguousLayer, UnknownCRS, EmptySource, UnreadableSource
        before anything is written.
    """
    path = Path(path)
    return load(engine, importer_for(path), path, layer=layer, target=target, crs=crs, source=source, uid_for=uid_for)


__all__ = [
    "IMPORTERS",
    "ImportSummary",
    "Importer",
    "LayerCounts",
    "Rejection",
    "UidFor",
    "default_uid",
    "import_gis",
    "importer_for",
]
