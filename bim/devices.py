"""Doors, stairs, lifts and devices of a model, and what they connect, serve and are installed in.

- **Doors** (IfcDoor) CONNECT the spaces they open into: the spaces whose IfcRelSpaceBoundary
  names the door or the opening it fills; for a door no boundary names, the (at most two) spaces
  on its level whose outline lies within :data:`DOOR_REACH` metres of the door's opening (or of
  the door, without an opening), seen from above.
- **Stairs** (IfcStair, and IfcStairFlight outside a stair) SERVE their own storey and the next one
  up (a stair's geometry is not triangulated for this: a spiral stair costs more than the rest).
- **Lifts** (IfcTransportElement, except escalators, moving walkways and cranes) SERVE their own
  storey and every storey whose floor their geometry spans.
- **Devices**: IfcSensor, IfcAlarm, IfcActuator, IfcCommunicationsAppliance and
  IfcFireSuppressionTerminal, and in IFC2X3 the IfcDistributionControlElement / IfcFlowTerminal
  whose type is an IfcSensorType, IfcAlarmType, IfcActuatorType or IfcFireSuppressionTerminalType.
  Smoke, heat and gas sensors and fire hydrants get their own categories.

Every one is INSTALLED_IN the space that contains it (directly, or whose outline holds its
position on its storey), else its storey, else the building.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ifcopenshell.util.element
import ifcopenshell.util.placement
import shapely
from shapely.geometry.base import BaseGeometry

from bim.geometry import Shape
from bim.model import IfcModel, attribute
from bim.spaces import SpaceInfo, apart
from bim.storeys import StoreyInfo, direct_space, storey_of

DOOR_REACH = 0.25
LEVEL_TOLERANCE = 0.3
DEVICE_CLASSES = {
    "IfcSensor": "sensor",
    "IfcAlarm": "alarm",
    "IfcActuator": "actuator",
    "IfcCommunicationsAppliance": "communications",
    "IfcFireSuppressionTerminal": "fire_terminal",
}
TYPE_CLASSES = {f"{cls}Type": cls for cls in DEVICE_CLASSES}
PREDEFINED_CATEGORIES = {
    ("IfcSensor", "SMOKESENSOR"): "smoke_detector",
    ("IfcSensor", "HEATSENSOR"): "heat_detector",
    ("IfcSensor", "GASSENSOR"): "gas_detector",
    ("IfcFireSuppressionTerminal", "FIREHYDRANT"): "hydrant",
}
NOT_LIFTS = ("ESCALATOR", "MOVINGWALKWAY", "CRANEWAY", "LIFTINGGEAR", "CONVEYOR")
GENERIC_HOSTS = ("IfcDistributionControlElement", "IfcFlowTerminal", "IfcFlowController")


@dataclass(eq=False)
class DeviceInfo:
    """An element that becomes a Device node."""

    entity: Any
    category: str
    storey: StoreyInfo | None
    position: tuple[float, float, float] | None  # metres, world
    space: SpaceInfo | None = None  # installed in
    connects: list[SpaceInfo] = field(default_factory=list)  # doors
    serves: list[StoreyInfo] = field(default_factory=list)  # stairs and lifts

    @property
    def guid(self) -> str:
        return str(self.entity.GlobalId)

    @property
    def name(self) -> str:
        name = self.entity.Name or attribute(self.entity, "LongName")
        return str(name).strip() if name and str(name).strip() else f"{self.category} {self.guid}"


def _predefined(element: Any) -> str | None:
    value = attribute(element, "PredefinedType")
    return str(value) if value and str(value) not in ("NOTDEFINED", "USERDEFINED") else None


def device_category(element: Any) -> str | None:
    """Return the Device category of a distribution element, from its class or (IFC2X3) its type."""
    element_type: Any = ifcopenshell.util.element.get_type(element)
    ifc_class = next((c for c in DEVICE_CLASSES if element.is_a(c)), None)
    if ifc_class is None and element_type is not None:
        ifc_class = next((cls for t, cls in TYPE_CLASSES.items() if element_type.is_a(t)), None)
    if ifc_class is None:
        return None
    predefined = _predefined(element) or (_predefined(element_type) if element_type is not None else None)
    return PREDEFINED_CATEGORIES.get((ifc_class, predefined or ""), DEVICE_CLASSES[ifc_class])


def device_elements(model: IfcModel) -> list[Any]:
    """Return the elements that are devices (:func:`device_category` names their category)."""
    candidates = [e for cls in (*DEVICE_CLASSES, *GENERIC_HOSTS) for e in model.by_type(cls)]
    return [e for e in dict.fromkeys(candidates) if device_category(e) is not None]


def position(element: Any, shape: Shape | None, length_scale: float) -> tuple[float, float, float] | None:
    """Return the centre of an element's body, else its placement's origin, in metres."""
    if shape is not None:
        low, high = shape.verts.min(axis=0), shape.verts.max(axis=0)
        centre = (low + high) / 2
        return float(centre[0]), float(centre[1]), float(centre[2])
    placement = attribute(element, "ObjectPlacement")
    if placement is None:
        return None
    m = ifcopenshell.util.placement.get_local_placement(placement)
    return float(m[0][3]) * length_scale, float(m[1][3]) * length_scale, float(m[2][3]) * length_scale


def _space_at(
    point: tuple[float, float, float], storey: StoreyInfo | None, spaces: list[SpaceInfo]
) -> SpaceInfo | None:
    p = shapely.Point(point[0], point[1])
    for space in spaces:
        footprint = space.footprint
        if space.storey is not storey or footprint is None or space.shape is None:
            continue
        if space.shape.zmin - LEVEL_TOLERANCE <= point[2] <= space.shape.zmax + LEVEL_TOLERANCE and footprint.covers(p):
            return space
    return None


class DeviceReader:
    """Read the doors, stairs, lifts and devices of one model against its storeys and spaces."""

    def __init__(
        self, model: IfcModel, storeys: dict[str, StoreyInfo], spaces: list[SpaceInfo], shapes: dict[int, Shape]
    ) -> None:
        self.model, self.storeys, self.spaces, self.shapes = model, storeys, spaces, shapes
        self.space_by_id = {s.entity.id(): s for s in spaces}
        self.ordered = sorted(storeys.values(), key=lambda s: s.number)
        self.warnings: list[str] = []

    def _info(self, element: Any, category: str) -> DeviceInfo:
        storey = storey_of(element)
        info = self.storeys.get(str(storey.GlobalId)) if storey is not None else None
        where = position(element, self._body(element), self.model.length_scale)
        device = DeviceInfo(entity=element, category=category, storey=info, position=where)
        space = direct_space(element)
        device.space = self.space_by_id.get(space.id()) if space is not None else None
        if device.space is None and where is not None:
            device.space = _space_at(where, info, self.spaces)
        return device

    def read(self) -> list[DeviceInfo]:
        """Return every element that becomes a Device, in a stable order (category, GlobalId)."""
        out = [*self.doors(), *self.stairs(), *self.lifts(), *self.devices()]
        return sorted(out, key=lambda d: (d.category, d.guid))

    # --- doors -----------------------------------------------------------------------------

    def doors(self) -> list[DeviceInfo]:
        bounded: dict[int, list[SpaceInfo]] = {}
        for b in self.model.by_type("IfcRelSpaceBoundary"):
            element, space = b.RelatedBuildingElement, b.RelatingSpace
            if element is None or space is None or space.id() not in self.space_by_id:
                continue
            bounded.setdefault(element.id(), [])
            if self.space_by_id[space.id()] not in bounded[element.id()]:
                bounded[element.id()].append(self.space_by_id[space.id()])
        out = []
        for door in self.model.by_type("IfcDoor"):
            device = self._info(door, "door")
            opening = ifcopenshell.util.element.get_filled_void(door)
            named = bounded.get(door.id(), []) + (bounded.get(opening.id(), []) if opening is not None else [])
            device.connects = list(dict.fromkeys(named)) or self._reached(door, opening)
            if not device.connects:
                self.warnings.append(f"door {device.guid} connects no space")
            out.append(device)
        return out

    def _reached(self, door: Any, opening: Any | None) -> list[SpaceInfo]:
        """Return the spaces a door reaches, from geometry: near its opening (or itself), on its level."""
        shape = (self.shapes.get(opening.id()) if opening is not None else None) or self.shapes.get(door.id())
        if shape is None or shape.footprint.is_empty:
            return []
        reach: BaseGeometry = shape.footprint.buffer(DOOR_REACH)
        touching = []
        for space in self.spaces:
            if space.shape is None or space.footprint is None:
                continue
            if min(space.shape.zmax, shape.zmax) - max(space.shape.zmin, shape.zmin) <= 0.1:
                continue
            overlap = 0.0 if apart(reach, space.footprint) else reach.intersection(space.footprint).area
            if overlap > 0.01:
                touching.append((overlap, space.guid, space))
        touching.sort(key=lambda t: (-t[0], t[1]))
        return [space for _, _, space in touching[:2]]

    def _body(self, element: Any) -> Shape | None:
        """Return the element's shape, or a door's opening's (the import triangulates openings, not doors)."""
        shape = self.shapes.get(element.id())
        if shape is None and element.is_a("IfcDoor"):
            opening = ifcopenshell.util.element.get_filled_void(element)
            shape = self.shapes.get(opening.id()) if opening is not None else None
        return shape

    # --- stairs and lifts --------------------------------------------------------------------

    def _zmax(self, element: Any) -> float | None:
        parts = [element, *ifcopenshell.util.element.get_decomposition(element)]
        tops = [self.shapes[p.id()].zmax for p in parts if p.id() in self.shapes]
        return max(tops) if tops else None

    def _zmin(self, element: Any) -> float | None:
        parts = [element, *ifcopenshell.util.element.get_decomposition(element)]
        bottoms = [self.shapes[p.id()].zmin for p in parts if p.id() in self.shapes]
        return min(bottoms) if bottoms else None

    def stairs(self) -> list[DeviceInfo]:
        flights = [f for f in self.model.by_type("IfcStairFlight") if not ifcopenshell.util.element.get_aggregate(f)]
        out = []
        for stair in [*self.model.by_type("IfcStair"), *flights]:
            device = self._info(stair, "stair")
            if device.storey is None:
                self.warnings.append(f"stair {device.guid} is on no storey and serves none")
            else:
                above = [s for s in self.ordered if s.elevation_m > device.storey.elevation_m]
                device.serves = [device.storey, *above[:1]]
            out.append(device)
        return out

    def lifts(self) -> list[DeviceInfo]:
        out = []
        for lift in self.model.by_type("IfcTransportElement"):
            if _predefined(lift) in NOT_LIFTS:
                self.warnings.append(f"{_predefined(lift)} {lift.GlobalId} is not a lift; not imported")
                continue
            device = self._info(lift, "elevator")
            low, high = self._zmin(lift), self._zmax(lift)
            spanned = [
                s
                for s in self.ordered
                if low is not None and high is not None and low - LEVEL_TOLERANCE <= s.elevation_m <= high
            ]
            own = [device.storey] if device.storey is not None else []
            device.serves = list(dict.fromkeys(own + spanned))
            if not device.serves:
                self.warnings.append(f"lift {device.guid} is on no storey and serves none")
            out.append(device)
        return out

    # --- devices -----------------------------------------------------------------------------

    def devices(self) -> list[DeviceInfo]:
        return [self._info(e, category) for e in device_elements(self.model) if (category := device_category(e))]
