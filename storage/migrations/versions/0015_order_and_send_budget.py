"""several workers: a chat's open updates indexed (order per chat); the shared send budget

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 15:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.create_index('ix_processed_updates_open', ['channel', 'chat_id', 'update_id'], unique=False,
                              sqlite_where=sa.text('answered_at IS NULL'),
                              postgresql_where=sa.text('answered_at IS NULL'))
    op.create_table('send_budget_sends',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('interactive', sa.Boolean(), nullable=False),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('finished_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('send_budget_sends', schema=None) as batch_op:
        batch_op.create_index('ix_send_budget_sends_chat', ['chat_id'], unique=False)
        batch_op.create_index('ix_send_budget_sends_finished', ['finished_at'], unique=False)
    op.create_table('send_budget_chats',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('due', sa.Float(), nullable=False),
    sa.Column('held_until', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('chat_id')
    )
    if op.get_bind().dialect.name == 'postgresql':
        # Written with every send and worthless after a minute: no write-ahead log for them (a crash
        # empties them, which only forgets the last minute's sends).
        op.execute('ALTER TABLE send_budget_sends SET UNLOGGED')
        op.execute('ALTER TABLE send_budget_chats SET UNLOGGED')


def downgrade() -> None:
    op.drop_table('send_budget_chats')
    with op.batch_alter_table('send_budget_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_send_budget_sends_finished')
        batch_op.drop_index('ix_send_budget_sends_chat')
    op.drop_table('send_budget_sends')
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.drop_index('ix_processed_updates_open', sqlite_where=sa.text('answered_at IS NULL'),
                            postgresql_where=sa.text('answered_at IS NULL'))
