"""GraphQL object types of the graph's nodes, generated from the ontology: one type per label.

Each label of :data:`graph.ontology.NODE_TYPES` becomes a type implementing :class:`Entity`, with
one field per property of its pydantic model (GraphQL names in camelCase; a `Literal` is a
`String` whose description lists the allowed values). Nothing is declared twice: a label that
gains a property gains the field. Values reach a type only through :func:`view_of`, which checks
the caller may read the label, masks sensitive fields for the caller (:mod:`graph.masking`) and
notes the uid for the audit log, so there is no path around masking.

Typed relationship fields (:data:`RELATION_FIELDS`: building → units → houses → residents,
person → vehicles and homes, house → residence history, …) are resolved with DataLoaders: one
batched graph read per level of a query, whatever the number of parents.
"""

from __future__ import annotations

import sys
import types
import typing
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, Final, Literal, get_args, get_origin

import strawberry
from graphql import GraphQLError
from strawberry.types.lazy_type import LazyType

from api.graphql.context import Context
from api.security.permissions import READ_GRAPH, READ_PERSON
from graph.masking import Viewer, mask_properties, masked_fields
from graph.ontology import NODE_TYPES, Node
from graph.store import Step, StoredNode

PERSONAL_LABELS: Final = frozenset({"Person", "DefenceMember"})
"""Labels whose nodes are a person's data: reading them needs `read:person` and is audited as such."""


@dataclass
class NodeView:
    """A node as one caller may see it: properties masked for them, and which fields were masked.

    A property field of the node's GraphQL type reads the property of that name as an attribute,
    so it needs no resolver of its own (strawberry then resolves it without building an `Info`:
    a building's 300 residents cost a tenth of what a resolver per field did).
    """

    uid: str
    label: str
    props: dict[str, Any]
    masked: tuple[str, ...]
    relation: dict[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["props"][name]
        except KeyError:
            raise AttributeError(name) from None


def permission_for(label: str) -> str:
    """Return the permission that reading a node of `label` needs."""
    return READ_PERSON if label in PERSONAL_LABELS else READ_GRAPH


@cache
def _masked(label: str, viewer: Viewer) -> tuple[str, ...]:
    return tuple(masked_fields(label, viewer))


def view_of(node: Node | StoredNode, ctx: Context, relation: dict[str, Any] | None = None) -> Any:
    """Return `node` as the caller may see it, cast to its GraphQL type; raise FORBIDDEN when they may not."""
    ctx.require(permission_for(node.label))
    ctx.note(node.uid, person=node.label in PERSONAL_LABELS)
    viewer = ctx.viewer
    props = mask_properties(node.label, node.props if isinstance(node, StoredNode) else node.model_dump(), viewer)
    for name in TEXT_FIELDS[node.label]:  # shown as text in GraphQL (a dict, a number in a Literal)
        value = props.get(name)
        if value is not None and not isinstance(value, str):
            props[name] = str(value)
    view = NodeView(node.uid, node.label, props, _masked(node.label, viewer), relation)
    return strawberry.cast(TYPES[node.label], view)


# --- the interface ---------------------------------------------------------------------------


@strawberry.enum
class Direction(Enum):
    """Which way a relationship points, seen from the node asked about."""

    OUT = "out"
    IN = "in"
    BOTH = "both"


@strawberry.type
class RelationProperty:
    """A property of the relationship that led to a node (e.g. a stay's `since`), as text."""

    name: str
    value: str | None


@strawberry.interface(description="Anything in the graph: every node type implements it.")
class Entity:
    uid: strawberry.ID = strawberry.field(description="the stable uid; the prefix names the label")
    label: str = strawberry.field(description="the node's label (its GraphQL type name)")

    @strawberry.field(description="what a graph view shows on the node")
    def caption(self, root: strawberry.Parent[NodeView]) -> str:
        model = NODE_TYPES[root.label]
        return str(root.props.get(model.caption) or root.uid)

    @strawberry.field(description="where the fact came from")
    def source(self, root: strawberry.Parent[NodeView]) -> str:
        return str(root.props.get("source", ""))

    @strawberry.field(description="when the platform first saw it")
    def ingested_at(self, root: strawberry.Parent[NodeView]) -> datetime | None:
        value = root.props.get("ingested_at")
        return value if isinstance(value, datetime) else None

    @strawberry.field(description="fields shown masked to you (ID numbers, phones, face images)")
    def masked_fields(self, root: strawberry.Parent[NodeView]) -> list[str]:
        return [_camel(name) for name in root.masked]

    @strawberry.field(description="properties of the relationship this node was reached by, if any")
    def via(self, root: strawberry.Parent[NodeView]) -> list[RelationProperty]:
        rel = root.relation or {}
        return [
            RelationProperty(name=_camel(k), value=None if v is None else str(v))
            for k, v in sorted(rel.items())
            if k not in ("uid", "source", "ingested_at")
        ]

    @strawberry.field(description="nodes joined to this one by a relationship of `type` (any label unless given)")
    async def related(
        self,
        root: strawberry.Parent[NodeView],
        info: strawberry.Info[Context],
        type: str,
        direction: Direction = Direction.BOTH,
        label: str | None = None,
        limit: int = 100,
    ) -> list[Entity]:
        labels = [label] if label else list(NODE_TYPES)
        for name in labels:
            if name not in NODE_TYPES:
                raise GraphQLError(
                    f"label: unknown label {name!r}", extensions={"code": "VALIDATION", "field": "label"}
                )
        found: list[Any] = []
        for name in labels:
            steps = (Step(type, direction.value, name),)
            found += await info.context.loaders.neighbours(steps).load(root.uid)
        return [view_of(node, info.context, rel) for node, rel in found[: max(0, limit)]]


# --- generated types ---------------------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _graphql_type(annotation: Any) -> tuple[Any, str | None]:
    """Return the Python type strawberry maps to GraphQL for a pydantic annotation, and a note on allowed values."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _graphql_type(args[0])
    if origin in (typing.Union, types.UnionType):
        inner, note = _graphql_type(args[0]) if len(args) == 1 else (str, None)
        return inner | None, note
    if origin is Literal:
        return str, "one of: " + ", ".join(str(a) for a in get_args(annotation))
    if origin is list:
        inner, _ = _graphql_type(args[0])
        return list[inner], None  # type: ignore[valid-type]
    if annotation in (str, int, float, bool, date, datetime):
        return annotation, None
    return str, None


def _property_field(annotation: Any, description: str | None) -> tuple[Any, Any]:
    """Return the GraphQL type of a property and its field, read from the NodeView attribute of its name."""
    python_type, note = _graphql_type(annotation)
    text = "; ".join(t for t in (description, note) if t) or None
    return python_type, strawberry.field(description=text, default=None)


@dataclass(frozen=True)
class RelationField:
    """A typed relationship field: the path from the node to what it lists."""

    steps: tuple[Step, ...]
    description: str
    current_only: bool = False  # keep relationships without `until` (or with `until` in the future)


def _in(rel: str, label: str) -> Step:
    return Step(rel, "in", label)


def _out(rel: str, label: str) -> Step:
    return Step(rel, "out", label)


RELATION_FIELDS: Final[dict[str, dict[str, RelationField]]] = {
    "Estate": {
        "buildings": RelationField((_in("LOCATED_IN", "Building"),), "the estate's buildings"),
        "region": RelationField((_out("LOCATED_IN", "Region"),), "the region the estate is in"),
    },
    "Building": {
        "units": RelationField((_in("LOCATED_IN", "Unit"),), "the building's stairwell units"),
        "houses": RelationField(
            (_in("LOCATED_IN", "Unit"), _in("LOCATED_IN", "House")), "every dwelling of the building, through its units"
        ),
        "estate": RelationField((_out("LOCATED_IN", "Estate"),), "the estate the building belongs to"),
        "devices": RelationField((_in("INSTALLED_IN", "Device"),), "devices installed in the building"),
        "grids": RelationField((_out("IN_GRID", "Grid"),), "the management grids the building is in"),
    },
    "Unit": {
        "houses": RelationField((_in("LOCATED_IN", "House"),), "the unit's dwellings"),
        "building": RelationField((_out("LOCATED_IN", "Building"),), "the building of the unit"),
        "devices": RelationField((_in("INSTALLED_IN", "Device"),), "devices installed in the unit"),
    },
    "House": {
        "residents": RelationField(
            (_in("LIVES_IN", "Person"),), "who lives here now (stays without an end)", current_only=True
        ),
        "residenceHistory": RelationField(
            (_in("LIVES_IN", "Person"),), "everyone who ever lived here; `via` holds since, until, role, registered"
        ),
        "owners": RelationField((_in("OWNS", "Person"),), "people who own the house"),
        "unit": RelationField((_out("LOCATED_IN", "Unit"),), "the unit the house is in"),
        "devices": RelationField((_in("INSTALLED_IN", "Device"),), "devices installed in the house"),
    },
    "Person": {
        "vehicles": RelationField((_out("OWNS", "Vehicle"),), "motor vehicles the person owns"),
        "nonMotorVehicles": RelationField((_out("OWNS", "NonMotorVehicle"),), "e-bikes and bicycles the person owns"),
        "homes": RelationField((_out("LIVES_IN", "House"),), "where the person lives now", current_only=True),
        "residenceHistory": RelationField((_out("LIVES_IN", "House"),), "every stay; `via` holds since and until"),
        "households": RelationField((_out("MEMBER_OF", "Household"),), "the person's registered households"),
        "employers": RelationField((_out("WORKS_AT", "Organisation"),), "where the person works"),
        "associates": RelationField(
            (Step("ASSOCIATED_WITH", "both", "Person"),), "people inferred to be associated, with evidence in `via`"
        ),
    },
    "Vehicle": {"owners": RelationField((_in("OWNS", "Person"),), "who owns the vehicle")},
    "Household": {"members": RelationField((_in("MEMBER_OF", "Person"),), "the household's members")},
    "Organisation": {"staff": RelationField((_in("WORKS_AT", "Person"),), "people who work here")},
    "Device": {
        "places": RelationField((_out("INSTALLED_IN", "Building"),), "the building the device is installed in"),
        "grids": RelationField((_out("IN_GRID", "Grid"),), "the grid the device is in"),
    },
    "Grid": {
        "staff": RelationField((_in("RESPONSIBLE_FOR", "Person"),), "grid workers, police and managers of the grid"),
        "buildings": RelationField((_in("IN_GRID", "Building"),), "buildings in the grid"),
    },
    "Alarm": {
        "raisedOn": RelationField((_out("RAISED_ON", "Device"),), "the device the alarm is raised on"),
        "evidence": RelationField((_out("EVIDENCED_BY", "Event"),), "the events behind the alarm"),
    },
    "WatchEntry": {
        "persons": RelationField((_out("WATCHES", "Person"),), "watched persons"),
        "vehicles": RelationField((_out("WATCHES", "Vehicle"),), "watched vehicles"),
    },
}
"""Typed relationship fields per label: name → the path it follows."""


def _current(rel: dict[str, Any], now: datetime) -> bool:
    until = rel.get("until")
    return until is None or (isinstance(until, datetime) and until > now)


def _relation_field(name: str, spec: RelationField) -> Any:
    target = spec.steps[-1].label

    async def resolve(root: strawberry.Parent[NodeView], info: strawberry.Info[Context]) -> Any:
        ctx = info.context
        found = await ctx.loaders.neighbours(spec.steps).load(root.uid)
        if spec.current_only:
            now = ctx.now
            found = [(node, rel) for node, rel in found if _current(rel, now)]
        return [view_of(node, ctx, rel) for node, rel in found]

    resolve.__name__ = name
    resolve.__annotations__ = {
        "root": strawberry.Parent[NodeView],
        "info": strawberry.Info[Context],
        "return": list[LazyType(target, __name__)],  # type: ignore[misc]
    }
    return strawberry.field(resolver=resolve, name=name, description=spec.description)


def _make_type(label: str, model: type[Node]) -> type:
    namespace: dict[str, Any] = {}
    annotations: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in ("uid", "source", "ingested_at"):
            continue
        python_type, namespace[name] = _property_field(info.annotation, info.description)
        annotations[name] = python_type | None
        if python_type is str:
            TEXT_FIELDS[label].append(name)
    for name, spec in RELATION_FIELDS.get(label, {}).items():
        field = _relation_field(name, spec)
        python_name = f"rel_{name}"
        namespace[python_name], annotations[python_name] = field, field.type
    namespace["__annotations__"] = annotations
    namespace["__module__"] = __name__
    cls = types.new_class(label, (Entity,), {}, lambda ns: ns.update(namespace))
    return strawberry.type(cls, description=(model.__doc__ or label).strip().splitlines()[0])


TYPES: Final[dict[str, type]] = {}
"""The GraphQL type of each label."""
TEXT_FIELDS: Final[dict[str, list[str]]] = defaultdict(list)
"""Per label, the properties GraphQL shows as `String!` whatever they hold (:func:`view_of` makes them text)."""

for _label, _model in NODE_TYPES.items():
    TYPES[_label] = _make_type(_label, _model)
    setattr(sys.modules[__name__], _label, TYPES[_label])  # LazyType finds them here by name
