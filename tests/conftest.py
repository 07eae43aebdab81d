"""Markers come from directories: tests/integration → integration, tests/e2e → e2e."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        for marker in ("integration", "e2e", "perf"):
            if marker in parts:
                item.add_marker(getattr(pytest.mark, marker))
