from __future__ import annotations

from alembic.script import ScriptDirectory
from shapely import LineString, Point, Polygon
from sqlalchemy import Engine, inspect, text

from spatial import LAYERS, Feature, migrate, write_features
from spatial.db import alembic_config


def test_every_layer_has_a_table_with_a_gist_index_in_wgs84(spatial_engine: Engine) -> None:
    inspector = inspect(spatial_engine)
    for name in LAYERS:
        indexes = {i["name"] for i in inspector.get_indexes(name)}
        assert f"idx_{name}_geom" in indexes
    with spatial_engine.connect() as conn:
        srids = conn.execute(text("SELECT DISTINCT srid FROM geometry_columns WHERE f_table_schema = 'public'")).all()
    assert srids == [(4326,)]


def test_migrating_again_changes_nothing(spatial_engine: Engine) -> None:
    head = ScriptDirectory.from_config(alembic_config(spatial_engine)).get_current_head()
    migrate(spatial_engine)
    with spatial_engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head


def test_features_upsert_by_uid_and_take_the_layer_geometry_type(spatial_engine: Engine) -> None:
    square = Polygon([(14.39, 50.10), (14.391, 50.10), (14.391, 50.101), (14.39, 50.101)])
    with spatial_engine.begin() as conn:
        write_features(conn, "buildings", [Feature("building:B1", square, "test", {"code": "B1", "floors": 3})])
        write_features(conn, "buildings", [Feature("building:B1", square, "test", {"code": "B1", "floors": 5})])
        write_features(conn, "roads", [Feature("road:1", LineString([(14.39, 50.1), (14.4, 50.1)]), "test")])
        write_features(conn, "devices", [Feature("device:D1", Point(14.3905, 50.1005), "test", {"floor": -1})])
    with spatial_engine.connect() as conn:
        rows = conn.execute(text("SELECT uid, floors, GeometryType(geom) FROM buildings")).all()
        road = conn.execute(text("SELECT GeometryType(geom) FROM roads")).scalar_one()
    assert rows == [("building:B1", 5, "MULTIPOLYGON")]
    assert road == "MULTILINESTRING"
