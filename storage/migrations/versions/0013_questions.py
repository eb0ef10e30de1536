"""free questions waiting for a model answer or sent to the cluster team; FAQ entries made in the cockpit

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 12:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('cluster', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=True),
    sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('form', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('asked_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('model_lease_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('team', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('team_asked_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('consent_id', sa.Integer(), nullable=True),
    sa.Column('reminded_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('answered_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('faq_slug', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.create_index('ix_questions_model', ['model', 'model_lease_until'], unique=False)
        batch_op.create_index('ix_questions_team', ['cluster', 'team', 'team_asked_at'], unique=False)
        batch_op.create_index('ix_questions_user_asked', ['user_id', 'asked_at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # The analysed terms as a stored tsvector: searching and ranking no longer parse every row's text.
        op.execute("ALTER TABLE search_docs ADD COLUMN terms_tsv tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('simple', terms)) STORED")
        op.execute("DROP INDEX IF EXISTS ix_search_docs_terms")
        op.execute("CREATE INDEX ix_search_docs_terms_tsv ON search_docs USING gin (terms_tsv)")
    with op.batch_alter_table('faq', schema=None) as batch_op:  # FAQ entries made in the cockpit are kept by loads
        batch_op.add_column(sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      server_default='pack', nullable=False))
        batch_op.add_column(sa.Column('overrides', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))



def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_search_docs_terms_tsv")
        op.execute("ALTER TABLE search_docs DROP COLUMN terms_tsv")
        op.execute("CREATE INDEX ix_search_docs_terms ON search_docs USING gin (to_tsvector('simple', terms))")
    with op.batch_alter_table('faq', schema=None) as batch_op:
        batch_op.drop_column('overrides')
        batch_op.drop_column('origin')
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_index('ix_questions_user_asked')
        batch_op.drop_index('ix_questions_team')
        batch_op.drop_index('ix_questions_model')

    op.drop_table('questions')
