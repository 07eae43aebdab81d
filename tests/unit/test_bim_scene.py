"""Scene materials are valid glTF whatever colours the model's styles carry."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bim.errors import UnknownScene
from bim.registry import ENTRIES, SceneRegistry
from bim.scene import _Glb


def test_a_colour_without_a_number_becomes_opaque_and_every_factor_is_finite() -> None:
    glb = _Glb()
    index = glb.material((0.9, 0.9, 0.9, math.nan))
    factor = glb.materials[index]["pbrMetallicRoughness"]["baseColorFactor"]
    assert factor == [0.9, 0.9, 0.9, 1.0]
    assert "alphaMode" not in glb.materials[index]
    json.dumps(glb.materials, allow_nan=False)  # NaN is not JSON
    clamped = glb.materials[glb.material((1.5, -0.2, 0.5, 0.4))]
    assert clamped["pbrMetallicRoughness"]["baseColorFactor"] == [1.0, 0.0, 0.5, 0.4]
    assert clamped["alphaMode"] == "BLEND"


def test_a_uid_that_is_no_building_has_no_scene_and_touches_no_file(tmp_path: Path) -> None:
    registry = SceneRegistry(tmp_path)
    (tmp_path / ENTRIES).mkdir()  # as after a first import
    for wrong in ("𝕋𝕙𝕖 𝕢𝕦𝕚𝕔𝕜 𝕓𝕣𝕠𝕨𝕟 𝕗𝕠𝕩" * 4, "person:P1", "building:" + "B" * 400):
        with pytest.raises(UnknownScene):
            registry.get(wrong)
