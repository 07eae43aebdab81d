"""Roll-ups of device telemetry: how many readings each device sent, and its latest one.

Revision ID: 0006
Revises: 0005

Periodic telemetry (meter, environment, water tank, hydrant, heating and fire-detector readings;
`ingest.events.KindSpec.telemetry`) is kept whole in the ledger, but the graph gets no Event node
per reading: the projector keeps each device's totals here, exact however often a batch is retried
(they change in the transaction that marks the batch projected), and writes them onto the Device
node. A reading that arrives late never replaces a newer one as the latest.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_readings",
        sa.Column("device", sa.Text(), primary_key=True, comment="device uid"),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_kind", sa.Text(), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("last_unit", sa.Text(), nullable=True),
        sa.Column("last_state", sa.Text(), nullable=True),
        sa.Column("last_event", sa.Text(), nullable=False, comment="ledger id of the latest reading"),
    )


def downgrade() -> None:
    op.drop_table("device_readings")
