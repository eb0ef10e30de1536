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

# The shared send budget's decision (flows.delivery.limiter.shared_delay, the reference it is tested
# against) made inside PostgreSQL: the lock is held only while the server decides, never across a round
# trip to a worker whose event loop may be busy. One call: wait (NULL: until a send finishes) or a
# ticket, plus the 429 holds running (seconds left) and bot_wait, the part of the wait that is not the
# chat's (NULL: until a send finishes).
TAKE_FUNCTION = """
CREATE OR REPLACE FUNCTION send_budget_take(
    p_chat bigint, p_bulk boolean, p_capacity integer, p_length float8, p_interval float8, p_burst integer,
    p_chatting float8, p_headroom integer, p_stale float8, p_now float8,
    OUT ticket bigint, OUT wait float8, OUT bot_held float8, OUT chat_held float8, OUT bot_wait float8)
LANGUAGE plpgsql AS $$
DECLARE
    v_now float8; v_due float8 := 0; v_reserve integer := 0; v_free integer; v_excess integer;
    v_window float8; v_bucket float8; v_count integer;
BEGIN
    PERFORM pg_advisory_xact_lock(7240003);
    v_now := coalesce(p_now, extract(epoch FROM clock_timestamp()));  -- p_now: the tests' clock
    SELECT coalesce(max(held_until) FILTER (WHERE chat_id = 0), 0),
           coalesce(max(held_until) FILTER (WHERE chat_id = p_chat), 0),
           coalesce(max(due) FILTER (WHERE chat_id = p_chat), 0)
      INTO bot_held, chat_held, v_due FROM send_budget_chats WHERE chat_id IN (0, p_chat);
    bot_held := greatest(0, bot_held - v_now);
    chat_held := greatest(0, chat_held - v_now);
    IF p_bulk AND EXISTS (SELECT 1 FROM send_budget_sends
                          WHERE interactive AND started_at > v_now - greatest(p_chatting, p_length)) THEN
        SELECT count(*) INTO v_count FROM send_budget_sends WHERE interactive AND started_at > v_now - p_length;
        v_reserve := least(p_capacity - 1, v_count + p_headroom);
    END IF;
    SELECT count(*) INTO v_count FROM send_budget_sends WHERE finished_at IS NULL AND started_at > v_now - p_stale;
    v_free := p_capacity - v_reserve - v_count;
    IF v_free > 0 THEN
        SELECT count(*) INTO v_count FROM send_budget_sends WHERE finished_at > v_now - p_length;
        v_excess := v_count - v_free + 1;
        IF v_excess <= 0 THEN
            v_window := 0;
        ELSE
            SELECT finished_at + p_length - v_now INTO v_window FROM send_budget_sends
             WHERE finished_at > v_now - p_length ORDER BY finished_at OFFSET v_excess - 1 LIMIT 1;
        END IF;
    END IF;
    IF v_window IS NOT NULL THEN  -- what every send of this kind waits for, whatever its chat
        bot_wait := greatest(v_window, bot_held);
    END IF;
    SELECT count(*) INTO v_count FROM send_budget_sends
     WHERE chat_id = p_chat AND finished_at IS NULL AND started_at > v_now - p_stale;
    IF v_count < p_burst THEN
        v_bucket := greatest(0, v_due - (p_burst - 1) * p_interval - v_now);
    END IF;
    IF v_window IS NULL OR v_bucket IS NULL THEN
        RETURN;  -- every slot in flight: wait until a send finishes
    END IF;
    wait := greatest(v_window, v_bucket, bot_held, chat_held);
    IF wait > 0 THEN
        RETURN;
    END IF;
    INSERT INTO send_budget_sends (chat_id, interactive, started_at) VALUES (p_chat, NOT p_bulk, v_now)
    RETURNING id INTO ticket;
    INSERT INTO send_budget_chats (chat_id, due, held_until) VALUES (p_chat, greatest(v_due, v_now) + p_interval, 0)
    ON CONFLICT (chat_id) DO UPDATE SET due = EXCLUDED.due;
END
$$
"""


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
        op.execute(TAKE_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS send_budget_take(bigint, boolean, integer, float8, float8, integer,'
                   ' float8, integer, float8, float8)')
    op.drop_table('send_budget_chats')
    with op.batch_alter_table('send_budget_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_send_budget_sends_finished')
        batch_op.drop_index('ix_send_budget_sends_chat')
    op.drop_table('send_budget_sends')
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.drop_index('ix_processed_updates_open', sqlite_where=sa.text('answered_at IS NULL'),
                            postgresql_where=sa.text('answered_at IS NULL'))
