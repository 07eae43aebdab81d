"""A month of a generated community's life as sensor events, with known risk cases planted in it.

:func:`simulate` takes a :class:`graph.generator.Community` and returns an :class:`Activity`: the
events its devices would record over `days` days (gate and unit-door passes of every resident,
car trips, daily meter readings, the odd false fire alarm), the nodes and links it adds to the
community (watch-list entries, key units' fire devices), and the ground truth — one
:class:`Truth` per planted case of every detector. Everything is drawn from one seeded
``random.Random``, so a seed gives the same month.

Normal life includes near misses on purpose, so that detectors are measured against more than
silence: trips of one or two days, night-shift workers out half the night, busy residents, visitors
who come a few times, houses with two unregistered lodgers (too few for a group rental), cars that
visit other estates at driving speed, a key unit with one false alarm, and watch-list entries for
people who never come.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final

import pandas as pd

from analytics import frame
from analytics.context import Context, DevicePlace
from analytics.detectors.base import haversine_m
from graph import uid as uids
from graph.generator import REFERENCE_DATE, Community
from graph.ontology import Device, InstalledIn, Link, LocatedIn, Node, Organisation, Person, WatchEntry, Watches

_CST: Final = 8 * 3600
SOURCE: Final = "simulator"
METER_UNITS: Final = {"water": "m³", "power": "kWh", "gas": "m³"}
_PLATE_LETTERS: Final = "ABCDEFGHJKLMNPQRSTUVWXY"  # plates use no I or O
_MISSABLE: Final = frozenset({"face_capture", "plate_read", "access_open"})
_METER_CATEGORIES: Final = {"water_meter": "water", "power_meter": "power", "gas_meter": "gas"}


@dataclass(frozen=True)
class Truth:
    """A planted case: which detector should find it, on which uid, and how it was planted."""

    detector: str
    subject: str
    note: str = ""


@dataclass
class Activity:
    """What :func:`simulate` returns: events (as columns), additions to the community, and the truth."""

    start: datetime
    end: datetime
    columns: dict[str, list[Any]]
    nodes: list[Node] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    truth: list[Truth] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.columns["id"])

    def frame(self) -> pd.DataFrame:
        """The events as a detector frame (see :mod:`analytics.frame`)."""
        raw = pd.DataFrame(self.columns)
        raw["ts"] = pd.to_datetime(raw["ts"], unit="s", utc=True)
        return frame.shape(raw)

    def rows(self) -> Iterator[dict[str, Any]]:
        """The events as ingest payloads (``id``, ``kind``, ``device``, ``ts`` and the kind's fields)."""
        names = list(self.columns)
        for values in zip(*self.columns.values(), strict=True):
            row = {k: v for k, v in zip(names, values, strict=True) if v is not None}
            row["ts"] = datetime.fromtimestamp(row["ts"], UTC).isoformat()
            yield row


_COLUMNS: Final = (
    "id",
    "kind",
    "device",
    "ts",
    "person",
    "face_id",
    "card",
    "method",
    "plate",
    "direction",
    "site",
    "house",
    "meter",
    "reading",
    "unit",
    "status",
    "door",
)


class _Month:
    """The simulation's state: the community's context, the random source, and the events so far."""

    def __init__(self, community: Community, days: int, seed: int, miss_rate: float) -> None:
        self.rng = random.Random(f"{seed}:activity")
        self.miss_rate = miss_rate
        self.seed = seed
        self.days = days
        self.end = datetime.combine(REFERENCE_DATE, time(), UTC) - timedelta(seconds=_CST)
        self.start = self.end - timedelta(days=days)
        self.t0 = self.start.timestamp()
        self.ctx = Context.from_graph(community.nodes, community.links)
        self.columns: dict[str, list[Any]] = {c: [] for c in _COLUMNS}
        self.truth: list[Truth] = []
        self.nodes: list[Node] = []
        self.links: list[Link] = []
        self.gates: dict[str, dict[str, list[DevicePlace]]] = defaultdict(lambda: defaultdict(list))
        self.unit_devices: dict[str, dict[str, DevicePlace]] = defaultdict(dict)
        self.meters: dict[str, dict[str, DevicePlace]] = defaultdict(dict)
        for device in self.ctx.devices.values():
            if device.at_gate and device.estate:
                self.gates[device.estate][device.category].append(device)
            elif device.unit and device.place == device.unit:
                self.unit_devices[device.unit][device.category] = device
            elif device.house and device.category in _METER_CATEGORIES:
                self.meters[device.house][_METER_CATEGORIES[device.category]] = device
        self.estate_of = {d.house: d.estate for d in self.ctx.devices.values() if d.house and d.estate}
        self.used: set[str] = set()
        """Uids already given a planted role, so that cases do not overlap."""
        self.present: dict[str, int] = defaultdict(int)
        """house → people living there in the simulation (for its meters)."""
        self.extra_power: dict[str, float] = defaultdict(float)

    # --- emitting -----------------------------------------------------------------------------

    def emit(self, kind: str, device: str, ts: float, **payload: Any) -> None:
        if kind in _MISSABLE and self.rng.random() < self.miss_rate:
            return  # the camera or reader missed it
        columns = self.columns
        columns["id"].append(f"sim{self.seed}-{len(columns['id']):08d}")
        columns["kind"].append(kind)
        columns["device"].append(device)
        columns["ts"].append(round(ts, 3))
        for name in _COLUMNS[4:]:
            columns[name].append(payload.get(name))

    def at(self, day: int, hours: float) -> float:
        """Epoch seconds of a local time of day (hours may run past 24) on day `day` of the month."""
        return self.t0 + day * 86400 + hours * 3600

    # --- people -------------------------------------------------------------------------------

    def walk(self, who: dict[str, Any], house: str, t_out: float | None, t_back: float | None) -> None:
        """A trip out of and back into the estate: unit camera and gate going out, gate and door coming in.

        Without `t_out` it is only the way in (back from a trip); without `t_back` only the way out.
        """
        unit, gates = self.ctx.house_unit[house], self.gates[self.estate_of[house]]["face_camera"]
        unit_face = self.unit_devices[unit].get("face_camera")
        door = self.unit_devices[unit].get("access_control")
        camera_id = {k: v for k, v in who.items() if k in ("person", "face_id")}
        if t_out is not None:
            if unit_face:
                self.emit("face_capture", unit_face.code, t_out - 60, **camera_id)
            self.emit("face_capture", self.rng.choice(gates).code, t_out, **camera_id)
        if t_back is not None:
            self.emit("face_capture", self.rng.choice(gates).code, t_back, **camera_id)
            if door:
                opener = {"person": who["person"], "method": "face"} if "person" in who else {"card": who["card"]}
                self.emit("access_open", door.code, t_back + 60, **{"method": "card", **opener, "house": house})

    def live(
        self,
        who: dict[str, Any],
        house: str,
        *,
        out: tuple[float, float] = (7.5, 0.8),
        back: tuple[float, float] = (18.5, 1.5),
        stop: tuple[int, str] | None = None,
        trips: bool = True,
    ) -> None:
        """A resident's month: out most days and back in the evening, never two days in a row at home.

        `out` and `back` are (mean, sd) local hours (`back` past 24 is the next morning). Some take a
        trip of one or two nights. `stop` = (day, "out"|"in") ends the month on that day, after
        leaving or after coming home.
        """
        rng = self.rng
        trip = None
        if trips and rng.random() < 0.08:
            leave = rng.randrange(self.days)
            trip = (leave, leave + rng.randint(1, 2))
        stayed_in = False
        for day in range(self.days):
            t_out = self.at(day, rng.gauss(*out))
            t_back = max(self.at(day, rng.gauss(*back)), t_out + 1800)
            if stop and day == stop[0]:
                self.walk(who, house, t_out, t_back if stop[1] == "in" else None)
                return
            if trip and trip[0] <= day <= trip[1]:
                self.walk(who, house, t_out if day == trip[0] else None, t_back if day == trip[1] else None)
                continue
            if not stayed_in and rng.random() < 0.1:
                stayed_in = True
                continue
            stayed_in = False
            self.walk(who, house, t_out, t_back)
            if trips and rng.random() < 0.2:  # an errand at midday
                noon = self.at(day, rng.uniform(11, 14))
                self.walk(who, house, noon, noon + rng.uniform(600, 3600))

    # --- vehicles -----------------------------------------------------------------------------

    def drive(self, plate: str, estate: str, day: int, t_out: float, t_back: float, *, visit: bool = True) -> None:
        """A car trip: read going out and coming in, sometimes at another estate's gate on the way."""
        cameras = self.gates[estate]["plate_camera"]
        self.emit("plate_read", self.rng.choice(cameras).code, t_out, plate=plate, direction="out", site="gate")
        others = [e for e in self.gates if e != estate]
        if visit and others and self.rng.random() < 0.05:  # visiting another estate at city speed
            there = self.rng.choice(self.gates[self.rng.choice(others)]["plate_camera"])
            arrive = t_out + self.rng.uniform(900, 1800)
            self.emit("plate_read", there.code, arrive, plate=plate, direction="in", site="gate")
            self.emit("plate_read", there.code, arrive + 1200, plate=plate, direction="out", site="gate")
        self.emit("plate_read", self.rng.choice(cameras).code, t_back, plate=plate, direction="in", site="gate")

    def commute(self, plate: str, estate: str, night: bool = False) -> None:
        """A car used on most days, never left more than four days."""
        idle = 0
        for day in range(self.days):
            if idle < 4 and self.rng.random() < 0.4:
                idle += 1
                continue
            idle = 0
            t_out = self.at(day, self.rng.gauss(23.5, 0.4) if night else self.rng.gauss(8, 0.7))
            t_back = t_out + self.rng.uniform(3, 5) * 3600 if night else self.at(day, self.rng.gauss(18.5, 1.2))
            self.drive(plate, estate, day, t_out, t_back, visit=not night)

    # --- meters -------------------------------------------------------------------------------

    def meter_readings(self, use: dict[str, tuple[float, float, float]]) -> None:
        """A cumulative reading a day from every meter: water, power and gas by how many live there."""
        for house, meters in self.meters.items():
            people = self.present.get(house, 0)
            base = use.get(house)
            totals = {k: self.rng.uniform(10, 5000) for k in meters}
            for day in range(self.days + 1):
                ts = self.at(day, 0.1)
                for kind, device in meters.items():
                    if base is not None:
                        daily = base[("water", "power", "gas").index(kind)]
                    elif people:
                        daily = {"water": 0.05 + 0.11 * people, "power": 3 + 2.5 * people, "gas": 0.2 + 0.3 * people}[
                            kind
                        ] + (self.extra_power[house] if kind == "power" else 0.0)
                    else:
                        daily = 0.2 if kind == "power" else 0.0
                    totals[kind] += daily * self.rng.uniform(0.7, 1.3) if day else 0.0
                    self.emit(
                        "meter_reading",
                        device.code,
                        ts,
                        meter=kind,
                        reading=round(totals[kind], 3),
                        unit=METER_UNITS[kind],
                    )


def _identities(card: str, face: str) -> list[str]:
    """The two uids one unregistered person gets: by door card and by face (nothing binds them)."""
    return [uids.unregistered_person("card", card), uids.unregistered_person("face", face)]


def _age(person: Person) -> int:
    born = person.birth_date
    if born is None:
        return 40
    return REFERENCE_DATE.year - born.year - ((REFERENCE_DATE.month, REFERENCE_DATE.day) < (born.month, born.day))


def simulate(
    community: Community, days: int = 30, seed: int = 0, cases: int | None = None, miss_rate: float = 0.03
) -> Activity:
    """Return `days` days of events of `community` ending at its reference date, with planted cases.

    `cases` is how many cases of each kind to plant (default: one per 500 residents, at least 2);
    `miss_rate` is the share of passes that cameras and readers miss, planted ones included.
    """
    if days < 21:
        raise ValueError(f"days must be 21 or more (absence detectors look back 20 days), got {days}")
    m = _Month(community, days, seed, miss_rate)
    rng, ctx = m.rng, m.ctx
    n = cases if cases is not None else max(2, community.residents // 500)
    adults = sorted(
        p for p, h in ctx.home.items() if 18 <= _age(ctx.persons[p]) <= 75 and h in ctx.house_unit and ctx.registered[p]
    )
    rng.shuffle(adults)

    def pick(pool: list[str], count: int) -> list[str]:
        chosen = [u for u in pool if u not in m.used][:count]
        m.used.update(chosen)
        return chosen

    def plant(detector: str, subjects: list[str], note: str) -> None:
        m.truth.extend(Truth(detector, s, note) for s in subjects)

    # households by house, for cases that need a whole household
    households = {h: people for h, people in ctx.occupants.items() if h in ctx.house_unit}
    singles = sorted(h for h, people in households.items() if len(people) == 1 and ctx.registered.get(people[0]))
    multi = sorted(h for h, people in households.items() if len(people) >= 2)
    vacant = sorted(h for h in m.meters if not ctx.occupants.get(h) and h in ctx.house_unit)
    for pool in (singles, multi, vacant):
        rng.shuffle(pool)

    # --- who does what this month -------------------------------------------------------------
    stops: dict[str, tuple[int, str]] = {}
    for person in pick(adults, n):  # 长期外出未归
        stops[person] = (days - rng.randint(4, 10), "out")
        plant("long_out", [person], "left through a gate 4-10 days before the end and never came back")
    elderly = [p for p in adults if _age(ctx.persons[p]) >= 60]
    for person in pick(elderly, n):  # 长期在家未出
        stops[person] = (days - rng.randint(4, 10), "in")
        plant("long_in", [person], "came home 4-10 days before the end and was not seen again")
    gone: set[str] = set()
    for house in multi[:n]:  # 离开未注销, while the rest of the household stays
        m.used.add(house)
        registered = [p for p in households[house] if ctx.registered.get(p) and _age(ctx.persons[p]) >= 18]
        for person in pick(registered, 1):
            gone.add(person)
            plant("left_not_deregistered", [person], "moved away before the month; still registered")
    for house in singles[:n]:  # the only resident left: the house is empty on the meters too
        for person in pick(households[house], 1):
            gone.add(person)
            m.used.add(house)
            plant("left_not_deregistered", [person], "the only resident, moved away; still registered")
            plant("house_occupancy", [house], "registered resident gone, meters still")
    night = pick(adults, n)  # 昼伏夜出
    plant("night_active", night, "out around 23:00, back around 03:30, every night")
    busy = pick(adults, n)  # 频繁进出 (residents), plus couriers below
    plant("frequent_access", busy, "18-26 extra gate passes on 5 days")
    key_people = sorted(p for p in ctx.home if ctx.persons[p].key_person)
    watched = pick([p for p in adults if p not in stops], max(1, n // 2))
    for k, person in enumerate(watched):  # 布控 by uid
        entry = WatchEntry(uid=uids.watch_entry(f"SIM{seed}-P{k}"), source=SOURCE, reason="协查", level=2)
        m.nodes.append(entry)
        m.links.append(Watches(start=entry.uid, end=person, source=SOURCE))
    plant("watchlist_hit", watched, "on the watch list, living a normal month")
    for k in range(n):  # watch-list entries nobody matches
        m.nodes.append(
            WatchEntry(
                uid=uids.watch_entry(f"SIM{seed}-X{k}"), source=SOURCE, reason="协查", plate=None, id_number=None
            )
        )

    known_unregistered = sorted(p for p in ctx.home if not ctx.registered[p] and _age(ctx.persons[p]) >= 6)
    plant("unregistered_resident", known_unregistered, "lives there on record, but not registered")

    # --- residents' months --------------------------------------------------------------------
    for person, house in sorted(ctx.home.items()):
        if person in gone or house not in ctx.house_unit:
            continue
        m.present[house] += 1
        age = _age(ctx.persons[person])
        if age < 3:
            continue
        who = {"person": person}
        if person in night:
            m.live(who, house, out=(23.0, 0.4), back=(27.5, 0.6), trips=False)
        elif person in stops:
            m.live(who, house, stop=stops[person], trips=False)
        elif age >= 65:
            m.live(who, house, out=(9.5, 1.0), back=(16.0, 1.5))
        elif rng.random() < 0.05:  # night shift: out at night, back in the morning (half the passes at night)
            m.live(who, house, out=(22.5, 0.3), back=(30.0, 0.5))
        else:
            m.live(who, house)
    for person in busy:
        house = ctx.home[person]
        for day in rng.sample(range(days), 5):
            for _ in range(rng.randint(9, 13)):
                t = m.at(day, rng.uniform(8, 20))
                m.walk({"person": person}, house, t, t + rng.uniform(300, 1200))

    # --- strangers: unregistered residents, group rentals, visitors, couriers --------------------
    occupied = [h for h in multi[n:] if h not in m.used]
    for k, house in enumerate(occupied[:n]):  # 实有人口未登记: one more person living there, unregistered
        m.used.add(house)
        card, face_id = f"SIM{seed}-C{k:04d}", f"SIM{seed}-F{k:04d}"
        m.live({"card": card, "face_id": face_id}, house, trips=False)
        m.present[house] += 1
        plant("unregistered_resident", _identities(card, face_id), f"lives in {house}, unregistered")
    for k, house in enumerate(occupied[n : 2 * n]):  # 群租房
        m.used.add(house)
        tenants = rng.randint(6, 9)
        for t in range(tenants):
            card, face_id = f"SIM{seed}-G{k:03d}-{t}", f"SIM{seed}-GF{k:03d}-{t}"
            m.live({"card": card, "face_id": face_id}, house, trips=False)
            plant("unregistered_resident", _identities(card, face_id), f"a group-rental tenant of {house}")
        m.present[house] += tenants
        plant("group_rental", [house], f"{tenants} unregistered tenants besides the household")
    for house in occupied[2 * n : 3 * n]:  # 异常房屋: a workshop or mining rig drawing 60-90 kWh a day
        m.used.add(house)
        m.extra_power[house] = rng.uniform(60, 90)
        plant("abnormal_house", [house], "60-90 kWh a day more than the household uses")
    for k, house in enumerate(occupied[3 * n : 4 * n]):  # two lodgers: unregistered, but not a group rental
        m.used.add(house)
        for t in range(2):
            card, face_id = f"SIM{seed}-L{k:03d}-{t}", f"SIM{seed}-LF{k:03d}-{t}"
            m.live({"card": card, "face_id": face_id}, house, trips=False)
            plant("unregistered_resident", _identities(card, face_id), f"a lodger in {house}")
        m.present[house] += 2
    for k in range(n * 10):  # visitors: a few evenings at one unit, under the threshold
        house = rng.choice(occupied)
        unit = ctx.house_unit[house]
        face = m.unit_devices[unit].get("face_camera")
        for day in rng.sample(range(days), rng.randint(1, 3)):
            if face:
                m.emit("face_capture", face.code, m.at(day, rng.uniform(18, 22)), face_id=f"SIM{seed}-V{k:04d}")
    estates = sorted(m.gates)
    for k in range(n):  # couriers: many gate passes a day, by day
        estate = rng.choice(estates)
        courier = f"SIM{seed}-K{k:03d}"
        for day in rng.sample(range(days), rng.randint(6, 12)):
            for _ in range(rng.randint(18, 26)):
                gate = rng.choice(m.gates[estate]["face_camera"])
                m.emit("face_capture", gate.code, m.at(day, rng.uniform(9, 20)), face_id=courier)
        plant("frequent_access", [uids.unregistered_person("face", courier)], "a courier at the gates all day")

    # --- gatherings of key persons --------------------------------------------------------------
    free = [p for p in key_people if p not in m.used]
    for _ in range(max(1, n // 4)):
        group: list[str] = []
        for person in free:  # four key persons from four different units
            if all(ctx.house_unit[ctx.home[person]] != ctx.house_unit[ctx.home[q]] for q in group):
                group.append(person)
            if len(group) == 4:
                break
        if len(group) < 4:
            break
        free = [p for p in free if p not in group]
        host = ctx.house_unit[ctx.home[group[0]]]
        face = m.unit_devices[host].get("face_camera")
        if face is None:
            continue
        day, hour = rng.randrange(days), rng.uniform(20, 22)
        for person in group:
            m.emit("face_capture", face.code, m.at(day, hour + rng.uniform(0, 0.15)), person=person)
        plant("key_person_gathering", [host], f"{len(group)} key persons at {face.code} on day {day}")

    # --- vehicles -----------------------------------------------------------------------------
    cars = sorted((v, o) for v, o in ctx.vehicle_owner.items() if o in ctx.home and o not in gone and o not in stops)
    rng.shuffle(cars)
    clones = cars[:n] if len(estates) > 1 else []
    nocturnal = cars[n : 2 * n]
    plates_watched = cars[2 * n : 2 * n + max(1, n // 2)]
    for vehicle, owner in cars:
        plate = ctx.vehicles[vehicle].plate
        m.commute(plate, m.estate_of[ctx.home[owner]], night=(vehicle, owner) in nocturnal)
    plant("night_active", [v for v, _ in nocturnal], "driven out around 23:30, back 3-5 hours later")
    for k, (vehicle, _) in enumerate(plates_watched):
        entry = WatchEntry(
            uid=uids.watch_entry(f"SIM{seed}-V{k}"),
            source=SOURCE,
            reason="被盗抢车辆",
            level=1,
            plate=ctx.vehicles[vehicle].plate,
        )
        m.nodes.append(entry)
        plant("watchlist_hit", [vehicle], "its plate is on the watch list")
    for vehicle, owner in clones:  # 套牌车: the same plate read at another estate seconds later
        plate, home = ctx.vehicles[vehicle].plate, m.estate_of[ctx.home[owner]]
        mine = m.gates[home]["plate_camera"][0]
        far = max(
            (c for e in estates if e != home for c in m.gates[e]["plate_camera"]),
            key=lambda c: haversine_m(mine.lon, mine.lat, c.lon, c.lat),
        )
        metres = float(haversine_m(mine.lon, mine.lat, far.lon, far.lat))
        for _ in range(2):
            day, hour = rng.randrange(days), rng.uniform(10, 16)
            t = m.at(day, hour)
            m.emit("plate_read", mine.code, t, plate=plate, direction="in", site="gate")
            m.emit("plate_read", mine.code, t + 60, plate=plate, direction="out", site="gate")
            speed = rng.uniform(200, 500) / 3.6
            m.emit("plate_read", far.code, t + 60 + metres / speed, plate=plate, direction="in", site="gate")
            m.emit("plate_read", far.code, t + 2 * 3600, plate=plate, direction="out", site="gate")
        plant("cloned_plate", [vehicle], f"read {metres:.0f} m away at 200-500 km/h")
    for k in range(n):  # 僵尸车: an unknown car drives in once and stays
        plate = f"京{_PLATE_LETTERS[k % len(_PLATE_LETTERS)]}{k:02d}Z{seed % 10}{k % 10}"
        estate = rng.choice(estates)
        day = rng.randrange(0, days - 17)
        arrive = m.at(day, rng.uniform(8, 22))
        gate = rng.choice([c for c in m.gates[estate]["plate_camera"] if "PARK" not in c.code])
        park = rng.choice([c for c in m.gates[estate]["plate_camera"] if "PARK" in c.code] or [gate])
        for camera, site, t in ((gate, "gate", arrive), (park, "car_park", arrive + 120)):  # two readers on the way in
            m.emit("plate_read", camera.code, t, plate=plate, direction="in", site=site)
        plant("zombie_vehicle", [uids.vehicle(plate)], f"drove in on day {day}, never left")
    for k in range(n * 5):  # visitors' cars: in and out the same day
        plate = f"京{_PLATE_LETTERS[k % len(_PLATE_LETTERS)]}{k:03d}V{seed % 10}"
        estate = rng.choice(estates)
        t = m.at(rng.randrange(days), rng.uniform(8, 18))
        gate = rng.choice([c for c in m.gates[estate]["plate_camera"] if "PARK" not in c.code])
        park = rng.choice([c for c in m.gates[estate]["plate_camera"] if "PARK" in c.code] or [gate])
        leave = t + rng.uniform(600, 7200)
        m.emit("plate_read", gate.code, t, plate=plate, direction="in", site="gate")
        for camera, site, when in ((park, "car_park", leave), (gate, "gate", leave + 120)):  # two readers out
            m.emit("plate_read", camera.code, when, plate=plate, direction="out", site=site)

    # --- houses: meters -----------------------------------------------------------------------
    use: dict[str, tuple[float, float, float]] = {}
    for house in [h for h in vacant if h not in m.used][:n]:  # 房屋空置 on record, in use on the meters
        m.used.add(house)
        use[house] = (0.3, 8.0, 0.8)
        plant("house_occupancy", [house], "nobody registered; meters show two people living there")
    m.meter_readings(use)

    # --- key units: their own fire devices ----------------------------------------------------
    key_units = sorted((o for o in ctx.organisations.values() if o.key_unit), key=lambda o: o.uid)
    org_estate = {r.start: r.end for r in community.links if isinstance(r, LocatedIn) and r.start.startswith("org:")}
    for k, org in enumerate(key_units):
        devices = _key_unit_devices(m, org, org_estate.get(org.uid), seed, k)
        if k % 2 == 0:  # at risk: repeated alarms on several days
            for day in rng.sample(range(days), 3):
                for device in devices:
                    kind = "smoke" if device.category == "smoke_detector" else "fire_door_open"
                    alarm = {"status": "alarm"} if kind == "smoke" else {"door": "open"}
                    m.emit(kind, device.code, m.at(day, rng.uniform(8, 20)), **alarm)
            plant("key_unit_risk", [org.uid], "smoke and fire-door alarms on 3 days")
        else:  # one false alarm: a near miss
            m.emit("smoke", devices[0].code, m.at(rng.randrange(days), 12), status="alarm")
    smoke = sorted(d.code for d in ctx.devices.values() if d.category == "smoke_detector")
    for day in range(days):  # the property's own false alarms, not a key unit's
        if smoke:
            m.emit("smoke", rng.choice(smoke), m.at(day, rng.uniform(0, 24)), status="alarm")
    return Activity(m.start, m.end, m.columns, m.nodes, m.links, m.truth)


def _key_unit_devices(m: _Month, org: Organisation, estate: str | None, seed: int, k: int) -> list[Device]:
    """A smoke detector and a fire door owned by a key unit, installed in its estate."""
    devices = [
        Device(
            uid=uids.device(f"SIM{seed}-KU{k}-{suffix}"),
            source=SOURCE,
            code=f"SIM{seed}-KU{k}-{suffix}",
            name=f"{org.name}{name}",
            category=category,
            owner_unit=org.name,
            lon=org.lon,
            lat=org.lat,
        )
        for suffix, name, category in (("SMOKE", "烟感", "smoke_detector"), ("FDOOR", "防火门", "fire_door"))
    ]
    m.nodes.extend(devices)
    if estate:
        m.links.extend(InstalledIn(start=d.uid, end=estate, source=SOURCE) for d in devices)
    for device in devices:
        m.ctx.devices[device.code] = DevicePlace(
            device.uid,
            device.code,
            device.category,
            estate or "",
            estate,
            None,
            None,
            device.lon,
            device.lat,
            device.owner_unit,
        )
    return devices


__all__ = ["Activity", "Truth", "simulate"]
