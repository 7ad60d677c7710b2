"""audit trail: audit_events (append-only; subjects without foreign keys)

Revision ID: records_audit_events
Revises: parity_room_kinds_settings
Create Date: 2026-12-07 14:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "records_audit_events"
down_revision = "parity_room_kinds_settings"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_events_at_id", "audit_events", ["at", "id"])
    op.create_index("ix_audit_events_actor", "audit_events", ["actor_id", "at", "id"])
    op.create_index("ix_audit_events_user", "audit_events", ["user_id", "at", "id"])
    op.create_index("ix_audit_events_room", "audit_events", ["room_id", "at", "id"])
    op.create_index("ix_audit_events_action", "audit_events", ["action", "at", "id"])


def downgrade():
    op.drop_table("audit_events")
