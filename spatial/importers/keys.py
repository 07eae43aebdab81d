"""Feature keys and uids: stable within a file, free of whitespace, the same on every import.

A feature's key is ``<prefix>-<id>``. The prefix is the slug of the file's stem, followed by the
slug of the layer's name when that differs (a GeoPackage's ``buildings`` layer in
``momepy_bubenec.gpkg`` gives ``momepy-bubenec-buildings``, ``bubenec_plots.geojson`` gives
``bubenec-plots``), so keys never collide between the layers of one file. The id is the value of
the first code column (:data:`KEY_COLUMNS`) whose values are all present and distinct, else the
feature's id in the file (OGR's FID). OSM features use their OSM id: ``osm-w123``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

UidFor = Callable[[str, str], str]
"""Build the uid of a feature from our layer name and the feature's key."""

UID_PREFIXES: dict[str, str] = {
    "boundaries": "boundary",
    "buildings": "building",
    "entrances": "entrance",
    "parcels": "parcel",
    "roads": "road",
    "grids": "grid",
    "devices": "device",
    "trajectories": "trajectory",
}

KEY_COLUMNS: tuple[str, ...] = ("code", "uid", "id", "osmid", "objectid", "gmlid", "fid")
"""Column names (compared lower-case, without punctuation) that can key features, best first."""

COMPRESSION_SUFFIXES: tuple[str, ...] = (".gz", ".bz2", ".xz", ".zip")

_SEPARATORS = re.compile(r"[^\w.]+")


def default_uid(layer: str, key: str) -> str:
    """Return the uid of a feature of our `layer`, e.g. ``building:bubenec-12`` for buildings."""
    return f"{UID_PREFIXES.get(layer, layer)}:{key}"


def slug(text: str, *, lower: bool = True) -> str:
    """Return `text` with every run of characters other than letters, digits, ``_`` and ``.`` as ``-``.

    Underscores become ``-`` too, so ``momepy_bubenec`` gives ``momepy-bubenec``.
    """
    text = unicodedata.normalize("NFKC", text).replace("_", "-")
    text = _SEPARATORS.sub("-", text).strip("-")
    return text.lower() if lower else text


def normalise_name(name: str) -> str:
    """Return a column name lower-case without punctuation: ``"osm id"`` and ``"OSM_ID"`` give ``"osmid"``."""
    return re.sub(r"[\W_]+", "", name).lower()


def key_prefix(path: Path, layer: str) -> str:
    """Return the key prefix of `layer` in the file at `path` (see the module docstring)."""
    name = path.name
    for suffix in COMPRESSION_SUFFIXES:
        name = name.removesuffix(suffix)
    stem = Path(name).stem
    file_slug, layer_slug = slug(stem) or "file", slug(layer)
    return file_slug if layer_slug in ("", file_slug) else f"{file_slug}-{layer_slug}"


def id_text(value: Any) -> str | None:
    """Return a source id as key text (``12.0`` → ``"12"``), or None when it is missing or blank."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            return None
        return str(int(number)) if number.is_integer() else repr(number)
    text = slug(str(value), lower=False)
    return text or None


def key_column(columns: Mapping[str, Sequence[Any]]) -> str | None:
    """Return the column whose values key the features, or None when no code column qualifies.

    A column qualifies when its name is one of :data:`KEY_COLUMNS` and its values, as key text,
    are all present and distinct; the first qualifying one in :data:`KEY_COLUMNS` order wins.
    """
    ranked = sorted(
        (KEY_COLUMNS.index(normalise_name(name)), name) for name in columns if normalise_name(name) in KEY_COLUMNS
    )
    for _, name in ranked:
        texts = [id_text(v) for v in columns[name]]
        if all(t is not None for t in texts) and len(set(texts)) == len(texts):
            return name
    return None


def feature_keys(prefix: str, columns: Mapping[str, Sequence[Any]], fids: Iterable[Any]) -> list[str]:
    """Return one key per feature: ``prefix-<code>`` from :func:`key_column`, else ``prefix-<fid>``."""
    name = key_column(columns)
    ids = columns[name] if name is not None else list(fids)
    return [f"{prefix}-{id_text(v)}" for v in ids]
