"""email: user time zone, per-room ranges of an email, when a room was last emailed

Revision ID: e7a1d2c4b9f0
Revises: replies_inbound_emails
Create Date: 2026-11-26 11:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = "e7a1d2c4b9f0"
down_revision = "replies_inbound_emails"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
    with op.batch_alter_table("read_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("notification_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ranges", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("notification_logs", schema=None) as batch_op:
        batch_op.drop_column("ranges")
    with op.batch_alter_table("read_states", schema=None) as batch_op:
        batch_op.drop_column("notified_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
