"""Issue 12, points 5 and 7: companies in the cockpit – edit with the content pack's checks, and the
company's contacts: invite one (link and QR code; the bot takes the invitation), see who is linked
(without their full chat id), withdraw an invitation, remove a contact (no more leads, queued ones
stopped, in the audit log); nothing of another cluster's companies."""
from __future__ import annotations

import io
import re

from PIL import Image
from sqlalchemy import select
from sqlmodel import col

from flows.core.context import reply
from flows.core.model import Event, EventKind, Profile, UserRef
from flows.delivery.company_delivery import notify_company
from flows.domain.lead import Lead, LeadStatus
from storage.tables import CompanyRow, OutboxRow
from tests.cockpit.conftest import OTHER_AGENT, Browser, CockpitUnderTest
from tests.cockpit.test_offers_pages import form_fields

COMPANY = "neisse-metallbau"  # Die Zukunftsmacher, Görlitz; offers industriemechaniker-in
OTHER_COMPANY = "saalefunke-automation"  # TAB_MINT's
INVITE_LINK_RE = re.compile(r"https://t\.me/AzubiLotseTestBot\?start=ci-([0-9a-f]{32})")


async def _company_page(browser: Browser, slug: str = COMPANY) -> str:
    response = await browser.get(f"/betriebe/{slug}")
    assert response.status == 200
    return await response.text()


async def _bot(cockpit: CockpitUnderTest, chat_id: int, payload: str) -> list[str]:
    """Someone opens a t.me link with this start payload: the reply keys of the real bot."""
    outcome = await cockpit.app.engine.handle(Event(user=UserRef(channel="telegram", chat_id=chat_id),
                                                    kind=EventKind.COMMAND, text="start", payload=payload))
    return [r.key for r in outcome.replies]


async def _invite(cockpit: CockpitUnderTest, browser: Browser) -> tuple[str, str]:
    """The agent invites a contact: (the invitation page's path, its token)."""
    created = await browser.post(f"/betriebe/{COMPANY}/einladen")
    assert created.status == 303, await created.text()
    path, notice = created.headers["Location"].split("?")
    assert notice == "hinweis=invite_created"
    page = await (await browser.get(created.headers["Location"])).text()
    found = INVITE_LINK_RE.search(page)
    assert found is not None and path == f"/betriebe/{COMPANY}/einladungen/{found.group(1)}"
    return path, found.group(1)


async def _outbox(cockpit: CockpitUnderTest) -> list[tuple[int, str, str]]:
    async with cockpit.app.uow_factory() as uow:
        rows = (await uow.session.execute(select(col(OutboxRow.chat_id), col(OutboxRow.reply),
                                                 col(OutboxRow.status)).where(col(OutboxRow.channel) == "telegram")))
        return sorted((chat_id, reply["key"], status) for chat_id, reply, status in rows.tuples().all())


async def test_an_agent_edits_a_company_with_the_packs_checks(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    listing = await (await browser.get("/betriebe")).text()
    assert f'href="/betriebe/{COMPANY}"' in listing and f'href="/betriebe/{OTHER_COMPANY}"' not in listing
    page = await _company_page(browser)
    untouched = await browser.post(f"/betriebe/{COMPANY}", form_fields(page, "company-form"))
    assert untouched.headers["Location"] == f"/betriebe/{COMPANY}?hinweis=nothing_changed"

    saved = await browser.post(f"/betriebe/{COMPANY}", form_fields(page, "company-form", size="60 Beschäftigte"))
    assert saved.headers["Location"] == f"/betriebe/{COMPANY}?hinweis=saved"
    after = await _company_page(browser)
    assert 'value="60 Beschäftigte"' in after and "im Cockpit geändert: Größe" in after

    wrong = await browser.post(f"/betriebe/{COMPANY}", form_fields(after, "company-form", place="Löbau",
                                                                   website="www.example.org"))
    assert wrong.status == 422
    text = await wrong.text()
    assert 'value="Löbau" aria-invalid="true" aria-describedby="place-error"' in text
    assert 'id="place-error">Dieser Ort gehört nicht zu der Postleitzahl.' in text
    assert 'id="website-error">Bitte eine Adresse angeben, die mit https:// oder http:// beginnt.' in text

    # A profession one of its offers still names cannot go.
    without = [(k, v) for k, v in form_fields(after, "company-form") if (k, v) != ("professions", "industriemechaniker-in")]
    in_use = await browser.post(f"/betriebe/{COMPANY}", without)
    assert in_use.status == 422 and 'id="professions-error">Ein Angebot des Betriebs nennt diesen Beruf noch' in \
        await in_use.text()

    # The first form again (stale): refused, the stored value is named.
    stale = await browser.post(f"/betriebe/{COMPANY}", form_fields(page, "company-form", size="70 Beschäftigte"))
    assert stale.status == 409
    assert "Jemand hat diesen Betrieb geändert" in (body := await stale.text()) and "<li>Größe: 60 Beschäftigte</li>" in body
    async with cockpit.app.uow_factory() as uow:
        audit = await uow.cockpit.audit("zukunftsmacher")
        size = (await uow.session.execute(select(col(CompanyRow.data)).where(col(CompanyRow.slug) == COMPANY))).scalar_one()
    assert [a.action for a in audit if a.action != "signed_in"] == ["company.edit"]
    assert size["size"] == "60 Beschäftigte"


async def test_inviting_a_contact_who_then_joins_in_the_bot(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    path, token = await _invite(cockpit, browser)
    async with cockpit.app.uow_factory() as uow:
        invitation = await uow.leads.invite(token)
        audit = await uow.cockpit.audit("zukunftsmacher")
    assert invitation is not None and invitation.company == COMPANY and invitation.used_at is None
    assert (audit[0].action, audit[0].subject) == ("contact_invited", f"company:{COMPANY}")
    assert token not in str(audit[0].detail)  # the link is a credential: not in the log
    png = await browser.get(path + "/qr.png")
    assert png.content_type == "image/png" and Image.open(io.BytesIO(await png.read())).size[0] >= 200
    svg = await browser.get(path + "/qr.svg")
    assert svg.content_type == "image/svg+xml" and "<svg" in await svg.text()
    assert f'href="{path}"' in await _company_page(browser)  # listed as open

    assert await _bot(cockpit, 917001, f"ci-{token}") == ["leads.contact_linked"]

    page = await _company_page(browser)
    assert "Telegram-Kontakt …7001" in page and "917001" not in page  # told apart, not exposed
    assert "verknüpft am 01.03.2027" in page and f'href="{path}"' not in page  # used: no longer open
    used = await (await browser.get(path)).text()
    assert "wurde am 01.03.2027" in used and "angenommen" in used and "ci-" + token not in used
    assert (await browser.get(path + "/qr.png")).status == 404
    assert await _bot(cockpit, 917002, f"ci-{token}") == ["leads.invite_invalid"]  # single use


async def test_a_withdrawn_invitation_no_longer_works(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    path, token = await _invite(cockpit, browser)
    withdrawn = await browser.post(path + "/zurueckziehen")
    assert withdrawn.headers["Location"] == f"/betriebe/{COMPANY}?hinweis=invite_withdrawn"
    assert "abgelaufen oder zurückgezogen" in await (await browser.get(path)).text()
    assert (await browser.get(path + "/qr.svg")).status == 404
    again = await browser.post(path + "/zurueckziehen")
    assert again.headers["Location"] == f"/betriebe/{COMPANY}?hinweis=invite_not_open"
    assert await _bot(cockpit, 917003, f"ci-{token}") == ["leads.invite_invalid"]
    async with cockpit.app.uow_factory() as uow:
        assert await uow.leads.contacts(COMPANY) == []
        assert (await uow.cockpit.audit("zukunftsmacher"))[0].action == "contact_invite_withdrawn"


async def test_removing_a_contact_stops_its_leads(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    for chat_id in (917001, 917002):
        _, token = await _invite(cockpit, browser)
        assert await _bot(cockpit, chat_id, f"ci-{token}") == ["leads.contact_linked"]
    now = cockpit.clock.now()
    async with cockpit.app.uow_factory() as uow:  # a lead on its way to both contacts, not sent yet
        young = await uow.users.save(Profile(channel="telegram", chat_id=9800, role="teen", created_at=now))
        assert young.id is not None
        lead, _ = await uow.leads.add_once(Lead(user_id=young.id, company=COMPANY, target=f"company:{COMPANY}",
                                                status=LeadStatus.DELIVERED, created_at=now, status_at=now))
        company = await uow.content.company(COMPANY)
        assert company is not None
        await notify_company(uow, company, reply("leads.company_new", lead_id=lead.id), now,
                             f"lead:{lead.id}:{{target}}:new")
        await uow.commit()

    [item] = [li for li in (await _company_page(browser)).split("<li>") if "Telegram-Kontakt …7001" in li]
    removal = re.search(r'action="(/betriebe/neisse-metallbau/kontakte/\d+/entfernen)"', item)
    assert removal is not None
    removed = await browser.post(removal.group(1))
    assert removed.headers["Location"] == f"/betriebe/{COMPANY}?hinweis=contact_removed&n=1"

    after = await (await browser.get(removed.headers["Location"])).text()
    assert "…7001" not in after and "…7002" in after and "Noch nicht verschickte Anfragen an ihn sind gestoppt." in after
    assert await _outbox(cockpit) == [(917001, "leads.company_new", "dropped"),
                                      (917002, "leads.company_new", "pending")]
    async with cockpit.app.uow_factory() as uow:
        assert await uow.leads.contacts(COMPANY) == [("telegram", 917002)]
        assert await uow.leads.companies_of("telegram", 917001) == []  # /anfragen shows nothing any more
        [entry] = [a for a in await uow.cockpit.audit("zukunftsmacher") if a.action == "contact_removed"]
        company = await uow.content.company(COMPANY)
        assert company is not None
        await notify_company(uow, company, reply("leads.company_reminder", lead_id=lead.id), now,
                             f"lead-reminder:{lead.id}:{{target}}")
        await uow.commit()
    assert (entry.subject, entry.actor, entry.detail) == (f"company:{COMPANY}", "telegram:900",
                                                          {"contact": "telegram:…7001", "stopped": 1})
    assert [(c, k) for c, k, _ in await _outbox(cockpit) if k == "leads.company_reminder"] == \
        [(917002, "leads.company_reminder")]  # the removed contact gets no more leads
    assert (await browser.post(removal.group(1))).status == 404  # gone already


async def test_another_clusters_company_is_not_found(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    path, token = await _invite(cockpit, browser)
    assert await _bot(cockpit, 917001, f"ci-{token}") == ["leads.contact_linked"]
    contact = re.search(r'/betriebe/neisse-metallbau/kontakte/(\d+)/entfernen', await _company_page(browser))
    _, open_token = await _invite(cockpit, browser)
    assert contact is not None

    other = await cockpit.signed_in(OTHER_AGENT)  # TAB_MINT
    assert f"/betriebe/{COMPANY}" not in await (await other.get("/betriebe")).text()
    open_path = f"/betriebe/{COMPANY}/einladungen/{open_token}"
    for get in (f"/betriebe/{COMPANY}", path, open_path, open_path + "/qr.png", open_path + "/qr.svg"):
        assert (await other.get(get)).status == 404, get
    for post in (f"/betriebe/{COMPANY}", f"/betriebe/{COMPANY}/einladen", open_path + "/zurueckziehen",
                 f"/betriebe/{COMPANY}/kontakte/{contact.group(1)}/entfernen"):
        assert (await other.post(post, {"name": "Gekapert"})).status == 404, post
    # Their own company with our invitation or our contact in the path: not found either.
    assert (await other.get(f"/betriebe/{OTHER_COMPANY}/einladungen/{open_token}")).status == 404
    assert (await other.post(f"/betriebe/{OTHER_COMPANY}/kontakte/{contact.group(1)}/entfernen")).status == 404
    async with cockpit.app.uow_factory() as uow:
        assert await uow.leads.contacts(COMPANY) == [("telegram", 917001)]
        invitation = await uow.leads.invite(open_token)
        assert invitation is not None and invitation.expires_at > cockpit.clock.now()
        assert [a.action for a in await uow.cockpit.audit("tab-mint")] == ["signed_in"]
    assert await _bot(cockpit, 917002, f"ci-{open_token}") == ["leads.contact_linked"]  # still open


async def test_forms_without_the_csrf_token_are_refused(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    page = await _company_page(browser)
    assert (await browser.post(f"/betriebe/{COMPANY}/einladen", csrf=False)).status == 403
    assert (await browser.post(f"/betriebe/{COMPANY}", form_fields(page, "company-form", name="X"),
                               csrf=False)).status == 403
    async with cockpit.app.uow_factory() as uow:
        assert [a.action for a in await uow.cockpit.audit("zukunftsmacher")] == ["signed_in"]
