"""The errors of the IFC import, each one clear line naming the file and what is wrong with it.

They extend the tree of :mod:`graph.errors`::

    TwinhoodError
    ├── UnsupportedSchema(path, schema)       an IFC schema we do not read (IFC2X_FINAL, IFC2X2…)
    ├── CorruptModel(path, reason)            not IFC-SPF, truncated, or references that do not resolve
    ├── UnsupportedModel(path, reason)        readable, but not one building (several, or none)
    ├── NoLocation(path)                      no georeference in the file and no location given
    └── UnknownScene(building_uid, reason)    no IFC model (or no longer its file) for this building
"""

from __future__ import annotations

from pathlib import Path

from graph.errors import TwinhoodError


class UnsupportedSchema(TwinhoodError):
    """The file is written in an IFC schema that the import does not read."""

    def __init__(self, path: Path | str, schema: str) -> None:
        self.path, self.schema = Path(path), schema
        super().__init__(
            f"{self.path.name}: IFC schema {schema or '(none)'!r} is not supported; export the model as IFC2X3 or IFC4"
        )


class CorruptModel(TwinhoodError):
    """The file is not a complete IFC-SPF file: nothing was imported from it."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path, self.reason = Path(path), reason
        super().__init__(f"{self.path.name}: not a readable IFC file: {reason}")


class UnsupportedModel(TwinhoodError):
    """The file reads, but does not describe one building the import can map."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path, self.reason = Path(path), reason
        super().__init__(f"{self.path.name}: {reason}")


class NoLocation(TwinhoodError):
    """The model has neither IfcMapConversion nor IfcSite latitude/longitude, and no location was given."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        super().__init__(
            f"{self.path.name}: the model is not georeferenced (no IfcMapConversion, no IfcSite latitude/longitude); "
            "give its location (longitude, latitude)"
        )


class UnknownScene(TwinhoodError, LookupError):
    """No IFC model has been imported for this building."""

    def __init__(self, building_uid: str, reason: str | None = None) -> None:
        self.building_uid, self.reason = building_uid, reason
        because = f": {reason}" if reason else ""
        super().__init__(f"no IFC model is registered for building {building_uid!r}{because}")
