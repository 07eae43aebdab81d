"""Inferred relationships from a real ledger: planted repeated co-occurrences become edges, coincidences do not."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from analytics.inference import InferenceSettings, confidence, find, infer
from graph import GraphStore, Person, Vehicle
from graph import uid as uids
from ingest.events import parse_event
from ingest.intake import accept
from ingest.projector import opaque_person

SOURCE = "test:inference"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY0 = datetime(2026, 5, 4, tzinfo=SHANGHAI)
SINCE, UNTIL = DAY0 - timedelta(days=1), DAY0 + timedelta(days=30)
HOUSE = uids.house("E01B01", 1, "0301")
A, B, C, D, E, F, G, H = (uids.person(f"P{n}") for n in range(1, 9))
P, Q, R, S = (uids.person(f"P{n}") for n in range(11, 15))
STRANGER = opaque_person("face", "cam-face-77")
GHOST = uids.person("P99")  # in the ledger, not in the graph
CAR1, CAR2 = "京A12345", "京B54321"


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return DAY0 + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def face(eid: str, person: str, device: str, when: datetime, **extra: Any) -> dict[str, Any]:
    return {"kind": "face_capture", "id": eid, "device": device, "ts": when.isoformat(), "person": person, **extra}


def plate(eid: str, number: str, device: str, when: datetime) -> dict[str, Any]:
    return {
        "kind": "plate_read",
        "id": eid,
        "device": device,
        "ts": when.isoformat(),
        "plate": number,
        "direction": "in",
    }


def door(eid: str, person: str, when: datetime, house: str = HOUSE) -> dict[str, Any]:
    return {
        "kind": "access_open",
        "id": eid,
        "device": "E01B01-U1-DOOR",
        "ts": when.isoformat(),
        "method": "card",
        "person": person,
        "house": house,
    }


def put(engine: Engine, raws: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        outcomes = accept(conn, [(raw, parse_event(raw)) for raw in raws], SOURCE)
    assert {o.status for o in outcomes} == {"accepted"}


def planted() -> list[dict[str, Any]]:
    """The events of the planted cases; the comments say what each should (not) become."""
    events = []
    # A and B pass the gate 10 s apart on four days: co_travel. C passes with A on one day only.
    for day in range(4):
        events += [face(f"a{day}", A, "GATE1-FACE", at(day, 8)), face(f"b{day}", B, "GATE1-FACE", at(day, 8, 0, 10))]
    events.append(face("c0", "P3", "GATE1-FACE", at(0, 8, 0, 20)))  # a payload code, not a uid
    # D passes the gate two minutes after A on five days: too far apart for co_travel, one device only.
    events += [face(f"d{day}", D, "GATE1-FACE", at(day, 8, 2)) for day in range(4)]
    # Two cars in convoy at the plate camera on three days; the second car's plate written loosely.
    for day in range(3):
        events += [
            plate(f"v1-{day}", CAR1, "GATE1-PLATE", at(day, 18)),
            plate(f"v2-{day}", "京b 54321", "GATE1-PLATE", at(day, 18, 0, 25)),
        ]
    # E and F within three minutes at three cameras on one afternoon: co_presence. G and H at two only.
    for k, device in enumerate(["CAM01", "CAM02", "CAM03"]):
        events += [face(f"e{k}", E, device, at(5, 15, 10 * k)), face(f"f{k}", F, device, at(5, 15, 10 * k + 3))]
    for k, device in enumerate(["CAM01", "CAM02"]):
        events += [face(f"g{k}", G, device, at(6, 15, 10 * k)), face(f"h{k}", H, device, at(6, 15, 10 * k + 1))]
    # A stranger's face with E at the same three cameras a day later: the projector's opaque person.
    for k, device in enumerate(["CAM01", "CAM02", "CAM03"]):
        events += [
            face(f"e{k}x", E, device, at(7, 9, 10 * k)),
            {**face(f"x{k}", "", device, at(7, 9, 10 * k + 1)), "person": None, "face_id": "cam-face-77"},
        ]
    # Someone the graph does not know travels with A on three more days.
    for day in range(10, 13):
        events += [face(f"a{day}", A, "GATE1-FACE", at(day, 7)), face(f"ghost{day}", GHOST, "GATE1-FACE", at(day, 7))]
    # P and Q open the house's door at night on three nights (23:00 and 01:30 the next morning are
    # one night); R opens it by day with P on five days; S at night with P on two nights only.
    for night in range(3):
        events += [door(f"p{night}", P, at(night, 23)), door(f"q{night}", Q, at(night + 1, 1, 30))]
    for day in range(5):
        events += [door(f"pd{day}", P, at(day, 14)), door(f"r{day}", R, at(day, 14, 5))]
    events += [door(f"s{night}", S, at(night, 23, 30)) for night in range(2)]
    return events


@pytest.fixture
def ledgered(store: GraphStore, spatial_engine: Engine) -> GraphStore:
    people = [A, B, C, D, E, F, G, H, P, Q, R, S, STRANGER]
    store.upsert(Person(uid=u, source=SOURCE, name=u.removeprefix("person:")) for u in people)
    store.upsert(Vehicle(uid=uids.vehicle(p), source=SOURCE, plate=p) for p in (CAR1, CAR2))
    put(spatial_engine, planted())
    return store


def edges(store: GraphStore, uid: str) -> dict[tuple[str, str], Any]:
    found = store.neighbourhood(uid, hops=1, rel_types=["ASSOCIATED_WITH"])
    return {(e.start, e.end): e for e in found.edges}


def test_repeated_co_travel_becomes_an_edge_with_evidence_and_coincidences_do_not(
    ledgered: GraphStore, spatial_engine: Engine
) -> None:
    result = infer(spatial_engine, ledgered, since=SINCE, until=UNTIL, kinds=["co_travel"])
    pairs = {(a.a, a.b): a for a in result.found["co_travel"]}
    assert set(pairs) == {(A, B), (uids.vehicle(CAR1), uids.vehicle(CAR2)), (A, GHOST)}
    ab = pairs[(A, B)]
    assert (ab.count, ab.support, ab.base) == (4, 4, 4)
    assert ab.first_seen == at(0, 8) and ab.last_seen == at(3, 8, 0, 10)
    assert ab.evidence == ["a0", "b0", "a1", "b1", "a2", "b2", "a3", "b3"]
    assert ab.confidence == confidence(4, 4, 3) == round(4 / 7, 4)
    convoy = pairs[(uids.vehicle(CAR1), uids.vehicle(CAR2))]
    assert (convoy.count, convoy.support) == (3, 3)
    # the ghost is not in the graph: found, but not written
    assert result.skipped == 1 and result.written == 2
    assert set(edges(ledgered, A)) == {(A, B)}
    assert set(edges(ledgered, uids.vehicle(CAR1))) == {(uids.vehicle(CAR1), uids.vehicle(CAR2))}
    assert edges(ledgered, C) == {} and edges(ledgered, D) == {}


def test_edges_carry_their_count_window_evidence_confidence_and_algorithm(
    ledgered: GraphStore, spatial_engine: Engine
) -> None:
    infer(spatial_engine, ledgered, since=SINCE, until=UNTIL, kinds=["co_travel"])
    (edge,) = ledgered.relationships(A, rel_types=["ASSOCIATED_WITH"])
    assert edge.uid == uids.relation("ASSOCIATED_WITH", A, B, "co_travel") and edge.outgoing
    assert edge.other.uid == B
    props = edge.properties
    assert props["kind"] == "co_travel" and props["count"] == 4
    assert props["evidence"] == ["a0", "b0", "a1", "b1", "a2", "b2", "a3", "b3"]
    assert props["confidence"] == pytest.approx(4 / 7, abs=1e-4)
    assert props["algorithm"] == "co_travel/1"
    # running again updates the same edge instead of adding one
    infer(spatial_engine, ledgered, since=SINCE, until=UNTIL, kinds=["co_travel"])
    assert ledgered.counts()["ASSOCIATED_WITH"] == 2


def test_same_house_at_night_counts_nights_across_midnight_and_ignores_the_day(
    ledgered: GraphStore, spatial_engine: Engine
) -> None:
    result = infer(spatial_engine, ledgered, since=SINCE, until=UNTIL, kinds=["same_house_night"])
    pairs = {(a.a, a.b): a for a in result.found["same_house_night"]}
    assert set(pairs) == {(P, Q)}  # R only by day; S on two nights
    pq = pairs[(P, Q)]
    assert (pq.count, pq.support, pq.base) == (3, 3, 3)
    assert pq.evidence == ["p0", "q0", "p1", "q1", "p2", "q2"]
    assert pq.first_seen == at(0, 23) and pq.last_seen == at(3, 1, 30)
    assert set(edges(ledgered, P)) == {(P, Q)}


def test_a_lower_threshold_from_settings_admits_the_rarer_pair(ledgered: GraphStore, spatial_engine: Engine) -> None:
    lenient = InferenceSettings(same_house_min_nights=2)
    found = {(a.a, a.b) for a in find(spatial_engine, "same_house_night", SINCE, UNTIL, lenient)}
    assert found == {(P, Q), (P, S), (Q, S)}  # S shares two nights with both


def test_co_presence_needs_several_devices_and_knows_strangers_by_the_projectors_uid(
    ledgered: GraphStore, spatial_engine: Engine
) -> None:
    result = infer(spatial_engine, ledgered, since=SINCE, until=UNTIL, kinds=["co_presence"])
    pairs = {(a.a, a.b): a for a in result.found["co_presence"]}
    assert set(pairs) == {(E, F), tuple(sorted((E, STRANGER)))}  # G and H met at two devices only
    ef = pairs[(E, F)]
    assert (ef.count, ef.support) == (3, 3)
    assert ef.base == 3  # F was seen at three devices, E at the same three
    assert ef.evidence == ["e0", "f0", "e1", "f1", "e2", "f2"]
    assert result.written == 2
    assert set(edges(ledgered, STRANGER)) == {tuple(sorted((E, STRANGER)))}


def test_bad_windows_are_refused_naming_the_field(ledgered: GraphStore, spatial_engine: Engine) -> None:
    with pytest.raises(ValueError, match="since"):
        infer(spatial_engine, ledgered, since=UNTIL, until=SINCE)
    with pytest.raises(ValueError, match="since: needs a time zone"):
        infer(spatial_engine, ledgered, since=datetime(2026, 5, 1), until=UNTIL)
    with pytest.raises(ValueError, match="night_end_hour"):
        InferenceSettings(night_start_hour=22, night_end_hour=23)


def test_cli_prints_what_it_found(ledgered: GraphStore, spatial_engine: Engine) -> None:
    env = {
        **os.environ,
        "TWINHOOD_NEO4J_DATABASE": ledgered.database,
        "TWINHOOD_DATABASE_URL": spatial_engine.url.render_as_string(hide_password=False),
        "COLUMNS": "200",
    }
    cli = [sys.executable, "-c", "from api.cli import main; main()", "infer", "--since", SINCE.isoformat()]
    done = subprocess.run(
        [*cli, "--until", UNTIL.isoformat(), "--kind", "same_house_night"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "same_house_night" in done.stdout and P in done.stdout and Q in done.stdout
    assert "1 written" in done.stdout
    bad = subprocess.run([*cli, "--kind", "telepathy"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "telepathy" in bad.stderr
