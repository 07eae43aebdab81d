"""The errors of the spatial store.

Every error `spatial` raises on purpose is a :class:`SpatialError`; each carries the data a caller
needs to say what went wrong in one line (the CLI) or as a typed error (the API)::

    SpatialError
    ├── UnknownLayer(layer, available)      no such layer in the file (or among ours)
    │   └── UnknownTileLayer                no such map layer to draw tiles of
    ├── TileOutOfRange(z, x, y, reason)     a tile address off the grid (also a ValueError)
    ├── AmbiguousLayer(path, available)     the file has several layers and one must be named
    ├── UnknownCRS(path, crs)               the file has no CRS, or `crs` is not one pyproj knows
    ├── EmptySource(path, layer=None)       the file (or the layer asked for) holds no features
    └── UnreadableSource(path, reason)      the file is missing, broken or in no format we read
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class SpatialError(Exception):
    """Root of every error the spatial store raises on purpose."""


class UnknownLayer(SpatialError, LookupError):
    """A layer was asked for by a name that is not among `available`."""

    def __init__(self, layer: str, available: Iterable[str]) -> None:
        self.layer, self.available = layer, list(available)
        names = ", ".join(self.available) or "none"
        super().__init__(f"no layer {layer!r}; available: {names}")


class AmbiguousLayer(SpatialError):
    """A target layer was forced for a file of several layers without naming which one."""

    def __init__(self, path: str | Path, available: Iterable[str]) -> None:
        self.path, self.available = str(path), list(available)
        names = ", ".join(self.available)
        super().__init__(f"{self.path} has several layers ({names}); name one with --layer")


class UnknownCRS(SpatialError):
    """The coordinate reference system of a file is missing (`crs` is None) or unknown."""

    def __init__(self, path: str | Path, crs: str | None) -> None:
        self.path, self.crs = str(path), crs
        if crs is None:
            message = f"{self.path} has no coordinate reference system; pass --crs (e.g. --crs EPSG:3857)"
        else:
            message = f"unknown coordinate reference system {crs!r} for {self.path}; pass --crs with e.g. EPSG:3857"
        super().__init__(message)


class EmptySource(SpatialError):
    """The file (or the layer asked for) holds no features at all."""

    def __init__(self, path: str | Path, layer: str | None = None) -> None:
        self.path, self.layer = str(path), layer
        where = f" in layer {layer!r}" if layer is not None else ""
        super().__init__(f"{self.path} holds no features{where}")


class UnreadableSource(SpatialError):
    """The file could not be opened or parsed; `reason` says why."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path, self.reason = str(path), " ".join(reason.split())
        super().__init__(f"cannot read {self.path}: {self.reason}")
