"""Who an alarm was pushed to, and the building and grid it happened in (for statistics).

Revision ID: 0004
Revises: 0003

When an alarm opens, the engine finds the grid its device (or the device's place) is IN_GRID and
the staff RESPONSIBLE_FOR that grid, records them in `assignees` (the first becomes `handler`) and
pushes the alarm to them. `building` and `grid` are kept on the row so retrospective statistics
group by them in SQL without asking the graph; `alarm_state_opened` serves the time windows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alarm_state", sa.Column("building", sa.Text(), nullable=True))
    op.add_column("alarm_state", sa.Column("grid", sa.Text(), nullable=True))
    op.add_column(
        "alarm_state",
        sa.Column("assignees", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}"),
    )
    op.create_index("alarm_state_opened", "alarm_state", ["opened_at"])


def downgrade() -> None:
    op.drop_index("alarm_state_opened", "alarm_state")
    op.drop_column("alarm_state", "assignees")
    op.drop_column("alarm_state", "grid")
    op.drop_column("alarm_state", "building")
