"""Spatial queries on a small map checked by hand (coordinates near Bubeneč, Prague):

grid:G1 covers building:B1 (a 100 m square) but not building:B2 (300 m east).
Cameras: device:CAM1 at B1's centre, device:CAM2 150 m east of it; a smoke detector at B1.
"""

from __future__ import annotations

import pytest
from shapely import Point, box
from sqlalchemy import Engine

from spatial import Feature, write_features
from spatial.queries import at_point, in_bbox, nearest_devices, within_polygon, within_radius

LON, LAT = 14.4000, 50.1000
DLON, DLAT = 1 / 71_500, 1 / 111_200  # one metre in degrees at this latitude (approximately)


def square(x_m: float, y_m: float, size_m: float) -> object:
    return box(LON + x_m * DLON, LAT + y_m * DLAT, LON + (x_m + size_m) * DLON, LAT + (y_m + size_m) * DLAT)


@pytest.fixture
def engine(spatial_engine: Engine) -> Engine:
    with spatial_engine.begin() as conn:
        write_features(
            conn,
            "buildings",
            [
                Feature("building:B1", square(0, 0, 100), "test", {"code": "B1", "name": "一号楼"}),
                Feature("building:B2", square(300, 0, 100), "test", {"code": "B2", "name": "二号楼"}),
            ],
        )
        write_features(conn, "grids", [Feature("grid:G1", square(-10, -10, 150), "test", {"code": "G1"})])
        write_features(
            conn,
            "devices",
            [
                Feature("device:CAM1", Point(LON + 50 * DLON, LAT + 50 * DLAT), "test", {"category": "camera"}),
                Feature("device:CAM2", Point(LON + 200 * DLON, LAT + 50 * DLAT), "test", {"category": "camera"}),
                Feature(
                    "device:SMOKE1", Point(LON + 60 * DLON, LAT + 50 * DLAT), "test", {"category": "smoke_detector"}
                ),
            ],
        )
    return spatial_engine


def test_a_point_inside_a_building_returns_the_building_and_its_grid(engine: Engine) -> None:
    hits = at_point(engine, LON + 20 * DLON, LAT + 20 * DLAT)
    assert [(h.layer, h.uid, h.name) for h in hits] == [
        ("buildings", "building:B1", "一号楼"),
        ("grids", "grid:G1", None),
    ]
    assert at_point(engine, LON + 200 * DLON, LAT + 50 * DLAT) == []


def test_radius_search_returns_the_nearest_first_with_distances(engine: Engine) -> None:
    hits = within_radius(engine, LON + 50 * DLON, LAT + 50 * DLAT, 160, layers=["devices"])
    assert [h.uid for h in hits] == ["device:CAM1", "device:SMOKE1", "device:CAM2"]
    assert hits[0].distance_m == pytest.approx(0, abs=0.01)
    assert hits[2].distance_m == pytest.approx(150, rel=0.02)
    assert [h.uid for h in within_radius(engine, LON + 50 * DLON, LAT + 50 * DLAT, 100, layers=["devices"])] == [
        "device:CAM1",
        "device:SMOKE1",
    ]


def test_the_nearest_camera_to_an_alarm_skips_other_kinds(engine: Engine) -> None:
    alarm = (LON + 61 * DLON, LAT + 50 * DLAT)
    assert [h.uid for h in nearest_devices(engine, *alarm, k=1)] == ["device:SMOKE1"]
    cameras = nearest_devices(engine, *alarm, category="camera", k=2)
    assert [h.uid for h in cameras] == ["device:CAM1", "device:CAM2"]
    assert nearest_devices(engine, *alarm, category="camera", max_metres=50) == cameras[:1]


def test_polygon_query_finds_what_it_covers(engine: Engine) -> None:
    area = square(250, -20, 200)
    assert [h.uid for h in within_polygon(engine, area, layers=["buildings", "devices"])] == ["building:B2"]


def test_bbox_listing_pages_through_in_uid_order(engine: Engine) -> None:
    bbox = (LON - 0.01, LAT - 0.01, LON + 0.01, LAT + 0.01)
    first = in_bbox(engine, "devices", bbox, limit=2)
    assert [h.uid for h in first.items] == ["device:CAM1", "device:CAM2"]
    second = in_bbox(engine, "devices", bbox, after=first.next_after, limit=2)
    assert [h.uid for h in second.items] == ["device:SMOKE1"] and second.next_after is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e: at_point(e, 200, 50), "not a WGS84"),
        (lambda e: at_point(e, LON, LAT, layers=["people"]), "unknown layer"),
        (lambda e: within_radius(e, LON, LAT, 0), "radius must be positive"),
        (lambda e: in_bbox(e, "devices", (1, 1, 0, 0)), "west < east"),
    ],
)
def test_bad_arguments_say_what_is_wrong(engine: Engine, call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(engine)  # type: ignore[operator]
