"""The database-free parts of the GIS import: layer mapping, keys and uids, geometry checks, values."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from shapely import GeometryCollection, LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from spatial.importers import IMPORTERS, default_uid, importer_for
from spatial.importers.keys import feature_keys, id_text, key_column, key_prefix, slug
from spatial.importers.load import coerce_column, fit_columns
from spatial.importers.ogr import column_sources
from spatial.importers.osm import address
from spatial.importers.repair import check_geometry
from spatial.importers.source import json_value
from spatial.importers.targets import LAYER_WORDS, match_layer, words
from spatial.schema import LAYERS

# --- which of our layers a file layer goes to


@pytest.mark.parametrize(
    ("name", "geometry_type", "target"),
    [
        ("buildings", "Polygon", "buildings"),
        ("bubenec_buildings", "MultiPolygon", "buildings"),
        ("BuildingFootprints", "Polygon Z", "buildings"),
        ("streets", "LineString", "roads"),
        ("osm-highways", "MultiLineString", "roads"),
        ("roads", "Unknown", "roads"),
        ("plots", "Polygon", "parcels"),
        ("cadastral_parcels_2024", "Polygon", "parcels"),
        ("addresses", "Point", "entrances"),
        ("tessellation", "Polygon", None),
        ("buildings_on_plots", "Polygon", None),
        ("streets", "Polygon", None),
        ("buildings", "Point", None),
        ("buildings", None, None),
    ],
)
def test_file_layers_map_to_ours_by_name_if_their_geometry_fits(
    name: str, geometry_type: str | None, target: str | None
) -> None:
    match = match_layer(name, geometry_type)
    assert match.target == target
    assert bool(match.reason) == (target is None)


word_of_layer = st.sampled_from([(layer, w) for layer, ws in LAYER_WORDS.items() for w in ws])
neutral_words = st.lists(st.sampled_from(["bubenec", "prague", "2024", "osm", "export", "v2", "layer"]), max_size=3)
separators = st.sampled_from(["_", "-", " ", "."])


@given(word=word_of_layer, before=neutral_words, after=neutral_words, sep=separators, upper=st.booleans())
def test_a_layer_word_among_neutral_words_picks_that_layer(
    word: tuple[str, str], before: list[str], after: list[str], sep: str, upper: bool
) -> None:
    layer, w = word
    name = sep.join([*before, w.upper() if upper else w, *after])
    assert match_layer(name, "Unknown").target == layer


@given(st.lists(st.sampled_from(["building", "road", "footprints", "plot", "data"]), min_size=1, max_size=4))
def test_camel_case_names_split_into_their_words(parts: list[str]) -> None:
    assert words("".join(p.capitalize() for p in parts)) == parts


@given(name=st.text(max_size=30))
def test_every_name_either_maps_or_says_why_not(name: str) -> None:
    match = match_layer(name, "Polygon")
    assert (match.target in LAYERS) != bool(match.reason)


# --- keys and uids


def test_default_uids_name_the_kind_of_our_layer() -> None:
    assert default_uid("buildings", "bubenec-12") == "building:bubenec-12"
    assert default_uid("roads", "osm-w1") == "road:osm-w1"
    assert default_uid("parcels", "k") == "parcel:k"
    assert default_uid("entrances", "osm-n5") == "entrance:osm-n5"
    assert all(":" in default_uid(layer, "k") for layer in LAYERS)


@pytest.mark.parametrize(
    ("path", "layer", "prefix"),
    [
        ("data/momepy_bubenec.gpkg", "buildings", "momepy-bubenec-buildings"),
        ("bubenec_plots.geojson", "bubenec_plots", "bubenec-plots"),
        ("Footprints 2024.shp", "Footprints 2024", "footprints-2024"),
        ("extract.osm.bz2", "roads", "extract-roads"),
        ("小区.geojson", "小区", "小区"),
    ],
)
def test_key_prefix_is_the_file_stem_and_the_layer_when_it_differs(path: str, layer: str, prefix: str) -> None:
    assert key_prefix(Path(path), layer) == prefix


@pytest.mark.parametrize(
    ("value", "text"),
    [(12, "12"), (12.0, "12"), (np.int64(7), "7"), (np.float64(3.0), "3"), (2.5, "2.5"), (" B 03 ", "B-03"),
     (None, None), (math.nan, None), ("  ", None), (True, "true")],
)  # fmt: skip
def test_id_text_renders_source_ids_without_whitespace(value: Any, text: str | None) -> None:
    assert id_text(value) == text


def test_the_first_code_column_with_distinct_values_keys_the_features() -> None:
    columns: dict[str, list[Any]] = {"name": ["a", "b"], "ID": [1, 1], "uID": [5, 6], "code": ["x", None]}
    assert key_column(columns) == "uID"
    assert feature_keys("f", columns, [0, 1]) == ["f-5", "f-6"]
    assert key_column({"osm id": [10, 11]}) == "osm id"
    assert key_column({"name": ["a", "b"]}) is None
    assert feature_keys("f", {"name": ["a", "b"]}, [1, 2]) == ["f-1", "f-2"]


column_values = st.one_of(
    st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=False), st.text(max_size=4), st.none()
)


@given(
    columns=st.dictionaries(
        st.sampled_from(["code", "ID", "uid", "osm_id", "name", "height"]),
        st.lists(column_values, min_size=6, max_size=6),
        max_size=4,
    )
)
def test_keys_are_unique_and_free_of_whitespace_whatever_the_columns_hold(columns: dict[str, list[Any]]) -> None:
    keys = feature_keys("file", columns, range(6))
    assert len(set(keys)) == 6
    assert all(k.startswith("file-") and not re.search(r"\s", k) for k in keys)
    chosen = key_column(columns)
    if chosen is None:
        assert keys == [f"file-{i}" for i in range(6)]


@given(st.text())
def test_slugs_are_stable_and_have_no_whitespace(text: str) -> None:
    once = slug(text)
    assert slug(once) == once
    assert not re.search(r"\s", once) and not once.startswith("-") and not once.endswith("-")


# --- geometry checks


BOWTIE = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
SQUARE = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])


def test_a_self_intersecting_polygon_is_repaired_into_a_multipolygon() -> None:
    checked = check_geometry(BOWTIE, "MULTIPOLYGON")
    assert checked.repaired and isinstance(checked.geometry, MultiPolygon)
    assert len(checked.geometry.geoms) == 2 and checked.geometry.is_valid
    assert checked.reason == "repaired self-intersection at (0.5, 0.5)"


@pytest.mark.parametrize(
    ("geometry", "geometry_type", "reason"),
    [
        (None, "MULTIPOLYGON", "null geometry"),
        (Polygon(), "MULTIPOLYGON", "empty geometry"),
        (Point(1, 2), "MULTIPOLYGON", "Point geometry in polygon layer"),
        (SQUARE, "MULTILINESTRING", "Polygon geometry in line layer"),
        (LineString([(0, 0), (1, 1)]), "POINT", "LineString geometry in point layer"),
        (Point(math.nan, 1), "POINT", "non-finite coordinates"),
        (
            Polygon([(0, 0), (1, 1), (2, 2), (0, 0)]),
            "MULTIPOLYGON",
            "self-intersection at (1, 1) could not be repaired into a polygon",
        ),
        (
            LineString([(0, 0), (0, 0)]),
            "MULTILINESTRING",
            "too few points in geometry component at (0, 0) could not be repaired into a line",
        ),
        (shapely.MultiPoint([(0, 0), (1, 1)]), "POINT", "2 points where the point layer holds one"),
    ],
)
def test_unusable_geometries_are_rejected_with_the_reason(
    geometry: BaseGeometry | None, geometry_type: str, reason: str
) -> None:
    checked = check_geometry(geometry, geometry_type)
    assert checked.geometry is None and checked.reason == reason


def test_the_polygons_of_a_collection_are_kept_for_a_polygon_layer() -> None:
    checked = check_geometry(GeometryCollection([SQUARE, LineString([(0, 0), (5, 5)])]), "MULTIPOLYGON")
    assert checked.repaired and checked.geometry is not None and checked.geometry.equals(SQUARE)


def test_valid_geometries_pass_unchanged_in_two_dimensions() -> None:
    square_z = Polygon([(0, 0, 5), (1, 0, 5), (1, 1, 5), (0, 1, 5)])
    checked = check_geometry(square_z, "MULTIPOLYGON")
    assert not checked.repaired and checked.geometry is not None
    assert not checked.geometry.has_z and checked.geometry.equals(SQUARE)


coordinates = st.tuples(st.integers(-4, 4), st.integers(-4, 4))


@given(st.lists(coordinates, min_size=3, max_size=8))
def test_any_ring_becomes_a_valid_polygonal_geometry_or_a_reasoned_rejection(points: list[tuple[int, int]]) -> None:
    polygon = Polygon(points)
    checked = check_geometry(polygon, "MULTIPOLYGON")
    if checked.geometry is None:
        assert checked.reason
        assert polygon.is_empty or not polygon.is_valid
        assert shapely.make_valid(polygon).area == 0
    else:
        assert checked.geometry.is_valid and checked.geometry.geom_type in ("Polygon", "MultiPolygon")
        assert checked.repaired == (not polygon.is_valid)
        assert math.isclose(checked.geometry.area, shapely.make_valid(polygon).area)


@given(st.lists(coordinates, min_size=2, max_size=6))
def test_any_line_becomes_a_valid_line_or_a_reasoned_rejection(points: list[tuple[int, int]]) -> None:
    checked = check_geometry(LineString(points), "MULTILINESTRING")
    if checked.geometry is None:
        assert len(set(points)) == 1 and "could not be repaired into a line" in checked.reason
    else:
        assert checked.geometry.is_valid and checked.geometry.geom_type in ("LineString", "MultiLineString")


# --- attribute values


@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text()),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
        max_leaves=10,
    )
)
def test_any_attribute_value_becomes_strict_json(value: Any) -> None:
    json.dumps(json_value(value), allow_nan=False)


def test_numpy_and_pandas_values_become_plain_json() -> None:
    values = [np.int32(3), np.float64(math.nan), np.bool_(True), pd.NA, pd.NaT, pd.Timestamp("2024-05-01T10:00")]
    assert json_value(values) == [3, None, True, None, None, "2024-05-01T10:00:00"]
    assert json_value({"a": np.array([1, 2])}) == {"a": [1, 2]}


def test_column_values_take_the_columns_type_and_what_does_not_fit_stays_in_props() -> None:
    buildings = LAYERS["buildings"].table
    assert coerce_column(buildings, "floors", "4") == 4
    assert coerce_column(buildings, "height_m", "12.5 m") == 12.5
    assert coerce_column(buildings, "height_m", "12,5") == 12.5
    assert coerce_column(buildings, "floors", "2.5") is None
    assert coerce_column(buildings, "name", 7) == "7"
    props: dict[str, Any] = {}
    fitted = fit_columns(buildings, {"floors": "many", "height_m": 9, "kind": "house", "name": None}, props)
    assert fitted == {"height_m": 9.0}
    assert props == {"floors": "many", "kind": "house"}


def test_attributes_named_like_our_columns_fill_them() -> None:
    columns = [c.name for c in LAYERS["buildings"].table.columns]
    sources = column_sources(["Name", "building:levels", "HEIGHT", "highway", "uID"], columns)
    assert sources == {"name": "Name", "floors": "building:levels", "height_m": "HEIGHT"}


def test_osm_addresses_read_as_one_line() -> None:
    tags = {"addr:street": "Mauerstraße", "addr:housenumber": "75", "addr:postcode": "10117", "addr:city": "Berlin"}
    assert address(tags) == "Mauerstraße 75, 10117 Berlin"
    assert address({"addr:housenumber": "20"}) == "20"
    assert address({"addr:full": "1 Main St"}) == "1 Main St"
    assert address({}) is None


# --- the registry


@pytest.mark.parametrize(
    ("name", "importer"),
    [("a.osm", "osm"), ("a.osm.bz2", "osm"), ("A.OSM.PBF", "osm"), ("a.pbf", "osm"), ("a.gpkg", "ogr"),
     ("a.geojson", "ogr"), ("a.shp", "ogr"), ("osm.geojson", "ogr")],
)  # fmt: skip
def test_each_file_goes_to_the_importer_of_its_format(name: str, importer: str) -> None:
    assert importer_for(Path(name)) is IMPORTERS[importer]
