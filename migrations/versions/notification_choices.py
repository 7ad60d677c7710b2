"""notification choices: recaps for internal users, and "mentions only" per room

Revision ID: notification_choices
Revises: a5c2e8f1d7b4
Create Date: 2026-12-07 14:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "notification_choices"
down_revision = "a5c2e8f1d7b4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("recap", sa.String(length=8), nullable=True))
    with op.batch_alter_table("participants") as batch:
        batch.add_column(
            sa.Column("mentions_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("mentions_only")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("recap")
