"""commutes: travel times by bus and train per home area and destination, planned per school day (issue 16)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 22:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('commute_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('network', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('day_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('service_day', sa.Date(), nullable=False),
    sa.Column('feeds', sa.JSON(), nullable=False),
    sa.Column('planned_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('commute_destinations',
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('homes', sa.Integer(), nullable=False),
    sa.Column('planned_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('generation', 'lat', 'lon')
    )
    op.create_table('commutes',
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('home_lat', sa.Float(), nullable=False),
    sa.Column('home_lon', sa.Float(), nullable=False),
    sa.Column('dest_lat', sa.Float(), nullable=False),
    sa.Column('dest_lon', sa.Float(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('changes', sa.Integer(), nullable=False),
    sa.Column('walk_minutes', sa.Integer(), nullable=False),
    sa.Column('leave', sa.Integer(), nullable=False),
    sa.Column('arrive', sa.Integer(), nullable=False),
    sa.Column('first_arrival', sa.Integer(), nullable=True),
    sa.Column('back_arrival', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('generation', 'home_lat', 'home_lon', 'dest_lat', 'dest_lon')
    )


def downgrade() -> None:
    op.drop_table('commutes')
    op.drop_table('commute_destinations')
    op.drop_table('commute_plans')
