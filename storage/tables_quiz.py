"""Tables of the Berufe-Check: the questions (content) and users' attempts (personal data)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from storage.tables import ContentColumns, user_id_field
from storage.types import UTCDateTime


class QuizQuestionRow(ContentColumns, table=True):
    __tablename__ = "quiz_questions"

    position: int = Field(index=True)  # order of the questions in the pack


class QuizAttemptRow(SQLModel, table=True):
    __tablename__ = "quiz_attempts"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = user_id_field()
    answers: dict[str, int] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=False)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    scores: dict[str, float] | None = Field(default=None, sa_type=JSON, nullable=True)
    top: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
