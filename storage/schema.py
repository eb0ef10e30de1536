"""Every table module, imported once, so SQLModel.metadata knows the whole schema (Alembic, tests)."""
from __future__ import annotations

from sqlmodel import SQLModel

import storage.tables
import storage.tables_broadcasts
import storage.tables_cockpit
import storage.tables_events
import storage.tables_leads
import storage.tables_quiz
import storage.tables_vacancies  # noqa: F401

metadata = SQLModel.metadata
