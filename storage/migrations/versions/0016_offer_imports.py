"""offer imports: imported offers' region and last sighting; the import runs with their cursor

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 18:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('vacancies') as batch:
        batch.add_column(sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=True))
        batch.add_column(sa.Column('seen_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('imported_at', storage.types.UTCDateTime(timezone=True), nullable=True))
    op.create_table('offer_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('started_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cursor', sa.JSON(), nullable=False),
    sa.Column('complete', sa.JSON(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_offer_imports_started_at'), 'offer_imports', ['started_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_offer_imports_started_at'), table_name='offer_imports')
    op.drop_table('offer_imports')
    with op.batch_alter_table('vacancies') as batch:
        batch.drop_column('imported_at')
        batch.drop_column('seen_at')
        batch.drop_column('region')
