"""IFC building models into the graph and onto the map, and 3D scenes of them.

:func:`import_ifc` reads an IFC2X3 or IFC4 file with ifcopenshell: its building, storeys,
spaces (houses and units), doors, stairs, lifts and devices into the graph, with their
adjacency and access; its footprint, georeferenced, into PostGIS; its 3D scene (glTF binary, one
node per element named by uid) into a cache on disk that :class:`SceneRegistry` serves.
:func:`scene_glb` and :func:`scene_frame` give a file's scene and where its frame is on Earth.
"""

from bim.errors import CorruptModel, NoLocation, UnknownScene, UnsupportedModel, UnsupportedSchema
from bim.importer import IfcImportSummary, Progress, import_ifc
from bim.registry import RegisteredModel, SceneRegistry
from bim.scene import MEDIA_TYPE, scene_frame, scene_glb
from bim.settings import BimSettings

__all__ = [
    "MEDIA_TYPE",
    "BimSettings",
    "CorruptModel",
    "IfcImportSummary",
    "NoLocation",
    "Progress",
    "RegisteredModel",
    "SceneRegistry",
    "UnknownScene",
    "UnsupportedModel",
    "UnsupportedSchema",
    "import_ifc",
    "scene_frame",
    "scene_glb",
]
