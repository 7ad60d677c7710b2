"""parity: kinds of room (chat, announcement), team-only rooms, the settings table

Revision ID: parity_room_kinds_settings
Revises: mailin_held_replies
Create Date: 2026-12-07 14:10:00

Existing rooms become chat rooms open to clients, as they were.
"""

import sqlalchemy as sa
from alembic import op

revision = "parity_room_kinds_settings"
down_revision = "mailin_held_replies"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN, never a batch copy: SQLite would drop the rooms table's search
    # triggers with the copied table.
    op.add_column(
        "rooms", sa.Column("kind", sa.String(20), nullable=False, server_default="chat")
    )
    op.add_column(
        "rooms",
        sa.Column("team_only", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "settings",
        sa.Column("name", sa.String(60), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_by_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")
        ),
    )


def downgrade():
    op.drop_table("settings")
    op.drop_column("rooms", "team_only")
    op.drop_column("rooms", "kind")
