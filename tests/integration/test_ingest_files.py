"""File import (CSV, JSONL, Excel templates) into the real ledger."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine

from graph.errors import ValidationError
from ingest import deadletters, ledger
from ingest.sources.files import ingest_file, template_columns, write_template
from tests.integration.test_ingest import smoke, ts


def test_csv_rows_become_events_and_bad_rows_dead_letters(spatial_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "meters.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["kind", "device", "ts", "meter", "reading", "unit"])
        writer.writerow(["meter_reading", "E01B01-1-0301-WM", ts(1), "water", "12.5", "m3"])
        writer.writerow(["meter_reading", "E01B01-1-0301-PM", ts(1), "power", "7", "kWh"])
        writer.writerow(["meter_reading", "E01B01-1-0301-PM", ts(2), "power", "7", "m3"])
        writer.writerow(["meter_reading", "E01B01-1-0301-PM", "", "power", "8", "kWh"])
    summary = ingest_file(spatial_engine, path)
    assert (summary.rows, summary.accepted, summary.rejected) == (4, 2, 2)
    assert [(row, field) for row, field, _ in summary.rejections] == [(3, "meter_reading"), (4, "ts")]
    again = ingest_file(spatial_engine, path)
    assert again.duplicates == 2 and again.accepted == 0
    with spatial_engine.connect() as conn:
        assert ledger.count(conn) == 2 and deadletters.count(conn) == 4


def test_jsonl_lines_are_events(spatial_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "smoke.jsonl"
    path.write_text("\n".join([json.dumps(smoke("alarm", 1)), "", "{nope", json.dumps(smoke("normal", 2))]))
    summary = ingest_file(spatial_engine, path)
    assert (summary.accepted, summary.rejected) == (2, 1)


def test_an_excel_template_filled_in_is_imported(spatial_engine: Engine, tmp_path: Path) -> None:
    path = write_template("plate_read", tmp_path / "plates.xlsx")
    book = openpyxl.load_workbook(path)
    sheet = book["plate_read"]
    assert [c.value for c in sheet[1]] == template_columns("plate_read")
    columns = template_columns("plate_read")
    sheet.append(
        [{"device": "E01-GATE1-PLATE", "ts": ts(1), "plate": "京A12345", "direction": "in"}.get(c) for c in columns]
    )
    sheet.append(
        [{"device": "E01-GATE1-PLATE", "ts": ts(2), "plate": "京A12345", "direction": "up"}.get(c) for c in columns]
    )
    book.save(path)
    summary = ingest_file(spatial_engine, path)
    assert (summary.accepted, summary.rejected) == (1, 1)
    assert summary.rejections[0][:2] == (2, "direction")


def test_unknown_formats_and_kinds_are_refused(spatial_engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ValidationError, match="is not one of"):
        ingest_file(spatial_engine, tmp_path / "x.txt")
    with pytest.raises(ValidationError, match="not a known event kind"):
        template_columns("teleport")
