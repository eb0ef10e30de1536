"""Issue 12, point 5: events in the cockpit – moving or cancelling tells the people who RSVP'd (through
the outbox, in the same transaction), field errors, the RSVPs as numbers, nothing of another cluster's."""
from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from flows.core.model import Profile
from flows.domain.content import Rsvp
from storage.tables import OutboxRow
from tests.cockpit.conftest import OTHER_AGENT, CockpitUnderTest

EVENT = "impuls-cottbus-2027"  # Die Zukunftsmacher, 13.03.2027 09:00 (the clock stands at 01.03.2027)


async def _rsvps(cockpit: CockpitUnderTest, chats: range, event: str = EVENT) -> None:
    now = cockpit.clock.now()
    async with cockpit.app.uow_factory() as uow:
        for chat in chats:
            young = await uow.users.save(Profile(channel="telegram", chat_id=chat, role="teen", age_band="16_17",
                                                 cluster="zukunftsmacher", onboarded=True, created_at=now,
                                                 last_seen_at=now))
            assert young.id is not None
            await uow.events.save_rsvp(young.id, Rsvp(event=event, offsets=[], created_at=now))
        await uow.commit()


async def _outbox(cockpit: CockpitUnderTest, key: str) -> list[int]:
    async with cockpit.app.uow_factory() as uow:
        rows = (await uow.session.execute(select(col(OutboxRow.chat_id), col(OutboxRow.reply)))).tuples().all()
    return sorted(chat_id for chat_id, reply in rows if reply.get("key") == key)


async def test_moving_an_event_tells_everyone_who_rsvpd(cockpit: CockpitUnderTest) -> None:
    await _rsvps(cockpit, range(9500, 9506))
    browser = await cockpit.signed_in()
    page = await (await browser.get(f"/termine/{EVENT}")).text()
    assert 'id="rsvp-count">6 Personen' in page
    version = page.split('name="version" value="')[1].split('"')[0]
    moved = await browser.post(f"/termine/{EVENT}/verschieben", {
        "version": version, "starts": "2027-03-20T10:00", "ends": "2027-03-20T16:00", "place": "Cottbus",
        "plz": "03046", "address": "Messe Cottbus"})
    assert moved.status == 303 and moved.headers["Location"] == f"/termine/{EVENT}?hinweis=event_moved&n=6"
    assert await _outbox(cockpit, "events.changed") == list(range(9500, 9506))
    shown = await (await browser.get(moved.headers["Location"])).text()
    assert "6 Personen bekommen eine Nachricht" in shown and 'value="2027-03-20T10:00"' in shown
    # The same form again (its version is stale now): refused, nothing sent twice.
    again = await browser.post(f"/termine/{EVENT}/verschieben", {
        "version": version, "starts": "2027-03-21T10:00", "ends": "2027-03-21T16:00", "place": "Cottbus",
        "plz": "03046"})
    assert again.status == 409 and "Es ist nichts gespeichert und niemand benachrichtigt" in await again.text()
    assert 'value="2027-03-21T10:00"' in await again.text()  # what was typed is still there
    assert len(await _outbox(cockpit, "events.changed")) == 6
    async with cockpit.app.uow_factory() as uow:
        audit = await uow.cockpit.audit("zukunftsmacher")
    assert (audit[0].action, audit[0].subject, audit[0].actor) == ("event.move", f"event:{EVENT}", "telegram:900")


async def test_cancelling_tells_them_and_small_numbers_are_masked(cockpit: CockpitUnderTest) -> None:
    await _rsvps(cockpit, range(9600, 9602))
    browser = await cockpit.signed_in()
    assert 'id="rsvp-count">&lt; 5 Personen' in await (await browser.get(f"/termine/{EVENT}")).text()
    cancelled = await browser.post(f"/termine/{EVENT}/absagen")
    assert cancelled.headers["Location"] == f"/termine/{EVENT}?hinweis=event_cancelled&n=2"
    assert await _outbox(cockpit, "events.cancelled") == [9600, 9601]
    page = await (await browser.get(cancelled.headers["Location"])).text()
    assert "&lt; 5 Personen bekommen eine Nachricht" in page and 'id="status">abgesagt' in page


async def test_a_new_event_with_field_errors_then_right(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    await browser.get("/termine/neu")
    fields = {"title": "Tag der offenen Werkstatt", "format": "tag-der-offenen-tuer", "audience": "both",
              "starts": "2027-04-10T10:00", "ends": "2027-04-10T09:00", "place": "Löbau", "plz": "0270",
              "description": "Schau dir die Werkstatt an."}
    wrong = await browser.post("/termine/neu", fields)
    assert wrong.status == 422
    page = await wrong.text()
    assert 'name="plz" inputmode="numeric" maxlength="5" value="0270" aria-invalid="true"' in page
    assert "Tag der offenen Werkstatt" in page  # what was typed is kept
    right = await browser.post("/termine/neu", {**fields, "ends": "2027-04-10T14:00", "plz": "02708"})
    assert right.status == 303 and "hinweis=event_created" in right.headers["Location"]
    slug = right.headers["Location"].split("/")[2].split("?")[0]
    listing = await (await browser.get("/termine")).text()
    assert "Tag der offenen Werkstatt" in listing and "Cockpit" in listing
    async with cockpit.app.uow_factory() as uow:
        event = await uow.events.get(slug)
    assert event is not None and event.cluster == "zukunftsmacher" and event.place == "Löbau"


async def test_another_clusters_events_are_not_found(cockpit: CockpitUnderTest) -> None:
    await _rsvps(cockpit, range(9700, 9701))
    other = await cockpit.signed_in(OTHER_AGENT)
    assert EVENT not in await (await other.get("/termine")).text()
    assert (await other.get(f"/termine/{EVENT}")).status == 404
    for action in ("", "/verschieben", "/absagen", "/archivieren", "/wiederherstellen"):
        response = await other.post(f"/termine/{EVENT}{action}", {"starts": "2027-03-20T10:00",
                                                                  "ends": "2027-03-20T16:00"})
        assert response.status == 404, action
    assert await _outbox(cockpit, "events.changed") == [] and await _outbox(cockpit, "events.cancelled") == []


async def test_the_audit_log_shows_who_changed_what_and_only_this_cluster(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    page = await (await browser.get(f"/termine/{EVENT}")).text()
    version = page.split('name="version" value="')[1].split('"')[0]
    await browser.post(f"/termine/{EVENT}/verschieben", {"version": version, "starts": "2027-03-20T10:00",
                                                        "ends": "2027-03-20T16:00", "place": "Cottbus", "plz": "03046"})
    log = await (await browser.get("/protokoll")).text()
    assert "Termin verschoben" in log and "telegram:900" in log and f"event:{EVENT}" in log
    assert "starts:" in log and "angemeldet" in log
    other = await cockpit.signed_in(OTHER_AGENT)
    theirs = await (await other.get("/protokoll")).text()
    assert f"event:{EVENT}" not in theirs and "telegram:900" not in theirs


async def test_the_list_counts_rsvps_per_event_of_this_cluster_only(cockpit: CockpitUnderTest) -> None:
    await _rsvps(cockpit, range(9800, 9806))
    await _rsvps(cockpit, range(9810, 9812), event="schau-rein-zittau-2027")
    browser = await cockpit.signed_in()
    page = await (await browser.get("/termine")).text()
    row = page[page.index(f'href="/termine/{EVENT}"'):]
    assert "<td>6</td>" in row[:row.index("</tr>")]
    row = page[page.index('href="/termine/schau-rein-zittau-2027"'):]
    assert "<td>&lt; 5</td>" in row[:row.index("</tr>")]


async def test_help_is_one_click_away_on_every_page(cockpit: CockpitUnderTest) -> None:
    browser = await cockpit.signed_in()
    for path in ("/", "/anfragen", "/termine", "/protokoll"):
        assert '<a href="/hilfe"' in await (await browser.get(path)).text()
    help_page = await (await browser.get("/hilfe")).text()
    assert "Nach 8 Stunden werden Sie automatisch abgemeldet" in help_page and "/cockpit" in help_page
