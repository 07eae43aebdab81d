"""`import_gis` on real GIS files (Bubeneč, Prague; two OSM extracts) and on broken ones."""

from __future__ import annotations

import bz2
import json
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import geopandas as gpd
import osmium
import pytest
from shapely import Polygon
from sqlalchemy import Engine, text

from spatial.errors import AmbiguousLayer, EmptySource, UnknownCRS, UnknownLayer, UnreadableSource
from spatial.importers import ImportSummary, default_uid, import_gis
from spatial.schema import LAYERS
from tests.conftest import SHARED_DATA

GIS = SHARED_DATA / "gis"
BUBENEC = GIS / "momepy_bubenec.gpkg"
OAKLAND = GIS / "osmnx_West-Oakland.osm.bz2"
PLANET = GIS / "osmnx_planet_10.068_48.135_10.071_48.137.osm"
BUBENEC_BBOX = (14.38, 50.09, 14.41, 50.11)
SQUARE = Polygon([(14.40, 50.10), (14.401, 50.10), (14.401, 50.101), (14.40, 50.101)])


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
            for name in [*LAYERS, "rejected_features"]
        }


def layer_counts(summary: ImportSummary) -> dict[str, tuple[int, int, int]]:
    return {name: (c.imported, c.repaired, c.rejected) for name, c in summary.layers.items()}


def write_geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def feature(fid: str, geometry: dict[str, Any] | None, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": fid, **properties}, "geometry": geometry}


def polygon(*coords: tuple[float, float]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[*coords, coords[0]]]}


def write_without_crs(frame: gpd.GeoDataFrame, path: Path, **kwargs: Any) -> Path:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'crs' was not provided", UserWarning)
        frame.to_file(path, **kwargs)
    return path


def osm_truth(path: Path) -> dict[str, int]:
    """Count what an OSM file holds by reading its XML, independently of pyosmium."""
    data = bz2.decompress(path.read_bytes()) if path.suffix == ".bz2" else path.read_bytes()
    root = ET.fromstring(data)
    nodes = {n.get("id") for n in root.iter("node")}
    ways = {w.get("id") for w in root.iter("way")}

    def tags(element: ET.Element) -> dict[str, str]:
        return {t.get("k", ""): t.get("v", "") for t in element.iter("tag")}

    counts = dict.fromkeys(("buildings", "complete_buildings", "roads", "complete_roads", "entrances"), 0)
    for way in root.iter("way"):
        refs = [nd.get("ref") for nd in way.iter("nd")]
        complete = all(r in nodes for r in refs)
        if tags(way).get("building", "no") != "no":
            counts["buildings"] += 1
            counts["complete_buildings"] += complete and len(refs) >= 4 and refs[0] == refs[-1]
        elif "highway" in tags(way):
            counts["roads"] += 1
            counts["complete_roads"] += complete and len(refs) >= 2
    for relation in root.iter("relation"):
        t = tags(relation)
        if t.get("type") == "multipolygon" and t.get("building", "no") != "no":
            counts["buildings"] += 1
            members = [m.get("ref") for m in relation.iter("member") if m.get("type") == "way"]
            counts["complete_buildings"] += all(m in ways for m in members)
    for node in root.iter("node"):
        t = tags(node)
        is_building = t.get("building", "no") != "no" or t.get("building:part", "no") != "no"
        counts["entrances"] += t.get("entrance", "no") != "no" or ("addr:housenumber" in t and not is_building)
    return counts


def test_bubenec_geopackage_fills_buildings_roads_and_parcels_in_wgs84(spatial_engine: Engine) -> None:
    summary = import_gis(spatial_engine, BUBENEC)

    assert layer_counts(summary) == {"buildings": (144, 0, 0), "roads": (35, 0, 0), "parcels": (407, 0, 0)}
    assert summary.rejections == []
    assert set(summary.skipped) == {"tessellation"} and "maps to none of ours" in summary.skipped["tessellation"]
    assert {k: len(v) for k, v in summary.uids.items()} == {"buildings": 144, "roads": 35, "parcels": 407}
    assert table_counts(spatial_engine) == {
        **dict.fromkeys(LAYERS, 0),
        "buildings": 144,
        "roads": 35,
        "parcels": 407,
        "rejected_features": 0,
    }
    with spatial_engine.connect() as conn:
        for table in ("buildings", "roads", "parcels"):
            srid, xmin, ymin, xmax, ymax, source = conn.execute(
                text(
                    f"SELECT DISTINCT ST_SRID(geom), min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)),"
                    f" max(ST_YMax(geom)), min(source) FROM {table} GROUP BY 1"
                )
            ).one()
            assert srid == 4326 and source == "gis:momepy_bubenec.gpkg"
            assert BUBENEC_BBOX[0] < xmin < xmax < BUBENEC_BBOX[2] and BUBENEC_BBOX[1] < ymin < ymax < BUBENEC_BBOX[3]
        codes = conn.execute(text("SELECT code FROM buildings WHERE uid = 'building:momepy-bubenec-buildings-7'"))
        assert codes.scalar_one() == "momepy-bubenec-buildings-7"


def test_one_layer_of_a_file_can_be_imported_alone(spatial_engine: Engine) -> None:
    summary = import_gis(spatial_engine, BUBENEC, layer="plots")
    assert layer_counts(summary) == {"parcels": (407, 0, 0)}
    assert table_counts(spatial_engine)["buildings"] == 0


def test_a_point_inside_a_source_building_lies_in_exactly_that_stored_footprint(spatial_engine: Engine) -> None:
    import_gis(spatial_engine, BUBENEC, layer="buildings")
    source = gpd.read_file(BUBENEC, layer="buildings")
    inside = source.representative_point().to_crs(4326)

    with spatial_engine.connect() as conn:
        for building_id, point in zip(source["uID"], inside, strict=True):
            hits = conn.execute(
                text("SELECT uid FROM buildings WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                {"x": point.x, "y": point.y},
            ).scalars()
            assert list(hits) == [default_uid("buildings", f"momepy-bubenec-buildings-{building_id}")]


@pytest.mark.parametrize(
    ("name", "layer", "count"),
    [("bubenec_buildings.geojson", "buildings", 144), ("bubenec_streets.geojson", "roads", 35),
     ("bubenec_plots.geojson", "parcels", 407)],
)  # fmt: skip
def test_the_geojson_copies_give_the_same_counts(spatial_engine: Engine, name: str, layer: str, count: int) -> None:
    summary = import_gis(spatial_engine, GIS / name)

    assert layer_counts(summary) == {layer: (count, 0, 0)}
    assert table_counts(spatial_engine)[layer] == count


def test_geopackage_and_geojson_store_the_same_footprints(spatial_engine: Engine) -> None:
    import_gis(spatial_engine, BUBENEC, layer="buildings")
    import_gis(spatial_engine, GIS / "bubenec_buildings.geojson")

    with spatial_engine.connect() as conn:
        distance = conn.execute(
            text(
                "SELECT max(ST_HausdorffDistance(a.geom, b.geom)) FROM buildings a JOIN buildings b"
                " ON a.uid = 'building:momepy-bubenec-buildings-' || (b.props->>'uID')"
                " AND b.uid LIKE 'building:bubenec-buildings-%'"
            )
        ).scalar_one()
    assert distance is not None and distance < 1e-6


@pytest.mark.parametrize("path", [OAKLAND, PLANET], ids=["west-oakland", "planet-kirchberg"])
def test_osm_extract_gives_the_buildings_roads_and_addresses_it_holds(spatial_engine: Engine, path: Path) -> None:
    truth = osm_truth(path)
    summary = import_gis(spatial_engine, path)

    buildings, roads = summary.layers["buildings"], summary.layers["roads"]
    assert buildings.imported == truth["complete_buildings"]
    assert buildings.imported + buildings.rejected == truth["buildings"]
    assert roads.imported == truth["complete_roads"] > 0
    assert roads.imported + roads.rejected == truth["roads"]
    assert summary.layers["entrances"].imported == truth["entrances"]
    counts = table_counts(spatial_engine)
    assert (counts["buildings"], counts["roads"], counts["entrances"]) == (
        truth["complete_buildings"],
        truth["complete_roads"],
        truth["entrances"],
    )
    assert counts["rejected_features"] == len(summary.rejections) == buildings.rejected + roads.rejected
    assert all(uid.startswith("building:osm-") for uid in summary.uids["buildings"])


def test_west_oakland_has_its_23_buildings_with_names_and_levels(spatial_engine: Engine) -> None:
    summary = import_gis(spatial_engine, OAKLAND)

    assert layer_counts(summary)["buildings"] == (23, 0, 0)
    with spatial_engine.connect() as conn:
        post_office = conn.execute(
            text("SELECT name, floors, source FROM buildings WHERE uid = 'building:osm-w52538639'")
        ).one()
        kinds = set(conn.execute(text("SELECT kind FROM roads")).scalars())
        cafe = conn.execute(text("SELECT kind, name, address FROM entrances")).one()
    assert tuple(post_office) == ("Oakland Main Post Office", 5, "gis:osmnx_West-Oakland.osm.bz2")
    assert {"residential", "secondary", "footway", "service"} <= kinds
    assert tuple(cafe) == ("address", "Revolution Cafe", "7th Street 1612, 94607")


def test_planet_extract_repairs_a_self_intersecting_outline_and_rejects_what_it_cannot_build(
    spatial_engine: Engine,
) -> None:
    summary = import_gis(spatial_engine, PLANET)

    assert layer_counts(summary)["buildings"] == (32, 1, 2)
    reasons = {r.feature: r.reason for r in summary.rejections if r.layer == "buildings"}
    assert "too short" in reasons["osm-w275490779"]  # a building way of one node
    assert "could not be assembled" in reasons["osm-r318560"]  # its member ways are not in the extract
    with spatial_engine.connect() as conn:
        parts, valid = conn.execute(
            text("SELECT ST_NumGeometries(geom), ST_IsValid(geom) FROM buildings WHERE uid = 'building:osm-w275490781'")
        ).one()
        address, building = conn.execute(
            text("SELECT address, building_uid FROM entrances WHERE uid = 'entrance:osm-n6199069340'")
        ).one()
        stored = conn.execute(text("SELECT reason, raw FROM rejected_features WHERE feature = 'osm-r318560'"))
        reason, raw = stored.one()
    assert parts == 2 and valid
    assert address == "Richard-Wagner-Straße 20, 88486 Kirchberg an der Iller"
    assert building in summary.uids["buildings"]
    assert reason == reasons["osm-r318560"] and raw["properties"]["building"] == "government"


@pytest.mark.parametrize("path", [BUBENEC, OAKLAND, PLANET], ids=["bubenec", "west-oakland", "planet"])
def test_importing_the_same_file_twice_leaves_the_same_rows(spatial_engine: Engine, path: Path) -> None:
    first = import_gis(spatial_engine, path)
    counts = table_counts(spatial_engine)
    second = import_gis(spatial_engine, path)

    assert table_counts(spatial_engine) == counts
    assert layer_counts(first) == layer_counts(second) and first.uids == second.uids


def test_a_forced_target_imports_a_layer_that_maps_to_none_of_ours(spatial_engine: Engine) -> None:
    summary = import_gis(
        spatial_engine,
        BUBENEC,
        layer="tessellation",
        target="parcels",
        source="momepy",
        uid_for=lambda layer, key: f"cell:{key}",
    )

    assert layer_counts(summary) == {"parcels": (144, 0, 0)} and summary.skipped == {}
    with spatial_engine.connect() as conn:
        uid, source = conn.execute(text("SELECT uid, source FROM parcels ORDER BY uid LIMIT 1")).one()
    assert uid.startswith("cell:momepy-bubenec-tessellation-") and source == "momepy"


def test_a_crs_passed_for_a_file_without_one_is_used(spatial_engine: Engine, tmp_path: Path) -> None:
    frame = gpd.read_file(BUBENEC, layer="buildings").head(3)
    path = write_without_crs(frame.set_crs(None, allow_override=True), tmp_path / "buildings.shp")

    summary = import_gis(spatial_engine, path, crs="EPSG:3857")

    assert layer_counts(summary) == {"buildings": (3, 0, 0)}
    with spatial_engine.connect() as conn:
        x, y = conn.execute(
            text("SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM buildings LIMIT 1")
        ).one()
    assert BUBENEC_BBOX[0] < x < BUBENEC_BBOX[2] and BUBENEC_BBOX[1] < y < BUBENEC_BBOX[3]


def test_bad_features_are_repaired_or_rejected_with_reasons_while_the_good_ones_are_imported(
    spatial_engine: Engine, tmp_path: Path
) -> None:
    path = write_geojson(
        tmp_path / "buildings.geojson",
        [
            feature("good", polygon((14.400, 50.100), (14.401, 50.100), (14.401, 50.101), (14.400, 50.101))),
            feature("bowtie", polygon((14.402, 50.100), (14.403, 50.101), (14.403, 50.100), (14.402, 50.101))),
            feature("sliver", polygon((14.404, 50.100), (14.405, 50.100), (14.406, 50.100)), floors="x"),
            feature("point", {"type": "Point", "coordinates": [14.4, 50.1]}),
            feature("nothing", None),
        ],
    )

    summary = import_gis(spatial_engine, path)

    assert layer_counts(summary) == {"buildings": (2, 1, 3)}
    reasons = {r.feature: r.reason for r in summary.rejections}
    assert reasons == {
        "buildings-sliver": reasons["buildings-sliver"],
        "buildings-point": "Point geometry in polygon layer",
        "buildings-nothing": "null geometry",
    }
    assert reasons["buildings-sliver"].startswith("self-intersection at (")
    assert reasons["buildings-sliver"].endswith("could not be repaired into a polygon")
    with spatial_engine.connect() as conn:
        bowtie = conn.execute(
            text("SELECT GeometryType(geom), ST_NumGeometries(geom), ST_IsValid(geom) FROM buildings WHERE code = :c"),
            {"c": "buildings-bowtie"},
        ).one()
        stored = conn.execute(text("SELECT path, layer, feature, reason, raw FROM rejected_features ORDER BY feature"))
        rows = {row.feature: row for row in stored}
    assert tuple(bowtie) == ("MULTIPOLYGON", 2, True)
    assert set(rows) == set(reasons)
    sliver = rows["buildings-sliver"]
    assert (sliver.path, sliver.layer, sliver.reason) == (str(path.resolve()), "buildings", reasons["buildings-sliver"])
    assert sliver.raw["properties"] == {"code": "sliver", "floors": "x"}
    assert sliver.raw["geometry"]["type"] == "Polygon"
    assert table_counts(spatial_engine)["buildings"] == 2


def test_importing_a_file_with_rejections_again_keeps_one_set_of_rejections(
    spatial_engine: Engine, tmp_path: Path
) -> None:
    line = {"type": "LineString", "coordinates": [[14.40, 50.10], [14.41, 50.10]]}
    dot = {"type": "LineString", "coordinates": [[14.40, 50.10], [14.40, 50.10]]}
    path = write_geojson(tmp_path / "roads.geojson", [feature("a", line), feature("b", dot), feature("c", None)])

    first = import_gis(spatial_engine, path)
    second = import_gis(spatial_engine, path)

    assert layer_counts(first) == layer_counts(second) == {"roads": (1, 0, 2)}
    assert "could not be repaired into a line" in first.rejections[0].reason
    assert table_counts(spatial_engine)["rejected_features"] == 2


def assert_nothing_written(engine: Engine) -> None:
    assert set(table_counts(engine).values()) == {0}


def test_truncated_geojson_is_unreadable(spatial_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "buildings.geojson"
    path.write_text((GIS / "bubenec_buildings.geojson").read_text()[:5000])

    with pytest.raises(UnreadableSource, match=r"cannot read .*buildings\.geojson: .*") as caught:
        import_gis(spatial_engine, path)

    assert caught.value.path == str(path) and "\n" not in str(caught.value)
    assert_nothing_written(spatial_engine)


def test_a_missing_file_is_unreadable(spatial_engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(UnreadableSource, match="no such file"):
        import_gis(spatial_engine, tmp_path / "nowhere.gpkg")
    with pytest.raises(UnreadableSource, match="no such file"):
        import_gis(spatial_engine, tmp_path / "nowhere.osm.pbf")


def test_a_broken_osm_file_is_unreadable(spatial_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "broken.osm"
    path.write_bytes(PLANET.read_bytes()[:20000])

    with pytest.raises(UnreadableSource, match=r"broken\.osm"):
        import_gis(spatial_engine, path)

    assert_nothing_written(spatial_engine)


def test_an_empty_feature_collection_is_an_empty_source(spatial_engine: Engine, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "empty.geojson", [])

    with pytest.raises(EmptySource, match=r"empty\.geojson holds no features") as caught:
        import_gis(spatial_engine, path)

    assert caught.value.path == str(path)
    assert_nothing_written(spatial_engine)


@pytest.mark.parametrize("suffix", [".shp", ".gpkg"])
def test_a_file_without_crs_needs_one(spatial_engine: Engine, tmp_path: Path, suffix: str) -> None:
    frame = gpd.GeoDataFrame({"code": ["a"]}, geometry=[SQUARE], crs=None)
    path = write_without_crs(frame, tmp_path / f"buildings{suffix}")

    with pytest.raises(UnknownCRS, match="pass --crs") as caught:
        import_gis(spatial_engine, path)

    assert caught.value.path == str(path) and caught.value.crs is None
    assert str(path) in str(caught.value)
    assert_nothing_written(spatial_engine)


def test_an_unknown_crs_is_named(spatial_engine: Engine) -> None:
    with pytest.raises(UnknownCRS, match="EPSG:999999") as caught:
        import_gis(spatial_engine, BUBENEC, crs="EPSG:999999")

    assert caught.value.crs == "EPSG:999999"
    assert_nothing_written(spatial_engine)


def test_a_layer_without_crs_fails_the_whole_file(spatial_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "estate.gpkg"
    gpd.GeoDataFrame({"code": ["a"]}, geometry=[SQUARE], crs=4326).to_file(path, layer="buildings")
    write_without_crs(gpd.GeoDataFrame({"code": ["p"]}, geometry=[SQUARE]), path, layer="plots")

    with pytest.raises(UnknownCRS):
        import_gis(spatial_engine, path)

    assert_nothing_written(spatial_engine)


def test_a_wrong_layer_name_lists_the_available_ones(spatial_engine: Engine) -> None:
    with pytest.raises(UnknownLayer, match="no layer 'houses'; available: tessellation, buildings") as caught:
        import_gis(spatial_engine, BUBENEC, layer="houses")

    assert caught.value.layer == "houses"
    assert sorted(caught.value.available) == ["buildings", "plots", "streets", "tessellation"]
    assert_nothing_written(spatial_engine)


def test_a_wrong_target_lists_our_layers(spatial_engine: Engine) -> None:
    with pytest.raises(UnknownLayer, match="'footprints'") as caught:
        import_gis(spatial_engine, BUBENEC, layer="buildings", target="footprints")

    assert set(caught.value.available) == set(LAYERS)
    assert_nothing_written(spatial_engine)


def test_a_target_for_a_file_of_several_layers_needs_the_layer_named(spatial_engine: Engine) -> None:
    with pytest.raises(AmbiguousLayer, match="--layer"):
        import_gis(spatial_engine, BUBENEC, target="parcels")

    assert_nothing_written(spatial_engine)


def test_features_missing_a_required_column_are_rejected(spatial_engine: Engine, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "zones.geojson", [feature("z", polygon((0, 0), (1, 0), (1, 1)))])

    summary = import_gis(spatial_engine, path, target="boundaries")

    assert layer_counts(summary) == {"boundaries": (0, 0, 1)}
    assert "kind" in summary.rejections[0].reason


COURTYARD_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="twinhood tests">
  <node id="1" lat="50.1000" lon="14.4000"><tag k="entrance" v="main"/></node>
  <node id="2" lat="50.1000" lon="14.4010"/>
  <node id="3" lat="50.1010" lon="14.4010"/>
  <node id="4" lat="50.1010" lon="14.4000"/>
  <node id="5" lat="50.1003" lon="14.4003"/>
  <node id="6" lat="50.1003" lon="14.4007"/>
  <node id="7" lat="50.1007" lon="14.4007"/>
  <node id="8" lat="50.1007" lon="14.4003"/>
  <node id="9" lat="50.1020" lon="14.4020"/>
  <node id="10" lat="50.1030" lon="14.4030"/>
  <node id="11" lat="50.1020" lon="14.4030"/>
  <node id="12" lat="50.1030" lon="14.4020"/>
  <node id="13" lat="50.0990" lon="14.3990"/>
  <node id="14" lat="50.0990" lon="14.4040"/>
  <node id="15" lat="50.1025" lon="14.4022">
    <tag k="addr:street" v="Jaselská"/><tag k="addr:housenumber" v="5"/>
  </node>
  <way id="21"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/></way>
  <way id="22"><nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="8"/><nd ref="5"/></way>
  <way id="23">
    <nd ref="9"/><nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="9"/>
    <tag k="building" v="house"/>
  </way>
  <way id="24">
    <nd ref="13"/><nd ref="14"/><tag k="highway" v="residential"/><tag k="name" v="Jaselská"/>
  </way>
  <relation id="31">
    <member type="way" ref="21" role="outer"/><member type="way" ref="22" role="inner"/>
    <tag k="type" v="multipolygon"/><tag k="building" v="apartments"/><tag k="name" v="Courtyard"/>
    <tag k="building:levels" v="3"/><tag k="height" v="12 m"/>
  </relation>
</osm>
"""


@pytest.mark.parametrize("suffix", [".osm", ".osm.pbf"])
def test_osm_multipolygon_buildings_entrances_and_bow_ties(spatial_engine: Engine, tmp_path: Path, suffix: str) -> None:
    xml = tmp_path / "courtyard.osm"
    xml.write_text(COURTYARD_OSM)
    path = tmp_path / f"courtyard{suffix}"
    if suffix == ".osm.pbf":
        with osmium.SimpleWriter(str(path)) as writer:
            for obj in osmium.FileProcessor(str(xml)):
                writer.add(obj)

    summary = import_gis(spatial_engine, path)

    assert layer_counts(summary) == {"buildings": (2, 1, 0), "entrances": (2, 0, 0), "roads": (1, 0, 0)}
    with spatial_engine.connect() as conn:
        courtyard = conn.execute(
            text(
                "SELECT name, floors, height_m, ST_NumInteriorRings(ST_GeometryN(geom, 1)) FROM buildings"
                " WHERE uid = 'building:osm-r31'"
            )
        ).one()
        bow_tie = conn.execute(text("SELECT ST_NumGeometries(geom) FROM buildings WHERE uid = 'building:osm-w23'"))
        entrances = conn.execute(text("SELECT uid, kind, address, building_uid FROM entrances ORDER BY uid")).all()
    assert tuple(courtyard) == ("Courtyard", 3, 12.0, 1)
    assert bow_tie.scalar_one() == 2
    assert [tuple(e) for e in entrances] == [
        ("entrance:osm-n1", "entrance", None, "building:osm-r31"),
        ("entrance:osm-n15", "address", "Jaselská 5", "building:osm-w23"),
    ]
