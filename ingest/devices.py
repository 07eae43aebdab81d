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
        by_uid: dict[str, str] = {}
        for code in codes:
            try:
                by_uid[uids.device(code)] = code
            except ValueError:
                continue
        nodes = self.store.get_many(by_uid)
        out = {}
        for uid, node in nodes.items():
            if not isinstance(node, Device):
                continue
            place = self._parent(uid, "INSTALLED_IN")
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
        chain = self._ancestors(place)
        building = next((u for u in chain if uids.label_of(u) == "Building"), None)
        estate = next((u for u in chain if uids.label_of(u) == "Estate"), None)
        above = self.store.get_many([u for u in (building, estate) if u])
        found = (chain, above.get(building or ""), above.get(estate or ""))
        with self._lock:
            self._places[place] = found
        return found

    def _parent(self, uid: str, rel_type: str) -> str | None:
        graph = self.store.neighbourhood(uid, hops=1, rel_types=[rel_type], labels=list(_PLACE_LABELS))
        return next((e.end for e in graph.edges if e.start == uid and e.type == rel_type), None)

    def _ancestors(self, place: str) -> list[str]:
        """Return `place` and the places it is LOCATED_IN, up to the estate."""
        chain = [place]
        while uids.label_of(chain[-1]) != "Estate" and len(chain) < 6:
            parent = self._parent(chain[-1], "LOCATED_IN")
            if parent is None or parent in chain:
                break
            chain.append(parent)
        return chain

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
