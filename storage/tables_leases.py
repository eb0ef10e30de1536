"""Leases: a job only one process may do at a time (long polling of one bot token), held while renewed."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class LeaseRow(SQLModel, table=True):
    __tablename__ = "leases"

    name: str = Field(max_length=32, primary_key=True)
    holder: str = Field(max_length=128)  # "<host>:<pid>" of the process that holds it
    acquired_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False)
