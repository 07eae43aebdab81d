"""The device directory: what the ingest path needs to know of a device, read from the graph once and cached.

An event names its device by code; :class:`DeviceDirectory` resolves it to the Device node, the
place it is INSTALLED_IN (house, unit, building, estate), the building and estate above that
place, and its coordinates. Everything is read through :class:`graph.GraphStore`'s public methods.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from graph import GraphStore
from graph import uid as uids
from graph.ontology import Building, Device, Estate, Node, ResponsibleFor
from graph.store import Step

_PLACE_LABELS = ("House", "Unit", "Storey", "Building", "Estate")


@dataclass(frozen=True)
class DeviceInfo:
    """A device as ingestion sees it: its uid, code, category, place, building, estate and position."""

    uid: str
    code: str
    category: str
    place: str | None
    building: str | None
    building_code: str | None
    estate: str | None
    estate_code: str | None
    lon: float | None
    lat: float | None


class DeviceDirectory:
    """Resolve device codes to :class:`DeviceInfo`, caching what the graph said (thread-safe)."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self._known: dict[str, DeviceInfo] = {}
        self._doors: dict[str, list[DeviceInfo]] = {}
        self._places: dict[str, tuple[list[str], Node | None, Node | None]] = {}
        self._grids: dict[str, str | None] = {}
        self._staff: dict[str, list[tuple[str, str]]] | None = None
        self._lock = threading.Lock()

    def resolve(self, codes: Iterable[str]) -> dict[str, DeviceInfo]:
        """Return the devices among `codes` that the graph knows, keyed by code; unknown ones are left out."""
        wanted = set(codes)
        with self._lock:
            missing = [c for c in wanted if c not in self._known]
        if missing:
            found = self._load(missing)
            with self._lock:
                self._known.update(found)
        with self._lock:
            return {c: self._known[c] for c in wanted if c in self._known}

    def forget(self) -> None:
        """Drop the cache (after the device registry changed)."""
        with self._lock:
            self._known.clear()
            self._doors.clear()
            self._places.clear()
            self._grids.clear()
            self._staff = None

    def _load(self, codes: list[str]) -> dict[str, DeviceInfo]:
        """Read devices, their places and the chains above those in a few queries per level, not per device."""
        by_uid: dict[str, str] = {}
        for code in codes:
            try:
                by_uid[uids.device(code)] = code
            except ValueError:
                continue
        devices = {u: n for u, n in self.store.get_many(by_uid).items() if isinstance(n, Device)}
        places = self._parents(list(devices), "INSTALLED_IN")
        self._chains(set(places.values()))
        out = {}
        for uid, node in devices.items():
            place = places.get(uid)
            _, b, e = self._place(place) if place else ([], None, None)
            out[by_uid[uid]] = DeviceInfo(
                uid=uid,
                code=node.code,
                category=node.category,
                place=place,
                building=b.uid if isinstance(b, Building) else None,
                building_code=b.code if isinstance(b, Building) else None,
                estate=e.uid if isinstance(e, Estate) else None,
                estate_code=e.code if isinstance(e, Estate) else None,
                lon=node.lon,
                lat=node.lat,
            )
        return out

    def _place(self, place: str) -> tuple[list[str], Node | None, Node | None]:
        """Return a place's chain up to its estate, and its Building and Estate nodes (cached per place)."""
        with self._lock:
            if place in self._places:
                return self._places[place]
        self._chains({place})
        with self._lock:
            return self._places[place]

    def _parents(self, members: list[str], rel_type: str) -> dict[str, str]:
        """Return the place each of `members` points to by `rel_type` (one query per place label)."""
        found: dict[str, str] = {}
        if not members:
            return found
        for label in _PLACE_LABELS:
            for uid, reached in self.store.neighbours(members, [Step(rel_type, "out", label)]).items():
                if reached and uid not in found:
                    found[uid] = reached[0][0].uid
        return found

    def _chains(self, places: set[str]) -> None:
        """Cache, for each of `places`, the places it is LOCATED_IN up to the estate and its Building and Estate."""
        with self._lock:
            chains = {p: [p] for p in places if p not in self._places}
        level = [p for p in chains if uids.label_of(p) != "Estate"]
        for _ in range(5):  # unit → building → estate, house → unit → …; never more than 6 places
            parents = self._parents([chains[p][-1] for p in level], "LOCATED_IN")
            level = [p for p in level if (up := parents.get(chains[p][-1])) and up not in chains[p]]
            for p in level:
                chains[p].append(parents[chains[p][-1]])
            level = [p for p in level if uids.label_of(chains[p][-1]) != "Estate"]
            if not level:
                break
        tops = {
            label: {p: next((u for u in chain if uids.label_of(u) == label), None) for p, chain in chains.items()}
            for label in ("Building", "Estate")
        }
        nodes = self.store.get_many({u for found in tops.values() for u in found.values() if u})
        with self._lock:
            for p, chain in chains.items():
                self._places[p] = (
                    chain,
                    nodes.get(tops["Building"][p] or ""),
                    nodes.get(tops["Estate"][p] or ""),
                )

    def access_doors(self, building: str) -> list[DeviceInfo]:
        """Return the access-control devices installed in a building or its units."""
        with self._lock:
            if building in self._doors:
                return self._doors[building]
        graph = self.store.neighbourhood(
            building, hops=2, rel_types=["LOCATED_IN", "INSTALLED_IN"], labels=["Unit", "Device"], limit=20000
        )
        devices = [n.uid for n in graph.nodes if n.label == "Device"]
        nodes = self.store.get_many(devices)
        codes = [n.code for n in nodes.values() if isinstance(n, Device) and n.category == "access_control"]
        doors = sorted(self.resolve(codes).values(), key=lambda d: d.code)
        with self._lock:
            self._doors[building] = doors
        return doors

    def grid(self, device: DeviceInfo) -> str | None:
        """Return the grid a device is IN_GRID, else the grid of the nearest place above it that is (9.1.1)."""
        with self._lock:
            if device.uid in self._grids:
                return self._grids[device.uid]
        chain = [device.uid, *(self._place(device.place)[0] if device.place else [])]
        found = None
        for uid in chain:
            graph = self.store.neighbourhood(uid, hops=1, rel_types=["IN_GRID"], labels=["Grid"])
            found = next((e.end for e in sorted(graph.edges, key=lambda e: e.end) if e.start == uid), None)
            if found:
                break
        with self._lock:
            self._grids[device.uid] = found
        return found

    def staff(self, grid: str, roles: Iterable[str]) -> list[str]:
        """Return who is RESPONSIBLE_FOR a grid in one of `roles` (in the order of `roles`, then by uid)."""
        with self._lock:
            staff = self._staff
        if staff is None:
            staff = {}
            for link in self.store.links("RESPONSIBLE_FOR"):
                if isinstance(link, ResponsibleFor):
                    staff.setdefault(link.end, []).append((link.role, link.start))
            with self._lock:
                self._staff = staff
        wanted = list(roles)
        members = sorted((wanted.index(role), person) for role, person in staff.get(grid, []) if role in wanted)
        return list(dict.fromkeys(person for _, person in members))
