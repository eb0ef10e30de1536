"""The leads pipeline as files for Excel and LibreOffice: CSV and XLSX.

- Columns: `COLUMNS` (lead id, company, what it is about, status, asked on, last change, age in
  days, working days without the company's report when silent, else empty); with `with_contacts`
  also `CONTACT_COLUMNS` (first name, phone, e-mail, place). The caller passes the heading of every
  column and the words for the statuses (German words live in prompts/), so no word is written here.
- Contact details only where the lead's consent covers it (`contact_allowed` in
  flows/domain/lead_pipeline.py) and the field was shared with the company; all other contact cells
  stay empty. A lead whose details were not loaded (storage/pipeline.py without `with_contacts`)
  has none either.
- CSV as bot/tables.py writes the chat's CSV: UTF-8 with BOM and `;` between cells (what a German
  Excel opens with a double click), moments as local wall time "31.01.2027, 10:00", text that a
  spreadsheet would run as a formula (= + - @ at the start) prefixed with ' (`bot.tables.no_formula`).
- XLSX (openpyxl): a bold, frozen header row with a filter, column widths from the content, moments
  as real dates in local time, and every text cell stored as text: "=HYPERLINK(...)" stays the
  name someone typed, never a formula (quote prefix, so editing the cell keeps it text).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from bot.tables import no_formula
from flows.domain.lead_pipeline import PipelineLead, visible_contact
from prompts import local_time

COLUMNS = ("id", "company", "title", "status", "created_at", "status_at", "age_days", "silent_days")
CONTACT_COLUMNS = ("first_name", "phone", "email", "place")
XLSX_DATE_FORMAT = "DD.MM.YYYY HH:MM"
XLSX_MIME_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME_TYPE = "text/csv; charset=utf-8"
_MIN_WIDTH, _MAX_WIDTH = 6, 50

Value = str | int | datetime | None


def export_columns(with_contacts: bool = False) -> tuple[str, ...]:
    return COLUMNS + CONTACT_COLUMNS if with_contacts else COLUMNS


def _headings(columns: Mapping[str, str], keys: Sequence[str]) -> list[str]:
    missing = [key for key in keys if key not in columns]
    if missing:
        raise ValueError(f"no heading for the columns {missing}")
    return [columns[key] for key in keys]


def _rows(leads: Iterable[PipelineLead], keys: Sequence[str], statuses: Mapping[str, str] | None) -> list[list[Value]]:
    rows = []
    for lead in leads:
        contact = visible_contact(lead)
        values: dict[str, Value] = {
            "id": lead.id, "company": lead.company_name, "title": lead.title,
            "status": (statuses or {}).get(lead.stage, lead.stage), "created_at": lead.created_at,
            "status_at": lead.status_at, "age_days": lead.age_days,
            "silent_days": lead.silent_days if lead.silent else None,
            "first_name": contact.first_name, "phone": contact.phone, "email": contact.email, "place": contact.place}
        rows.append([values[key] for key in keys])
    return rows


def leads_csv(leads: Iterable[PipelineLead], columns: Mapping[str, str], *, zone: ZoneInfo,
              statuses: Mapping[str, str] | None = None, with_contacts: bool = False) -> bytes:
    """The leads as CSV: `columns` maps each column key to its heading, `statuses` each stage
    ("on_the_way", "delivered", …) to its word; moments in `zone`."""
    keys = export_columns(with_contacts)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow([no_formula(heading) for heading in _headings(columns, keys)])
    for row in _rows(leads, keys, statuses):
        writer.writerow([_csv_cell(value, zone) for value in row])
    return out.getvalue().encode("utf-8-sig")


def _csv_cell(value: Value, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_time(value, zone)
    if isinstance(value, int):
        return str(value)
    return no_formula(value)


def leads_xlsx(leads: Iterable[PipelineLead], columns: Mapping[str, str], *, zone: ZoneInfo,
               statuses: Mapping[str, str] | None = None, with_contacts: bool = False, sheet: str = "leads") -> bytes:
    """The leads as an Excel workbook with one sheet named `sheet`; arguments as for `leads_csv`."""
    keys = export_columns(with_contacts)
    book = Workbook()
    table = book.active
    assert table is not None
    table.title = _text(sheet)[:31] or "leads"  # Excel's limit for sheet names
    widths = []
    for number, heading in enumerate(_headings(columns, keys), start=1):
        _put(table.cell(row=1, column=number), heading, zone).font = Font(bold=True)
        widths.append(len(heading))
    for row_number, row in enumerate(_rows(leads, keys, statuses), start=2):
        for number, value in enumerate(row, start=1):
            _put(table.cell(row=row_number, column=number), value, zone)
            widths[number - 1] = max(widths[number - 1], _width(value))
    for number, width in enumerate(widths, start=1):
        table.column_dimensions[get_column_letter(number)].width = min(max(width + 2, _MIN_WIDTH), _MAX_WIDTH)
    table.freeze_panes = "A2"
    table.auto_filter.ref = f"A1:{get_column_letter(len(keys))}{table.max_row}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters: openpyxl would refuse the cell


def _put(cell: Cell | MergedCell, value: Value, zone: ZoneInfo) -> Cell:
    assert isinstance(cell, Cell)  # nothing is merged in these sheets
    if isinstance(value, datetime):
        cell.value = value.astimezone(zone).replace(tzinfo=None)  # Excel knows no zones: local wall time
        cell.number_format = XLSX_DATE_FORMAT
    elif isinstance(value, str):
        text = _text(value)
        cell.value = text
        cell.data_type = "s"  # text, even "=…": openpyxl would otherwise store a formula
        cell.quotePrefix = no_formula(text) != text  # and Excel keeps it text when someone edits it
    else:
        cell.value = value
    return cell


def _width(value: Value) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return len(XLSX_DATE_FORMAT)
    return len(str(value))
