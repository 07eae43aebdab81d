"""Settings of the graph store, read from `TWINHOOD_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_PASSWORD = "twinhood-dev"


class GraphSettings(BaseSettings):
    """Where the Bolt server is and how to write to it."""

    model_config = SettingsConfigDict(env_prefix="TWINHOOD_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    neo4j_uri: str = Field("bolt://127.0.0.1:7687", description="bolt://, neo4j:// or their +s variants")
    neo4j_user: str = "root"
    neo4j_password: SecretStr = SecretStr(DEV_PASSWORD)
    neo4j_database: str = "twinhood"
    graph_admin_url: str | None = Field(
        "http://127.0.0.1:2480",
        description="ArcadeDB's HTTP server, used to create and drop databases; unset for Neo4j",
    )
    batch_size: int = Field(5000, ge=1, le=100_000, description="rows per UNWIND batch")

    @model_validator(mode="after")
    def _enforce_non_default_secrets(self) -> GraphSettings:
        if self.environment != "development" and self.neo4j_password.get_secret_value() == DEV_PASSWORD:
            raise ValueError("TWINHOOD_NEO4J_PASSWORD is the development default; set a real one")
        return self

    @property
    def explicit_server(self) -> bool:
        """True when the user named a graph server, so the local stack must not start one."""
        return "neo4j_uri" in self.model_fields_set


@lru_cache
def get_settings() -> GraphSettings:
    return GraphSettings()
