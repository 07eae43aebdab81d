"""What detectors know about the community besides its events: who lives where, devices, watch list.

A :class:`Context` is built from nodes and relationships — a generated :class:`graph.generator.Community`
in memory, or the graph server through :meth:`Context.from_store` — so the same detectors run on
both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from graph import GraphStore
from graph.ontology import (
    Device,
    House,
    InstalledIn,
    Link,
    LivesIn,
    LocatedIn,
    Node,
    Organisation,
    Owns,
    Person,
    Vehicle,
    WatchEntry,
    Watches,
)

LABELS = ("Person", "House", "Device", "Vehicle", "Organisation", "WatchEntry")
TYPES = ("LIVES_IN", "LOCATED_IN", "INSTALLED_IN", "OWNS", "WATCHES")
GATE_CATEGORIES = frozenset({"face_camera", "plate_camera", "access_control"})


@dataclass(frozen=True)
class DevicePlace:
    """A device with where it is: the estate, and the unit or house when it is inside a building."""

    uid: str
    code: str
    category: str
    place: str
    estate: str | None
    unit: str | None
    house: str | None
    lon: float | None
    lat: float | None
    owner_unit: str | None

    @property
    def at_gate(self) -> bool:
        """An estate entrance (face, plate or door device installed in the estate itself)."""
        return self.place == self.estate and self.category in GATE_CATEGORIES


@dataclass
class Context:
    """The community as detectors need it; every map is keyed by uid (devices by code)."""

    persons: dict[str, Person] = field(default_factory=dict)
    houses: dict[str, House] = field(default_factory=dict)
    vehicles: dict[str, Vehicle] = field(default_factory=dict)
    organisations: dict[str, Organisation] = field(default_factory=dict)
    devices: dict[str, DevicePlace] = field(default_factory=dict)
    home: dict[str, str] = field(default_factory=dict)
    """person uid → the house they currently live in."""
    registered: dict[str, bool] = field(default_factory=dict)
    """person uid → whether their current stay is registered with the police."""
    occupants: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    """house uid → its current residents."""
    house_unit: dict[str, str] = field(default_factory=dict)
    house_estate: dict[str, str] = field(default_factory=dict)
    vehicle_owner: dict[str, str] = field(default_factory=dict)
    watch_subjects: dict[str, WatchEntry] = field(default_factory=dict)
    """person or vehicle uid → the watch-list entry that names it."""
    watch_plates: dict[str, WatchEntry] = field(default_factory=dict)

    @classmethod
    def from_graph(cls, nodes: Iterable[Node], links: Iterable[Link]) -> Context:
        """Build the context from a community's nodes and relationships."""
        ctx = cls()
        by_uid: dict[str, Node] = {}
        for node in nodes:
            by_uid[node.uid] = node
            match node:
                case Person():
                    ctx.persons[node.uid] = node
                case House():
                    ctx.houses[node.uid] = node
                case Vehicle():
                    ctx.vehicles[node.uid] = node
                case Organisation():
                    ctx.organisations[node.uid] = node
                case WatchEntry() if node.plate:
                    ctx.watch_plates[node.plate] = node
        parent: dict[str, str] = {}
        installed: dict[str, str] = {}
        for link in links:
            match link:
                case LivesIn(until=None):
                    ctx.home[link.start] = link.end
                    ctx.registered[link.start] = link.registered
                    ctx.occupants[link.end].append(link.start)
                case LocatedIn():
                    parent[link.start] = link.end
                case InstalledIn():
                    installed[link.start] = link.end
                case Owns() if link.end in ctx.vehicles or link.end.startswith("vehicle:"):
                    ctx.vehicle_owner[link.end] = link.start
                case Watches():
                    entry = by_uid.get(link.start)
                    if isinstance(entry, WatchEntry):
                        ctx.watch_subjects[link.end] = entry

        by_id_number = {p.id_number: p.uid for p in ctx.persons.values() if p.id_number}
        for node in by_uid.values():
            if isinstance(node, WatchEntry) and node.id_number in by_id_number:
                ctx.watch_subjects[by_id_number[node.id_number]] = node

        def ancestor(uid: str, prefix: str) -> str | None:
            seen = 0
            while uid and not uid.startswith(prefix) and seen < 8:
                uid, seen = parent.get(uid, ""), seen + 1
            return uid if uid.startswith(prefix) else None

        for house in ctx.houses:
            unit, estate = ancestor(house, "unit:"), ancestor(house, "estate:")
            if unit:
                ctx.house_unit[house] = unit
            if estate:
                ctx.house_estate[house] = estate
        for node in by_uid.values():
            if isinstance(node, Device) and node.uid in installed:
                place = installed[node.uid]
                ctx.devices[node.code] = DevicePlace(
                    uid=node.uid,
                    code=node.code,
                    category=node.category,
                    place=place,
                    estate=ancestor(place, "estate:"),
                    unit=ancestor(place, "unit:"),
                    house=place if place.startswith("house:") else None,
                    lon=node.lon,
                    lat=node.lat,
                    owner_unit=node.owner_unit,
                )
        return ctx

    @classmethod
    def from_store(cls, store: GraphStore) -> Context:
        """Read the context from the graph server (one query per label and relationship type)."""
        nodes = [n for label in LABELS for n in store.nodes(label)]
        links = [r for rel_type in TYPES for r in store.links(rel_type)]
        return cls.from_graph(nodes, links)

    def lives_in(self, person: str, place: str) -> bool:
        """Whether a person currently lives in a place: their house, its unit or its estate."""
        house = self.home.get(person)
        return house is not None and place in (house, self.house_unit.get(house), self.house_estate.get(house))
