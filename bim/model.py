"""Open an IFC-SPF file safely: check the schema in its header, refuse truncated or broken files.

The header is read before anything is parsed, so an old schema (IFC2X_FINAL, IFC2X2_FINAL) is
refused naming it, and a pre-release name of a schema ifcopenshell reads (IFC4RC4, IFC4_ADD2,
IFC2X3_TC1, IFC4X3_TC1) is read as that schema, with a warning. A file is complete when it ends
with ``END-ISO-10303-21;`` and parses with no error (ifcopenshell opens a truncated file silently,
dropping the references it cannot resolve), so nothing is imported from half a model.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.util.unit

from bim.errors import CorruptModel, UnsupportedSchema

MAGIC = b"ISO-10303-21;"
TRAILER = b"END-ISO-10303-21;"
HEADER_BYTES = 1 << 20  # a header longer than 1 MiB is not one we can read
_COMMENT = re.compile(rb"/\*.*?\*/", re.DOTALL)
_FILE_SCHEMA = re.compile(rb"FILE_SCHEMA\s*\(\s*\(\s*'([^']*)'", re.IGNORECASE)
# Names of schemas ifcopenshell reads, as some exporters still write them: read as the released schema.
ALIASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"IFC2X3(_TC1|_RC\d+)"), "IFC2X3"),
    (re.compile(r"IFC4(_?RC\d+|_ADD\d(_TC\d)?|_TC\d)"), "IFC4"),
    (re.compile(r"IFC4X3(_RC\d+|_ADD\d|_TC\d)"), "IFC4X3_ADD2"),
)
MAX_WARNINGS = 20
LOG_WARNING, LOG_ERROR, FMT_INMEMORY = 3, 4, 2  # ifcopenshell.logger's levels and in-memory format


@dataclass
class IfcModel:
    """An opened IFC model and what the import needs to know about its file."""

    path: Path
    file: Any  # ifcopenshell.file
    header_schema: str
    sha256: str
    size: int
    length_scale: float  # project length unit → metres
    area_scale: float  # project area unit → square metres
    warnings: list[str] = field(default_factory=list)

    @property
    def schema(self) -> str:
        """The schema the model was read as (IFC2X3, IFC4 or IFC4X3_ADD2)."""
        return str(self.file.schema_identifier)

    @property
    def source(self) -> str:
        """The provenance of everything imported from this file."""
        return f"ifc:{self.path.name}"

    def by_type(self, ifc_class: str) -> list[Any]:
        """Return the instances of `ifc_class` (and subclasses), or none when the schema lacks the class."""
        try:
            return list(self.file.by_type(ifc_class))
        except RuntimeError:  # the class does not exist in this schema
            return []


def header_schema(path: Path) -> str:
    """Return the first schema named in the FILE_SCHEMA of an IFC-SPF header, without parsing the data."""
    with path.open("rb") as f:
        head = f.read(HEADER_BYTES)
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(MAGIC):
        raise CorruptModel(path, "it does not start with ISO-10303-21; (only IFC-SPF .ifc files are read)")
    found = _FILE_SCHEMA.search(_COMMENT.sub(b"", head.partition(b"ENDSEC;")[0]))
    if not found:
        raise CorruptModel(path, "its header names no FILE_SCHEMA")
    return found.group(1).decode("ascii", "replace").strip().upper()


def schema_to_read(path: Path, schema: str) -> str:
    """Return the ifcopenshell schema to read a file written in `schema`, or raise UnsupportedSchema."""
    known = set(ifcopenshell.ifcopenshell_wrapper.schema_names())
    if schema in known or (schema == "IFC4X3" and "IFC4X3_ADD2" in known):
        return schema
    for pattern, released in ALIASES:
        if pattern.fullmatch(schema) and released in known:
            return released
    raise UnsupportedSchema(path, schema)


def _complete(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 512))
        return f.read().rstrip(b" \t\r\n\x00\x1a").endswith(TRAILER)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def renamed_schema(path: Path, written: str, read_as: str) -> Iterator[Path]:
    """Yield a temporary copy of `path` whose header names `read_as` instead of `written`."""
    with path.open("rb") as src, tempfile.NamedTemporaryFile(suffix=".ifc", delete=False) as dst:
        head = src.read(HEADER_BYTES)
        header, sep, rest = head.partition(b"ENDSEC;")
        quoted = re.compile(rb"'" + re.escape(written.encode()) + rb"'", re.IGNORECASE)
        dst.write(quoted.sub(f"'{read_as}'".encode(), header, count=1) + sep + rest)
        shutil.copyfileobj(src, dst)
    try:
        yield Path(dst.name)
    finally:
        os.unlink(dst.name)


def attribute(entity: Any, name: str) -> Any:
    """Return `entity.<name>`, or None when its class has no such attribute in the file's schema.

    As `getattr(entity, name, None)`, without ifcopenshell's fallback for a name the schema does
    not declare (e.g. an IFC2X3 IfcSpace's PredefinedType), which imports the schema's whole
    module of rules (~8 ms) to look for a derived attribute of that name.
    """
    return getattr(entity, name, None) if entity.get_attribute_category(name) else None


def memory_logger() -> Any:
    """Return an ifcopenshell logger of our own that keeps its messages (the global log is shared)."""
    logger: Any = ifcopenshell.ifcopenshell_wrapper.logger()
    logger.output_format(FMT_INMEMORY)
    return logger


def _parse(path: Path, shown: Path) -> tuple[Any, list[str]]:
    """Parse with a logger of our own; return the file and its warnings, or raise CorruptModel."""
    logger = memory_logger()
    try:
        model = ifcopenshell.open(path, logger=logger)
    except (ifcopenshell.Error, RuntimeError, OSError) as exc:
        raise CorruptModel(shown, _first(logger, LOG_ERROR) or str(exc)) from None
    if logger.max_severity() >= LOG_ERROR:
        raise CorruptModel(shown, _first(logger, LOG_ERROR) or "the parser reported errors")
    warnings = [f"parser: {m.message}" for m in logger.log_messages() if m.severity == LOG_WARNING]
    return model, warnings[:MAX_WARNINGS]


def _first(logger: Any, severity: int) -> str | None:
    return next((str(m.message).strip() for m in logger.log_messages() if m.severity >= severity), None)


def _clear_derived_names(model: Any) -> None:
    """Replace `*` (derived) in products' Name/Description/ObjectType by `$`.

    Some exporters (xbim) write `*` there; ifcopenshell's geometry kernel then stops at the first
    such product. The change is made to the model in memory only.
    """
    for product in model.by_type("IfcProduct"):
        for index in (2, 3, 4):
            if product[index] is None:
                product.unset_attribute_value(index)


def _unit_scale(units: Any, unit_type: str) -> float:
    """As `ifcopenshell.util.unit.calculate_unit_scale`, without its `getattr(unit, "UnitType")`.

    That getattr, on a unit without the attribute (IFC4's IfcMonetaryUnit), imports the schema's
    module of rules (~16 ms, see :func:`attribute`).
    """
    scale = 1.0
    for unit in units:
        if attribute(unit, "UnitType") == unit_type:
            scale *= float(ifcopenshell.util.unit.get_unit_scale(unit))
    return scale


def _scales(model: Any) -> tuple[float, float]:
    projects = model.by_type("IfcProject")
    units = projects[0].UnitsInContext.Units if projects and projects[0].UnitsInContext else ()
    length = _unit_scale(units, "LENGTHUNIT")
    # No area unit declared: quantities follow the length unit (xbim writes mm² in a mm model).
    declared = any(attribute(u, "UnitType") == "AREAUNIT" for u in units)
    area = _unit_scale(units, "AREAUNIT") if declared else length**2
    return length, area


def open_model(path: Path | str) -> IfcModel:
    """Open an IFC-SPF file, refusing unsupported schemas and incomplete or broken files.

    Raises UnsupportedSchema (naming the header's schema) before parsing anything, and
    CorruptModel when the file is truncated or its references do not resolve.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise CorruptModel(path, "no such file")
    written = header_schema(path)
    read_as = schema_to_read(path, written)
    if not _complete(path):
        raise CorruptModel(path, "it does not end with END-ISO-10303-21; (truncated?)")
    warnings = []
    if read_as != written:
        warnings.append(f"schema {written} read as {read_as}")
        with renamed_schema(path, written, read_as) as renamed:
            model, parse_warnings = _parse(renamed, path)
    else:
        model, parse_warnings = _parse(path, path)
    if not model.by_type("IfcProject"):
        raise CorruptModel(path, "it has no IfcProject")
    _clear_derived_names(model)
    length, area = _scales(model)
    return IfcModel(
        path=path,
        file=model,
        header_schema=written,
        sha256=_sha256(path),
        size=path.stat().st_size,
        length_scale=length,
        area_scale=area,
        warnings=warnings + parse_warnings,
    )
