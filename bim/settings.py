"""Settings of the IFC import and its scene cache, read from `TWINHOOD_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SCENE_DIR = Path("~/.cache/twinhood/scenes")


class BimSettings(BaseSettings):
    """Where scenes and the registry of imported IFC models live, and how geometry is computed."""

    model_config = SettingsConfigDict(env_prefix="TWINHOOD_", extra="ignore")

    scene_dir: Path = Field(
        DEFAULT_SCENE_DIR,
        description="directory of the cached glTF scenes and of the building → IFC file registry",
    )
    geometry_threads: int = Field(1, ge=1, le=64, description="threads of ifcopenshell's geometry iterator")

    @property
    def scene_path(self) -> Path:
        """The scene directory with `~` expanded."""
        return self.scene_dir.expanduser()


@lru_cache
def get_settings() -> BimSettings:
    return BimSettings()
