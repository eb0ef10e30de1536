"""Free questions waiting for a model's answer or sent to the cluster team (flows/domain/question.py)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


class QuestionRow(SQLModel, table=True):
    __tablename__ = "questions"
    __table_args__ = (
        Index("ix_questions_model", "model", "model_lease_until"),
        Index("ix_questions_team", "cluster", "team", "team_asked_at"),
        Index("ix_questions_user_asked", "user_id", "asked_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Deleting a person deletes their questions (team answers included).
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    cluster: str | None = Field(default=None, max_length=48)
    audience: str | None = Field(default=None, max_length=16)
    form: str = Field(max_length=3)
    locale: str = Field(max_length=8)
    asked_at: datetime | None = _ts(nullable=False)
    model: str = Field(max_length=16)
    model_lease_until: datetime | None = _ts()
    team: str = Field(max_length=16)
    team_asked_at: datetime | None = _ts()
    consent_id: int | None = None
    reminded_at: datetime | None = _ts()
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_by: str | None = Field(default=None, max_length=64)
    answered_at: datetime | None = _ts()
    faq_slug: str | None = Field(default=None, max_length=48)
