from __future__ import annotations

import importlib

import pytest

PACKAGES = ["graph", "spatial", "bim", "ingest", "analytics", "api"]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_exports_exactly_its_public_names(name: str) -> None:
    package = importlib.import_module(name)
    assert package.__doc__, f"{name} says what it holds in its docstring"
    public = {n for n in dir(package) if not n.startswith("_")}
    submodules = {n for n in public if getattr(getattr(package, n), "__name__", "").startswith(f"{name}.")}
    assert set(package.__all__) == public - submodules | (set(package.__all__) & submodules)


@pytest.mark.parametrize(
    ("importer", "forbidden"),
    [
        ("graph", {"spatial", "bim", "ingest", "analytics", "api"}),
        ("spatial", {"graph", "bim", "ingest", "analytics", "api"}),
        ("bim", {"ingest", "analytics", "api"}),
        ("ingest", {"bim", "analytics", "api"}),
        ("analytics", {"bim", "ingest", "api"}),
    ],
)
def test_dependencies_point_one_way(importer: str, forbidden: set[str]) -> None:
    import ast
    from pathlib import Path

    root = Path(importlib.import_module(importer).__file__ or "").parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for imported in names:
                assert imported.split(".")[0] not in forbidden, f"{path} imports {imported}"
