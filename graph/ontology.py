"""The ontology of the community graph, defined once: node labels, relationship types, properties.

Each node label is a pydantic model (:class:`Node` subclasses, registered in :data:`NODE_TYPES`);
each relationship type is a row of :data:`RELATIONS` saying which labels it joins and which
property model it carries. The graph store, the generator and (later) the GraphQL types and tile
attribute lists all derive from these definitions. Every node and relationship carries `uid`,
`source` (where the fact came from) and `ingested_at` (when it entered the platform), 7.1.1.x e.

Clause numbers refer to the smart-community construction specification (see REQUIREMENTS.md).
"""

from __future__ import annotations

import builtins
import types
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, ClassVar, Final, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from graph import uid as uids
from graph.codes import check_id_number, check_phone, check_plate, id_number_birth_date, id_number_sex

IdNumber = Annotated[str, AfterValidator(check_id_number)]
Plate = Annotated[str, AfterValidator(check_plate)]
Phone = Annotated[str, AfterValidator(check_phone)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Sex = Literal["male", "female"]
KeyPersonCategory = Literal[
    "released_prisoner",
    "community_correction",
    "drug_user",
    "mental_disorder",
    "petitioner",
    "at_risk_youth",
    "other",
]


class Record(BaseModel):
    """Provenance every node and relationship carries."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=True)

    uid: str
    source: str = Field(min_length=1, description="where the fact came from, e.g. 'generator:seed=7'")
    ingested_at: datetime | None = Field(
        default=None, description="when the fact first entered the platform; set by the store"
    )

    @classmethod
    def temporal_fields(cls) -> dict[str, str]:
        """Map each date/datetime property to the Cypher function that stores it (`date`/`datetime`)."""
        return _temporal_fields(cls)


@cache
def _temporal_fields(cls: type[Record]) -> dict[str, str]:
    # computed once per model: every row written asks for it
    out = {}
    for name, info in cls.model_fields.items():
        for t in _flatten(info.annotation):
            if t is datetime:
                out[name] = "datetime"
            elif t is date:
                out[name] = "date"
    return out


def _flatten(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(a for arg in get_args(annotation) for a in _flatten(arg))
    return (annotation,)


STORED: Final = {"stored": True}
"""Validation context of properties read back from the store: checks costly to repeat are skipped."""


class Node(Record):
    """A node of the graph; subclasses set `label` and are registered in NODE_TYPES."""

    label: ClassVar[str]
    indexed: ClassVar[tuple[str, ...]] = ()
    caption: ClassVar[str] = "name"  # the property a graph view shows on the node
    searchable: ClassVar[tuple[str, ...]] = ()  # more properties search finds it by (never sensitive ones)

    @field_validator("uid")
    @classmethod
    def _uid_matches_label(cls, value: str) -> str:
        if uids.label_of(value) != cls.label:
            raise ValueError(
                f"{value!r} is not a {cls.label} uid (expected prefix {uids.PREFIX_OF_LABEL[cls.label]!r})"
            )
        return value


class Located(BaseModel):
    """Point coordinates (WGS84) of an entity that has one."""

    lon: Longitude | None = None
    lat: Latitude | None = None


class Region(Node, Located):
    """A level of the administrative hierarchy, province down to community (7.1.1.11, 7.3.6)."""

    label: ClassVar[str] = "Region"
    searchable = ("code",)
    name: str = Field(min_length=1)
    level: Literal["province", "city", "district", "street", "community"]
    code: str = Field(pattern=r"^\d{6,12}$", description="administrative division code")


class Estate(Node, Located):
    """A residential compound (小区); its boundary polygon lives in PostGIS under the same uid."""

    label: ClassVar[str] = "Estate"
    searchable = ("code", "address")
    indexed = ("code",)
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    address: str | None = None


class IfcAnchored(BaseModel):
    """The IFC element a node was imported from, if any (its GlobalId)."""

    ifc_guid: str | None = Field(default=None, pattern=r"^[0-9A-Za-z_$]{22}$", description="IFC GlobalId")


class StandardAddress(BaseModel):
    """The standard-address fields the specification asks of buildings and houses (7.1.1.3-4)."""

    address: str | None = Field(default=None, description="door-plate address")
    police_station: str | None = None
    street: str | None = None
    community: str | None = None


class Building(Node, Located, StandardAddress, IfcAnchored):
    """A building (楼栋), 7.1.1.3."""

    label: ClassVar[str] = "Building"
    searchable = ("code", "address", "community", "street")
    indexed = ("code",)
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    year_built: int | None = Field(default=None, ge=1800, le=2100)
    status: Literal["in_use", "under_construction", "vacant", "demolished"] = "in_use"
    service_life_years: int | None = Field(default=None, gt=0, le=300)
    use: Literal["residential", "commercial", "mixed", "office", "public", "industrial"] = "residential"
    structure: Literal["brick_concrete", "frame", "shear_wall", "frame_shear_wall", "steel", "other"] | None = None
    floors_above: int = Field(ge=1)
    floors_below: int = Field(default=0, ge=0)
    height_m: float | None = Field(default=None, gt=0)
    floor_area_m2: float | None = Field(default=None, gt=0)


class Storey(Node, IfcAnchored):
    """A storey of a building (from IFC): its floor number and elevation order houses and devices."""

    label: ClassVar[str] = "Storey"
    searchable = ("building_code",)
    building_code: str
    number: int = Field(ge=-10, le=200, description="floor number: 1 is the ground floor, negative below ground")
    name: str | None = None
    elevation_m: float | None = None


class Unit(Node, IfcAnchored):
    """A stairwell unit (单元) of a building."""

    label: ClassVar[str] = "Unit"
    searchable = ("building_code",)
    caption = "number"
    building_code: str
    number: int = Field(ge=1)
    name: str | None = None


class House(Node, Located, StandardAddress, IfcAnchored):
    """A dwelling (房屋), 7.1.1.4: where it is, and whether it is rented (8.2.1.1.3 g)."""

    label: ClassVar[str] = "House"
    searchable = ("building_code", "estate", "address")
    caption = "room"
    indexed = ("building_code",)
    building_code: str
    unit_number: int = Field(ge=1)
    floor: int = Field(ge=1, description="floor number; dwellings are above ground")
    room: str = Field(min_length=1)
    estate: str | None = None
    area_m2: float | None = Field(default=None, gt=0, le=2000)
    use: Literal["residential", "commercial", "office", "storage"] = "residential"
    rented: bool = False


class Person(Node):
    """A person (人员), 7.1.1.2; identity fields are sensitive and masked at the API."""

    label: ClassVar[str] = "Person"
    searchable = ("tags", "native_place")
    indexed = ("name", "id_number")
    name: str = Field(min_length=1, max_length=64)
    sex: Sex | None = None
    birth_date: date | None = None
    id_type: Literal["resident_id", "passport", "hk_macau_permit", "taiwan_permit", "foreign_permanent"] = "resident_id"
    id_number: str | None = None
    nationality: str = "CN"
    ethnicity: str | None = None
    native_place: str | None = None
    phone: Phone | None = None
    residence_address: str | None = None
    registered_address: str | None = Field(default=None, description="household-registration address")
    face_photo: str | None = Field(default=None, description="reference to the face image, not the image")
    residency: Literal["permanent", "floating"] | None = Field(
        default=None, description="permanent (户籍) or floating (流动) population"
    )
    key_person: bool = False
    key_category: KeyPersonCategory | None = None
    tags: list[str] = Field(default_factory=list)
    unregistered: bool = Field(default=False, description="known only from sensor events (a stranger's face)")
    known_by: list[Annotated[str, Field(pattern=r"^(face|card|ref):.+$")]] = Field(
        default_factory=list,
        description="what sensors know an unregistered person by: face:<camera face id>, card:<card>, ref:<reference>",
    )

    @field_validator("id_number")
    @classmethod
    def _resident_id_agrees(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or info.data.get("id_type") != "resident_id" or info.context == STORED:
            return value  # read back from the store: checked when written (the checksum was a tenth of a read)
        code = check_id_number(value)
        sex, birth = info.data.get("sex"), info.data.get("birth_date")
        if sex and sex != id_number_sex(code):
            raise ValueError(f"the ID number is a {id_number_sex(code)}'s, which contradicts sex {sex!r}")
        if birth and birth != id_number_birth_date(code):
            raise ValueError(f"the ID number's birth date {id_number_birth_date(code)} contradicts {birth}")
        return code

    @field_validator("key_category")
    @classmethod
    def _key_category_needs_key_person(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and not info.data.get("key_person"):
            raise ValueError("is set but key_person is false")
        return value


class Household(Node):
    """A registered household (户); members join it with MEMBER_OF."""

    label: ClassVar[str] = "Household"
    searchable = ("registered_address",)
    caption = "code"
    code: str = Field(min_length=1)
    registered_address: str | None = None


class Organisation(Node, Located):
    """An organisation or legal unit (单位), 7.1.1.5; key units per 8.2.1.1.4."""

    label: ClassVar[str] = "Organisation"
    searchable = ("category", "key_category", "address")
    indexed = ("name",)
    name: str = Field(min_length=1)
    credit_code: str | None = Field(
        default=None, pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$", description="unified social credit code"
    )
    category: Literal[
        "company", "school", "hospital", "government", "shop", "property_management", "social_organisation", "other"
    ]
    key_unit: bool = False
    key_category: Literal["school", "hospital", "fire_safety", "hazardous_chemicals", "other"] | None = None
    address: str | None = None
    phone: Phone | None = None

    @field_validator("key_category")
    @classmethod
    def _key_category_needs_key_unit(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and not info.data.get("key_unit"):
            raise ValueError("is set but key_unit is false")
        return value


class Vehicle(Node):
    """A motor vehicle (机动车), 7.1.1.6."""

    label: ClassVar[str] = "Vehicle"
    searchable = ("brand", "body_colour")
    caption = "plate"
    indexed = ("plate",)
    plate: Plate
    plate_colour: Literal["blue", "yellow", "green", "yellow_green", "white", "black"] = "blue"
    plate_type: Literal[
        "small", "large", "new_energy_small", "new_energy_large", "trailer", "coach", "police", "other"
    ] = "small"
    brand: str | None = None
    body_colour: str | None = None
    vehicle_type: Literal["car", "suv", "mpv", "van", "truck", "bus", "motorcycle", "other"] = "car"
    size_class: Literal["small", "medium", "large"] = "small"
    photo: str | None = None
    owner_phone: Phone | None = None
    cloned_plate: bool = False
    stolen: bool = False
    unregistered: bool = Field(default=False, description="known only from plate reads")


class NonMotorVehicle(Node):
    """A non-motor vehicle or e-bike (非机动车), 7.1.1.7."""

    label: ClassVar[str] = "NonMotorVehicle"
    searchable = ("brand",)
    caption = "plate"
    plate: str | None = Field(default=None, pattern=r"^[\w·-]{1,16}$")
    kind: Literal["e_bike", "bicycle", "tricycle", "other"] = "e_bike"
    brand: str | None = None
    photo: str | None = None
    stolen: bool = False


class DefenceMember(Node):
    """A member of the community defence force (群防群治), 7.1.1.8."""

    label: ClassVar[str] = "DefenceMember"
    searchable = ("force",)
    name: str = Field(min_length=1)
    sex: Sex | None = None
    id_number: IdNumber | None = None
    phone: Phone | None = None
    force: Literal["security_guard", "volunteer", "owners_committee", "other"]


DeviceCategory = Literal[
    "face_camera",
    "plate_camera",
    "camera",
    "access_control",
    "perimeter_sensor",
    "smoke_detector",
    "heat_detector",
    "gas_detector",
    "fire_door",
    "hydrant",
    "fire_lane_camera",
    "ebike_camera",
    "manhole_cover",
    "street_light",
    "water_tank",
    "elevator",
    "heating",
    "water_meter",
    "power_meter",
    "gas_meter",
    "heat_meter",
    "environment",
    "falling_object_camera",
    "door",
    "stair",
    "sensor",
    "alarm",
    "actuator",
    "communications",
    "fire_terminal",
]


class Device(Node, Located, IfcAnchored):
    """A device or facility (部件设施), 7.1.1.9, with online status and lifecycle (10.2.1)."""

    label: ClassVar[str] = "Device"
    searchable = ("code", "category")
    indexed = ("code", "category")
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    category: DeviceCategory
    maker: str | None = None
    installed_on: date | None = None
    floor: int | None = Field(default=None, ge=-10, le=200, description="negative below ground")
    owner_unit: str | None = None
    maintainer: str | None = None
    online: bool = True
    lifecycle: Literal["planned", "in_service", "maintenance", "retired"] = "in_service"


class Grid(Node):
    """A management grid (网格), 9.1.1; its polygon lives in PostGIS, its staff join by RESPONSIBLE_FOR."""

    label: ClassVar[str] = "Grid"
    searchable = ("code",)
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)


class Event(Node):
    """Something that happened: a sensor event or a report (7.1.2.5-6, 7.1.3.1)."""

    label: ClassVar[str] = "Event"
    caption = "kind"
    indexed = ("kind", "occurred_at")
    kind: str = Field(min_length=1)
    occurred_at: datetime
    description: str | None = None
    value: float | None = Field(default=None, description="a reading's value, in `unit`")
    unit: str | None = None
    state: str | None = Field(default=None, description="a state change: open, closed, alarm, normal, …")
    disposal_status: Literal["new", "dispatched", "handling", "closed"] | None = None
    handler: str | None = None


class Alarm(Node):
    """An alarm raised on an entity: graded, deduplicated, cleared (6.2.3.6)."""

    label: ClassVar[str] = "Alarm"
    caption = "kind"
    indexed = ("status", "kind")
    kind: str = Field(min_length=1)
    rule: str | None = Field(default=None, description="the rule or detector (and version) that raised it")
    description: str | None = None
    severity: int = Field(ge=1, le=4, description="1 = most severe")
    status: Literal["open", "acknowledged", "dispatched", "resolved", "closed", "cleared"] = "open"
    opened_at: datetime
    last_seen: datetime | None = None
    count: int = Field(default=1, ge=1, description="events of the same ongoing condition")
    acknowledged_at: datetime | None = None
    dispatched_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    cleared_at: datetime | None = Field(default=None, description="when the condition ended by itself")
    handler: str | None = None


class RiskFlag(Node):
    """A finding of a risk detector on an entity (REQUIREMENTS §3), explainable and versioned.

    ``inputs`` and ``thresholds`` are JSON text (graph properties hold no maps): the event ids or
    aggregates the finding rests on, and the configured thresholds it was judged against.
    """

    label: ClassVar[str] = "RiskFlag"
    caption = "detector"
    indexed = ("detector", "status")
    detector: str = Field(min_length=1)
    version: str = Field(min_length=1)
    score: float = Field(ge=0, le=1, description="how strongly the finding holds, 0..1")
    explanation: str = Field(min_length=1)
    clears_when: str = Field(min_length=1, description="what makes the flag go away")
    inputs: str = Field(default="{}", description="JSON: event ids or aggregates the finding rests on")
    thresholds: str = Field(default="{}", description="JSON: the thresholds in force")
    status: Literal["open", "cleared"] = "open"
    raised_at: datetime
    window_start: datetime | None = None
    window_end: datetime | None = None
    cleared_at: datetime | None = None


class WatchEntry(Node):
    """An entry of the watch list (布控): a person or vehicle, by uid, plate or ID number."""

    label: ClassVar[str] = "WatchEntry"
    caption = "reason"
    indexed = ("plate", "id_number")
    reason: str = Field(min_length=1)
    level: int = Field(default=2, ge=1, le=4, description="severity of a hit, 1 = most severe")
    plate: Plate | None = None
    id_number: str | None = None
    added_by: str | None = None
    since: datetime | None = None
    until: datetime | None = None


NODE_TYPES: dict[str, type[Node]] = {
    cls.label: cls
    for cls in (
        Region,
        Estate,
        Building,
        Storey,
        Unit,
        House,
        Person,
        Household,
        Organisation,
        Vehicle,
        NonMotorVehicle,
        DefenceMember,
        Device,
        Grid,
        Event,
        Alarm,
        RiskFlag,
        WatchEntry,
    )
}


# --- relationships -------------------------------------------------------------------------


class Link(Record):
    """A relationship from `start` to `end`; subclasses set `type`. The uid defaults from both ends."""

    type: ClassVar[str]
    uid: str = ""
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _ends_have_allowed_labels(cls, value: str, info: ValidationInfo) -> str:
        relation = RELATIONS[cls.type]
        allowed = relation.sources if info.field_name == "start" else relation.targets
        label = uids.label_of(value)
        if label not in allowed:
            raise ValueError(f"{cls.type} cannot {info.field_name} at a {label}; allowed: {', '.join(allowed)}")
        return value

    @model_validator(mode="after")
    def _derive_uid(self) -> Link:
        if not self.uid:
            # validate_assignment would re-enter this validator; set the field directly
            self.__dict__["uid"] = uids.relation(self.type, self.start, self.end, self._uid_key())
        return self

    def _uid_key(self) -> str | None:
        return None


class Period(Link):
    """A relationship that holds for a time: since (inclusive) until (exclusive, open if None)."""

    since: datetime | None = None
    until: datetime | None = None

    @field_validator("until")
    @classmethod
    def _until_after_since(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if value and since and value < since:
            raise ValueError(f"{value} is before since {since}")
        return value

    def _uid_key(self) -> str | None:
        return self.since.date().isoformat() if self.since else None


class LocatedIn(Link):
    """Containment: region hierarchy, estate, building, unit, house, organisation."""

    type: ClassVar[str] = "LOCATED_IN"


class LivesIn(Period):
    """A person lives (or lived) in a house: the residence history of 7.1.1.4 d."""

    type: ClassVar[str] = "LIVES_IN"
    registered: bool = Field(description="registered with the police as living here")
    role: Literal["owner", "family", "tenant", "other"] = "family"


class Owns(Period):
    """A person or organisation owns a house or vehicle."""

    type: ClassVar[str] = "OWNS"
    share: float | None = Field(default=None, gt=0, le=1)


class MemberOf(Link):
    """A person belongs to a household."""

    type: ClassVar[str] = "MEMBER_OF"
    role: Literal["head", "spouse", "child", "parent", "grandchild", "sibling", "other"] = "other"


class RegisteredAt(Link):
    """A household is registered at a house (户籍地址)."""

    type: ClassVar[str] = "REGISTERED_AT"


class WorksAt(Period):
    """A person works at an organisation."""

    type: ClassVar[str] = "WORKS_AT"
    position: str | None = None


class LegalRepresentativeOf(Link):
    """A person is the legal representative of an organisation."""

    type: ClassVar[str] = "LEGAL_REPRESENTATIVE_OF"


class InstalledIn(Link):
    """A device is installed in an estate, building, unit or house."""

    type: ClassVar[str] = "INSTALLED_IN"


class Covers(Link):
    """A device (camera, detector, access control) watches over an entrance, building or unit."""

    type: ClassVar[str] = "COVERS"


class InGrid(Link):
    """An entity is assigned to a management grid (9.1.1)."""

    type: ClassVar[str] = "IN_GRID"


class ResponsibleFor(Link):
    """Staff responsible for a grid: grid worker, police officer, property manager (9.1.1)."""

    type: ClassVar[str] = "RESPONSIBLE_FOR"
    role: Literal["grid_worker", "police_officer", "property_manager"]


class AdjacentTo(Link):
    """Two spaces share a boundary (from IFC space boundaries); stored once, read both ways."""

    type: ClassVar[str] = "ADJACENT_TO"


class Connects(Link):
    """A door opens into a space: a door connected to two spaces is how one reaches the other."""

    type: ClassVar[str] = "CONNECTS"


class Serves(Link):
    """A stair or lift serves a storey."""

    type: ClassVar[str] = "SERVES"


class RecordedBy(Link):
    """An event was recorded by a device."""

    type: ClassVar[str] = "RECORDED_BY"


class Concerns(Link):
    """An event concerns a person, vehicle, house, unit, building … (who passed, which door)."""

    type: ClassVar[str] = "CONCERNS"


class RaisedOn(Link):
    """An alarm is raised on the entity it concerns."""

    type: ClassVar[str] = "RAISED_ON"


class EvidencedBy(Link):
    """An alarm is backed by an event (its first, latest or clearing one)."""

    type: ClassVar[str] = "EVIDENCED_BY"


class ShownBy(Link):
    """An alarm is shown by a camera (the one nearest a perimeter alarm, 8.2.2.7 d)."""

    type: ClassVar[str] = "SHOWN_BY"


class PassedThrough(Link):
    """Rolled up from events: a person or vehicle passed a device `count` times, first to last seen."""

    type: ClassVar[str] = "PASSED_THROUGH"
    count: int = Field(ge=1)
    first_seen: datetime
    last_seen: datetime


class Flags(Link):
    """A risk flag is raised on the entity it concerns."""

    type: ClassVar[str] = "FLAGS"


class Watches(Link):
    """A watch-list entry watches a person or vehicle."""

    type: ClassVar[str] = "WATCHES"


class AssociatedWith(Link):
    """An inferred relationship between two subjects, with its evidence (REQUIREMENTS §3).

    ``kind`` is how it was inferred (co_travel, same_house_night, co_presence); one edge per kind.
    """

    type: ClassVar[str] = "ASSOCIATED_WITH"
    kind: Literal["co_travel", "same_house_night", "co_presence"]
    count: int = Field(ge=1)
    first_seen: datetime
    last_seen: datetime
    evidence: list[str] = Field(default_factory=list, description="a sample of the event ids behind it")
    confidence: float = Field(ge=0, le=1)
    algorithm: str = Field(default="", description="the inference and its version")

    def _uid_key(self) -> str | None:
        return self.kind


class ServesIn(Link):
    """A defence-force member serves in an estate."""

    type: ClassVar[str] = "SERVES_IN"


@dataclass(frozen=True)
class Relation:
    """One relationship type as data: which labels it joins and its property model."""

    type: str
    model: builtins.type[Link]
    sources: tuple[str, ...]
    targets: tuple[str, ...]

    @property
    def temporal(self) -> bool:
        return issubclass(self.model, Period)


_PLACES = ("Region", "Estate", "Building", "Storey", "Unit", "House")
_SPACES = ("Storey", "Unit", "House")
_MOVERS = ("Person", "Vehicle", "NonMotorVehicle")
_SUBJECTS = ("Person", "Vehicle", "NonMotorVehicle", "House", "Unit", "Storey", "Building", "Estate", "Device")
RELATIONS: dict[str, Relation] = {
    r.type: r
    for r in (
        Relation("LOCATED_IN", LocatedIn, (*_PLACES, "Organisation"), _PLACES),
        Relation("LIVES_IN", LivesIn, ("Person",), ("House",)),
        Relation("OWNS", Owns, ("Person", "Organisation"), ("House", "Vehicle", "NonMotorVehicle")),
        Relation("MEMBER_OF", MemberOf, ("Person",), ("Household",)),
        Relation("REGISTERED_AT", RegisteredAt, ("Household",), ("House",)),
        Relation("WORKS_AT", WorksAt, ("Person",), ("Organisation",)),
        Relation("LEGAL_REPRESENTATIVE_OF", LegalRepresentativeOf, ("Person",), ("Organisation",)),
        Relation("INSTALLED_IN", InstalledIn, ("Device",), _PLACES[1:]),
        Relation("COVERS", Covers, ("Device",), _PLACES[1:]),
        Relation("ADJACENT_TO", AdjacentTo, _SPACES, _SPACES),
        Relation("CONNECTS", Connects, ("Device",), _SPACES),
        Relation("SERVES", Serves, ("Device",), ("Storey",)),
        Relation("IN_GRID", InGrid, ("Estate", "Building", "Device", "House", "Organisation"), ("Grid",)),
        Relation("RESPONSIBLE_FOR", ResponsibleFor, ("Person", "DefenceMember"), ("Grid",)),
        Relation("SERVES_IN", ServesIn, ("DefenceMember",), ("Estate",)),
        Relation("RECORDED_BY", RecordedBy, ("Event",), ("Device",)),
        Relation("CONCERNS", Concerns, ("Event",), _SUBJECTS),
        Relation("RAISED_ON", RaisedOn, ("Alarm",), (*_SUBJECTS, "Grid", "Organisation")),
        Relation("EVIDENCED_BY", EvidencedBy, ("Alarm",), ("Event",)),
        Relation("SHOWN_BY", ShownBy, ("Alarm",), ("Device",)),
        Relation("PASSED_THROUGH", PassedThrough, ("Person", "Vehicle", "NonMotorVehicle"), ("Device",)),
        Relation("FLAGS", Flags, ("RiskFlag",), (*_SUBJECTS, "Grid", "Organisation")),
        Relation("WATCHES", Watches, ("WatchEntry",), ("Person", "Vehicle")),
        Relation("ASSOCIATED_WITH", AssociatedWith, _MOVERS, _MOVERS),
    )
}
RELATION_OF_MODEL = {r.model: r for r in RELATIONS.values()}
CAPTIONS: tuple[str, ...] = tuple(dict.fromkeys(m.caption for m in NODE_TYPES.values()))
