"""An IFC model's nodes and links go into the graph in one transaction: all of them, or none.

Against the real graph server, with what `bim.structure.extract` makes of a sample file.
"""

from __future__ import annotations

import pytest

from bim import identity
from bim.geometry import element_shapes
from bim.georef import georeference
from bim.model import open_model
from bim.structure import Structure, extract, map_elements, spatial_root
from graph import GraphStore, LocatedIn, MissingEndpoints, Serves, uid
from tests.conftest import SHARED_DATA

EXAMPLE = SHARED_DATA / "ifc" / "example.ifc"


@pytest.fixture(scope="module")
def structure() -> Structure:
    model = open_model(EXAMPLE)
    code = identity.building_code(str(spatial_root(model).GlobalId))
    shapes, _ = element_shapes(model, map_elements(model), openings=False)
    return extract(model, georeference(model), shapes, building_uid=uid.building(code), code=code)


def test_a_model_is_written_whole_and_writing_it_again_changes_nothing(store: GraphStore, structure: Structure) -> None:
    nodes = [structure.building, *structure.nodes]
    assert store.write(nodes, structure.links) == (len(nodes), len(structure.links))
    counts = store.counts()
    assert sum(counts[label] for label in ("Building", "Storey", "House", "Unit", "Device")) == len(nodes)
    assert store.write(nodes, structure.links) == (len(nodes), len(structure.links))
    assert store.counts() == counts


def test_a_link_to_a_missing_node_rolls_back_every_node_and_link(store: GraphStore, structure: Structure) -> None:
    ghost = uid.storey(structure.building.code, 99)
    house = next(n for n in structure.nodes if n.label == "House")
    stray = LocatedIn(start=house.uid, end=ghost, source="test")
    with pytest.raises(MissingEndpoints, match=ghost) as caught:
        store.write([structure.building, *structure.nodes], [*structure.links, stray])
    assert caught.value.uids == [f"{stray.start}>{ghost}"]
    assert not any(store.counts().values())


def test_links_of_a_type_none_of_whose_ends_exist_roll_back_everything(store: GraphStore, structure: Structure) -> None:
    ghost = uid.storey(structure.building.code, 99)
    device = next(n for n in structure.nodes if n.label == "Device")
    stray = Serves(start=device.uid, end=ghost, source="test")  # the model has no SERVES: a batch of its own
    with pytest.raises(MissingEndpoints, match=ghost) as caught:
        store.write([structure.building, *structure.nodes], [*structure.links, stray])
    assert (caught.value.rel_type, caught.value.uids) == ("SERVES", [f"{device.uid}>{ghost}"])
    assert not any(store.counts().values())


def test_a_model_larger_than_a_batch_is_written_in_several_statements_of_one_transaction(
    store: GraphStore, structure: Structure
) -> None:
    small = GraphStore(store.driver, store.database, batch_size=3)
    nodes = [structure.building, *structure.nodes]
    assert small.write(nodes, structure.links) == (len(nodes), len(structure.links))
    assert sum(store.counts().values()) == len(nodes) + len(structure.links)


def test_what_runs_before_the_commit_rolls_the_graph_back_when_it_fails(
    store: GraphStore, structure: Structure
) -> None:
    def fail() -> None:
        raise RuntimeError("the other store failed")

    with pytest.raises(RuntimeError, match="other store"):
        store.write([structure.building, *structure.nodes], structure.links, before_commit=fail)
    assert not any(store.counts().values())
