"""held replies: replies by email whose sender could not be confirmed (DKIM, trusted MTA)

Revision ID: mailin_held_replies
Revises: notification_choices
Create Date: 2026-12-07 14:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'mailin_held_replies'
down_revision = 'notification_choices'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('held_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('held_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_held_replies_participant_id'), ['participant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('held_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_held_replies_participant_id'))
    op.drop_table('held_replies')
