"""The event ledger, its dedupe index and projection queue, dead letters, passages and alarm state.

Revision ID: 0002
Revises: 0001

`event_ledger` is partitioned by RANGE on `received_at`, one partition a month (created ahead by
`ingest.ledger.ensure_partitions`; a DEFAULT partition catches anything else so an insert never
fails). PostgreSQL requires the partition key in every unique constraint of a partitioned table,
so uniqueness of the event id lives in the small unpartitioned `event_ids` table: an append
inserts there first (ON CONFLICT DO NOTHING) and only ids that were new reach the ledger, in one
statement. Retention is per kind: a DELETE by kind over the partitions older than the kind's
cut-off, and whole partitions are dropped once older than the longest retention.

`ledger_pending` is the projection queue (ledger rows not yet in the graph), so the ledger itself
is never updated: the projector deletes from the queue in the transaction that records its work.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "event_ids",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.execute(
        "CREATE TABLE event_ledger ("
        " seq bigserial NOT NULL,"
        " id text NOT NULL,"
        " kind text NOT NULL,"
        " device text NOT NULL,"
        " ts timestamptz NOT NULL,"
        " received_at timestamptz NOT NULL DEFAULT now(),"
        " source text NOT NULL,"
        " payload jsonb NOT NULL"
        ") PARTITION BY RANGE (received_at)"
    )
    op.execute("CREATE TABLE event_ledger_default PARTITION OF event_ledger DEFAULT")
    op.execute("CREATE INDEX event_ledger_seq ON event_ledger (seq)")
    op.execute("CREATE INDEX event_ledger_id ON event_ledger (id)")
    op.execute("CREATE INDEX event_ledger_kind_received ON event_ledger (kind, received_at)")
    op.execute("CREATE INDEX event_ledger_ts_brin ON event_ledger USING brin (ts)")
    op.create_table(
        "ledger_pending",
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("resubmitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
    )
    op.create_index("dead_letters_open", "dead_letters", ["id"], postgresql_where=sa.text("resubmitted_at IS NULL"))
    op.create_table(
        "passages",
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("device", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", "device"),
    )
    op.create_table(
        "alarm_state",
        sa.Column("uid", sa.Text(), primary_key=True),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("condition", sa.Text(), nullable=False, comment="what the alarm is about: usually a device uid"),
        sa.Column("entity", sa.Text(), nullable=False, comment="uid the alarm is raised on"),
        sa.Column("device", sa.Text(), nullable=True),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("normal_streak", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handler", sa.Text(), nullable=True),
        sa.Column("first_event", sa.Text(), nullable=False),
        sa.Column("last_event", sa.Text(), nullable=False),
        sa.Column("clear_event", sa.Text(), nullable=True),
        sa.Column("cameras", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("history", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
    )
    # the guarantee behind "no duplicate alarms": one live alarm per rule and condition
    op.create_index(
        "alarm_state_live",
        "alarm_state",
        ["rule", "condition"],
        unique=True,
        postgresql_where=sa.text("cleared_at IS NULL AND status <> 'closed'"),
    )
    op.create_index("alarm_state_status", "alarm_state", ["status", "opened_at"])


def downgrade() -> None:
    op.drop_table("alarm_state")
    op.drop_table("passages")
    op.drop_table("dead_letters")
    op.drop_table("ledger_pending")
    op.execute("DROP TABLE event_ledger")
    op.drop_table("event_ids")
