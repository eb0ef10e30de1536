"""parent requests record who decided

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('parent_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('relation', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('decided_by_channel', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('decided_by_chat_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('consent_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('parent_requests', schema=None) as batch_op:
        batch_op.drop_column('consent_id')
        batch_op.drop_column('decided_by_chat_id')
        batch_op.drop_column('decided_by_channel')
        batch_op.drop_column('relation')
