"""What users keep of the offers: marks (Merken, Interessiert mich) and saved searches."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.tables import user_id_field
from storage.types import UTCDateTime


class VacancyMarkRow(SQLModel, table=True):
    __tablename__ = "vacancy_marks"
    __table_args__ = (UniqueConstraint("user_id", "vacancy", "mark", name="uq_vacancy_marks"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_id_field()
    vacancy: str = Field(max_length=48)  # slug: stays valid when the offer is archived
    mark: str = Field(max_length=16)  # saved | interested
    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False)


class SavedSearchRow(SQLModel, table=True):
    __tablename__ = "saved_searches"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_id_field()
    filters: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False)
    notified_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class VacancyFiltersRow(SQLModel, table=True):
    """The filters the user last searched offers with (radius, kind, profession): /stellen starts there."""

    __tablename__ = "vacancy_filters"

    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True))
    filters: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False)
