"""Scene materials are valid glTF whatever colours the model's styles carry."""

from __future__ import annotations

import json
import math

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
