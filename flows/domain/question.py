"""A free question someone typed, kept while something still has to happen with it (issue 13):
a language model's answer being prepared (`model`), or the cluster team asked on the person's
request (`team`). Only the question with personal data scrubbed out is kept (flows.domain.answers.scrub),
never the person's name or contact; the team sees the question and nothing else of them."""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

QUESTION_TEXT_MAX = 2000  # the hard cap (answers.QUESTION_HARD_MAX); the conversation reads fewer
TEAM_ANSWER_MAX = 2000  # an agent's answer: one Telegram message with the question around it
MODEL_ANSWER_EXPIRES = timedelta(hours=1)  # an answer that could not be sent within this is stale
KEEP_UNSENT = timedelta(days=7)  # a question nobody sent to the team is deleted after this
KEEP_TEAM = timedelta(days=180)  # a team question, answered or not, is deleted after this
TEAM_CONSENT_PURPOSE = "team_question"
TEAM_CONSENT_VERSION = "team-question-2026-12"


class ModelState(StrEnum):
    NONE = "none"  # no model asked (offline, over the person's hourly limit, nothing found)
    PENDING = "pending"  # the answer worker (flows/jobs/answers.py) will ask the model
    DONE = "done"  # answered, or the bot's own pages sent instead


class TeamState(StrEnum):
    NONE = "none"  # not sent to the team
    OPEN = "open"  # sent to the cluster's agents, not yet answered
    ANSWERED = "answered"


class Question(BaseModel):
    id: int | None = None
    user_id: int
    text: str = Field(min_length=1, max_length=QUESTION_TEXT_MAX)  # scrubbed
    cluster: str | None = None  # the asker's cluster: whose team may see it
    audience: Literal["teens", "parents"] | None = None  # which FAQ answers suit the asker
    form: Literal["du", "sie"] = "du"
    locale: str = "de"
    asked_at: datetime
    model: ModelState = ModelState.NONE
    model_lease_until: datetime | None = None  # a worker's claim; after it, another may take over
    team: TeamState = TeamState.NONE
    team_asked_at: datetime | None = None
    consent_id: int | None = None  # the asker's consent to send it to the team
    reminded_at: datetime | None = None  # the agents were reminded of it (after one working day)
    answer: str | None = Field(default=None, max_length=TEAM_ANSWER_MAX)  # the team's answer
    answered_by: str | None = None  # "telegram:<chat id>" of the agent (staff, not the asker)
    answered_at: datetime | None = None
    faq_slug: str | None = None  # the FAQ entry an agent made of it

    @property
    def formal(self) -> bool:
        return self.form == "sie"
