"""A scene's booleans on meshes (bim.csg) make the solids OpenCASCADE makes, element by element.

The reference is ifcopenshell's kernel as scenes used it before: the hybrid kernel, openings cut
and booleans done on B-reps. The sample files hold every kind the mesh booleans take: openings of
one solid and of two that touch (AC20's windows and sills), round ones (AC11), walls clipped by
plain half-spaces and by polygonal bounded ones with either agreement flag, and a brep subtracted
from a wall (xbim-House).
"""

from __future__ import annotations

from typing import Any

import ifcopenshell.geom
import numpy as np
import pytest

from bim import csg
from bim.geometry import SCENE_KERNEL, Shape, _settings, element_shapes
from bim.model import open_model
from bim.scene import build_glb, scene_elements
from bim.structure import map_elements
from tests.conftest import SHARED_DATA

IFC = SHARED_DATA / "ifc"
_geom: Any = ifcopenshell.geom


def _measures(verts: np.ndarray[Any, Any], faces: np.ndarray[Any, Any]) -> tuple[float, float]:
    """Volume and surface area of a closed triangle mesh."""
    a, b, c = (verts[faces[:, i]] for i in range(3))
    volume = float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6)
    area = float(np.linalg.norm(np.cross(b - a, c - a), axis=1).sum() / 2)
    return volume, area


def _colours(shape: Shape) -> set[tuple[float, ...]]:
    """The colours of a shape's triangles (a style without transparency has NaN for it, which equals nothing)."""
    used: Any = np.unique(shape.material_ids) if shape.materials else []
    return {tuple(np.nan_to_num(np.round(shape.materials[i], 3), nan=-1.0).tolist()) for i in used}


@pytest.mark.parametrize(
    "name", ["AC20-FZK-Haus.ifc", "AC11-FZK-Haus-IFC.ifc", "xbim-House.ifc", "example.ifc", "revit_quantities.ifc"]
)
def test_every_cut_element_has_the_volume_area_bounds_and_colours_opencascade_gives_it(name: str) -> None:
    model = open_model(IFC / name)
    cut = [e for e in scene_elements(model) if csg.needs_booleans(e)]
    assert cut
    shapes, missing = element_shapes(model, cut, openings=True)
    assert missing == [] and set(shapes) == {e.id() for e in cut}
    settings = _settings(True)
    for element in cut:
        shape = shapes[element.id()]
        geometry = _geom.create_shape(settings, element, geometry_library=SCENE_KERNEL).geometry
        verts = np.frombuffer(geometry.verts_buffer, dtype=np.float64).reshape(-1, 3)
        faces = np.frombuffer(geometry.faces_buffer, dtype=np.int32).reshape(-1, 3)
        volume, area = _measures(shape.verts, shape.faces)
        ref_volume, ref_area = _measures(verts, faces)
        # round openings are polygons of another number of sides in each kernel
        assert volume == pytest.approx(ref_volume, rel=1e-4), element
        assert area == pytest.approx(ref_area, rel=1e-3), element  # a skin left where a cut should be open fails
        assert np.allclose(shape.verts.min(axis=0), verts.min(axis=0), atol=1e-3), element
        assert np.allclose(shape.verts.max(axis=0), verts.max(axis=0), atol=1e-3), element
        reference = Shape(element.id(), element.GlobalId, element.is_a(), verts, faces, np.zeros(0, np.int32))
        reference.material_ids = np.frombuffer(geometry.material_ids_buffer, dtype=np.int32)
        reference.materials = [
            (m.diffuse.r(), m.diffuse.g(), m.diffuse.b(), 1.0 - float(m.transparency or 0.0))
            for m in geometry.materials
        ]
        assert _colours(shape) == _colours(reference), element


def test_a_scene_made_with_the_imports_shapes_is_the_scene_made_from_nothing() -> None:
    model = open_model(IFC / "AC20-FZK-Haus.ifc")
    made, _ = element_shapes(model, map_elements(model), openings=False)
    assert any(csg.needs_booleans(e) for e in map_elements(model))  # walls with openings are not taken from it
    assert build_glb(model, made=made) == build_glb(model)


def test_a_mesh_that_is_not_closed_is_left_to_the_kernel() -> None:
    triangle = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    with pytest.raises(csg.Unsupported, match="not a closed mesh"):
        csg.manifold(triangle, np.array([[0, 1, 2]]))


def test_an_element_the_mesh_booleans_do_not_take_is_made_by_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    model = open_model(IFC / "AC20-FZK-Haus.ifc")
    cut = [e for e in scene_elements(model) if csg.needs_booleans(e)]
    made, _ = element_shapes(model, cut, openings=True)

    def unsupported(self: csg.Evaluator, item: Any) -> Any:
        raise csg.Unsupported(item.is_a())

    monkeypatch.setattr(csg.Evaluator, "solid", unsupported)
    by_kernel, missing = element_shapes(model, cut, openings=True)
    assert missing == [] and set(by_kernel) == set(made)
    for element in cut:
        ours, theirs = made[element.id()], by_kernel[element.id()]
        assert _measures(ours.verts, ours.faces)[0] == pytest.approx(_measures(theirs.verts, theirs.faces)[0], rel=1e-4)
