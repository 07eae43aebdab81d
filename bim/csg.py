"""Booleans of element bodies on triangle meshes (manifold3d) instead of OpenCASCADE's B-rep booleans.

A scene cuts every opening out of its wall and clips walls under their roofs. OpenCASCADE does
that on B-reps, and it was 87–92 % of a scene's time on the sample houses (AC20-FZK-Haus's 13
walls 1.6 s, xbim-House's 46 walls 2.8 s). Here each solid under the booleans is triangulated by
CGAL's simple kernel, as outlines are, and the booleans are done on the closed meshes by
manifold3d, which is exact on them and takes milliseconds:

- a body item that is an ``IfcBooleanResult`` is evaluated as its tree: DIFFERENCE, UNION and
  INTERSECTION of solids, and DIFFERENCE or INTERSECTION with an ``IfcHalfSpaceSolid`` on an
  ``IfcPlane`` (a plane cut) or an ``IfcPolygonalBoundedHalfSpace`` bounded by an ``IfcPolyline``
  (a prism through the boundary, cut by the plane);
- the element's openings (``HasOpenings``) are triangulated in the world and subtracted.

The work is done in the element's own frame (its ObjectPlacement), where coordinates are small,
and the result is placed in the world. Whatever this does not cover — a mapped or non-solid
body item, another half-space, a mesh that is not closed — returns None, and the element goes to
ifcopenshell's kernels as before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import manifold3d
import numpy as np
import numpy.typing as npt

from bim.model import attribute

FloatArray = npt.NDArray[np.float64]
Triangulated = tuple[FloatArray, npt.NDArray[Any], npt.NDArray[Any], list[Any]]
# What is cut away grows by this much (metres) past its faces: an opening or a boundary that lies on
# the body's own face (a window as deep as its wall, a clipping along a mitred end), or a hair off it
# after the change of frame, would leave a skin of no thickness where the cut should be open.
GROW = 1e-5
_OPS = {
    "DIFFERENCE": manifold3d.OpType.Subtract,
    "UNION": manifold3d.OpType.Add,
    "INTERSECTION": manifold3d.OpType.Intersect,
}


class Unsupported(Exception):
    """A body this module does not evaluate: the caller leaves it to ifcopenshell's kernels."""


def manifold(verts: FloatArray, faces: npt.NDArray[Any], face_ids: npt.NDArray[Any] | None = None) -> Any:
    """A closed, oriented mesh as a Manifold (raises Unsupported for anything else)."""
    if not len(faces):
        raise Unsupported("empty mesh")
    mesh = manifold3d.Mesh64(  # copies: the kernel's buffers are read-only, which the binding refuses
        vert_properties=np.array(verts, dtype=np.float64),
        tri_verts=np.array(faces, dtype=np.uint64),
        face_id=None if face_ids is None else np.array(face_ids, dtype=np.uint64),
    )
    mesh.merge()  # vertices split along the kernel's edges (by normal or material) are one point
    solid = manifold3d.Manifold(mesh)
    if solid.status() != manifold3d.Error.NoError or solid.is_empty():
        raise Unsupported(f"not a closed mesh ({solid.status()})")
    return solid


def grown(solid: Any) -> Any:
    """`solid` scaled about the centre of its bounds so that each side of them moves out by GROW."""
    low, high = np.array(solid.bounding_box()).reshape(2, 3)
    extent = np.maximum(high - low, GROW)
    centre = (low + high) / 2
    return solid.translate(tuple(-centre)).scale(tuple((extent + 2 * GROW) / extent)).translate(tuple(centre))


def subtract(solid: Any, cuts: list[Any]) -> Any:
    """`solid` less `cuts`, each part of them grown (two parts that touch, a window's opening and its sill's, grow
    into each other)."""
    parts = [grown(part) for cut in cuts for part in cut.decompose()]
    return evaluated(manifold3d.Manifold.batch_boolean([solid, *parts], manifold3d.OpType.Subtract)) if parts else solid


def evaluated(solid: Any) -> Any:
    """`solid` with its booleans done now: manifold defers them and then takes a chain of a dozen clippings as one
    subtraction of their union, which is 6x slower on a wall than one at a time."""
    solid.num_tri()
    return solid


class Evaluator:
    """Evaluates an element's body items into Manifolds, in the frame of its representation.

    `triangulate(item)` returns a solid item as (vertices in metres, triangles, material ids,
    materials); `place(placement)` an IfcAxis2Placement3D as a 4×4 matrix in metres; `scale` is
    what turns the file's own lengths (a half-space's boundary) into the same unit. The
    materials of every solid are gathered in :attr:`materials`, and each Manifold's triangles
    carry the index into it as their face id.
    """

    def __init__(
        self, triangulate: Callable[[Any], Triangulated], place: Callable[[Any], FloatArray], scale: float
    ) -> None:
        self.triangulate = triangulate
        self.place = place
        self.scale = scale
        self.materials: list[Any] = []
        self.originals: set[int] = set()
        self.bounds = np.array([[np.inf] * 3, [-np.inf] * 3])  # of every solid triangulated: a half-space's reach

    def body(self, items: list[Any]) -> Any:
        return evaluated(manifold3d.Manifold.batch_boolean([self.solid(i) for i in items], manifold3d.OpType.Add))

    def solid(self, item: Any) -> Any:
        if item.is_a("IfcBooleanResult"):
            first = self.solid(item.FirstOperand)
            second = item.SecondOperand
            if second.is_a("IfcHalfSpaceSolid"):
                return evaluated(self._with_half_space(first, item.Operator, second))
            if item.Operator == "DIFFERENCE":
                return subtract(first, [self.solid(second)])
            return evaluated(manifold3d.Manifold.batch_boolean([first, self.solid(second)], _OPS[item.Operator]))
        if not (item.is_a("IfcSolidModel") or item.is_a("IfcFacetedBrep")):
            raise Unsupported(item.is_a())
        verts, faces, material_ids, materials = self.triangulate(item)
        base = len(self.materials)
        self.materials += materials or [None]  # None: the element's own colour
        ids = (material_ids if materials else np.zeros(len(faces), dtype=np.int64)) + base
        made = manifold(verts, faces, ids)
        self.bounds = np.array([np.minimum(self.bounds[0], verts.min(0)), np.maximum(self.bounds[1], verts.max(0))])
        self.originals.add(made.original_id())
        return made

    def _with_half_space(self, solid: Any, operator: str, half_space: Any) -> Any:
        normal, offset = self._material_side(half_space)
        offset -= GROW  # the material side, a little past the plane
        if half_space.is_a("IfcPolygonalBoundedHalfSpace"):
            region = self._prism(half_space).trim_by_plane(normal, offset)
            return manifold3d.Manifold.batch_boolean([solid, region], _OPS[operator])
        if half_space.is_a() != "IfcHalfSpaceSolid":
            raise Unsupported(half_space.is_a())
        if operator == "DIFFERENCE":
            return solid.trim_by_plane(-normal, -offset)
        if operator == "INTERSECTION":
            return solid.trim_by_plane(normal, offset)
        raise Unsupported(f"{operator} with a half-space")

    def _material_side(self, half_space: Any) -> tuple[FloatArray, float]:
        """The unit normal and offset of the plane of a half-space, pointing into its material."""
        surface = half_space.BaseSurface
        if not surface.is_a("IfcPlane"):
            raise Unsupported(f"half-space on {surface.is_a()}")
        plane = self.place(surface.Position)
        normal, point = plane[:3, 2], plane[:3, 3]
        normal = normal / np.linalg.norm(normal)
        if half_space.AgreementFlag:  # the plane's normal points away from the half-space's material
            normal = -normal
        return normal, float(normal @ point)

    def _prism(self, bounded: Any) -> Any:
        """The prism of an IfcPolygonalBoundedHalfSpace's boundary, grown a little, through and past every solid."""
        boundary = bounded.PolygonalBoundary
        if not boundary.is_a("IfcPolyline"):
            raise Unsupported(f"half-space bounded by {boundary.is_a()}")
        points = np.array([p.Coordinates[:2] for p in boundary.Points], dtype=np.float64) * self.scale
        if len(points) > 1 and np.allclose(points[0], points[-1]):
            points = points[:-1]
        section = manifold3d.CrossSection([points], manifold3d.FillRule.NonZero).offset(GROW, manifold3d.JoinType.Miter)
        if section.is_empty():
            raise Unsupported("empty half-space boundary")
        position = self.place(bounded.Position)
        reach = float(np.linalg.norm(np.abs(self.bounds - position[:3, 3]).max(axis=0))) * 2 + 1.0
        prism = manifold3d.Manifold.extrude(section, 2 * reach).translate((0.0, 0.0, -reach))
        return prism.transform(position[:3, :])

    def mesh(self, solid: Any) -> tuple[FloatArray, npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """Vertices, triangles and per-triangle material index of a result.

        Triangles that came from the solids keep their material; faces cut by an opening, a
        plane or a prism take the body's most common one.
        """
        out = solid.to_mesh64()
        verts = np.asarray(out.vert_properties, dtype=np.float64)[:, :3]
        faces = np.asarray(out.tri_verts, dtype=np.int32)
        ids = np.asarray(out.face_id, dtype=np.int64)
        own = np.zeros(len(faces), dtype=bool)
        starts, originals = np.asarray(out.run_index), np.asarray(out.run_original_id)
        for start, end, original in zip(starts[:-1], starts[1:], originals, strict=False):
            if int(original) in self.originals:
                own[start // 3 : end // 3] = True
        common = Counter(ids[own].tolist()).most_common(1)
        ids[~own] = common[0][0] if common else 0
        return verts, faces, ids.astype(np.int32)


def body_items(element: Any) -> list[Any] | None:
    """The items of an element's Body representation, or None when it has none."""
    representation = attribute(element, "Representation")
    if representation is None:
        return None
    body = next((r for r in representation.Representations if r.RepresentationIdentifier == "Body"), None)
    return list(body.Items) if body is not None and body.Items else None


def _has_boolean(items: list[Any]) -> bool:
    for item in items:
        if item.is_a("IfcBooleanResult"):
            return True
        if item.is_a("IfcMappedItem") and _has_boolean(list(item.MappingSource.MappedRepresentation.Items)):
            return True
    return False


def needs_booleans(element: Any) -> bool:
    """Whether the element's body needs a boolean: an opening to cut or a boolean item (mapped ones too)."""
    return bool(attribute(element, "HasOpenings")) or _has_boolean(body_items(element) or [])
