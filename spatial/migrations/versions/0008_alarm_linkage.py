"""What a fire alarm's linkage did: the access doors it commanded to unlock, and when.

Revision ID: 0008
Revises: 0007

The alarm engine publishes an unlock command to every access door of the alarm's building once the
alarm has opened (6.2.1.5 e) and records here the doors whose command the broker took, so the alarm
desk shows what was sent, not what the building holds now. Set by that step alone, never by the
alarm's other updates.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "alarm_state", sa.Column("unlocked", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}")
    )
    op.add_column("alarm_state", sa.Column("unlocked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("alarm_state", "unlocked_at")
    op.drop_column("alarm_state", "unlocked")
