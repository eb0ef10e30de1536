"""The cockpit's lead exports read back: CSV (as Excel opens it) and XLSX (openpyxl) hold the right
rows, no contact details unless asked for and covered by the consent, and no formula ever runs."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from cockpit.exports import COLUMNS, CONTACT_COLUMNS, export_columns, leads_csv, leads_xlsx
from flows.domain.lead import CONSENT_PURPOSE, CONSENT_VERSION, LeadStatus
from flows.domain.lead_pipeline import LeadConsent, PipelineLead, pipeline_lead

BERLIN = ZoneInfo("Europe/Berlin")
CREATED = datetime(2027, 1, 31, 9, tzinfo=UTC)  # 10:00 in Germany (winter)
NOW = CREATED + timedelta(days=12)
HEADINGS = {"id": "Nr.", "company": "Betrieb", "title": "Worum", "status": "Stand", "created_at": "Angefragt am",
            "status_at": "Stand seit", "age_days": "Alter (Tage)", "silent_days": "Ohne Rückmeldung (Werktage)",
            "first_name": "Vorname", "phone": "Telefon", "email": "E-Mail", "place": "Wohnort"}
STATUSES = {"on_the_way": "unterwegs zum Betrieb", "delivered": "beim Betrieb angekommen",
            "contacted": "Betrieb hat sich gemeldet", "withdrawn": "zurückgezogen", "waiting_parent": "wartet"}


def _lead(lead_id: int, status: LeadStatus, first_name: str = "Tom", consent: bool = True,
          company: str = "zittauer-gebirgsbau", title: str = "Ausbildung Maurer:in") -> PipelineLead:
    record = LeadConsent(id=lead_id, purpose=CONSENT_PURPOSE, given_by="self", text_version=CONSENT_VERSION,
                         given_at=CREATED, recipients=(company,)) if consent else None
    shared = {"first_name": first_name, "phone": "+491712345678", "email": None, "place": "Löbau", "title": title,
              "about": "offer"}
    return pipeline_lead(id=lead_id, company=company, company_name="Zittauer Gebirgsbau", target="vacancy:x",
                         status=status, shared=shared, created_at=CREATED,
                         delivered_at=None if status is LeadStatus.WAITING_PARENT else CREATED,
                         status_at=CREATED + timedelta(days=1), history=[], now=NOW, consent=record,
                         with_contact=True)


LEADS = [_lead(1, LeadStatus.DELIVERED), _lead(2, LeadStatus.CONTACTED, first_name="Ida"),
         _lead(3, LeadStatus.WAITING_PARENT, first_name="Kim"), _lead(4, LeadStatus.WITHDRAWN, first_name="Ole"),
         _lead(5, LeadStatus.DELIVERED, first_name="Mia", consent=False)]


def _csv(**options: Any) -> list[list[str]]:
    content = leads_csv(LEADS, HEADINGS, zone=BERLIN, statuses=STATUSES, **options)
    assert content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def _xlsx(**options: Any) -> list[list[Any]]:
    book = load_workbook(io.BytesIO(leads_xlsx(LEADS, HEADINGS, zone=BERLIN, statuses=STATUSES, **options)))
    sheet = book.active
    assert sheet is not None
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_csv_without_contact_details_by_default() -> None:
    header, *rows = _csv()
    assert header == [HEADINGS[c] for c in COLUMNS]
    assert rows[0] == ["1", "Zittauer Gebirgsbau", "Ausbildung Maurer:in", "beim Betrieb angekommen",
                       "31.01.2027, 10:00", "01.02.2027, 10:00", "12", "10"]  # a Sunday: silent for 10 working days
    assert [row[0] for row in rows] == ["1", "2", "3", "4", "5"] and [row[7] for row in rows[1:]] == ["", "", "", "10"]
    assert rows[2][3] == "wartet" and rows[3][3] == "zurückgezogen"
    text = ";".join(";".join(row) for row in rows)
    assert "Tom" not in text and "+49" not in text and "Löbau" not in text


def test_csv_with_contacts_only_for_leads_the_consent_covers() -> None:
    header, *rows = _csv(with_contacts=True)
    assert header[-4:] == ["Vorname", "Telefon", "E-Mail", "Wohnort"]
    contacts = {row[0]: row[-4:] for row in rows}
    assert contacts["1"] == ["Tom", "'+491712345678", "", "Löbau"]  # a phone number stays text, not a sum
    assert contacts["2"] == ["Ida", "'+491712345678", "", "Löbau"]
    for lead_id in ("3", "4", "5"):  # waiting for a parent, withdrawn, without a consent
        assert contacts[lead_id] == ["", "", "", ""]


def test_xlsx_without_contact_details_by_default_with_real_local_dates() -> None:
    header, *rows = _xlsx()
    assert header == [HEADINGS[c] for c in COLUMNS]
    assert rows[0] == [1, "Zittauer Gebirgsbau", "Ausbildung Maurer:in", "beim Betrieb angekommen",
                       datetime(2027, 1, 31, 10), datetime(2027, 2, 1, 10), 12, 10]
    assert [row[0] for row in rows] == [1, 2, 3, 4, 5] and all(len(row) == len(COLUMNS) for row in rows)
    assert not any(v in ("Tom", "+491712345678", "Löbau") for row in rows for v in row)


def test_xlsx_with_contacts_only_for_covered_leads_and_a_usable_sheet() -> None:
    content = leads_xlsx(LEADS, HEADINGS, zone=BERLIN, statuses=STATUSES, with_contacts=True, sheet="Leads")
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None and sheet.title == "Leads"
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][-4:] == ["Vorname", "Telefon", "E-Mail", "Wohnort"]
    contacts = {row[0]: row[-4:] for row in rows[1:]}
    assert contacts[1] == ["Tom", "+491712345678", None, "Löbau"] and contacts[2][0] == "Ida"
    assert contacts[3] == contacts[4] == contacts[5] == [None, None, None, None]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold and sheet.auto_filter.ref == "A1:L6"
    assert sheet["E2"].is_date and sheet["E2"].number_format == "DD.MM.YYYY HH:MM"
    assert 6 <= sheet.column_dimensions["B"].width <= 50


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x.example","klick")', "+1+1", "-2+3", "@SUM(A1)"])
def test_a_name_that_looks_like_a_formula_stays_text(name: str) -> None:
    lead = _lead(1, LeadStatus.CONTACTED, first_name=name, title=name)
    [_, row] = list(csv.reader(io.StringIO(leads_csv([lead], HEADINGS, zone=BERLIN, with_contacts=True)
                                            .decode("utf-8-sig")), delimiter=";"))
    assert row[2] == row[-4] == "'" + name  # what it is about and the first name
    book = load_workbook(io.BytesIO(leads_xlsx([lead], HEADINGS, zone=BERLIN, with_contacts=True)))
    sheet = book.active
    assert sheet is not None
    for cell in (sheet["C2"], sheet["I2"]):
        assert cell.value == name and cell.data_type == "s" and cell.quotePrefix  # text, never a formula


def test_every_column_needs_its_heading_and_statuses_fall_back_to_their_key() -> None:
    with pytest.raises(ValueError, match="first_name"):
        leads_csv(LEADS, {c: c for c in COLUMNS}, zone=BERLIN, with_contacts=True)
    with pytest.raises(ValueError, match="silent_days"):
        leads_xlsx(LEADS, {c: c for c in COLUMNS[:-1]}, zone=BERLIN)
    [_, row] = list(csv.reader(io.StringIO(leads_csv(LEADS[:1], HEADINGS, zone=BERLIN).decode("utf-8-sig")),
                               delimiter=";"))
    assert row[3] == "delivered"
    assert export_columns() == COLUMNS and export_columns(True) == COLUMNS + CONTACT_COLUMNS


def test_control_characters_do_not_break_the_workbook() -> None:
    lead = _lead(1, LeadStatus.CONTACTED, title="Bäcker\x00in\x07")
    sheet = load_workbook(io.BytesIO(leads_xlsx([lead], HEADINGS, zone=BERLIN))).active
    assert sheet is not None and sheet["C2"].value == "Bäckerin"
