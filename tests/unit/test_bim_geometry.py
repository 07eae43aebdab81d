"""Outlines for the graph and the map come out the same whichever kernel made them.

`element_shapes(openings=False)` triangulates with CGAL's simple kernel and makes a body of
booleans (walls clipped under a roof) from the solid under them; OpenCASCADE with booleans off,
element by element, is the reference. Sample files are those of ../shared/data/ifc.
"""

from __future__ import annotations

from typing import Any

import ifcopenshell.geom
import numpy as np
import pytest

from bim.geometry import Shape, element_shapes
from bim.model import open_model
from bim.structure import map_elements
from tests.conftest import SHARED_DATA

IFC = SHARED_DATA / "ifc"
_geom: Any = ifcopenshell.geom


def _reference(element: Any) -> Shape:
    """The element as OpenCASCADE makes it with openings and booleans off, one element at a time."""
    settings = _geom.settings()
    settings.set("use-world-coords", True)
    settings.set("disable-opening-subtractions", True)
    settings.set("disable-boolean-result", True)
    geometry = _geom.create_shape(settings, element).geometry
    faces = np.frombuffer(geometry.faces_buffer, dtype=np.int32).reshape(-1, 3)
    return Shape(
        id=element.id(),
        guid=element.GlobalId,
        ifc_class=element.is_a(),
        verts=np.frombuffer(geometry.verts_buffer, dtype=np.float64).reshape(-1, 3),
        faces=faces,
        material_ids=np.zeros(len(faces), dtype=np.int32),
    )


def _is_clipped(element: Any) -> bool:
    return any(i.is_a("IfcBooleanResult") for r in element.Representation.Representations for i in r.Items)


@pytest.mark.parametrize("name", ["AC20-FZK-Haus.ifc", "AC11-FZK-Haus-IFC.ifc", "xbim-House.ifc", "example.ifc"])
def test_every_element_gets_the_bounds_and_outline_opencascade_gives_it(name: str) -> None:
    model = open_model(IFC / name)
    elements = [e for e in map_elements(model) if e.Representation]
    shapes, missing = element_shapes(model, elements, openings=False)
    assert missing == [] and set(shapes) == {e.id() for e in elements}
    if name != "example.ifc":  # the others have walls clipped under their roofs: solids under booleans
        assert any(_is_clipped(e) for e in elements)
    for element in elements:
        shape, reference = shapes[element.id()], _reference(element)
        assert (shape.zmin, shape.zmax) == pytest.approx((reference.zmin, reference.zmax), abs=1e-6), element
        assert shape.footprint.symmetric_difference(reference.footprint).area < 1e-6, element
