"""Triangulated element geometry from ifcopenshell.geom, in world coordinates and metres.

One pass of ifcopenshell's geometry iterator over the elements asked for (outlines on one thread
are made one `create_shape` at a time: the iterator's set-up cost xbim-House 3 of its 15 ms); an
element the iterator skips or fails on is retried alone with `create_shape`, and an element that
still has no shape becomes a warning (the iterator, single-threaded, stops at the first element it
cannot process).

Outlines (openings not cut) are made by CGAL's simple kernel (:data:`FAST_KERNEL`), which
triangulates a plain extrusion in a fraction of OpenCASCADE's time, except bodies of booleans (such
as walls clipped under a roof), which it fails on: those are made from the solid under their
booleans, which is what the kernels make of them with booleans off. What is left after both goes
to OpenCASCADE. A scene (openings cut)
does the booleans of an element that needs them on meshes (:mod:`bim.csg`: the solids under them
by the fast kernel, the booleans by manifold3d, the same solids as OpenCASCADE's in a fraction of
its time); the rest, and what that does not take, is made by ifcopenshell's hybrid kernel: CGAL's
simple kernel for an element with no boolean, OpenCASCADE for one with; what it leaves goes to
OpenCASCADE.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import ifcopenshell
import ifcopenshell.geom
import ifcopenshell.util.element
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from bim import csg
from bim.model import IfcModel, attribute, memory_logger

log = logging.getLogger(__name__)
_geom: Any = ifcopenshell.geom  # its functions are untyped
GRID = 0.001  # outlines' vertices snap to a millimetre grid, so that touching triangles union cleanly
CLOSED = 1e-6  # a mesh whose projected signed areas sum to this fraction of their total is closed
UNITS_UNKNOWN = "Unable to detect unit information"  # the kernel's warning; it then assumes metres
FAST_KERNEL = "cgal-simple"  # no booleans: an element that needs one is left to KERNEL
KERNEL = "opencascade"
SCENE_KERNEL = "hybrid-cgal-simple-opencascade"  # per element: the simple kernel unless it needs a boolean
Rgba = tuple[float, float, float, float]
UNKNOWN_RGBA: Rgba = (0.8, 0.8, 0.8, 1.0)  # as a scene shows a shape without materials
UNSTYLED = "DefaultMaterial"  # the kernel's name for the material of an item with no style of its own
Tick = Callable[[int, int], None]


@dataclass
class Shape:
    """The triangulated body of one element: vertices (n×3, metres, world), triangles and their materials."""

    id: int
    guid: str
    ifc_class: str
    verts: npt.NDArray[np.float64]
    faces: npt.NDArray[np.int32]
    material_ids: npt.NDArray[np.int32]
    materials: list[Rgba] = field(default_factory=list)

    @cached_property
    def zmin(self) -> float:
        return float(self.verts[:, 2].min())

    @cached_property
    def zmax(self) -> float:
        return float(self.verts[:, 2].max())

    @cached_property
    def footprint(self) -> BaseGeometry:
        """The element's outline seen from above: the union of its triangles projected on XY.

        Vertices snap to the millimetre grid before the union, which is then exact where
        triangles touch (a union snap-rounding to the grid took 3x as long, for the same graph
        and footprints of every sample file). Of a closed, consistently oriented mesh (its
        projected signed areas sum to zero) only the triangles facing up are needed: above every
        point of the outline the body has a top face. Half the triangles or fewer make the union
        2-3x faster; an open or inconsistent mesh keeps them all.
        """
        tris = np.round(self.verts[self.faces][:, :, :2] / GRID) * GRID
        a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
        signed = ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])) / 2
        area = np.abs(signed)
        keep = area > 1e-6  # vertical faces project to slivers
        if abs(float(signed.sum())) <= CLOSED * float(area.sum()):
            keep &= signed > 0
        tris = tris[keep]
        if not len(tris):
            return shapely.Polygon()
        rings = np.concatenate([tris, tris[:, :1]], axis=1)
        return shapely.union_all(shapely.polygons(rings))


def _settings(openings: bool) -> Any:
    settings = _geom.settings()
    settings.set("use-world-coords", True)
    settings.set("weld-vertices", True)
    settings.set("apply-default-materials", True)
    settings.set("disable-opening-subtractions", not openings)
    settings.set("disable-boolean-result", not openings)
    return settings


def _colour(material: Any) -> Rgba:
    diffuse = material.diffuse
    alpha = 1.0 - float(material.transparency or 0.0)
    return (float(diffuse.r()), float(diffuse.g()), float(diffuse.b()), min(max(alpha, 0.0), 1.0))


def _shape(element: Any, raw: Any) -> Shape | None:
    geometry = raw.geometry
    verts = np.frombuffer(geometry.verts_buffer, dtype=np.float64).reshape(-1, 3).copy()
    faces = np.frombuffer(geometry.faces_buffer, dtype=np.int32).reshape(-1, 3).copy()
    if not len(verts) or not len(faces):
        return None
    material_ids = np.frombuffer(geometry.material_ids_buffer, dtype=np.int32).copy()
    if len(material_ids) != len(faces):
        material_ids = np.zeros(len(faces), dtype=np.int32)
    return Shape(
        id=element.id(),
        guid=element.GlobalId,
        ifc_class=element.is_a(),
        verts=verts,
        faces=faces,
        material_ids=material_ids,
        materials=[_colour(m) for m in geometry.materials],
    )


def _units_unknown(logger: Any) -> bool:
    return any(UNITS_UNKNOWN in str(m.message) for m in logger.log_messages())


def _unclipped_solids(element: Any) -> list[Any] | None:
    """Return the solids under the booleans of an element's body, or None when its body is not all booleans."""
    body = next((r for r in element.Representation.Representations if r.RepresentationIdentifier == "Body"), None)
    if body is None or not body.Items:
        return None
    solids = []
    for item in body.Items:
        if not item.is_a("IfcBooleanResult"):
            return None
        while item.is_a("IfcBooleanResult"):
            item = item.FirstOperand
        solids.append(item)
    return solids


def _placement(element: Any, settings: Any, logger: Any) -> npt.NDArray[np.float64] | None:
    """The element's placement in the world as a 4×4 matrix, in the kernel's unit, or None when it has none."""
    if attribute(element, "ObjectPlacement") is None:
        return None
    try:
        return _matrix(element.ObjectPlacement, settings, logger)
    except RuntimeError:
        return None


def _matrix(placement: Any, settings: Any, logger: Any) -> npt.NDArray[np.float64]:
    """A placement (IfcObjectPlacement or IfcAxis2Placement) as the kernel makes it, in its unit, as a 4×4 matrix."""
    made = _geom.create_shape(settings, placement, geometry_library=FAST_KERNEL, logger=logger)
    return np.asarray(made.matrix, dtype=np.float64).reshape(4, 4).T  # column-major


def _triangulated(item: Any, settings: Any, logger: Any) -> tuple[Any, Any, Any, list[Rgba | None]]:
    """A body item triangulated by the fast kernel in its own frame: vertices, triangles, material ids, colours.

    An item with no style has the colour None: the element's (a class's default, or the style of
    an item above it), which the kernel gives only when it makes the whole element.
    """
    try:
        raw = _geom.create_shape(settings, item, geometry_library=FAST_KERNEL, logger=logger)
    except RuntimeError as exc:
        raise csg.Unsupported(str(exc)) from None
    verts = np.frombuffer(raw.verts_buffer, dtype=np.float64).reshape(-1, 3)
    faces = np.frombuffer(raw.faces_buffer, dtype=np.int32).reshape(-1, 3)
    material_ids = np.frombuffer(raw.material_ids_buffer, dtype=np.int32)
    materials: list[Rgba | None] = [None if m.name == UNSTYLED else _colour(m) for m in raw.materials]
    if len(material_ids) != len(faces) or (len(material_ids) and material_ids.max() >= len(materials)):
        material_ids, materials = np.zeros(len(faces), dtype=np.int32), materials[:1]
    return verts, faces, material_ids, materials


def _cut(
    element: Any, settings: Any, logger: Any, length_scale: float, colours: dict[tuple[Any, ...], Rgba]
) -> Shape | None:
    """The body of an element with its booleans done on meshes (:mod:`bim.csg`), or None to leave it to a kernel.

    `colours` keeps the colours of unstyled items found so far (:func:`_styled`).
    """
    items = csg.body_items(element)
    matrix = _placement(element, settings, logger)
    if items is None or matrix is None:
        return None
    # the IFC's own coordinates (half-spaces) in the kernel's unit: metres, unless it could not read the units
    scale = 1.0 if _units_unknown(logger) else length_scale
    evaluator = csg.Evaluator(
        lambda item: _triangulated(item, settings, logger),
        lambda placement: _matrix(placement, settings, logger),
        scale,
    )
    try:
        solid = evaluator.body(items)
        to_local = np.linalg.inv(matrix)
        openings = []
        for rel in attribute(element, "HasOpenings") or ():
            opening = rel.RelatedOpeningElement
            if not has_body(opening):
                continue
            raw = _geom.create_shape(settings, opening, geometry_library=FAST_KERNEL, logger=logger)
            world = np.frombuffer(raw.geometry.verts_buffer, dtype=np.float64).reshape(-1, 3)
            faces = np.frombuffer(raw.geometry.faces_buffer, dtype=np.int32).reshape(-1, 3)
            openings.append(csg.manifold(world @ to_local[:3, :3].T + to_local[:3, 3], faces))
        solid = csg.subtract(solid, openings)
        verts, faces, material_ids = evaluator.mesh(solid)
    except (csg.Unsupported, RuntimeError):  # RuntimeError: the kernel failed on a part of it
        return None
    if not len(faces):
        return None
    return Shape(
        id=element.id(),
        guid=element.GlobalId,
        ifc_class=element.is_a(),
        verts=verts @ matrix[:3, :3].T + matrix[:3, 3],
        faces=faces,
        material_ids=material_ids,
        materials=_styled(evaluator.materials, element, items, logger, colours),
    )


def _style_key(element: Any, items: Iterable[Any]) -> tuple[Any, ...]:
    """What the kernel's colour of an element's unstyled items depends on: its class, material, type and the styles
    of the items above them."""
    styles, todo = [], list(items)
    while todo:
        item = todo.pop()
        styles += [s.id() for s in item.StyledByItem]
        if item.is_a("IfcBooleanResult"):
            todo += [item.FirstOperand, item.SecondOperand]
    materials = tuple(m.id() for m in ifcopenshell.util.element.get_materials(element))  # not per-wall usages
    kind = ifcopenshell.util.element.get_type(element)
    return element.is_a(), materials, kind.id() if kind else 0, tuple(styles)


def _styled(
    materials: list[Rgba | None], element: Any, items: list[Any], logger: Any, known: dict[tuple[Any, ...], Rgba]
) -> list[Rgba]:
    """`materials` with the element's own colour for items with none: as the kernel makes it with booleans off.

    `items` are its body's; `known` keeps the colours found by :func:`_style_key` (making an element
    takes ~1.5 ms).
    """
    if all(m is not None for m in materials):
        return materials  # type: ignore[return-value]
    key = _style_key(element, items)
    if key not in known:
        whole: Any = None
        for kernel in (FAST_KERNEL, KERNEL):  # the fast kernel fails on a body of booleans
            try:
                whole = _geom.create_shape(_settings(openings=False), element, geometry_library=kernel, logger=logger)
                break
            except RuntimeError:
                continue
        colours = whole.geometry.materials if whole is not None else []
        known[key] = _colour(colours[0]) if colours else UNKNOWN_RGBA
    return [known[key] if m is None else m for m in materials]


def _unclipped(element: Any, settings: Any, logger: Any) -> Shape | None:
    """Return the shape of an element whose body is booleans, made of the solids under them (no booleans).

    The fast kernel makes each solid in the element's own frame, and the element's placement (the
    kernel's too, in the same unit) puts it in the world.
    """
    solids = _unclipped_solids(element)
    if solids is None or (matrix := _placement(element, settings, logger)) is None:
        return None
    verts, faces, count = [], [], 0
    for solid in solids:
        try:
            raw = _geom.create_shape(settings, solid, geometry_library=FAST_KERNEL, logger=logger)
        except RuntimeError:
            return None
        local = np.frombuffer(raw.verts_buffer, dtype=np.float64).reshape(-1, 3)
        verts.append(local @ matrix[:3, :3].T + matrix[:3, 3])
        faces.append(np.frombuffer(raw.faces_buffer, dtype=np.int32).reshape(-1, 3) + count)
        count += len(local)
    if not count:
        return None
    all_faces = np.concatenate(faces)
    return Shape(
        id=element.id(),
        guid=element.GlobalId,
        ifc_class=element.is_a(),
        verts=np.concatenate(verts),
        faces=all_faces,
        material_ids=np.zeros(len(all_faces), dtype=np.int32),
    )


def has_body(element: Any) -> bool:
    """Return True when the element has a representation the geometry kernel could turn into a body."""
    shape = getattr(element, "Representation", None)
    return bool(shape and shape.Representations)


def element_shapes(
    model: IfcModel,
    elements: Iterable[Any],
    *,
    openings: bool = True,
    threads: int = 1,
    tick: Tick | None = None,
) -> tuple[dict[int, Shape], list[str]]:
    """Triangulate `elements`; return their shapes by step id and a warning per element left without one.

    `openings=False` skips boolean operations (openings cut for doors and windows, clippings
    under roofs), which are most of the cost and change no outline seen from above.
    `tick(done, total)` reports progress. Output the kernel could not scale to metres itself (it
    cannot read the units of a file with more than one IfcContext, e.g. an IfcProjectLibrary) is
    scaled by the model's length unit.
    """
    wanted: Sequence[Any] = [e for e in dict.fromkeys(elements) if has_body(e)]
    shapes: dict[int, Shape] = {}
    if not wanted:
        return shapes, []
    settings = _settings(openings)
    logger = memory_logger()
    by_id = {e.id(): e for e in wanted}
    if not openings:  # the fast kernel fails on a body of booleans (~0.3 ms each): no attempt
        for element in wanted:
            if (shape := _unclipped(element, settings, logger)) is not None:
                shapes[element.id()] = shape
    else:  # booleans on meshes: milliseconds where OpenCASCADE takes tenths of a second
        colours: dict[tuple[Any, ...], Rgba] = {}
        for element in wanted:
            if csg.needs_booleans(element) and (shape := _cut(element, settings, logger, model.length_scale, colours)):
                shapes[element.id()] = shape
    for kernel in (FAST_KERNEL, KERNEL) if not openings else (SCENE_KERNEL, KERNEL):
        left = [e for e in wanted if e.id() not in shapes]
        if not left:
            break
        if kernel == FAST_KERNEL and threads == 1:  # the iterator's set-up costs more than it saves
            for element in left:
                try:
                    raw = _geom.create_shape(settings, element, geometry_library=kernel, logger=logger)
                except RuntimeError:
                    continue
                if (shape := _shape(element, raw)) is not None:
                    shapes[element.id()] = shape
                if tick:
                    tick(len(shapes), len(wanted))
            continue
        iterator = _geom.iterator(settings, model.file, threads, include=left, geometry_library=kernel, logger=logger)
        if iterator.initialize():
            while True:
                raw = iterator.get()
                element = by_id.get(raw.id)
                if element is not None and (shape := _shape(element, raw)) is not None:
                    shapes[raw.id] = shape
                if tick:
                    tick(len(shapes), len(wanted))
                if not iterator.next():
                    break
    warnings = []
    for element in wanted:
        if element.id() in shapes:
            continue
        try:
            raw = _geom.create_shape(settings, element, logger=logger)
        except RuntimeError as exc:
            warnings.append(f"no geometry for {element.is_a()} {element.GlobalId}: {str(exc).splitlines()[0]}")
            continue
        shape = _shape(element, raw)
        if shape is None:
            warnings.append(f"no geometry for {element.is_a()} {element.GlobalId}: empty body")
        else:
            shapes[element.id()] = shape
        if tick:
            tick(len(shapes), len(wanted))
    if _units_unknown(logger) and model.length_scale != 1.0:
        for shape in shapes.values():
            shape.verts *= model.length_scale
    log.debug("triangulated", extra={"elements": len(wanted), "shapes": len(shapes)})
    return shapes, warnings
