"""The send budget that every process shares on PostgreSQL (storage/send_budget.py): recent sends and
each chat's bucket and 429 hold. Times are the database's clock in seconds since the epoch, so that
processes on several machines agree on them."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index
from sqlmodel import Field, SQLModel


class SendBudgetSendRow(SQLModel, table=True):
    """One send to Telegram by any process: in flight until finished_at; kept a minute (the window)."""

    __tablename__ = "send_budget_sends"
    __table_args__ = (Index("ix_send_budget_sends_finished", "finished_at"),
                      Index("ix_send_budget_sends_chat", "chat_id"))

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    interactive: bool = False  # an answer to a user (bulk sends leave room for these)
    started_at: float = Field(sa_column=Column(Float, nullable=False))
    finished_at: float | None = Field(default=None, sa_column=Column(Float, nullable=True))


class SendBudgetChatRow(SQLModel, table=True):
    """A chat's bucket (due: the theoretical time of its next send) and 429 hold; chat 0 (no Telegram
    chat has that id) holds the whole bot."""

    __tablename__ = "send_budget_chats"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    due: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    held_until: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
