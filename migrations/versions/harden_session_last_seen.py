"""login sessions: last_seen_at, for the idle timeout

Revision ID: 7d3e1a9c5b20
Revises: e7a1d2c4b9f0
Create Date: 2026-11-26 11:25:00

"""

import sqlalchemy as sa
from alembic import op

revision = "7d3e1a9c5b20"
down_revision = "e7a1d2c4b9f0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
