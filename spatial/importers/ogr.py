"""Files GDAL/OGR reads (GeoJSON, GeoPackage, Shapefile, FlatGeobuf, …), through pyogrio and geopandas.

Each layer is read whole, given the planned CRS and reprojected to WGS84 in one call. Attributes
named like one of our columns (:data:`COLUMN_ALIASES`, e.g. ``building:levels`` → ``floors``)
fill that column when our layer has it; the others are kept in ``props``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pyogrio
import pyogrio.errors

from spatial.errors import UnreadableSource
from spatial.importers.keys import feature_keys, key_prefix, normalise_name
from spatial.importers.source import LayerInfo, PlannedLayer, SourceFeature, SourceLayer, geojson_feature, json_value
from spatial.schema import LAYERS, SRID

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "title"),
    "address": ("address", "addr", "addrfull", "fulladdress"),
    "floors": ("floors", "levels", "buildinglevels", "storeys", "stories"),
    "height_m": ("heightm", "height"),
    "kind": ("kind", "highway", "fclass", "class"),
    "category": ("category",),
}
"""Our column → attribute names (compared lower-case without punctuation) that fill it, best first."""

READ_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError)


def column_sources(attributes: Sequence[str], columns: Sequence[str]) -> dict[str, str]:
    """Return, for each of our `columns` that an attribute can fill, the attribute's name."""
    by_name: dict[str, str] = {}
    for attribute in attributes:
        by_name.setdefault(normalise_name(attribute), attribute)
    chosen: dict[str, str] = {}
    for column, aliases in COLUMN_ALIASES.items():
        found = next((by_name[a] for a in aliases if a in by_name), None)
        if column in columns and found is not None and found not in chosen.values():
            chosen[column] = found
    return chosen


class OgrImporter:
    """Reads any vector format pyogrio can open; the importer of last resort."""

    name = "ogr"

    def accepts(self, path: Path) -> bool:
        """Return True: whether GDAL can read the file shows when it is opened."""
        return True

    def layers(self, path: Path) -> list[LayerInfo]:
        """Return the layers of the file with their geometry type, feature count and CRS."""
        try:
            infos = []
            for name, geometry_type in pyogrio.list_layers(path):
                info = pyogrio.read_info(path, layer=name)
                count = int(info["features"])
                infos.append(LayerInfo(str(name), geometry_type, count if count >= 0 else None, info["crs"]))
        except READ_ERRORS as exc:
            raise UnreadableSource(path, str(exc)) from exc
        return infos

    def read(self, path: Path, plan: Sequence[PlannedLayer]) -> list[SourceLayer]:
        """Return the features of each planned layer, reprojected from its CRS to WGS84."""
        return [self._read_layer(path, planned) for planned in plan]

    def _read_layer(self, path: Path, planned: PlannedLayer) -> SourceLayer:
        name = planned.info.name
        try:
            frame = pyogrio.read_dataframe(path, layer=name, fid_as_index=True)
        except READ_ERRORS as exc:
            raise UnreadableSource(path, str(exc)) from exc
        geometry = frame.geometry.set_crs(planned.crs, allow_override=True)
        source_shapes = list(geometry.values)
        shapes = list(geometry.to_crs(epsg=SRID).values)
        attributes = {str(c): [json_value(v) for v in frame[c].tolist()] for c in frame.columns if c != geometry.name}
        keys = feature_keys(key_prefix(path, name), attributes, frame.index.tolist())
        sources = column_sources(list(attributes), [c.name for c in LAYERS[planned.target].table.columns])
        crs = planned.crs.to_string()
        features = []
        for i, key in enumerate(keys):
            record: dict[str, Any] = {a: values[i] for a, values in attributes.items()}
            features.append(
                SourceFeature(
                    key=key,
                    geometry=shapes[i],
                    columns={column: record[a] for column, a in sources.items()},
                    props={a: v for a, v in record.items() if a not in sources.values()},
                    raw=partial(geojson_feature, key, source_shapes[i], record, layer=name, crs=crs),
                )
            )
        return SourceLayer(name, planned.target, features)
