"""login sessions: last_seen_at, for the idle timeout

Revision ID: 7d3e1a9c5b20
Revises: c4a7e1d2f9b3
Create Date: 2026-11-26 11:25:00

"""

import sqlalchemy as sa
from alembic import op

revision = "7d3e1a9c5b20"
down_revision = "c4a7e1d2f9b3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
