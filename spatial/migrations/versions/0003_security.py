"""Users, roles and permissions of the API, its audit log, and change notices for live alarms.

Revision ID: 0003
Revises: 0002

`users` holds argon2 hashes only, the failed-login count and lock, and the account's validity
period (7.3). `role_permissions` is the permission matrix (`api.security.permissions` seeds it);
`user_roles` joins users to roles. `audit_log` is append-only: one row per API operation and per
read of a person's data (10.1.3, 10.2.2), with its time, user, operation, target uids and outcome.

A trigger on `alarm_state` sends `pg_notify('twinhood_alarms', uid)` on every insert and update,
so an API process pushes alarm changes made by any ingest worker to its subscribers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.Text(), primary_key=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("organisation", sa.Text(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_table(
        "roles",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
    )
    op.create_table(
        "role_permissions",
        sa.Column("role", sa.Text(), sa.ForeignKey("roles.name", ondelete="CASCADE"), nullable=False),
        sa.Column("permission", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("role", "permission"),
    )
    op.create_table(
        "user_roles",
        sa.Column("username", sa.Text(), sa.ForeignKey("users.username", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.Text(), sa.ForeignKey("roles.name", ondelete="CASCADE"), nullable=False),
        sa.PrimaryKeyConstraint("username", "role"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("username", sa.Text(), nullable=True, comment="None: not authenticated"),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("targets", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("outcome", sa.Text(), nullable=False, comment="ok, denied, failed, invalid"),
        sa.Column("person_read", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("client", sa.Text(), nullable=True, comment="the client's IP address"),
        sa.Column("detail", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    op.create_index("audit_log_at", "audit_log", ["at"])
    op.create_index("audit_log_user_at", "audit_log", ["username", "at"])
    op.create_index("audit_log_targets", "audit_log", ["targets"], postgresql_using="gin")
    op.execute(
        "CREATE FUNCTION twinhood_alarm_notify() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM pg_notify('twinhood_alarms', NEW.uid); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER alarm_state_notify AFTER INSERT OR UPDATE ON alarm_state "
        "FOR EACH ROW EXECUTE FUNCTION twinhood_alarm_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER alarm_state_notify ON alarm_state")
    op.execute("DROP FUNCTION twinhood_alarm_notify()")
    op.drop_table("audit_log")
    op.drop_table("user_roles")
    op.drop_table("role_permissions")
    op.drop_table("roles")
    op.drop_table("users")
