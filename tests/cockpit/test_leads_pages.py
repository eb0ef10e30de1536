"""Issue 12, point 3: the leads page, a lead's history, exports – contacts only when asked for and
covered by the consent, and nothing of another cluster's."""
from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook

from flows.core.model import ConsentRecord, Profile
from flows.domain.lead import CONSENT_PURPOSE, CONSENT_VERSION, Lead, LeadStatus
from tests.cockpit.conftest import OTHER_AGENT, CockpitUnderTest

COMPANY = "zittauer-gebirgsbau"  # a company of Die Zukunftsmacher in the demo pack


async def _lead(cockpit: CockpitUnderTest, chat: int, status: LeadStatus, consent: bool = True,
                first_name: str = "Mia") -> int:
    now = cockpit.clock.now()
    async with cockpit.app.uow_factory() as uow:
        young = await uow.users.save(Profile(channel="telegram", chat_id=chat, role="teen", age_band="16_17",
                                             cluster="zukunftsmacher", onboarded=True, created_at=now,
                                             last_seen_at=now))
        assert young.id is not None
        consent_id = None
        if consent:
            record = await uow.consents.add(young.id, ConsentRecord(
                purpose=CONSENT_PURPOSE, text_version=CONSENT_VERSION, given_by="self", given_at=now,
                recipients=[COMPANY]))
            consent_id = record.id
        lead, _ = await uow.leads.add_once(Lead(
            user_id=young.id, company=COMPANY, target=f"company:{COMPANY}", status=status, created_at=now,
            status_at=now, delivered_at=now if status is not LeadStatus.WAITING_PARENT else None, consent_id=consent_id,
            shared={"first_name": first_name, "phone": "+4915112345678", "place": "Löbau", "title": "Maurer"}))
        await uow.commit()
    assert lead.id is not None
    return lead.id


async def test_the_pipeline_shows_silent_companies_first_and_a_leads_history(cockpit: CockpitUnderTest) -> None:
    old = await _lead(cockpit, 6001, LeadStatus.DELIVERED)
    cockpit.clock.advance(days=10)
    new = await _lead(cockpit, 6002, LeadStatus.CONTACTED, first_name="Ben")
    browser = await cockpit.signed_in()
    page = await (await browser.get("/anfragen")).text()
    assert "Betriebe ohne Rückmeldung" in page and "Zittauer Gebirgsbau" in page
    assert page.index(f"Nr. {old}") < page.index(f"Nr. {new}")  # the silent one first
    assert "Mia" not in page and "+4915112345678" not in page  # no contact details in the list
    detail = await (await browser.get(f"/anfragen/{old}")).text()
    assert "Kontaktdaten zeigen" in detail and "+4915112345678" not in detail
    shown = await (await browser.get(f"/anfragen/{old}?kontakt=1")).text()
    assert "+4915112345678" in shown and "Mia" in shown
    async with cockpit.app.uow_factory() as uow:
        assert [(a.action, a.subject) for a in await uow.cockpit.audit("zukunftsmacher")][0] == \
            ("lead_contact_viewed", f"lead:{old}")


async def test_no_contact_details_where_the_consent_does_not_cover_them(cockpit: CockpitUnderTest) -> None:
    waiting = await _lead(cockpit, 6003, LeadStatus.WAITING_PARENT, consent=False)
    browser = await cockpit.signed_in()
    page = await (await browser.get(f"/anfragen/{waiting}?kontakt=1")).text()
    assert "+4915112345678" not in page and "nicht sichtbar" in page


async def test_exports_hold_contacts_only_when_asked_for_and_record_it(cockpit: CockpitUnderTest) -> None:
    covered = await _lead(cockpit, 6004, LeadStatus.DELIVERED, first_name="=HYPERLINK(\"x\")")
    waiting = await _lead(cockpit, 6005, LeadStatus.WAITING_PARENT, consent=False, first_name="Lea")
    browser = await cockpit.signed_in()
    plain = await browser.get("/anfragen/export.csv")
    assert plain.headers["Content-Disposition"].startswith('attachment; filename="anfragen-zukunftsmacher-')
    rows = list(csv.reader(io.StringIO((await plain.read()).decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["Nr.", "Betrieb", "Worum es geht", "Stand"] and "Telefon" not in rows[0]
    assert {r[0] for r in rows[1:]} == {str(covered), str(waiting)}
    full = await browser.get("/anfragen/export.xlsx?kontakte=1")
    sheet = load_workbook(io.BytesIO(await full.read())).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    by_id = {row[0]: dict(zip(header, row)) for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert by_id[covered]["Telefon"] == "+4915112345678"
    assert by_id[covered]["Vorname"] == "=HYPERLINK(\"x\")"  # text, never a formula
    assert by_id[waiting]["Telefon"] is None and by_id[waiting]["Vorname"] is None
    async with cockpit.app.uow_factory() as uow:
        audit = await uow.cockpit.audit("zukunftsmacher")
    assert [(a.action, a.detail["with_contacts"]) for a in audit[:2]] == [("leads_exported", True),
                                                                         ("leads_exported", False)]


async def test_another_cluster_sees_none_of_these_leads(cockpit: CockpitUnderTest) -> None:
    lead = await _lead(cockpit, 6006, LeadStatus.DELIVERED)
    cockpit.clock.advance(days=1)
    other = await cockpit.signed_in(OTHER_AGENT)
    assert f"Nr. {lead}" not in await (await other.get("/anfragen")).text()
    assert (await other.get(f"/anfragen/{lead}")).status == 404
    assert (await other.get(f"/anfragen/{lead}?kontakt=1")).status == 404
    rows = (await (await other.get("/anfragen/export.csv?kontakte=1")).read()).decode("utf-8-sig").splitlines()
    assert len(rows) == 1  # headings only


async def test_a_long_list_comes_in_pages_of_a_hundred(cockpit: CockpitUnderTest) -> None:
    for chat in range(6100, 6230):  # 130 leads
        await _lead(cockpit, chat, LeadStatus.CONTACTED)
    browser = await cockpit.signed_in()
    def rows(page: str) -> int:
        return len(re.findall(r'<a href="/anfragen/\d+">', page))
    first = await (await browser.get("/anfragen")).text()
    assert rows(first) == 100 and "Seite 1 von 2" in first and "seite=2" in first
    second = await (await browser.get("/anfragen?seite=2")).text()
    assert rows(second) == 30 and "Seite 2 von 2" in second
    assert "Seite 1 von 2" in await (await browser.get("/anfragen?seite=99")).text()  # out of range: the first
    filtered = await (await browser.get("/anfragen?stand=contacted&seite=2")).text()
    assert "&amp;stand=contacted" in filtered and rows(filtered) == 30
