"""Alembic environment: runs on the engine handed over in `config.attributes["engine"]`."""

from __future__ import annotations

from alembic import context

from spatial.schema import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # PostGIS's own tables are not ours to migrate
        include_name=lambda name, kind, _: not (kind == "table" and name == "spatial_ref_sys"),
    )
    context.run_migrations()
