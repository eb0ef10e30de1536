"""Runs of an offer import (`lotse offers import ba`): where a run is (its cursor), so a run that stopped
half-way (a crash, a deploy) goes on from the last written page instead of starting again."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class OfferImportRow(SQLModel, table=True):
    __tablename__ = "offer_imports"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)  # "ba": the Arbeitsagentur's job search
    scope: str = Field(max_length=48)  # a cluster's slug, or "all"
    status: str = Field(max_length=16)  # running | done | failed
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False, index=True)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False)  # the last page written
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # {"query": index of the search being read, "page": the next page}: see imports/ba.py
    cursor: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    complete: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)  # searches read to their end
    counts: dict[str, int] = Field(default_factory=dict, sa_type=JSON, nullable=False)
