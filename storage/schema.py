"""Every table module, imported once, so SQLModel.metadata knows the whole schema (Alembic, tests)."""
from __future__ import annotations

from sqlmodel import SQLModel

import storage.tables  # noqa: F401
import storage.tables_events  # noqa: F401
import storage.tables_leads  # noqa: F401
import storage.tables_quiz  # noqa: F401
import storage.tables_vacancies  # noqa: F401

metadata = SQLModel.metadata
