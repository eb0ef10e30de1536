"""The content as it is in the database (pack + cockpit edits), as the entries of a pack.

`current_files` gives the live entries per pack file, as the loader reads them from YAML; the cockpit's
edits are checked on it (storage/content_edits.py), a load checks what it keeps from the cockpit on it
(storage/content_sync.py), and `export_pack` writes it as a pack folder (`lotse content export DIR`)
that `lotse content load` accepts and that changes nothing when loaded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from flows.domain.content_edit import ARCHIVED, COCKPIT
from flows.domain.offer_import import SOURCE as IMPORTED
from storage.tables import ClusterRow, CompanyRow, ContentColumns, EventRow, FaqRow, ProfessionRow, VacancyRow
from storage.tables_quiz import QuizQuestionRow
from storage.uow import SqlUnitOfWorkFactory

TABLES: dict[str, type[ContentColumns]] = {  # pack file -> table, in the loader's order
    "clusters.yaml": ClusterRow,
    "professions.yaml": ProfessionRow,
    "companies.yaml": CompanyRow,
    "vacancies.yaml": VacancyRow,
    "events.yaml": EventRow,
    "quiz.yaml": QuizQuestionRow,
    "faq.yaml": FaqRow,
}


async def live_rows(session: AsyncSession, table: type[ContentColumns]) -> list[ContentColumns]:
    order = col(QuizQuestionRow.position) if table is QuizQuestionRow else col(table.id)
    query = select(table).where(col(table.archived).is_(False)).order_by(order)
    if table is VacancyRow:  # imported offers are no pack entries (storage/offer_imports.py)
        query = query.where(VacancyRow.origin != IMPORTED)
    rows = await session.execute(query)
    return list(rows.scalars().all())


async def current_files(session: AsyncSession) -> dict[str, list[dict[str, Any]]]:
    """Pack file -> its live entries (the stored `data`), in pack order."""
    return {file: [dict(row.data) for row in await live_rows(session, table)] for file, table in TABLES.items()}


class _PackDumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if value.isdigit():  # postal codes: the loader insists on quotes (YAML would read 01454 as a number)
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_str(value)


_PackDumper.add_representer(str, _text)


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _note(row: ContentColumns) -> str:
    """A comment above entries the cockpit created or changed, for whoever merges the export into the pack."""
    origin = getattr(row, "origin", None)
    overrides: dict[str, Any] = getattr(row, "overrides", None) or {}
    if origin == COCKPIT:
        return "# created in the cockpit\n"
    edited = sorted(k for k in overrides if k != ARCHIVED)
    return f"# edited in the cockpit: {', '.join(edited)}\n" if edited else ""


def dump_entries(rows: list[ContentColumns]) -> str:
    parts = []
    for row in rows:
        text = yaml.dump([_without_none(row.data)], Dumper=_PackDumper, allow_unicode=True, sort_keys=False,
                         width=110)
        parts.append(_note(row) + text)
    return "\n".join(parts)


@dataclass
class ExportReport:
    entries: dict[str, int] = field(default_factory=dict)  # pack file -> entries written
    from_cockpit: dict[str, int] = field(default_factory=dict)  # of those, created or edited in the cockpit


HEADER = ("# Written by `lotse content export`: the content pack with the web cockpit's edits.\n"
          "# Entries created or changed in the cockpit are marked with a comment.\n\n")


async def export_pack(uow_factory: SqlUnitOfWorkFactory, directory: Path) -> ExportReport:
    """Write the files of a pack into `directory` (created if need be; other files are left alone)."""
    directory.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    texts: dict[str, str] = {}
    async with uow_factory() as uow:
        for file, table in TABLES.items():
            rows = await live_rows(uow.session, table)
            texts[file] = HEADER + dump_entries(rows)
            report.entries[file] = len(rows)
            report.from_cockpit[file] = sum(1 for row in rows if _note(row))
    for file, text in texts.items():
        (directory / file).write_text(text, encoding="utf-8")
    return report
