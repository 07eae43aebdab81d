"""Vector tiles of real footprints (the 144 buildings of Bubeneč, Prague, from momepy) built in PostGIS.

Expected contents are computed independently: tiles are found with the slippy-map formula and
their Web Mercator boxes with the grid's own constants, and buildings are intersected with shapely
on the published EPSG:3857 geometries, not on what the database holds.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import httpx
import mapbox_vector_tile
import pytest
import shapely
import uvicorn
from fastapi import FastAPI
from shapely import LineString, Point, Polygon
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from api.app import create_app
from api.bootstrap import Services
from graph import GraphStore
from spatial import LAYERS, Feature, write_features
from spatial.features import layer_geometry_type
from spatial.tiles import TileCache, encode_overlay, layer_version, tile
from tests.conftest import SHARED_DATA

BUBENEC = SHARED_DATA / "gis" / "momepy_bubenec.gpkg"
SECRET = "13800138000"
HALF_WORLD = math.pi * 6378137.0  # Web Mercator metres from the origin to the edge of the grid
BEIJING = (116.39, 39.91)


def xyz(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Return the x, y of the tile at zoom `z` holding a WGS84 point (the slippy-map formula)."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def buffered_box(z: int, x: int, y: int, buffer: float = 64 / 4096) -> Polygon:
    """Return the EPSG:3857 box of tile `z/x/y` grown by `buffer` of its width on each side."""
    size = 2 * HALF_WORLD / 2**z
    west, north = -HALF_WORLD + x * size, HALF_WORLD - y * size
    margin = size * buffer
    box: Polygon = shapely.box(west - margin, north - size - margin, west + size + margin, north + margin)
    return box


def wgs84(geometry: BaseGeometry) -> BaseGeometry:
    """Return an EPSG:3857 geometry in WGS84."""
    reprojected: BaseGeometry = gpd.GeoSeries([geometry], crs=3857).to_crs(4326).iloc[0]
    return reprojected


def decode(data: bytes) -> list[dict[str, Any]]:
    """Return the features of the `buildings` layer of a tile (none for an empty tile)."""
    layers = mapbox_vector_tile.decode(data) if data else {}
    features: list[dict[str, Any]] = layers.get("buildings", {}).get("features", [])
    return features


def uid_of(building: int) -> str:
    return f"building:bubenec-{building}"


@pytest.fixture(scope="module")
def bubenec() -> gpd.GeoDataFrame:
    """The buildings as published, EPSG:3857."""
    frame = gpd.read_file(BUBENEC, layer="buildings")
    assert frame.crs.to_epsg() == 3857 and len(frame) == 144
    return frame


@pytest.fixture
def engine(spatial_engine: Engine, bubenec: gpd.GeoDataFrame) -> Engine:
    """The test's PostGIS database holding the Bubeneč buildings, each with a secret in `props`."""
    wgs84 = bubenec.to_crs(4326)
    features = [
        Feature(
            uid=uid_of(building),
            geometry=geometry,
            source="test",
            columns={"code": f"B{building}", "name": f"Bubeneč {building}"},
            props={"secret_owner_phone": SECRET},
        )
        for building, geometry in zip(wgs84["uID"], wgs84.geometry, strict=True)
    ]
    with spatial_engine.begin() as conn:
        write_features(conn, "buildings", features)
    return spatial_engine


@contextmanager
def serve(app: FastAPI) -> Iterator[httpx.Client]:
    """Run `app` under uvicorn on a free loopback port (lifespan included); yield a client for it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        host, port = sock.getsockname()
        with httpx.Client(base_url=f"http://{host}:{port}") as http:
            yield http
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def client(engine: Engine, store: GraphStore) -> Iterator[httpx.Client]:
    with serve(create_app(Services(engine, store))) as http:
        yield http


def tiles_over(frame: gpd.GeoDataFrame, zooms: range) -> list[tuple[int, int, int]]:
    west, south, east, north = frame.to_crs(4326).total_bounds
    found = []
    for z in zooms:
        (x0, y0), (x1, y1) = xyz(west, north, z), xyz(east, south, z)
        found += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return found


# --- tiles built in PostGIS --------------------------------------------------------------------------


def test_tiles_z14_to_z17_hold_exactly_the_buildings_reaching_into_them(
    engine: Engine, bubenec: gpd.GeoDataFrame
) -> None:
    tiles = tiles_over(bubenec, range(14, 18))
    assert len(tiles) >= 10
    seen = set()
    for z, x, y in tiles:
        box = buffered_box(z, x, y)
        expected = {uid_of(b) for b, g in zip(bubenec["uID"], bubenec.geometry, strict=True) if g.intersects(box)}
        features = decode(tile(engine, "buildings", z, x, y))
        assert len(features) == len(expected), f"tile {z}/{x}/{y}"
        assert {f["properties"]["uid"] for f in features} == expected, f"tile {z}/{x}/{y}"
        seen |= expected
    assert len(seen) == 144  # together the z17 tiles hold every building


def test_a_z14_tile_holds_all_of_bubenec_with_geometry_within_a_tile_unit(
    engine: Engine, bubenec: gpd.GeoDataFrame
) -> None:
    west, south, east, north = bubenec.to_crs(4326).total_bounds
    z, (x, y) = 14, xyz((west + east) / 2, (south + north) / 2, 14)
    features = {f["properties"]["uid"]: shape(f["geometry"]) for f in decode(tile(engine, "buildings", z, x, y))}
    assert len(features) == 144
    size = 2 * HALF_WORLD / 2**z
    left, bottom = -HALF_WORLD + x * size, HALF_WORLD - (y + 1) * size
    for building, geometry in zip(bubenec["uID"], bubenec.geometry, strict=True):
        # decoded tile coordinates have y up from the tile's bottom-left corner
        in_units = shapely.transform(geometry, lambda c: (c - (left, bottom)) * 4096 / size)
        assert features[uid_of(building)].hausdorff_distance(in_units) <= 1.0


def test_tiles_carry_only_the_whitelisted_attributes(engine: Engine, bubenec: gpd.GeoDataFrame) -> None:
    allowed = set(LAYERS["buildings"].tile_attributes)
    for z, x, y in tiles_over(bubenec, range(14, 18)):
        data = tile(engine, "buildings", z, x, y)
        assert SECRET.encode() not in data and b"secret_owner_phone" not in data
        for feature in decode(data):
            assert set(feature["properties"]) <= allowed
            assert set(feature["properties"]) == {"uid", "code", "name"}  # floors, height_m are NULL


def _filler(layer: str) -> dict[str, Any]:
    """Return a value for every attribute column of `layer`, so nothing is left out as NULL."""
    values: dict[str, Any] = {}
    for column in LAYERS[layer].table.columns:
        if column.name in ("uid", "source", "ingested_at", "props", "geom"):
            continue
        python_type = column.type.python_type
        values[column.name] = {
            str: f"{column.name} value",
            int: 3,
            float: 1.5,
            bool: True,
            datetime: datetime(2025, 1, 1, tzinfo=UTC),
            object: ["a JSON value"],  # JSONB
        }[python_type]
    return values


def test_every_layer_tiles_its_whitelist_and_nothing_else(spatial_engine: Engine) -> None:
    lon, lat = 14.4026, 50.1030
    shapes = {
        "POINT": Point(lon, lat),
        "LINESTRING": LineString([(lon, lat), (lon + 0.0005, lat + 0.0003)]),
        "MULTILINESTRING": LineString([(lon, lat), (lon + 0.0005, lat + 0.0003)]),
        "MULTIPOLYGON": shapely.box(lon, lat, lon + 0.0004, lat + 0.0003),
    }
    z, (x, y) = 17, xyz(lon + 0.0001, lat + 0.0001, 17)
    for name, layer in LAYERS.items():
        geometry_type = layer_geometry_type(name)
        with spatial_engine.begin() as conn:
            write_features(
                conn, name, [Feature(f"{name}:1", shapes[geometry_type], "test", _filler(name), {"secret": SECRET})]
            )
        decoded = mapbox_vector_tile.decode(tile(spatial_engine, name, z, x, y))
        assert list(decoded) == [name]
        (feature,) = decoded[name]["features"]
        assert set(feature["properties"]) == set(layer.tile_attributes), name


def test_a_tile_far_from_the_data_is_empty(engine: Engine) -> None:
    for z in (14, 17):
        assert tile(engine, "buildings", z, *xyz(*BEIJING, z)) == b""
    assert tile(engine, "roads", 14, *xyz(14.4026, 50.103, 14)) == b""  # an empty layer


def test_an_overlay_decodes_to_the_geometry_postgis_gives_the_same_feature(
    engine: Engine, bubenec: gpd.GeoDataFrame
) -> None:
    wgs84 = bubenec.to_crs(4326)
    for z in (15, 17, 18):
        for building, geometry in list(zip(wgs84["uID"], wgs84.geometry, strict=True))[::12]:
            point = geometry.representative_point()
            x, y = xyz(point.x, point.y, z)
            built = {f["properties"]["uid"]: f for f in decode(tile(engine, "buildings", z, x, y))}
            overlay = mapbox_vector_tile.decode(
                encode_overlay([(geometry, {"uid": uid_of(building)})], "alarms", z, x, y)
            )
            (feature,) = overlay["alarms"]["features"]
            assert feature["properties"] == {"uid": uid_of(building)}
            ours, theirs = shape(feature["geometry"]), shape(built[uid_of(building)]["geometry"])
            assert ours.geom_type == theirs.geom_type
            assert ours.hausdorff_distance(theirs) <= 1.0, f"building {building} in {z}/{x}/{y}"


# --- the cache and layer versions ----------------------------------------------------------------------


def test_layer_version_changes_on_insert_update_and_delete(engine: Engine) -> None:
    versions = [layer_version(engine, "buildings")]
    moved = shapely.box(14.40, 50.10, 14.401, 50.101)
    with engine.begin() as conn:
        write_features(conn, "buildings", [Feature(uid_of(1), moved, "test")])  # update keeps ingested_at
    versions.append(layer_version(engine, "buildings"))
    with engine.begin() as conn:
        write_features(conn, "buildings", [Feature("building:new", moved, "test")])
    versions.append(layer_version(engine, "buildings"))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM buildings WHERE uid = :uid"), {"uid": uid_of(2)})
    versions.append(layer_version(engine, "buildings"))
    assert len(set(versions)) == 4
    assert layer_version(engine, "buildings") == versions[-1]


def test_the_cache_serves_repeats_and_shows_writes_after_invalidate(engine: Engine, bubenec: gpd.GeoDataFrame) -> None:
    cache = TileCache(engine, version_ttl=3600)
    z, x, y = tiles_over(bubenec, range(16, 17))[0]
    first = cache.get("buildings", z, x, y)
    assert cache.get("buildings", z, x, y) == first
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)
    assert first.data == tile(engine, "buildings", z, x, y)

    with engine.begin() as conn:
        write_features(
            conn, "buildings", [Feature("building:new", wgs84(buffered_box(z, x, y).centroid.buffer(5)), "t")]
        )
    assert cache.get("buildings", z, x, y) == first  # within the version TTL
    cache.invalidate("buildings")
    fresh = cache.get("buildings", z, x, y)
    assert fresh.etag != first.etag
    assert "building:new" in {f["properties"]["uid"] for f in decode(fresh.data)}


def test_the_cache_rereads_the_layer_version_after_its_ttl(engine: Engine, bubenec: gpd.GeoDataFrame) -> None:
    cache = TileCache(engine, version_ttl=0)
    z, x, y = tiles_over(bubenec, range(17, 18))[5]
    before = cache.get("buildings", z, x, y)
    with engine.begin() as conn:
        write_features(conn, "buildings", [Feature(uid_of(1), wgs84(buffered_box(z, x, y).centroid.buffer(5)), "t")])
    after = cache.get("buildings", z, x, y)
    assert after.etag != before.etag and len(cache) == 1  # the stale tile was dropped


def test_the_cache_stays_within_its_bounds(engine: Engine, bubenec: gpd.GeoDataFrame) -> None:
    cache = TileCache(engine, maxsize=3)
    for z, x, y in tiles_over(bubenec, range(17, 18)):
        cache.get("buildings", z, x, y)
    assert len(cache) == 3


# --- over HTTP -----------------------------------------------------------------------------------------


def test_the_tile_route_answers_with_an_etag_then_304_for_it(client: httpx.Client, bubenec: gpd.GeoDataFrame) -> None:
    z, x, y = tiles_over(bubenec, range(15, 16))[0]
    first = client.get(f"/tiles/buildings/{z}/{x}/{y}.pbf")
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert first.headers["cache-control"] == "public, max-age=60"
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert len(decode(first.content)) > 0

    again = client.get(f"/tiles/buildings/{z}/{x}/{y}.pbf", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = client.get(f"/tiles/buildings/{z}/{x}/{y}.pbf", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content


def test_an_empty_tile_is_204_with_an_etag(client: httpx.Client) -> None:
    x, y = xyz(*BEIJING, 16)
    response = client.get(f"/tiles/buildings/16/{x}/{y}.pbf")
    assert response.status_code == 204 and response.content == b""
    assert response.headers["etag"]


def test_an_unknown_layer_is_404_naming_it_and_listing_the_layers(client: httpx.Client) -> None:
    for path in ("/tiles/people/16/1/1.pbf", "/tiles/people.json"):
        response = client.get(path)
        assert response.status_code == 404
        body = response.json()
        assert body["layer"] == "people" and "people" in body["detail"]
        assert body["layers"] == sorted(LAYERS)


@pytest.mark.parametrize(
    ("path", "named"),
    [("/tiles/buildings/25/0/0.pbf", "z must be"), ("/tiles/buildings/2/4/0.pbf", "x must be in 0..3")],
)
def test_a_tile_off_the_grid_is_422_saying_why(client: httpx.Client, path: str, named: str) -> None:
    response = client.get(path)
    assert response.status_code == 422
    assert named in response.json()["detail"]


def test_a_tile_path_that_is_not_numbers_is_422(client: httpx.Client) -> None:
    assert client.get("/tiles/buildings/a/0/0.pbf").status_code == 422


def test_tilejson_describes_the_layer_with_bounds_around_bubenec(client: httpx.Client) -> None:
    response = client.get("/tiles/buildings.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == [f"{str(client.base_url).rstrip('/')}/tiles/buildings/{{z}}/{{x}}/{{y}}.pbf"]
    west, south, east, north = doc["bounds"]
    assert 14.399 < west < east < 14.406 and 50.101 < south < north < 50.105
    (vector_layer,) = doc["vector_layers"]
    assert vector_layer["id"] == "buildings"
    assert list(vector_layer["fields"]) == list(LAYERS["buildings"].tile_attributes)
    tile_url = doc["tiles"][0].format(z=17, x=xyz(14.4026, 50.103, 17)[0], y=xyz(14.4026, 50.103, 17)[1])
    assert client.get(tile_url).status_code == 200


def test_healthz_reports_both_stores_up(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "stores": {"graph": {"state": "up"}, "postgis": {"state": "up"}}}


def test_healthz_is_503_naming_the_store_that_is_down(spatial_engine: Engine, store: GraphStore) -> None:
    missing = create_engine(make_url(spatial_engine.url).set(database="twinhood_no_such_database"))
    try:
        with serve(create_app(Services(missing, store))) as http:
            response = http.get("/healthz")
    finally:
        missing.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["stores"]["graph"] == {"state": "up"}
    assert (
        body["stores"]["postgis"]["state"] == "down"
        and "twinhood_no_such_database" in body["stores"]["postgis"]["error"]
    )


def test_the_app_builds_its_services_from_settings_and_closes_them(
    engine: Engine, graph_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWINHOOD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("TWINHOOD_NEO4J_DATABASE", graph_database)
    closed: list[Services] = []
    close = Services.close

    def recording_close(self: Services) -> None:
        closed.append(self)
        close(self)

    monkeypatch.setattr(Services, "close", recording_close)
    app = create_app()
    with serve(app) as http:
        assert http.get("/healthz").status_code == 200
        assert http.get("/tiles/buildings.json").json()["bounds"][0] == pytest.approx(14.3999, abs=1e-3)
        services: Services = app.state.services
        assert services.engine is not engine and not closed
    assert closed == [services]
