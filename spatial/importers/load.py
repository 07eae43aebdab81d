"""Loading one file into the layer tables: plan the layers, read, check each feature, write at once.

Everything that can fail for the whole file (unknown layer or CRS, an empty or unreadable file)
fails before the database is touched; then all layers and the rejected features are written in
one transaction, so an import is all or nothing. Features that fail their own checks are kept in
``rejected_features`` with the reason; a re-import of the same file replaces its earlier
rejections (by path and layer) and upserts its features by uid.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from sqlalchemy import Column, Engine, Table, delete, insert

from spatial.errors import AmbiguousLayer, EmptySource, UnknownCRS, UnknownLayer, UnreadableSource
from spatial.features import Feature, layer_geometry_type, write_features
from spatial.importers.keys import UidFor, default_uid
from spatial.importers.repair import check_geometry
from spatial.importers.source import Importer, LayerInfo, PlannedLayer, SourceFeature, SourceLayer
from spatial.importers.summary import ImportSummary, LayerCounts, Rejection
from spatial.importers.targets import LayerMatch, match_layer
from spatial.schema import LAYERS, rejected_features

logger = logging.getLogger(__name__)

COLUMN_DEFAULTS: dict[str, dict[str, Any]] = {"entrances": {"kind": "entrance"}}
"""Values for required columns of our layers that a file may not have."""

MANAGED_COLUMNS = frozenset({"uid", "source", "ingested_at", "props", "geom"})

_NUMBER = re.compile(r"^\s*([-+]?\d+(?:[.,]\d+)?)")


@dataclass
class _Outcome:
    features: dict[str, list[Feature]] = field(default_factory=dict)
    counts: dict[str, LayerCounts] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)


def parse_crs(path: Path, crs: str) -> CRS:
    """Return the CRS named by `crs` (``"EPSG:3857"``, a WKT or PROJ string); raise `UnknownCRS` if none."""
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise UnknownCRS(path, crs) from exc


def plan_layers(
    path: Path, infos: Sequence[LayerInfo], layer: str | None, target: str | None, crs: CRS | None
) -> tuple[list[PlannedLayer], dict[str, str]]:
    """Return the file layers to read with their target and CRS, and the skipped ones with the reason."""
    if target is not None and target not in LAYERS:
        raise UnknownLayer(target, LAYERS)
    names = [i.name for i in infos]
    if layer is not None:
        chosen = [i for i in infos if i.name == layer]
        if not chosen:
            raise UnknownLayer(layer, names)
    elif target is not None and len(infos) > 1:
        raise AmbiguousLayer(path, names)
    else:
        chosen = list(infos)
    plan: list[PlannedLayer] = []
    skipped: dict[str, str] = {}
    for info in chosen:
        match = LayerMatch(target) if target is not None else match_layer(info.name, info.geometry_type)
        if match.target is None:
            skipped[info.name] = match.reason
            continue
        source_crs = crs or (parse_crs(path, info.crs) if info.crs else None)
        if source_crs is None:
            if info.features == 0:
                continue
            raise UnknownCRS(path, None)
        plan.append(PlannedLayer(info, match.target, source_crs))
    return plan, skipped


def coerce_column(table: Table, column: str, value: Any) -> Any:
    """Return `value` as the Python type of `column` (``"12 m"`` → 12.0 for a float), or None if it is not one."""
    if value is None:
        return None
    try:
        python_type = table.c[column].type.python_type
    except NotImplementedError:
        return value
    if python_type is str:
        return str(value)
    if python_type in (int, float) and not isinstance(value, bool):
        number = value if isinstance(value, int | float) else None
        if isinstance(value, str) and (found := _NUMBER.match(value)):
            number = float(found[1].replace(",", "."))
        if number is None or not math.isfinite(number):
            return None
        if python_type is int:
            return int(number) if float(number).is_integer() else None
        return float(number)
    return value if isinstance(value, python_type) else None


def fit_columns(table: Table, columns: Mapping[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """Return the `columns` that `table` has, as its types; values that do not fit go into `props`."""
    fitted: dict[str, Any] = {}
    for column, value in columns.items():
        if value is None:
            continue
        coerced = coerce_column(table, column, value) if column in table.c else None
        if coerced is None:
            props[column] = value
        else:
            fitted[column] = coerced
    return fitted


def required_columns(table: Table) -> list[Column[Any]]:
    """Return the columns of a layer table that a feature must fill (not null, no default)."""
    return [c for c in table.columns if not c.nullable and c.server_default is None and c.name not in MANAGED_COLUMNS]


def link_entrances(buildings: Sequence[Feature], entrances: Sequence[Feature]) -> None:
    """Set ``building_uid`` of each entrance to the smallest building it lies in or on, if any."""
    if not buildings or not entrances:
        return
    tree = shapely.STRtree([b.geometry for b in buildings])
    for entrance in entrances:
        if entrance.columns.get("building_uid"):
            continue
        hits = tree.query(entrance.geometry, predicate="intersects")
        if len(hits):
            smallest = min(hits, key=lambda i: buildings[i].geometry.area)
            entrance.columns["building_uid"] = buildings[smallest].uid


def accept_feature(feature: SourceFeature, target: str, uid: str, source: str) -> tuple[Feature, bool] | str:
    """Return the row to write for `feature` in our layer `target` and whether it was repaired, or why not."""
    if feature.problem:
        return feature.problem
    checked = check_geometry(feature.geometry, layer_geometry_type(target))
    if checked.geometry is None:
        return checked.reason
    table = LAYERS[target].table
    props = dict(feature.props)
    values = {**COLUMN_DEFAULTS.get(target, {}), **{k: v for k, v in feature.columns.items() if v is not None}}
    if "code" in table.c:
        values["code"] = feature.key
    columns = fit_columns(table, values, props)
    missing = [c.name for c in required_columns(table) if c.name not in columns]
    if missing:
        return f"no value for required column(s) {', '.join(missing)} of {target}"
    return Feature(uid, checked.geometry, source, columns, props), checked.repaired or bool(feature.repair)


def check_features(path: Path, layers: Sequence[SourceLayer], source: str, uid_for: UidFor) -> _Outcome:
    """Return the rows to write and the rejections, per our layer."""
    outcome = _Outcome()
    for layer in layers:
        rows = outcome.features.setdefault(layer.target, [])
        counts = outcome.counts.setdefault(layer.target, LayerCounts())
        for feature in layer.features:
            uid = uid_for(layer.target, feature.key)
            if (layer.target, uid) in outcome.seen:
                accepted: tuple[Feature, bool] | str = f"another feature of this import has uid {uid!r}"
            else:
                accepted = accept_feature(feature, layer.target, uid, source)
            if isinstance(accepted, tuple):
                rows.append(accepted[0])
                outcome.seen.add((layer.target, uid))
                counts.imported += 1
                counts.repaired += accepted[1]
                continue
            counts.rejected += 1
            outcome.rejections.append(Rejection(layer.target, feature.key, accepted))
            row = {"path": str(path), "layer": layer.target, "feature": feature.key, "reason": accepted}
            outcome.rejected_rows.append({**row, "raw": feature.raw()})
    link_entrances(outcome.features.get("buildings", []), outcome.features.get("entrances", []))
    return outcome


def load(
    engine: Engine,
    importer: Importer,
    path: Path,
    *,
    layer: str | None = None,
    target: str | None = None,
    crs: str | None = None,
    source: str | None = None,
    uid_for: UidFor = default_uid,
) -> ImportSummary:
    """Import the file at `path` with `importer`; see :func:`spatial.importers.import_gis`."""
    source_crs = parse_crs(path, crs) if crs is not None else None
    if not path.exists():
        raise UnreadableSource(path, "no such file or directory")
    resolved = path.resolve()
    infos = importer.layers(path)
    plan, skipped = plan_layers(path, infos, layer, target, source_crs)
    read = importer.read(path, plan) if plan else []
    if not any(r.features for r in read) and not any(i.features for i in infos if i.name in skipped):
        raise EmptySource(path, layer)
    outcome = check_features(resolved, read, source or f"gis:{path.name}", uid_for)
    uids = {name: [f.uid for f in features] for name, features in outcome.features.items()}
    with engine.begin() as conn:
        for target_layer, features in outcome.features.items():
            write_features(conn, target_layer, features)
        conn.execute(
            delete(rejected_features).where(
                rejected_features.c.path == str(resolved), rejected_features.c.layer.in_(list(outcome.features))
            )
        )
        if outcome.rejected_rows:
            conn.execute(insert(rejected_features), outcome.rejected_rows)
    for name, reason in skipped.items():
        logger.info("skipped layer", extra={"path": str(path), "layer": name, "reason": reason})
    summary = ImportSummary(str(resolved), outcome.counts, outcome.rejections, uids, skipped)
    logger.info(
        "imported",
        extra={"path": str(path), "layers": {k: vars(v) for k, v in summary.layers.items()}},
    )
    return summary
