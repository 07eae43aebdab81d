"""File import: CSV, JSONL and Excel (.xlsx) files of events into the ledger, with a template per kind.

A CSV or Excel file has a header row naming event fields (`id`, `device`, `ts`, `kind` and the
kind's own fields, see :func:`template_columns`); blank cells are left out, so optional fields may
stay empty. A file made from a kind's template (:func:`write_template`) may leave out the `kind`
column: the template's sheet is named after the kind, or pass `kind=`. JSONL holds one event
object per line. Every row becomes an outcome: accepted, duplicate or rejected (a dead letter with
the field and the reason, source `file:<name>`; the summary names the rows).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import openpyxl
from sqlalchemy import Engine

from graph.errors import ValidationError
from ingest.events import KINDS, Event, parse_event
from ingest.intake import accept

log = logging.getLogger(__name__)
BATCH = 5000
BASE_COLUMNS = ("id", "device", "ts")
FORMATS = (".csv", ".jsonl", ".ndjson", ".xlsx")


@dataclass
class FileSummary:
    """What a file import did: counts, and the first rejections with their row numbers."""

    path: str
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: list[tuple[int, str, str]] = field(default_factory=list)  # (row, field, reason), first 100


def template_columns(kind: str) -> list[str]:
    """Return the columns of a kind's template: id, device, ts, then the kind's own fields."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ValidationError("kind", kind, f"is not a known event kind; known: {', '.join(sorted(KINDS))}")
    own = [
        info.alias or name
        for name, info in spec.model.model_fields.items()
        if name not in ("kind", "schema_version", *BASE_COLUMNS)
    ]
    return [*BASE_COLUMNS, *own]


def write_template(kind: str, path: str | Path) -> Path:
    """Write an empty template for `kind` (.xlsx with a field guide sheet, or .csv) and return its path."""
    path = Path(path)
    columns = template_columns(kind)
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow(columns)
        return path
    if path.suffix.lower() != ".xlsx":
        raise ValidationError("path", str(path), "a template is .xlsx or .csv")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = kind
    sheet.append(columns)
    guide = book.create_sheet("fields")
    guide.append(["field", "required", "description"])
    model = KINDS[kind].model
    for column in columns:
        info = next((i for n, i in model.model_fields.items() if (i.alias or n) == column), None)
        description = info.description if info and info.description else ""
        if column == "ts":
            description = "ISO-8601 text with a zone, e.g. 2024-05-01T08:00:00+08:00 (Excel dates carry no zone)"
        guide.append([column, "yes" if info and info.is_required() else "no", description])
    book.save(path)
    return path


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()  # a naive Excel date is then refused for its missing zone
    return value.strip() if isinstance(value, str) else value


def _rows_from_table(header: list[Any], rows: Iterator[list[Any]], kind: str | None) -> Iterator[dict[str, Any]]:
    names = [str(h).strip() if h is not None else "" for h in header]
    for row in rows:
        record = {n: _cell(v) for n, v in zip(names, row, strict=False) if n and v is not None and _cell(v) != ""}
        if not record:
            continue
        if kind and "kind" not in record:
            record["kind"] = kind
        yield record


def _read(path: Path, kind: str | None) -> Iterator[tuple[int, Any]]:
    """Yield (row number, raw event) from a file; row numbers count from 1 at the first data row."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        with path.open("rb") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    yield number, line
    elif suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            yield from enumerate(_rows_from_table(list(header), (list(r) for r in reader), kind), 1)
    elif suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            rows: Iterator[list[Any]] = (list(r) for r in sheet.iter_rows(values_only=True))
            header = next(rows, [])
            sheet_kind = kind or (sheet.title if sheet.title in KINDS else None)
            yield from enumerate(_rows_from_table(header, rows, sheet_kind), 1)
        finally:
            book.close()
    else:
        raise ValidationError("path", str(path), f"is not one of {', '.join(FORMATS)}")


S = TypeVar("S", bound=FileSummary)


def ingest_rows(
    engine: Engine,
    rows: Iterator[tuple[int, Any]],
    source: str,
    summary: S,
    progress: Callable[[int], None] | None = None,
) -> S:
    """Parse numbered raw events and append them to the ledger a batch per transaction, counting into `summary`.

    Each batch is committed on its own, so an input that fails half-way keeps what was ledgered;
    ingesting it again counts those rows as duplicates. Rejects become dead letters.
    """
    while batch := list(islice(rows, BATCH)):
        items: list[tuple[Any, Event | ValidationError]] = []
        for _, raw in batch:
            try:
                items.append((raw, parse_event(raw)))
            except ValidationError as exc:
                items.append((raw, exc))
        with engine.begin() as conn:
            outcomes = accept(conn, items, source=source)
        for (number, _), outcome in zip(batch, outcomes, strict=True):
            summary.rows += 1
            if outcome.status == "accepted":
                summary.accepted += 1
            elif outcome.status == "duplicate":
                summary.duplicates += 1
            else:
                summary.rejected += 1
                if len(summary.rejections) < 100:
                    summary.rejections.append((number, outcome.field or "", outcome.reason or ""))
        if progress:
            progress(len(batch))
    return summary


def ingest_file(
    engine: Engine,
    path: str | Path,
    *,
    kind: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> FileSummary:
    """Append the events of a CSV, JSONL or Excel file to the ledger (rejects to dead letters); return a summary.

    Each batch of rows is committed on its own, so a large file that fails half-way keeps what was
    ledgered; importing it again then counts those rows as duplicates.
    """
    path = Path(path)
    if not path.is_file():
        raise ValidationError("path", str(path), "is not a file")
    summary = ingest_rows(engine, _read(path, kind), f"file:{path.name}", FileSummary(str(path)), progress)
    log.info(
        "file ingested",
        extra={"path": str(path), "rows": summary.rows, "accepted": summary.accepted, "rejected": summary.rejected},
    )
    return summary
