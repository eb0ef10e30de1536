"""Issue 12, point 5: offers in the cockpit – create (saved searches are told), edit with the content
pack's checks (field errors next to their input, what was typed kept), a stale form, archive and
restore; nothing of another cluster's offers; forms without the CSRF token refused."""
from __future__ import annotations

import re
from html.parser import HTMLParser

from sqlalchemy import select
from sqlmodel import col

from flows.core.model import Profile
from flows.domain.content import SearchFilters
from storage.tables import OutboxRow, VacancyRow
from tests.cockpit.conftest import OTHER_AGENT, Browser, CockpitUnderTest

OFFER = "neisse-metallbau-im-2027"  # Die Zukunftsmacher: Neisse Metallbau, Görlitz
OTHER_OFFER = "saalefunke-ea-2027"  # TAB_MINT's
NEW_OFFER = {"company": "neisse-metallbau", "profession": "industriemechaniker-in", "kind": "ausbildung",
             "title": "Ausbildung Industriemechaniker:in 2028", "start": "01.08.2028", "places": "2",
             "school_expectation": "mittlere_reife", "description": "Du baust Anlagen mit auf."}


class _Form(HTMLParser):
    """The fields a browser would send for one form of a page, as the page fills them in."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside = form_id, False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.fields.append((str(a["name"]), a.get("value") or ""))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value") or "", "selected" in a))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.fields.append((str(self._textarea), ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [self._options[0][0]]
            self.fields += [(self._select, v) for v in chosen]
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None and self.inside:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)


def form_fields(html: str, form_id: str, **changes: str) -> list[tuple[str, str]]:
    """The form as the page fills it in (without its CSRF token: Browser.post adds it), with changes."""
    parser = _Form(form_id)
    parser.feed(html)
    fields = [(k, v) for k, v in parser.fields if k != "csrf"]
    assert fields, f"no form {form_id}"
    return [(k, changes.pop(k) if k in changes else v) for k, v in fields] + list(changes.items())


async def _outbox(cockpit: CockpitUnderTest, key: str) -> list[int]:
    async with cockpit.app.uow_factory() as uow:
        rows = (await uow.session.execute(select(col(OutboxRow.chat_id), col(OutboxRow.reply)))).tuples().all()
    return sorted(chat_id for chat_id, reply in rows if reply.get("key") == key)


async def _saved_search(cockpit: CockpitUnderTest, chat_id: int, **filters: object) -> None:
    now = cockpit.clock.now()
    async with cockpit.app.uow_factory() as uow:
        young = await uow.users.save(Profile(channel="telegram", chat_id=chat_id, role="teen", age_band="16_17",
                                             plz="02826", place="Görlitz", cluster="zukunftsmacher", onboarded=True,
                                             created_at=now, last_seen_at=now))
        assert young.id is not None
        await uow.vacancies.save_search(young.id, SearchFilters(**filters), now)  # type: ignore[arg-type]
        await uow.commit()


async def _stored(cockpit: CockpitUnderTest, slug: str = OFFER) -> dict[str, object]:
    async with cockpit.app.uow_factory() as uow:
        row = (await uow.session.execute(select(VacancyRow).where(col(VacancyRow.slug) == slug))).scalars().one()
        return {"origin": row.origin, "archived": row.archived, "title": row.title, **row.data}


async def _offer_page(browser: Browser, slug: str = OFFER) -> str:
    response = await browser.get(f"/angebote/{slug}")
    assert response.status == 200
    return await response.text()


async def test_a_new_offer_is_listed_and_told_to_matching_saved_searches(cockpit: CockpitUnderTest) -> None:
    await _saved_search(cockpit, 9700, radius_km=25, kind="ausbildung")
    await _saved_search(cockpit, 9701, radius_km=25, kind="praktikum")  # another kind: not told
    browser = await cockpit.signed_in()
    form = await (await browser.get("/angebote/neu?betrieb=neisse-metallbau")).text()
    assert '<option value="neisse-metallbau" selected>' in form

    created = await browser.post("/angebote/neu", NEW_OFFER)

    assert created.status == 303, await created.text()
    location = created.headers["Location"]
    assert re.fullmatch(r"/angebote/[a-z0-9-]+\?hinweis=offer_created&n=1", location)
    assert await _outbox(cockpit, "vacancies.alert") == [9700]
    shown = await (await browser.get(location)).text()
    assert "&lt; 5 gespeicherte Suchen benachrichtigt." in shown  # a count of young people: masked
    assert 'value="2028-08-01"' in shown  # "01.08.2028" as typed where there is no date picker
    slug = location.split("?")[0].rsplit("/", 1)[1]
    listing = await (await browser.get("/angebote")).text()
    assert f'<a href="/angebote/{slug}">Ausbildung Industriemechaniker:in 2028</a>' in listing
    assert "01.08.2028" in listing and "Cockpit" in listing
    async with cockpit.app.uow_factory() as uow:
        audit = await uow.cockpit.audit("zukunftsmacher")
    assert (audit[0].action, audit[0].subject, audit[0].actor) == ("offer.create", f"offer:{slug}", "telegram:900")
    row = await _stored(cockpit, slug)
    assert row["origin"] == "cockpit" and row["places"] == 2 and row["school_expectation"] == "mittlere_reife"


async def test_field_errors_are_shown_next_to_their_input_and_what_was_typed_is_kept(
        cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    wrong = await browser.post("/angebote/neu", {**NEW_OFFER, "title": " ", "start": "2028-02-30", "plz": "0282",
                                                 "profession": "maurer-in", "description": "Mein Text <b>"})
    assert wrong.status == 422
    page = await wrong.text()
    assert 'name="plz" inputmode="numeric" maxlength="5" autocomplete="off" value="0282" aria-invalid="true" ' \
           'aria-describedby="plz-error"' in page
    assert '<p class="field-error" id="plz-error">Diese Postleitzahl gibt es nicht.</p>' in page
    assert 'aria-describedby="start-error"' in page and 'aria-describedby="title-error"' in page
    assert "Mein Text &lt;b&gt;</textarea>" in page  # typed text kept, escaped
    assert "Das Angebot ist nicht gespeichert." in page
    async with cockpit.app.uow_factory() as uow:
        assert [a.action for a in await uow.cockpit.audit("zukunftsmacher")] == ["signed_in"]  # nothing written
    # the profession Neisse Metallbau does not train in: named at the profession
    right_dates = await browser.post("/angebote/neu", {**NEW_OFFER, "profession": "maurer-in"})
    assert right_dates.status == 422
    assert 'id="profession-error">Diesen Beruf bildet der Betrieb laut seinem Eintrag nicht aus.' in \
        await right_dates.text()


async def test_editing_an_offer_and_a_stale_form(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    page = await _offer_page(browser)
    untouched = await browser.post(f"/angebote/{OFFER}", form_fields(page, "offer-form"))
    assert untouched.headers["Location"] == f"/angebote/{OFFER}?hinweis=nothing_changed"  # the form's own values

    saved = await browser.post(f"/angebote/{OFFER}", form_fields(page, "offer-form", places="4"))
    assert saved.headers["Location"] == f"/angebote/{OFFER}?hinweis=saved"
    after = await _offer_page(browser)
    assert 'name="places" inputmode="numeric" maxlength="4" value="4"' in after
    assert "im Cockpit geändert: Plätze" in after

    # A second tab still has the first version: refused, what was typed is kept, the stored value shown.
    stale = await browser.post(f"/angebote/{OFFER}", form_fields(page, "offer-form", title="Mein neuer Titel"))
    assert stale.status == 409
    text = await stale.text()
    assert "Jemand hat dieses Angebot geändert" in text and 'value="Mein neuer Titel"' in text
    assert "<li>Plätze: 4</li>" in text
    row = await _stored(cockpit)
    assert row["title"] != "Mein neuer Titel" and row["places"] == 4
    # Saving that form again is a deliberate choice: it carries the current version now.
    again = await browser.post(f"/angebote/{OFFER}", form_fields(text, "offer-form"))
    assert again.headers["Location"] == f"/angebote/{OFFER}?hinweis=saved"
    assert "Mein neuer Titel" in await _offer_page(browser)


async def test_archiving_and_restoring_an_offer(cockpit: CockpitUnderTest) -> None:
    await _saved_search(cockpit, 9702, radius_km=25)
    browser = await cockpit.signed_in()
    archived = await browser.post(f"/angebote/{OFFER}/archivieren")
    assert archived.headers["Location"] == f"/angebote/{OFFER}?hinweis=offer_archived"
    assert f"/angebote/{OFFER}" not in await (await browser.get("/angebote")).text()
    assert f"/angebote/{OFFER}" in await (await browser.get("/angebote?archiviert=1")).text()
    page = await _offer_page(browser)
    assert 'id="status">archiviert' in page and "<fieldset disabled>" in page and 'id="restore-offer"' in page
    assert (await browser.post(f"/angebote/{OFFER}", form_fields(page, "offer-form"))).status == 404  # not editable

    restored = await browser.post(f"/angebote/{OFFER}/wiederherstellen")
    assert restored.headers["Location"] == f"/angebote/{OFFER}?hinweis=offer_restored&n=1"
    assert await _outbox(cockpit, "vacancies.alert") == [9702]  # back on the lists: new for saved searches
    assert f"/angebote/{OFFER}" in await (await browser.get("/angebote")).text()
    async with cockpit.app.uow_factory() as uow:
        audit = await uow.cockpit.audit("zukunftsmacher")
    assert [a.action for a in audit[:2]] == ["offer.restore", "offer.archive"]


async def test_another_clusters_offers_are_not_found(cockpit: CockpitUnderTest) -> None:
    other = await cockpit.signed_in(OTHER_AGENT)  # TAB_MINT
    listing = await (await other.get("/angebote")).text()
    assert f"/angebote/{OTHER_OFFER}" in listing and f"/angebote/{OFFER}" not in listing
    assert (await other.get(f"/angebote/{OFFER}")).status == 404
    for path in (f"/angebote/{OFFER}", f"/angebote/{OFFER}/archivieren", f"/angebote/{OFFER}/wiederherstellen",
                 f"/angebote/{OTHER_OFFER}/loeschen"):
        response = await other.post(path, {"title": "Gekapert"})
        assert response.status == 404, path
    # naming the other cluster's company in a new offer: as if it did not exist
    foreign = await other.post("/angebote/neu", NEW_OFFER)
    assert foreign.status == 422
    assert 'id="company-error">Nicht gefunden – bitte aus der Liste wählen.' in await foreign.text()
    async with cockpit.app.uow_factory() as uow:
        assert [a.action for a in await uow.cockpit.audit("tab-mint")] == ["signed_in"]
    row = await _stored(cockpit)
    assert not row["archived"] and row["title"] != "Gekapert"


async def test_a_forged_form_without_the_csrf_token_is_refused(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    forged = await browser.post("/angebote/neu", NEW_OFFER, csrf=False)
    assert forged.status == 403
    archive = await browser.post(f"/angebote/{OFFER}/archivieren", csrf=False)
    assert archive.status == 403
    async with cockpit.app.uow_factory() as uow:
        titles = (await uow.session.execute(select(col(VacancyRow.title)))).scalars().all()
    assert NEW_OFFER["title"] not in titles and not (await _stored(cockpit))["archived"]
