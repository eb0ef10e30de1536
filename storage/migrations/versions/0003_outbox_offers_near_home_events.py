"""outbox, offers near home, events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 08:35:57.756444
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


import storage.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # An index on `archived` (almost all rows live) made SQLite scan every offer instead of the lat band.
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clusters_archived'))

    with op.batch_alter_table('professions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_professions_archived'))

    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_companies_archived'))

    with op.batch_alter_table('vacancies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vacancies_archived'))

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_archived'))

    with op.batch_alter_table('quiz_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quiz_questions_archived'))

    # Existing rows get 0 for the new coordinates; `lotse content load` fills them in.
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('reply', sa.JSON(), nullable=False),
    sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('formal', sa.Boolean(), nullable=False),
    sa.Column('minor', sa.Boolean(), nullable=False),
    sa.Column('due_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_channel_chat', ['channel', 'chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_idempotency_key'), ['idempotency_key'], unique=True)
        batch_op.create_index('ix_outbox_status_due_at', ['status', 'due_at'], unique=False)

    op.create_table('event_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('stars', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'event', name='uq_event_feedback')
    )
    with op.batch_alter_table('event_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_feedback_user_id'), ['user_id'], unique=False)

    op.create_table('event_rsvps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('offsets', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'event', name='uq_event_rsvps')
    )
    with op.batch_alter_table('event_rsvps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_rsvps_event'), ['event'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_rsvps_user_id'), ['user_id'], unique=False)

    op.create_table('saved_searches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('notified_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('saved_searches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_searches_user_id'), ['user_id'], unique=False)

    op.create_table('vacancy_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('vacancy', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('mark', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'vacancy', 'mark', name='uq_vacancy_marks')
    )
    with op.batch_alter_table('vacancy_marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vacancy_marks_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lat', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('lon', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('sequence', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('vacancies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lat', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('lon', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('school_level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.create_index('ix_vacancies_near', ['lat', 'lon', 'archived', 'start', 'published', 'kind',
                                                   'profession', 'school_level', 'slug'], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clusters_archived'), ['archived'], unique=False)

    with op.batch_alter_table('professions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_professions_archived'), ['archived'], unique=False)

    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_companies_archived'), ['archived'], unique=False)

    with op.batch_alter_table('vacancies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vacancies_archived'), ['archived'], unique=False)

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_archived'), ['archived'], unique=False)

    with op.batch_alter_table('quiz_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_questions_archived'), ['archived'], unique=False)

    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('vacancies', schema=None) as batch_op:
        batch_op.drop_index('ix_vacancies_near')
        batch_op.drop_column('school_level')
        batch_op.drop_column('lon')
        batch_op.drop_column('lat')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('sequence')
        batch_op.drop_column('lon')
        batch_op.drop_column('lat')

    with op.batch_alter_table('vacancy_marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vacancy_marks_user_id'))

    op.drop_table('vacancy_marks')
    with op.batch_alter_table('saved_searches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_searches_user_id'))

    op.drop_table('saved_searches')
    with op.batch_alter_table('event_rsvps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_rsvps_user_id'))
        batch_op.drop_index(batch_op.f('ix_event_rsvps_event'))

    op.drop_table('event_rsvps')
    with op.batch_alter_table('event_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_feedback_user_id'))

    op.drop_table('event_feedback')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_due_at')
        batch_op.drop_index(batch_op.f('ix_outbox_idempotency_key'))
        batch_op.drop_index('ix_outbox_channel_chat')

    op.drop_table('outbox')
    # ### end Alembic commands ###
