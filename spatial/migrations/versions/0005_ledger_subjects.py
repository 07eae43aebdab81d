"""Find a subject's events in the ledger without scanning it: by person, plate, house and device.

Revision ID: 0005
Revises: 0004

A profile's timeline and trajectory ask the ledger for the newest events that name one person
(``payload->>'person'``), one plate (normalised as :func:`graph.codes.check_plate` does: no spaces
or middle dots, upper case) or one house, or that one of the house's devices recorded, newest
first. Each index leads with that key and ends with ``ts``, so the answer is an index range read
in time order whatever the size of the ledger; created on the partitioned table, each partition
gets its own.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PLATE = "upper(replace(replace(payload->>'plate', ' ', ''), '·', ''))"


def upgrade() -> None:
    op.execute("CREATE INDEX event_ledger_person_ts ON event_ledger ((payload->>'person'), ts)")
    op.execute(f"CREATE INDEX event_ledger_plate_ts ON event_ledger (({PLATE}), ts)")
    op.execute("CREATE INDEX event_ledger_house_ts ON event_ledger ((payload->>'house'), ts)")
    op.execute("CREATE INDEX event_ledger_device_ts ON event_ledger (device, ts)")


def downgrade() -> None:
    for name in ("event_ledger_device_ts", "event_ledger_house_ts", "event_ledger_plate_ts", "event_ledger_person_ts"):
        op.execute(f"DROP INDEX {name}")
