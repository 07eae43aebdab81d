"""Detectors against a seeded month of a generated community, and each detector's rules on hand-made events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from analytics import frame
from analytics.context import Context
from analytics.detectors import DETECTORS, Inputs, configure, run
from analytics.findings import Score, evaluate
from analytics.simulate import Activity, simulate
from graph import ValidationError, uid
from graph import ontology as o
from graph.generator import Community, generate


@pytest.fixture(scope="module")
def month() -> tuple[Community, Activity]:
    community = generate(3000, 11)  # two estates: every kind of case can be planted
    return community, simulate(community, days=30, seed=11)


@pytest.fixture(scope="module")
def scores(month: tuple[Community, Activity]) -> dict[str, Score]:
    community, activity = month
    context = Context.from_graph([*community.nodes, *activity.nodes], [*community.links, *activity.links])
    detectors = configure()
    findings = run(detectors, Inputs(activity.frame(), context, activity.start, activity.end))
    for finding in findings:  # every finding explains itself and keeps JSON-ready inputs
        assert finding.explanation and finding.clears_when and finding.version
        json.dumps(finding.inputs)
    return {s.detector: s for s in evaluate(findings, activity.truth, detectors)}


@pytest.mark.parametrize("name", list(DETECTORS))
def test_every_detector_finds_its_planted_cases_and_little_else(scores: dict[str, Score], name: str) -> None:
    score = scores[name]
    assert score.truth > 0, f"nothing of {name} was planted"
    assert score.precision >= 0.9, score
    assert score.recall >= 0.9, score


def test_the_same_seed_gives_the_same_month() -> None:
    community = generate(300, 3)
    first, second = simulate(community, 21, 3, cases=2), simulate(community, 21, 3, cases=2)
    assert first.columns == second.columns
    assert first.truth == second.truth
    assert simulate(community, 21, 4, cases=2).columns != first.columns


def test_simulated_events_are_valid_ingest_events(month: tuple[Community, Activity]) -> None:
    from ingest.events import parse_event

    first_of_kind: dict[str, dict[str, object]] = {}
    for index, row in enumerate(month[1].rows()):
        if index % 20 == 0 or row["kind"] not in first_of_kind:  # every 20th event, and every kind
            first_of_kind.setdefault(row["kind"], row)
            assert parse_event(row).kind == row["kind"]
    kinds = {"face_capture", "access_open", "plate_read", "meter_reading", "smoke", "fire_door_open"}
    assert set(first_of_kind) == kinds


def test_thresholds_are_validated_naming_the_detector_and_field() -> None:
    with pytest.raises(ValidationError) as caught:
        configure({"long_out": {"min_gap_days": -1}})
    assert caught.value.field.startswith("long_out")
    with pytest.raises(ValidationError, match="unknown detector"):
        configure(only=["astrology"])
    assert configure({"night_active": {"min_night_share": 0.9}}, ["night_active"])[0].model_dump()[
        "min_night_share"
    ] == pytest.approx(0.9)


# --- rules on hand-made events ------------------------------------------------------------------

T0 = datetime(2025, 12, 1, tzinfo=UTC)
E1, E2 = uid.estate("E1"), uid.estate("E2")


def _context() -> Context:
    nodes: list[o.Node] = [
        o.Device(uid=uid.device("G1"), source="t", code="G1", name="1", category="plate_camera", lon=116.40, lat=39.90),
        o.Device(uid=uid.device("G2"), source="t", code="G2", name="2", category="plate_camera", lon=116.41, lat=39.90),
        o.Device(
            uid=uid.device("G3"), source="t", code="G3", name="3", category="plate_camera", lon=116.40, lat=39.9003
        ),
        o.Estate(uid=E1, source="t", code="E1", name="甲"),
        o.Estate(uid=E2, source="t", code="E2", name="乙"),
    ]
    links: list[o.Link] = [
        o.InstalledIn(start=uid.device("G1"), end=E1, source="t"),
        o.InstalledIn(start=uid.device("G2"), end=E2, source="t"),
        o.InstalledIn(start=uid.device("G3"), end=E1, source="t"),
    ]
    return Context.from_graph(nodes, links)


def _reads(*reads: tuple[str, str, float]) -> Inputs:
    rows = [
        {
            "id": f"r{i}",
            "kind": "plate_read",
            "device": device,
            "ts": T0 + timedelta(seconds=s),
            "plate": plate,
            "direction": "in",
        }
        for i, (plate, device, s) in enumerate(reads)
    ]
    return Inputs(frame.from_rows(rows), _context(), T0, T0 + timedelta(days=30))


def test_a_plate_read_850_m_away_a_minute_later_is_a_clone_but_30_m_is_not() -> None:
    detector = configure(only=["cloned_plate"])[0]
    clone = list(detector.detect(_reads(("京A12345", "G1", 0), ("京A12345", "G2", 20))))
    assert [f.subject for f in clone] == [uid.vehicle("京A12345")]
    assert clone[0].inputs["pairs"] == [["r0", "r1"]]
    assert clone[0].inputs["max_kmh"] > 80
    near = list(detector.detect(_reads(("京A12345", "G1", 0), ("京A12345", "G3", 20))))  # 33 m: location error
    driven = list(detector.detect(_reads(("京A12345", "G1", 0), ("京A12345", "G2", 120))))  # 26 km/h
    assert near == [] and driven == []


def test_a_car_that_drove_in_and_stayed_is_a_zombie_but_one_that_left_is_not() -> None:
    detector = configure(only=["zombie_vehicle"])[0]
    found = list(detector.detect(_reads(("京A11111", "G1", 0), ("京B22222", "G1", 0))))
    assert {f.subject for f in found} == {uid.vehicle("京A11111"), uid.vehicle("京B22222")}
    assert all("no registered owner" in f.explanation for f in found)
    recent = list(detector.detect(_reads(("京A11111", "G1", 20 * 86400))))  # 10 days before the end
    assert recent == []


def test_a_window_without_passes_or_readings_finds_nothing_rather_than_failing() -> None:
    alarm = {"id": "a1", "kind": "smoke", "device": "G1", "ts": T0 + timedelta(hours=1), "status": "alarm"}
    for events in (frame.empty(), frame.from_rows([alarm])):
        for context in (_context(), Context()):
            assert run(configure(), Inputs(events, context, T0, T0 + timedelta(days=30))) == []
