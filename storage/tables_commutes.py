"""Commutes by bus and train, planned by the planning job (bot/commute_job.py) per home area and destination
(places of the postcode table, keyed by their coordinates, as offers are) for a school day.

A plan is written as a new generation beside the one in use, then switched to in one statement: people never
see a half-planned night. NULL minutes: planned, and nothing arrives by 08:00.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class CommutePlanRow(SQLModel, table=True):
    """The plan in use (one row, id 1): its generation of `commutes`, and what it was planned from."""

    __tablename__ = "commute_plans"

    id: int = Field(default=1, primary_key=True)
    generation: int
    network: str = Field(max_length=64)  # the network file's SHA-256: a new load plans everything again
    day_type: str = Field(max_length=16)  # "school"
    service_day: date
    feeds: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON, nullable=False)  # name, publisher, licence, url
    planned_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False)
    complete: bool = False  # every destination known when it was planned


class CommuteDestinationRow(SQLModel, table=True):
    """A destination planned in a generation (for all home areas within reach)."""

    __tablename__ = "commute_destinations"

    generation: int = Field(primary_key=True)
    lat: float = Field(primary_key=True)
    lon: float = Field(primary_key=True)
    homes: int = 0  # home areas planned
    planned_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False)


class CommuteRow(SQLModel, table=True):
    __tablename__ = "commutes"

    generation: int = Field(primary_key=True)
    home_lat: float = Field(primary_key=True)
    home_lon: float = Field(primary_key=True)
    dest_lat: float = Field(primary_key=True)
    dest_lon: float = Field(primary_key=True)
    minutes: int | None = None  # NULL: no connection by 08:00
    changes: int = 0
    walk_minutes: int = 0
    leave: int = 0  # seconds after midnight
    arrive: int = 0
    first_arrival: int | None = None  # NULL: on foot
    back_arrival: int | None = None  # NULL: no way back within 3 hours after 16:00
