"""Find a stranger's events in the ledger without scanning it: by face id and by card.

Revision ID: 0007
Revises: 0006

An unregistered person is known to the sensors only by a face camera's id (``payload->>'face_id'``)
or an access card (``payload->>'card'``); their profile's timeline asks the ledger for the newest
events naming one, as 0005 does for people, plates, houses and devices. Partial: most events name
neither, and a query for one value implies it is not null, so the planner uses them.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for key, name in (("face_id", "event_ledger_face_ts"), ("card", "event_ledger_card_ts")):
        op.execute(f"CREATE INDEX {name} ON event_ledger ((payload->>'{key}'), ts) WHERE payload->>'{key}' IS NOT NULL")


def downgrade() -> None:
    for name in ("event_ledger_card_ts", "event_ledger_face_ts"):
        op.execute(f"DROP INDEX {name}")
