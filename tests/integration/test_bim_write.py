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
from graph import GraphStore, LocatedIn, MissingEndpoints, uid
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
