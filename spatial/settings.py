"""Settings of the spatial store (PostgreSQL + PostGIS), read from `TWINHOOD_*` variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_DATABASE_URL = "postgresql+psycopg://twinhood:twinhood@127.0.0.1:5432/twinhood"


class SpatialSettings(BaseSettings):
    """Where PostgreSQL/PostGIS is."""

    model_config = SettingsConfigDict(env_prefix="TWINHOOD_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = Field(DEV_DATABASE_URL, description="SQLAlchemy URL, postgresql+psycopg://…")

    @model_validator(mode="after")
    def _enforce_non_default_secrets(self) -> SpatialSettings:
        if self.environment != "development" and self.database_url == DEV_DATABASE_URL:
            raise ValueError("TWINHOOD_DATABASE_URL is the development default; set a real one")
        return self

    @property
    def explicit_server(self) -> bool:
        """True when the user named a database server, so the local stack must not start one."""
        return "database_url" in self.model_fields_set


@lru_cache
def get_settings() -> SpatialSettings:
    return SpatialSettings()
