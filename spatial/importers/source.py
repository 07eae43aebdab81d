"""The interface of an importer: what a file holds, and its features read for one of our layers.

An importer (one module each: :mod:`~spatial.importers.ogr`, :mod:`~spatial.importers.osm`) lists
the layers of a file (:meth:`Importer.layers`) and reads the planned ones (:meth:`Importer.read`)
into WGS84 features with keys, column values and JSON-safe leftover attributes. Checking,
repairing, uids and writing are shared (:mod:`~spatial.importers.load`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pyproj import CRS
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class LayerInfo:
    """A layer inside a file: its name, OGR geometry type, feature count and CRS (None when unknown)."""

    name: str
    geometry_type: str | None
    features: int | None
    crs: str | None


@dataclass(frozen=True)
class PlannedLayer:
    """A file layer to read into our layer `target`, with the CRS its coordinates are in."""

    info: LayerInfo
    target: str
    crs: CRS


@dataclass
class SourceFeature:
    """One feature read from a file.

    `geometry` is in WGS84 (None when missing or when `problem` says why it could not be built);
    `columns` are values for our layer's columns, `props` the other attributes (JSON-safe) and
    `raw` builds the feature as GeoJSON in the file's own coordinates, kept when it is rejected
    (built only then: it costs more than everything else about a feature).
    `repair` says what the importer already had to fix (the feature then counts as repaired).
    """

    key: str
    geometry: BaseGeometry | None
    columns: dict[str, Any] = field(default_factory=dict)
    props: dict[str, Any] = field(default_factory=dict)
    raw: Callable[[], dict[str, Any]] = dict
    problem: str = ""
    repair: str = ""


@dataclass
class SourceLayer:
    """The features of one file layer, read for our layer `target`."""

    name: str
    target: str
    features: list[SourceFeature]


class Importer(Protocol):
    """Reads one family of file formats."""

    name: str

    def accepts(self, path: Path) -> bool:
        """Return True when this importer reads files like `path` (judged by its name)."""
        ...

    def layers(self, path: Path) -> list[LayerInfo]:
        """Return the layers of the file; raise `UnreadableSource` when it cannot be opened."""
        ...

    def read(self, path: Path, plan: Sequence[PlannedLayer]) -> list[SourceLayer]:
        """Return the features of the planned layers, one :class:`SourceLayer` each, in WGS84."""
        ...


def json_value(value: Any) -> Any:
    """Return `value` as plain JSON data: numpy and pandas scalars unwrapped, NaN and NA as None.

    Dates become ISO 8601 text, bytes hexadecimal text, mappings and sequences are converted
    item by item; anything else unknown becomes its `str`.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return json_value(value.item())
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_value(v) for v in value]
    if isinstance(value, Decimal):
        return json_value(float(value))
    if isinstance(value, bytes):
        return value.hex()
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def geojson_feature(
    key: str, geometry: BaseGeometry | None, properties: Mapping[str, Any], **extra: Any
) -> dict[str, Any]:
    """Return a GeoJSON Feature (JSON-safe, non-finite coordinates as null) with foreign members `extra`."""
    shape = None if geometry is None else json_value(mapping(geometry))
    return {"type": "Feature", "id": key, "properties": dict(properties), "geometry": shape, **extra}
