"""announcements: broadcasts, one recipient row per (broadcast, person); parents' links for opt-ins

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('broadcasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cluster', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('text_du', sa.Text(), nullable=False),
    sa.Column('text_sie', sa.Text(), nullable=False),
    sa.Column('picture', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('buttons', sa.JSON(), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('scheduled_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('approved_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcasts_cluster'), ['cluster'], unique=False)
        batch_op.create_index('ix_broadcasts_status_scheduled_at', ['status', 'scheduled_at'], unique=False)

    op.create_table('broadcast_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('broadcast_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('formal', sa.Boolean(), nullable=False),
    sa.Column('minor', sa.Boolean(), nullable=False),
    sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('first_name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('km', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('tapped_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('broadcast_id', 'user_id', name='uq_broadcast_recipients')
    )
    with op.batch_alter_table('broadcast_recipients', schema=None) as batch_op:
        batch_op.create_index('ix_broadcast_recipients_broadcast_status', ['broadcast_id', 'status', 'user_id'],
                              unique=False)
        batch_op.create_index('ix_broadcast_recipients_user_status_at', ['user_id', 'status', 'status_at'],
                              unique=False)

    # Existing links asked for a hand-over of leads: they get purpose "lead" and no topics.
    with op.batch_alter_table('parent_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=16), server_default='lead', nullable=False))
        batch_op.add_column(sa.Column('topics', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('parent_requests', schema=None) as batch_op:
        batch_op.drop_column('topics')
        batch_op.drop_column('purpose')

    with op.batch_alter_table('broadcast_recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_broadcast_recipients_user_status_at')
        batch_op.drop_index('ix_broadcast_recipients_broadcast_status')
    op.drop_table('broadcast_recipients')

    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_index('ix_broadcasts_status_scheduled_at')
        batch_op.drop_index(batch_op.f('ix_broadcasts_cluster'))
    op.drop_table('broadcasts')
