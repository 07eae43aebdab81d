"""Holistic profiles on a seeded generated community with events in a real ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from analytics.profile import build_profile
from api.anchoring import layer_features, place, write_layers
from graph import (
    Alarm,
    AssociatedWith,
    Device,
    Flags,
    GraphStore,
    InstalledIn,
    LivesIn,
    Owns,
    PassedThrough,
    Person,
    RaisedOn,
    RiskFlag,
    UnknownEntity,
    ValidationError,
    Vehicle,
)
from graph import uid as uids
from graph.generator import Community, generate
from graph.masking import ANONYMOUS, SEE_ID_NUMBER, SYSTEM, Viewer, mask_value
from ingest.events import parse_event
from ingest.intake import accept
from ingest.projector import Projector

SOURCE = "test:profile"
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@dataclass
class Planted:
    person: Person
    friend: str
    house: str
    vehicle: Vehicle
    face_camera: Device
    plate_camera: Device
    meter: Device
    devices: dict[str, Device]
    person_events: list[str]  # ids, oldest first
    house_events: list[str]
    vehicle_events: list[str]


def _choose(community: Community) -> tuple[Person, str, Vehicle, str]:
    nodes = {n.uid: n for n in community.nodes}
    homes = {link.start: link.end for link in community.links if isinstance(link, LivesIn) and link.until is None}
    for link in community.links:
        if isinstance(link, Owns) and link.end.startswith("vehicle:") and link.start in homes:
            person, vehicle = nodes[link.start], nodes[link.end]
            assert isinstance(person, Person) and isinstance(vehicle, Vehicle)
            friend = next(p for p in homes if p != person.uid)
            return person, homes[person.uid], vehicle, friend
    raise AssertionError("the community has no resident who owns a car")


def _event(kind: str, eid: str, device: Device, minutes: float, **fields: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "id": eid,
        "device": device.code,
        "ts": (T0 + timedelta(minutes=minutes)).isoformat(),
        **fields,
    }


def put(engine: Engine, raws: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        outcomes = accept(conn, [(raw, parse_event(raw)) for raw in raws], SOURCE)
    assert {o.status for o in outcomes} == {"accepted"}


@pytest.fixture
def planted(store: GraphStore, spatial_engine: Engine) -> Planted:
    community = generate(120, seed=21)
    store.upsert(community.nodes)
    store.link(community.links)
    with spatial_engine.begin() as conn:
        write_layers(conn, layer_features(community, place(community)))
    person, house, vehicle, friend = _choose(community)
    devices = {n.uid: n for n in community.nodes if isinstance(n, Device)}
    face = next(d for d in devices.values() if d.category == "face_camera")
    plate = next(d for d in devices.values() if d.category == "plate_camera")
    meter = next(
        devices[link.start]
        for link in community.links
        if isinstance(link, InstalledIn) and link.end == house and devices[link.start].category == "water_meter"
    )
    code = person.uid.removeprefix("person:")
    events = [
        _event("face_capture", "pf0", face, 0, person=person.uid, image="snap/pf0.jpg"),
        _event("access_open", "pa1", face, 10, method="card", person=code, house=house),  # a code, not a uid
        _event("face_capture", "pf2", face, 20, person=person.uid, image="snap/pf2.jpg"),
        _event("access_open", "pa3", face, 30, method="face", person=person.uid),
        _event("face_capture", "pf4", face, 40, person=person.uid),
        _event("plate_read", "v0", plate, 5, plate=vehicle.plate, direction="in"),
        _event("plate_read", "v1", plate, 50, plate=vehicle.plate[:2] + " " + vehicle.plate[2:], direction="out"),
        _event("meter_reading", "m0", meter, 15, meter="water", reading=12.5, unit="m3"),
        _event("face_capture", "other0", face, 25, person=friend),  # someone else
        _event("plate_read", "other1", plate, 26, plate="京Z99999", direction="in"),
    ]
    put(spatial_engine, events)
    # alarms on the home (one open, one closed) and flags on the person (one open, one cleared)
    store.upsert(
        [
            Alarm(
                uid=uids.alarm("a-open"), source=SOURCE, kind="smoke", severity=1, opened_at=T0, description="烟感报警"
            ),
            Alarm(uid=uids.alarm("a-closed"), source=SOURCE, kind="smoke", severity=1, status="closed", opened_at=T0),
            RiskFlag(
                uid=uids.risk_flag("long_out", person.uid),
                source=SOURCE,
                detector="long_out",
                version="1",
                score=0.8,
                explanation="not seen at any gate for 9 days",
                clears_when="the person is seen again",
                inputs=json.dumps({"last_seen": "pf4"}),
                thresholds=json.dumps({"days": 7}),
                raised_at=T0,
            ),
            RiskFlag(
                uid=uids.risk_flag("night_active", person.uid),
                source=SOURCE,
                detector="night_active",
                version="1",
                score=0.5,
                explanation="old",
                clears_when="n/a",
                status="cleared",
                raised_at=T0,
            ),
        ]
    )
    store.link(
        [
            RaisedOn(start=uids.alarm("a-open"), end=house, source=SOURCE),
            RaisedOn(start=uids.alarm("a-closed"), end=house, source=SOURCE),
            Flags(start=uids.risk_flag("long_out", person.uid), end=person.uid, source=SOURCE),
            Flags(start=uids.risk_flag("night_active", person.uid), end=person.uid, source=SOURCE),
            AssociatedWith(
                start=min(person.uid, friend),
                end=max(person.uid, friend),
                source=SOURCE,
                kind="co_travel",
                count=4,
                first_seen=T0,
                last_seen=T0 + timedelta(days=3),
                evidence=["pf0", "other0"],
                confidence=0.57,
                algorithm="co_travel/1",
            ),
        ]
    )
    return Planted(
        person=person,
        friend=friend,
        house=house,
        vehicle=vehicle,
        face_camera=face,
        plate_camera=plate,
        meter=meter,
        devices=devices,
        person_events=["pf0", "pa1", "pf2", "pa3", "pf4"],
        house_events=["pa1", "m0"],
        vehicle_events=["v0", "v1"],
    )


def test_person_profile_gathers_every_section(planted: Planted, store: GraphStore, spatial_engine: Engine) -> None:
    p = build_profile(planted.person.uid, SYSTEM, store, spatial_engine)
    assert (p.label, p.caption) == ("Person", planted.person.name)
    assert p.attributes["id_number"] == planted.person.id_number and p.masked == []
    related = {(r.type, r.direction, r.uid) for r in p.relationships}
    assert ("LIVES_IN", "out", planted.house) in related
    assert ("OWNS", "out", planted.vehicle.uid) in related
    (assoc,) = [r for r in p.relationships if r.type == "ASSOCIATED_WITH"]
    assert assoc.uid == planted.friend
    assert assoc.properties["evidence"] == ["pf0", "other0"] and assoc.properties["kind"] == "co_travel"
    assert planted.house in {s.house for s in p.residence_history if s.until is None}
    # a busy subject's passes and associations never crowd out where they live: the strongest come
    store.link(
        [
            PassedThrough(
                start=planted.person.uid,
                end=planted.face_camera.uid,
                source=SOURCE,
                count=10,
                first_seen=T0,
                last_seen=T0 + timedelta(hours=1),
            )
        ]
    )
    few = build_profile(planted.person.uid, SYSTEM, store, spatial_engine, relationships_limit=1)
    assert [r.type for r in few.relationships if r.type in ("PASSED_THROUGH", "ASSOCIATED_WITH")] == ["PASSED_THROUGH"]
    assert ("LIVES_IN", "out", planted.house) in {(r.type, r.direction, r.uid) for r in few.relationships}
    assert [e.id for e in p.timeline.events] == planted.person_events[::-1]
    assert p.timeline.next_cursor is None
    # the trajectory: passes at the camera's place, in time order (the meter reading is not a pass)
    assert [pt.at for pt in p.trajectory] == sorted(pt.at for pt in p.trajectory)
    assert len(p.trajectory) == 5
    assert {(pt.lon, pt.lat) for pt in p.trajectory} == {(planted.face_camera.lon, planted.face_camera.lat)}
    (bim,) = p.bim
    assert bim.house.uid == planted.house and bim.unit is not None and bim.building is not None
    assert bim.building.uid == uids.building(planted.house.split(":")[1].rsplit("-", 2)[0])
    assert bim.scene_url is None  # a generated building has no IFC model
    assert [(a.uid, a.on, a.status) for a in p.alarms] == [(uids.alarm("a-open"), planted.house, "open")]
    (flag,) = p.risk_flags
    assert flag.detector == "long_out" and flag.explanation.startswith("not seen")
    assert flag.inputs == {"last_seen": "pf4"} and flag.thresholds == {"days": 7}


def test_attributes_and_face_snapshots_are_masked_per_viewer(
    planted: Planted, store: GraphStore, spatial_engine: Engine
) -> None:
    anonymous = build_profile(planted.person.uid, ANONYMOUS, store, spatial_engine)
    assert anonymous.attributes["id_number"] == mask_value("id_number", planted.person.id_number)
    assert anonymous.attributes["id_number"] != planted.person.id_number
    if planted.person.phone:
        assert anonymous.attributes["phone"] == mask_value("phone", planted.person.phone)
    assert set(anonymous.masked) == {"id_number", "phone", "face_photo"}
    images = {e.id: e.payload.get("image") for e in anonymous.timeline.events if e.kind == "face_capture"}
    assert images == {"pf0": None, "pf2": None, "pf4": None}
    officer = build_profile(planted.person.uid, Viewer("officer", frozenset({SEE_ID_NUMBER})), store, spatial_engine)
    assert officer.attributes["id_number"] == planted.person.id_number
    assert officer.masked == ["phone", "face_photo"]


def test_timeline_pages_by_a_stable_cursor_newest_first(
    planted: Planted, store: GraphStore, spatial_engine: Engine
) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = build_profile(planted.person.uid, SYSTEM, store, spatial_engine, events_after=cursor, events_limit=2)
        seen += [e.id for e in page.timeline.events]
        pages += 1
        if pages == 1:
            # a newer event arriving between pages does not shift the pages that follow
            put(spatial_engine, [_event("face_capture", "late", planted.face_camera, 60, person=planted.person.uid)])
        cursor = page.timeline.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert seen == planted.person_events[::-1]
    with pytest.raises(ValidationError) as caught:
        build_profile(planted.person.uid, SYSTEM, store, spatial_engine, events_after="not-a-cursor")
    assert caught.value.field == "events_after"


def test_house_profile_has_residents_its_devices_events_and_alarms(
    planted: Planted, store: GraphStore, spatial_engine: Engine
) -> None:
    h = build_profile(planted.house, ANONYMOUS, store, spatial_engine)
    assert [(s.person, s.since, s.until) for s in h.residence_history] == [
        (r.person, r.since, r.until) for r in store.residence_history(planted.house)
    ]
    assert planted.person.uid in {s.person for s in h.residence_history}
    assert [e.id for e in h.timeline.events] == planted.house_events[::-1]
    assert ("INSTALLED_IN", "in", planted.meter.uid) in {(r.type, r.direction, r.uid) for r in h.relationships}
    assert [a.uid for a in h.alarms] == [uids.alarm("a-open")] and h.trajectory == []
    assert h.bim[0].house.uid == planted.house
    with_scene = build_profile(planted.house, ANONYMOUS, store, spatial_engine, scene_exists=lambda b: True)
    assert with_scene.bim[0].scene_url == f"/bim/{with_scene.bim[0].building.uid}/scene.glb"  # type: ignore[union-attr]


def test_vehicle_profile_finds_its_plate_however_it_was_written(
    planted: Planted, store: GraphStore, spatial_engine: Engine
) -> None:
    v = build_profile(planted.vehicle.uid, ANONYMOUS, store, spatial_engine)
    assert [e.id for e in v.timeline.events] == planted.vehicle_events[::-1]
    assert [pt.device for pt in v.trajectory] == [planted.plate_camera.code] * 2
    assert ("OWNS", "in", planted.person.uid) in {(r.type, r.direction, r.uid) for r in v.relationships}
    assert v.bim == [] and v.residence_history == []


def test_a_stranger_known_by_face_card_or_an_unknown_reference_has_a_timeline(
    planted: Planted, store: GraphStore, spatial_engine: Engine
) -> None:
    face, door = planted.face_camera, planted.face_camera
    put(
        spatial_engine,
        [
            _event("face_capture", "s0", face, 60, face_id="f-7781", image="snap/s0.jpg"),
            _event("face_capture", "s1", face, 70, face_id="f-7781"),
            _event("access_open", "s2", door, 80, method="card", card="C-0099"),
            _event("access_open", "s3", door, 90, method="app", person="X-404"),  # a person no one registered
        ],
    )
    Projector(spatial_engine, store).drain()
    strangers = {
        uids.unregistered_person("face", "f-7781"): ["s1", "s0"],
        uids.unregistered_person("card", "C-0099"): ["s2"],
        uids.unregistered_person("person", "X-404"): ["s3"],
    }
    for stranger, events in strangers.items():
        p = build_profile(stranger, SYSTEM, store, spatial_engine)
        assert p.attributes["unregistered"] is True
        assert [e.id for e in p.timeline.events] == events, stranger


def test_unknown_and_unprofiled_uids_are_refused(planted: Planted, store: GraphStore, spatial_engine: Engine) -> None:
    with pytest.raises(UnknownEntity):
        build_profile(uids.person("NOBODY"), SYSTEM, store, spatial_engine)
    with pytest.raises(ValidationError) as caught:
        build_profile(planted.meter.uid, SYSTEM, store, spatial_engine)
    assert caught.value.field == "uid" and "Device" in caught.value.reason
    with pytest.raises(ValidationError) as caught:
        build_profile(planted.person.uid, SYSTEM, store, spatial_engine, events_limit=0)
    assert caught.value.field == "events_limit"


def test_cli_prints_a_profile_as_json(planted: Planted, store: GraphStore, spatial_engine: Engine) -> None:
    env = {
        **os.environ,
        "TWINHOOD_NEO4J_DATABASE": store.database,
        "TWINHOOD_DATABASE_URL": spatial_engine.url.render_as_string(hide_password=False),
        "COLUMNS": "200",
    }
    cli = [sys.executable, "-c", "from api.cli import main; main()", "profile", planted.person.uid, "--json"]
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["uid"] == planted.person.uid
    assert [e["id"] for e in shown["timeline"]["events"]] == planted.person_events[::-1]
    assert shown["attributes"]["id_number"] == planted.person.id_number
    done = subprocess.run([*cli, "--masked"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["attributes"]["id_number"] == mask_value("id_number", planted.person.id_number)
