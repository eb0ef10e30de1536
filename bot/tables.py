"""A reply's table as the CSV file people open in Excel or LibreOffice: semicolons, UTF-8 with BOM,
headers and statuses in words, moments in local time."""
from __future__ import annotations

import csv
import io
from datetime import datetime

from flows.core.model import Document, Reply, Table
from prompts import Catalog


def csv_document(table: Table, catalog: Catalog, locale: str, formal: bool) -> Document:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow([catalog.render(key, locale=locale, formal=formal) for key in table.columns])
    for row in table.rows:
        writer.writerow([_cell(value, table.labels.get(i), catalog, locale, formal) for i, value in enumerate(row)])
    return Document(filename=table.filename, content=out.getvalue().encode("utf-8-sig"), mime_type="text/csv")


def _cell(value: str | int | datetime | None, label: str | None, catalog: Catalog, locale: str, formal: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return catalog.local(value)
    if label is not None:
        return catalog.render(f"{label}{value}", locale=locale, formal=formal)
    if isinstance(value, int):
        return str(value)
    return no_formula(value)


def no_formula(text: str) -> str:
    """Text that a spreadsheet would run as a formula (a name like "=HYPERLINK(...)") stays text.
    The cockpit's exports (cockpit/exports.py) use it too."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def with_table_as_document(reply: Reply, catalog: Catalog, locale: str, formal: bool) -> Reply:
    """The reply with its table turned into the CSV document the channel sends."""
    if reply.table is None:
        return reply
    document = csv_document(reply.table, catalog, locale, formal)
    return reply.model_copy(update={"table": None, "document": document})
