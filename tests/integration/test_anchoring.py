from __future__ import annotations

import pytest
from shapely import Point, box
from sqlalchemy import Engine, text

from api.anchoring import (
    Placement,
    anchor_buildings,
    footprints_from,
    layer_features,
    link_to_grids,
    place,
    search_documents,
    write_layers,
)
from graph import Building, Device, GraphStore, House, InGrid, Person, Vehicle
from graph.generator import Community, generate
from spatial import Feature, write_features
from spatial.queries import at_point, grid_assignments
from spatial.search import index_documents, search
from tests.conftest import SHARED_DATA

BUBENEC = str(SHARED_DATA / "gis" / "momepy_bubenec.gpkg")


@pytest.fixture(scope="module")
def placed() -> tuple[Community, Placement]:
    community = generate(600, seed=21)
    return community, place(community, footprints_from(BUBENEC, layer="buildings"))


def test_buildings_stand_on_real_footprints_and_houses_move_with_them(placed: tuple[Community, Placement]) -> None:
    community, placement = placed
    buildings = [n for n in community.nodes if isinstance(n, Building)]
    assert len(buildings) > 1
    for b in buildings:
        assert b.lon is not None and b.lat is not None
        footprint = placement.footprints[b.uid]
        assert footprint.contains(Point(b.lon, b.lat)) or footprint.distance(Point(b.lon, b.lat)) < 1e-5
        assert 14.38 < b.lon < 14.42 and 50.09 < b.lat < 50.12
    assert len({f.wkt for f in placement.footprints.values()}) == len(buildings)
    houses = [n for n in community.nodes if isinstance(n, House)]
    assert houses and all(h.lon is not None and 14.38 < h.lon < 14.42 for h in houses)


def test_geometric_grid_division_agrees_with_the_community(
    placed: tuple[Community, Placement], spatial_engine: Engine, store: GraphStore
) -> None:
    community, placement = placed
    with spatial_engine.begin() as conn:
        written = write_layers(conn, layer_features(community, placement))
    assert written["buildings"] == len(placement.footprints)
    expected = {
        link.start: link.end
        for link in community.links
        if isinstance(link, InGrid) and link.start.startswith("building:")
    }
    assert grid_assignments(spatial_engine, "buildings") == expected

    store.upsert(community.nodes)
    store.link(community.links)
    with spatial_engine.begin() as conn:
        assert link_to_grids(store, conn) > 0
    device = next(n for n in community.nodes if isinstance(n, Device) and n.category == "water_meter")
    grids = [e.end for e in store.neighbourhood(device.uid, rel_types=["IN_GRID"]).edges]
    assert grids == [grid_assignments(spatial_engine, "devices")[device.uid]]


def test_a_point_in_a_placed_building_finds_it_and_its_estate(
    placed: tuple[Community, Placement], spatial_engine: Engine
) -> None:
    community, placement = placed
    with spatial_engine.begin() as conn:
        write_layers(conn, layer_features(community, placement))
    b_uid, footprint = next(iter(placement.footprints.items()))
    inside = footprint.representative_point()
    hits = {(h.layer, h.uid) for h in at_point(spatial_engine, inside.x, inside.y)}
    assert ("buildings", b_uid) in hits
    assert any(layer == "boundaries" for layer, _ in hits) and any(layer == "grids" for layer, _ in hits)
    with spatial_engine.connect() as conn:
        workers = conn.execute(text("SELECT jsonb_array_length(workers) FROM grids LIMIT 1")).scalar_one()
    assert workers == 3


def test_every_named_entity_is_searchable(placed: tuple[Community, Placement], spatial_engine: Engine) -> None:
    community, _ = placed
    with spatial_engine.begin() as conn:
        index_documents(conn, search_documents(community.nodes))
    person = next(n for n in community.nodes if isinstance(n, Person))
    assert person.uid in [h.uid for h in search(spatial_engine, person.name, mode="exact", kinds=["Person"])]
    vehicle = next(n for n in community.nodes if isinstance(n, Vehicle))
    assert [h.uid for h in search(spatial_engine, vehicle.plate, mode="exact")] == [vehicle.uid]


def test_too_few_footprints_is_a_clear_error() -> None:
    community = generate(600, seed=21)
    with pytest.raises(ValueError, match="usable footprints but the community needs"):
        place(community, footprints_from(BUBENEC, layer="buildings")[:1])


def test_imported_footprints_match_graph_buildings_by_code_or_create_them(
    spatial_engine: Engine, store: GraphStore
) -> None:
    known = Building(uid="building:B7", source="register", code="B7", name="七号楼", floors_above=18)
    store.upsert([known])
    square = box(14.40, 50.10, 14.4005, 50.1003)
    with spatial_engine.begin() as conn:
        write_features(
            conn,
            "buildings",
            [
                Feature("building:B7", square, "gis:test", {"code": "B7", "name": "B7 from the map", "floors": 2}),
                Feature("building:bubenec-9", square, "gis:test", {"code": "bubenec-9", "floors": None}),
            ],
        )
        assert anchor_buildings(store, conn, ["building:B7", "building:bubenec-9"], "gis:test") == (1, 1)
    matched, created = store.get("building:B7"), store.get("building:bubenec-9")
    assert isinstance(matched, Building) and isinstance(created, Building)
    assert (matched.name, matched.floors_above, matched.source) == ("七号楼", 18, "register")
    assert matched.lon is not None and square.contains(Point(matched.lon, matched.lat))
    assert (created.code, created.name, created.floors_above, created.source) == (
        "bubenec-9",
        "bubenec-9",
        1,
        "gis:test",
    )
