"""The database engine (one per process) and schema migrations (Alembic)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine

from spatial.settings import SpatialSettings

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(settings: SpatialSettings) -> Engine:
    """Create the engine (a connection pool); call once per process and `dispose()` at shutdown."""
    return create_engine(settings.database_url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)
