"""Which IFC model each building was imported from, so that its scene can be served.

One small JSON file per building in ``<scene_dir>/buildings/`` (its name is the percent-encoded
uid), written atomically by :func:`bim.import_ifc`: the model's absolute path and sha256, the
uids its elements became, the scene's frame and cache key. A file per building means concurrent
imports of different buildings never overwrite each other's entry.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bim.errors import UnknownScene
from bim.model import open_model
from bim.scene import build_glb, cached_scene, file_sha256, store_scene
from bim.settings import get_settings
from graph import uid

ENTRIES = "buildings"
MAX_NAME = 200  # bytes of an entry's file name before ".json" (file systems allow 255)


@dataclass
class RegisteredModel:
    """The IFC model a building was imported from, and what its scene needs."""

    building_uid: str
    path: str
    sha256: str
    schema: str
    imported_at: str
    scene_key: str
    frame: dict[str, Any]
    uids: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        """The scene's HTTP entity tag: it changes with the file and with the uids its nodes carry."""
        return f'"{self.scene_key}"'


def _is_building(candidate: str) -> bool:
    """Whether `candidate` is a well-formed Building uid (else it names no file of ours)."""
    try:
        return uid.label_of(candidate) == "Building" and len(quote(candidate, safe="")) <= MAX_NAME
    except ValueError:
        return False


class SceneRegistry:
    """The building → IFC model index and the scene cache, in one directory."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory).expanduser() if directory else get_settings().scene_path

    def _entry_path(self, building_uid: str) -> Path:
        return self.directory / ENTRIES / f"{quote(building_uid, safe='')}.json"

    def register(self, entry: RegisteredModel) -> None:
        """Record (or replace) the model of a building."""
        path = self._entry_path(entry.building_uid)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".tmp-", delete=False, encoding="utf-8") as tmp:
            json.dump(asdict(entry), tmp, ensure_ascii=False, sort_keys=True)
        os.replace(tmp.name, path)

    def get(self, building_uid: str) -> RegisteredModel:
        """Return the model registered for a building, or raise UnknownScene (also for a uid that is no building's)."""
        if not _is_building(building_uid):
            raise UnknownScene(building_uid, "not a building uid")
        try:
            data = json.loads(self._entry_path(building_uid).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UnknownScene(building_uid) from None
        return RegisteredModel(**data)

    def glb(self, building_uid: str, threads: int | None = None) -> tuple[RegisteredModel, bytes]:
        """Return a building's entry and its GLB scene, building the scene when the cache lost it.

        The scene is rebuilt only from the very file that was imported (same sha256): a file
        that changed or went away since is UnknownScene, to be imported again.
        """
        entry = self.get(building_uid)
        cached = cached_scene(self.directory, entry.scene_key)
        if cached.is_file():
            return entry, cached.read_bytes()
        source = Path(entry.path)
        if not source.is_file() or file_sha256(source) != entry.sha256:
            reason = f"its IFC file {source} is gone or changed since the import; import it again"
            raise UnknownScene(building_uid, reason)
        data, _ = build_glb(open_model(source), entry.uids, threads=threads or get_settings().geometry_threads)
        store_scene(self.directory, entry.scene_key, data)
        return entry, data
