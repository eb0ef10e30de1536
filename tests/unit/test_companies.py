"""Betriebe: the cluster's companies nearest first, a page per company, and "Interessiert mich" for it."""
from __future__ import annotations

from content import default_directory
from flows.conversations.companies import PAGE_SIZE
from flows.core.model import Reply
from flows.delivery.outbox import OutboxStatus
from flows.domain.geo import place_distance_km
from flows.domain.lead import LeadStatus
from prompts import default_catalog
from tests.fakes.bot_api_html import parse_html
from tests.unit.fakes import COMPANIES, EVENTS, VACANCIES, Store
from tests.unit.harness import Harness

PLACES = default_directory()
CATALOG = default_catalog()
ZUKUNFTSMACHER = [c for c in COMPANIES if c.cluster == "zukunftsmacher"]


async def _teen(store: Store | None = None, town: str = "Löbau", age: str = "18plus") -> Harness:
    """A young person from Löbau, in the Zukunftsmacher cluster through the region of the town."""
    h = Harness(store=store, places=PLACES)
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press(f"ob:age:{age}")
    await h.text(town)
    await h.press(next(d for d in h.button_data if d.startswith("ob:place_c")))
    await h.press("ob:school:pupil")
    await h.press("ob:class:10")
    assert h.profile.cluster == "zukunftsmacher"
    return h


def _listed(h: Harness) -> list[str]:
    return [d.removeprefix("co:s:") for d in h.button_data if d.startswith("co:s:")]


def _more(h: Harness) -> str | None:
    """The "Weitere" button of a list page, if there is one."""
    return next((b.data for r in h.replies for row in r.buttons for b in row if b.key == "btn.companies.more"), None)


def _text(r: Reply, formal: bool = False) -> str:
    """The message as Telegram gets it; fails on HTML Telegram would refuse."""
    text = CATALOG.render(r.key, r.values, "de", formal)
    parse_html(text)
    return text


def _km_from_loebau(slug: str) -> float:
    company = next(c for c in COMPANIES if c.slug == slug)
    home, place = PLACES.find("02708", "Löbau"), PLACES.find(company.plz, company.place)
    assert home is not None and place is not None
    return place_distance_km(home, place)


async def test_list_shows_the_clusters_companies_nearest_first_a_page_at_a_time() -> None:
    h = await _teen()
    assert "co:open" in h.button_data  # the main menu offers it
    assert await h.command("betriebe") == ["companies.list"]
    seen: list[str] = []
    while True:
        page = _listed(h)
        assert 0 < len(page) <= PAGE_SIZE and len(h.replies[0].buttons) <= PAGE_SIZE + 3  # a short keyboard
        seen += page
        more = _more(h)
        if more is None:
            break
        assert await h.press(more) == ["companies.list"]
    assert sorted(seen) == sorted(c.slug for c in ZUKUNFTSMACHER)  # all of them, each once, no other cluster
    assert seen[0] == "loebauer-glanzwerk"  # in Löbau itself
    distances = [_km_from_loebau(s) for s in seen]
    assert [round(d) for d in distances] == sorted(round(d) for d in distances)
    assert "m:open" in h.button_data
    assert await h.command("companies") == ["companies.list"]  # the English alias
    assert _listed(h)[0] == "loebauer-glanzwerk"


async def test_list_buttons_show_place_and_km_and_an_outdated_page_shows_the_last_one() -> None:
    h = await _teen()
    await h.command("betriebe")
    first = h.replies[0].buttons[0][0]
    label = CATALOG.render(first.key, first.values, "de")
    assert label.startswith("Löbauer Glanzwerk") and "· Löbau · 0 km" in label
    assert await h.forge("co:l:zukunftsmacher:95") == ["companies.list"]  # the list got shorter since
    assert h.replies[0].values["last"] == len(ZUKUNFTSMACHER)
    assert (await h.forge("co:l:atlantis:0"))[0] == "fallback.stale_button"


async def test_without_a_cluster_the_user_chooses_one_and_gets_it_by_name() -> None:
    h = Harness(places=PLACES)
    await h.command("start")
    await h.press("ob:role:skip")
    await h.press("ob:place:skip")
    assert await h.command("betriebe") == ["companies.choose_cluster"]
    assert await h.press("co:l:lausitz-cares:0") == ["companies.list"]
    listed = _listed(h)
    names = [next(c.name for c in COMPANIES if c.slug == s) for s in listed]
    assert names == sorted(names) and all(s in {c.slug for c in COMPANIES if c.cluster == "lausitz-cares"} for s in listed)
    assert h.replies[0].values["home"] is None


async def test_company_page_shows_professions_offers_events_and_says_it_is_an_example() -> None:
    h = await _teen()
    await h.command("betriebe")
    await h.press("co:l:zukunftsmacher:5")
    assert h.profile.offers_viewed_at is None  # a list of companies shows no offer
    assert await h.press("co:s:zittauer-gebirgsbau") == ["companies.page"]
    assert h.profile.offers_viewed_at == h.clock.now()  # the page lists its offers: the funnel's step
    page = h.reply("companies.page")
    values = page.values
    assert values["professions"] == ["Maurer:in", "Hochbaufacharbeiter:in"]  # names, not slugs
    offers = [v for v in VACANCIES if v.company == "zittauer-gebirgsbau"]
    assert sorted(o["title"] for o in values["offers"]) == sorted(v.title for v in offers)
    assert {f"ld:v:{v.slug}" for v in offers} <= set(h.button_data)  # each offer: Interessiert mich
    assert values["km"] == round(_km_from_loebau("zittauer-gebirgsbau")) and values["home"] == "Löbau"
    assert "e:s:schau-rein-zittau-2027" in h.button_data  # an event it takes part in
    text = _text(page)
    km = values["km"]  # no timetable loaded: the straight-line km (issue 16)
    assert "Beispielbetrieb" in text and "Maurer:in" in text and f"{km} km Luftlinie" in text
    assert "ld:c:zittauer-gebirgsbau" in h.button_data
    assert await h.press("co:l:zukunftsmacher:5") == ["companies.list"]  # back to the page it came from
    assert "co:s:zittauer-gebirgsbau" in h.button_data


async def test_offer_card_leads_to_its_company() -> None:
    h = await _teen(town="Görlitz")
    assert await h.command("stellen") == ["vacancies.header", "vacancies.card"]
    card = h.reply("vacancies.card").values
    [link] = [d for d in h.button_data if d.startswith("co:s:")]
    assert await h.press(link) == ["companies.page"]
    company = next(c for c in COMPANIES if c.slug == link.removeprefix("co:s:"))
    assert h.reply("companies.page").values["name"] == card["company"] == company.name
    assert "vacancies.card" in await h.press("v:n:0")  # "Zurück zum Angebot": the card it was opened from


async def test_event_page_leads_to_the_companies_taking_part() -> None:
    h = await _teen()
    fair = next(e for e in EVENTS if e.slug == "karrieretage-loebau-2027")
    assert await h.forge(f"e:s:{fair.slug}") == ["events.page"]
    assert await h.press(f"co:e:{fair.slug}:0") == ["companies.list_event"]
    listed = _listed(h)
    await h.press(f"co:e:{fair.slug}:{PAGE_SIZE}")
    listed += _listed(h)
    assert sorted(listed) == sorted(fair.company_slugs)
    await h.press(f"co:s:{listed[-1]}")
    assert f"co:e:{fair.slug}:{PAGE_SIZE}" in h.button_data  # back to where it was opened
    assert await h.forge("e:s:schau-rein-niesky-2027") == ["events.page"]
    assert await h.press("co:s:nieskyer-stahlfeder") == ["companies.page"]  # one company: straight to it


async def _to_consent(h: Harness) -> None:
    """Take the nearest other company too, then answer every question up to the consent screen."""
    await h.press("ld:t:0")
    assert await h.press("ld:n") == ["leads.ask_name"]
    await h.text("Tom")
    await h.text("0171 2345678")
    await h.press("ld:pref:phone")
    await h.press("ld:time:afternoon")
    assert await h.press("ld:skip") == ["leads.consent"]


async def test_interested_in_a_company_hands_over_once_to_it_and_matching_others() -> None:
    store = Store()
    h = await _teen(store)
    slug = "spreebogen-mechatronik"
    company = next(c for c in COMPANIES if c.slug == slug)
    await h.forge(f"co:s:{slug}")
    assert await h.press(f"ld:c:{slug}") == ["leads.choose_recipients"]
    recipients = h.reply("leads.choose_recipients")
    assert recipients.values["main"] == company.name and recipients.values["count"] == 1
    options = h.last.replies[0].buttons
    others = [next(c for c in COMPANIES if c.name == b.values["name"]) for row in options for b in row
              if b.data.startswith("ld:t:")]
    assert 0 < len(others) <= 4 and slug not in [c.slug for c in others]
    assert all(c.cluster == company.cluster and set(c.professions) & set(company.professions) for c in others)
    assert [round(_km_from_loebau(c.slug)) for c in others] == sorted(round(_km_from_loebau(c.slug)) for c in others)
    await _to_consent(h)
    consent = h.reply("leads.consent")
    item = consent.values["items"][0]
    assert item["company"] == company.name and item["kind"] == "company" and item["profession_name"] is None
    assert "Interesse: Ausbildung oder Praktikum in diesem Betrieb" in _text(consent)
    assert await h.press("ld:ok") == ["leads.done", "menu.main"]
    assert (await h.forge("ld:ok"))[0] == "fallback.stale_button"  # the final button pressed again
    assert await h.forge(f"ld:c:{slug}") == ["leads.already", "menu.main"]  # once more: said at the first tap
    leads = list(store.leads.values())
    assert sorted(lead.company for lead in leads) == sorted([slug, others[0].slug])
    assert {lead.target for lead in leads} == {f"company:{slug}"}
    assert all(lead.status is LeadStatus.DELIVERED for lead in leads)
    sent = [m for m in store.outbox.values() if m.reply.key == "leads.company_new" and m.status is OutboxStatus.PENDING]
    assert {m.reply.values["company_name"] for m in sent} == {company.name, others[0].name}
    assert all(v["kind"] == "company" and v["offer_title"] is None and v["title"] == v["company_name"]
               and v["profession_name"] is None for v in (m.reply.values for m in sent))
    assert "Interesse: Ausbildung oder Praktikum in diesem Betrieb" in _text(sent[0].reply, formal=True)
    assert await h.command("anfragen") == ["leads.mine"]
    mine = _text(h.reply("leads.mine"))
    assert f"1. {company.name}:" in mine and f"2. {others[0].name}:" in mine


async def test_unknown_or_archived_company_gets_a_friendly_answer() -> None:
    store = Store()
    gone = "zittauer-gebirgsbau"  # removed from the content pack, with its offers
    store.companies = [c for c in store.companies if c.slug != gone]
    store.vacancies = [v for v in store.vacancies if v.company != gone]
    h = await _teen(store)
    await h.command("betriebe")
    listed = _listed(h)
    while (more := _more(h)) is not None:
        await h.press(more)
        listed += _listed(h)
    assert len(listed) == len(ZUKUNFTSMACHER) - 1 and gone not in listed
    for data in (f"co:s:{gone}", "co:s:gibtsnicht", "co:s:"):
        assert await h.forge(data) == ["companies.gone"]
        assert "co:open" in h.button_data and "Betrieb" in _text(h.replies[0])
    assert await h.press("co:open") == ["companies.list"]
    assert (await h.forge(f"ld:c:{gone}"))[0] == "fallback.stale_button"
    assert store.leads == {}
