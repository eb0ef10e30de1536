"""leads get a report token: status links in company e-mails

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 11:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_token', sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint('uq_leads_report_token', ['report_token'])


def downgrade() -> None:
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_constraint('uq_leads_report_token', type_='unique')
        batch_op.drop_column('report_token')
