"""Tile math, validation, TileJSON and overlay encoding, without a database."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime
from typing import Any

import mapbox_vector_tile
import pytest
import shapely
from shapely import LineString, Point
from shapely.geometry import shape
from sqlalchemy import create_engine

from spatial import LAYERS, SpatialError, UnknownLayer
from spatial.tiles import (
    BUFFER,
    EXTENT,
    MAX_ZOOM,
    WORLD_BOUNDS,
    TileOutOfRange,
    UnknownTileLayer,
    check_tile,
    encode_overlay,
    etag_of,
    tile,
    tile_bounds,
    tilejson,
)

HALF_WORLD = 20037508.342789244  # Web Mercator metres from the origin to the grid's edge


def lonlat_of(z: int, x: float, y: float) -> tuple[float, float]:
    """Return the WGS84 point at tile coordinates (x, y) of zoom `z` (the slippy-map formula inverted)."""
    n = 2**z
    return x / n * 360 - 180, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))


def decoded(data: bytes, layer: str) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = mapbox_vector_tile.decode(data)[layer]["features"]
    return features


# --- the grid ------------------------------------------------------------------------------------


def test_zoom_zero_is_the_whole_web_mercator_square() -> None:
    assert tile_bounds(0, 0, 0) == pytest.approx((-HALF_WORLD, -HALF_WORLD, HALF_WORLD, HALF_WORLD))


def test_tiles_count_y_from_the_north_and_share_their_edges() -> None:
    north_west, south_east = tile_bounds(1, 0, 0), tile_bounds(1, 1, 1)
    assert north_west == pytest.approx((-HALF_WORLD, 0, 0, HALF_WORLD), abs=1e-6)
    assert south_east == pytest.approx((0, -HALF_WORLD, HALF_WORLD, 0), abs=1e-6)
    assert tile_bounds(16, 35389, 22196)[2] == tile_bounds(16, 35390, 22196)[0]
    assert tile_bounds(16, 35389, 22196)[1] == tile_bounds(16, 35389, 22197)[3]


@pytest.mark.parametrize(
    ("z", "x", "y", "reason"),
    [
        (-1, 0, 0, f"z must be in 0..{MAX_ZOOM}"),
        (MAX_ZOOM + 1, 0, 0, f"z must be in 0..{MAX_ZOOM}"),
        (2, 4, 0, "x must be in 0..3 at zoom 2"),
        (2, -1, 0, "x must be in 0..3 at zoom 2"),
        (3, 0, 8, "y must be in 0..7 at zoom 3"),
    ],
)
def test_a_tile_off_the_grid_is_refused_naming_the_coordinate(z: int, x: int, y: int, reason: str) -> None:
    with pytest.raises(TileOutOfRange, match=reason) as raised:
        check_tile(z, x, y)
    assert isinstance(raised.value, SpatialError) and isinstance(raised.value, ValueError)
    assert (raised.value.z, raised.value.x, raised.value.y) == (z, x, y)
    assert str(raised.value).startswith(f"tile {z}/{x}/{y} is outside the grid")


def test_the_corners_of_the_grid_are_tiles() -> None:
    for z in (0, 1, 17, MAX_ZOOM):
        check_tile(z, 0, 0)
        check_tile(z, 2**z - 1, 2**z - 1)


def test_an_unknown_layer_is_refused_before_any_connection() -> None:
    nowhere = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    with pytest.raises(UnknownTileLayer) as raised:
        tile(nowhere, "people", 14, 0, 0)
    assert isinstance(raised.value, UnknownLayer) and isinstance(raised.value, LookupError)
    assert raised.value.layer == "people" and raised.value.available == sorted(LAYERS)
    assert "people" in str(raised.value) and "buildings" in str(raised.value)
    with pytest.raises(TileOutOfRange):
        tile(nowhere, "buildings", 2, 9, 0)


def test_an_etag_is_a_quoted_strong_hash_of_the_bytes() -> None:
    assert etag_of(b"abc") == etag_of(b"abc") != etag_of(b"abd")
    assert etag_of(b"").startswith('"') and etag_of(b"").endswith('"') and not etag_of(b"").startswith("W/")


# --- TileJSON ------------------------------------------------------------------------------------


def test_tilejson_names_the_layer_its_fields_and_where_its_tiles_are() -> None:
    doc = tilejson("buildings", "https://twin.example/tiles/", (14.39, 50.10, 14.41, 50.11))
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["https://twin.example/tiles/buildings/{z}/{x}/{y}.pbf"]
    assert (doc["minzoom"], doc["maxzoom"]) == (12, 20)
    assert doc["bounds"] == [14.39, 50.10, 14.41, 50.11]
    assert doc["center"] == pytest.approx([14.40, 50.105, 12])
    assert doc["vector_layers"] == [
        {
            "id": "buildings",
            "fields": {"uid": "String", "code": "String", "name": "String", "floors": "Number", "height_m": "Number"},
            "minzoom": 12,
            "maxzoom": 20,
        }
    ]


def test_tilejson_fields_are_the_whitelist_of_every_layer() -> None:
    for name, layer in LAYERS.items():
        (vector_layer,) = tilejson(name, "/tiles", None)["vector_layers"]
        assert list(vector_layer["fields"]) == list(layer.tile_attributes)
        assert "props" not in vector_layer["fields"]
    assert tilejson("devices", "/tiles", None)["vector_layers"][0]["fields"]["online"] == "Boolean"


def test_tilejson_of_an_empty_layer_spans_the_world() -> None:
    assert tilejson("roads", "/tiles", None)["bounds"] == list(WORLD_BOUNDS)


@pytest.mark.parametrize(
    ("bounds", "minzoom", "maxzoom"),
    [(None, 15, 14), (None, -1, 14), (None, 0, MAX_ZOOM + 1), ((14.41, 50.1, 14.39, 50.11), 12, 20)],
)
def test_tilejson_refuses_bad_zooms_and_bounds(
    bounds: tuple[float, float, float, float] | None, minzoom: int, maxzoom: int
) -> None:
    with pytest.raises(ValueError):
        tilejson("buildings", "/tiles", bounds, minzoom, maxzoom)


def test_tilejson_of_an_unknown_layer_is_refused() -> None:
    with pytest.raises(UnknownTileLayer):
        tilejson("people", "/tiles", None)


# --- overlays -------------------------------------------------------------------------------------


def test_an_overlay_point_lands_on_its_tile_coordinates() -> None:
    z, x, y = 17, 70779, 44393
    point = Point(lonlat_of(z, x + 0.25, y + 0.75))  # a quarter in from the west, a quarter up from the south
    (feature,) = decoded(encode_overlay([(point, {"uid": "alarm:1", "level": 2})], "alarms", z, x, y), "alarms")
    # decoded without options, y counts up from the bottom of the tile, as for PostGIS-built tiles
    assert feature["geometry"] == {"type": "Point", "coordinates": [EXTENT // 4, EXTENT // 4]}
    assert feature["properties"] == {"uid": "alarm:1", "level": 2}


def test_an_overlay_polygon_keeps_its_shape_and_an_outer_ring_clockwise_on_screen() -> None:
    z, x, y = 16, 35389, 22196
    corners = [lonlat_of(z, x + fx, y + fy) for fx, fy in ((0.25, 0.25), (0.75, 0.25), (0.75, 0.5), (0.25, 0.5))]
    raw = encode_overlay([(shapely.Polygon(corners), {})], "analysis", z, x, y)
    (feature,) = decoded(raw, "analysis")
    decoded_shape = shape(feature["geometry"])
    assert decoded_shape.bounds == (1024, 2048, 3072, 3072)
    assert decoded_shape.area == 2048 * 1024
    y_down = mapbox_vector_tile.decode(raw, default_options={"y_coord_down": True})["analysis"]["features"][0]
    ring = y_down["geometry"]["coordinates"][0]
    signed_area = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))
    assert signed_area > 0  # MVT spec: outer rings positive in screen (y-down) coordinates


def test_an_overlay_line_is_clipped_to_the_tile_and_its_buffer() -> None:
    z, x, y = 15, 17694, 11098
    line = LineString([lonlat_of(z, x - 1, y + 0.5), lonlat_of(z, x + 2, y + 0.5)])
    (feature,) = decoded(encode_overlay([(line, {"kind": "trajectory"})], "tracks", z, x, y), "tracks")
    xs = [c[0] for c in feature["geometry"]["coordinates"]]
    assert (min(xs), max(xs)) == (-BUFFER, EXTENT + BUFFER)


def test_overlay_features_beyond_the_buffer_are_left_out() -> None:
    z, x, y = 15, 17694, 11098
    inside, beyond = Point(lonlat_of(z, x + 0.5, y + 0.5)), Point(lonlat_of(z, x + 1.1, y + 0.5))
    in_buffer = Point(lonlat_of(z, x + 1.01, y + 0.5))
    features = decoded(
        encode_overlay([(inside, {"n": 1}), (beyond, {"n": 2}), (in_buffer, {"n": 3})], "a", z, x, y), "a"
    )
    assert [f["properties"] for f in features] == [{"n": 1}, {"n": 3}]
    assert encode_overlay([(beyond, {})], "a", z, x, y) == b""
    assert encode_overlay([], "a", z, x, y) == b""


def test_overlay_attributes_drop_none_and_refuse_what_a_tile_cannot_carry() -> None:
    z, x, y = 15, 17694, 11098
    point = Point(lonlat_of(z, x + 0.5, y + 0.5))
    props = {"name": "smoke", "count": 3, "ratio": 0.5, "open": True, "cleared": None}
    (feature,) = decoded(encode_overlay([(point, props)], "alarms", z, x, y), "alarms")
    assert feature["properties"] == {"name": "smoke", "count": 3, "ratio": 0.5, "open": True}
    with pytest.raises(ValueError, match="overlay feature 0: attribute 'at' is a datetime"):
        encode_overlay([(point, {"at": datetime(2025, 1, 1, tzinfo=UTC)})], "alarms", z, x, y)


def test_an_overlay_refuses_a_tile_off_the_grid_and_an_empty_layer_name() -> None:
    with pytest.raises(TileOutOfRange):
        encode_overlay([], "alarms", 3, 8, 0)
    with pytest.raises(ValueError, match="layer name"):
        encode_overlay([], "", 3, 0, 0)


def test_a_polygon_smaller_than_a_tile_unit_is_left_out() -> None:
    z, x, y = 12, 2211, 1387
    lon, lat = lonlat_of(z, x + 0.5, y + 0.5)
    speck = shapely.box(lon, lat, lon + 1e-7, lat + 1e-7)
    assert encode_overlay([(speck, {})], "a", z, x, y) == b""
