"""Every table module, imported once, so SQLModel.metadata knows the whole schema (Alembic, tests)."""
from __future__ import annotations

from sqlmodel import SQLModel

import storage.tables
import storage.tables_broadcasts
import storage.tables_cockpit
import storage.tables_commutes
import storage.tables_events
import storage.tables_imports
import storage.tables_leads
import storage.tables_leases
import storage.tables_questions
import storage.tables_quiz
import storage.tables_send_budget
import storage.tables_vacancies  # noqa: F401

metadata = SQLModel.metadata
NOT_MODELLED = ("search_fts",)  # SQLite's FTS5 index and its shadow tables: made by migration 0012 only
# PostgreSQL's stored tsvector of search_docs and its GIN index: made by migration 0013 only
NOT_MODELLED_ON_POSTGRES = {("column", "terms_tsv"), ("index", "ix_search_docs_terms_tsv")}


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """For Alembic's comparisons: tables, columns and indexes that have no model on purpose are not "to
    be dropped"."""
    if (type_, name) in NOT_MODELLED_ON_POSTGRES:
        return False
    return not (type_ == "table" and name is not None and name.startswith(NOT_MODELLED))
