"""Editing events, offers and companies from the web cockpit, on real SQLite: the pack's checks, the
side effects of a content load in the same transaction, one cluster only, the audit log, and how the
edits live together with later pack loads and exports."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel, col

from content import DEMO_DIR, Pack, PackError, default_directory, load_pack
from flows.core.model import Profile
from flows.domain.content import Rsvp, SearchFilters
from storage.content_edits import ContentEditor, EditConflict, EditRejected, NotFound
from storage.content_export import export_pack
from storage.content_sync import sync_pack
from storage.tables import CompanyRow, EventRow, OutboxRow, VacancyRow
from storage.tables_cockpit import AuditRow
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock

PACK = load_pack(DEMO_DIR, default_directory())
AGENT, OTHER = "telegram:9100", "telegram:9200"
ZM, CARES = "zukunftsmacher", "lausitz-cares"  # the agent's cluster and another one
EVENT = "karrieretage-loebau-2027"  # zukunftsmacher, 24.09.2027 in Löbau
CARES_EVENT = "tdot-spreeblick-2027-10"


@pytest.fixture
async def editor(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> ContentEditor:
    await sync_pack(uow_factory, PACK, clock)
    return ContentEditor(uow_factory, clock)


async def _user(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, chat_id: int, **fields: Any) -> int:
    values: dict[str, Any] = {"role": "teen", "age_band": "u16", "plz": "02826", "place": "Görlitz", **fields}
    async with uow_factory() as uow:
        user = await uow.users.save(Profile(channel="telegram", chat_id=chat_id, created_at=clock.now(), **values))
        await uow.commit()
    assert user.id is not None
    return user.id


async def _rsvp(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, user_id: int, event: str,
                offsets: list[str]) -> None:
    async with uow_factory() as uow:
        await uow.events.save_rsvp(user_id, Rsvp(event=event, offsets=offsets, created_at=clock.now()))
        await uow.commit()


async def _rows(uow_factory: SqlUnitOfWorkFactory, table: type[SQLModel]) -> list[Any]:
    async with uow_factory.sessions() as session:
        return list((await session.execute(select(table))).scalars().all())


async def _event(uow_factory: SqlUnitOfWorkFactory, slug: str) -> EventRow:
    async with uow_factory.sessions() as session:
        row = (await session.execute(select(EventRow).where(col(EventRow.slug) == slug))).scalars().one()
    return row


async def _count(uow_factory: SqlUnitOfWorkFactory, table: type[SQLModel]) -> int:
    async with uow_factory.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def _content(uow_factory: SqlUnitOfWorkFactory) -> dict[str, dict[str, tuple[Any, ...]]]:
    """Everything a load could change, per table and slug."""
    out: dict[str, dict[str, tuple[Any, ...]]] = {}
    for table in (CompanyRow, VacancyRow, EventRow):
        out[table.__tablename__] = {r.slug: (r.data, r.archived, r.origin, r.overrides, r.updated_at,
                                             getattr(r, "sequence", None)) for r in await _rows(uow_factory, table)}
    return out


# ---- moving and cancelling events tells the people who RSVP'd ------------------------------------

async def test_moving_an_event_queues_a_message_for_each_rsvp_in_the_same_transaction(
        editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    teen = await _user(uow_factory, clock, 501)
    parent = await _user(uow_factory, clock, 502, role="parent", age_band="adult")
    elsewhere = await _user(uow_factory, clock, 503)
    await _rsvp(uow_factory, clock, teen, EVENT, ["1d"])
    await _rsvp(uow_factory, clock, parent, EVENT, [])
    await _rsvp(uow_factory, clock, elsewhere, "insidertreff-loebau-2027", ["1d"])

    result = await editor.move_event(AGENT, ZM, EVENT, {"starts": "2027-09-25T10:00", "ends": "2027-09-25T16:00"})

    assert result.action == "event.move" and result.changed == ("ends", "starts") and result.announced == 2
    keys = {r.idempotency_key: r for r in await _rows(uow_factory, OutboxRow)}
    for user_id in (teen, parent):
        message = keys[f"event-change:{user_id}:{EVENT}:1:m"]
        assert message.reply["key"] == "events.changed" and message.reply["values"]["time"] == "10:00"
    assert not any(k.startswith(f"event-change:{elsewhere}:") for k in keys)
    row = await _event(uow_factory, EVENT)
    assert row.sequence == 1 and row.data["starts"] == "2027-09-25T10:00:00+02:00"
    assert row.origin == "pack" and set(row.overrides) == {"starts", "ends"}


async def test_when_the_audit_fails_neither_the_move_nor_its_messages_are_kept(
        editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The messages are written in the edit's own transaction: no message about a move that did not happen."""
    await _rsvp(uow_factory, clock, await _user(uow_factory, clock, 501), EVENT, ["1d"])

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("storage.cockpit.SqlCockpitRepository.record", broken)
    with pytest.raises(RuntimeError):
        await editor.move_event(AGENT, ZM, EVENT, {"starts": "2027-09-25T10:00", "ends": "2027-09-25T16:00"})
    assert await _count(uow_factory, OutboxRow) == 0
    row = await _event(uow_factory, EVENT)
    assert row.sequence == 0 and row.data["starts"] == "2027-09-24T09:00:00+02:00" and row.overrides == {}


async def test_cancelling_tells_attendees_and_a_second_cancel_does_nothing(
        editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    user = await _user(uow_factory, clock, 501)
    await _rsvp(uow_factory, clock, user, EVENT, ["7d", "1d"])

    result = await editor.cancel_event(AGENT, ZM, EVENT)
    again = await editor.cancel_event(AGENT, ZM, EVENT)

    assert result.announced == 1 and result.changed == ("cancelled",)
    assert again.changed == () and again.announced == 0
    [told] = [r for r in await _rows(uow_factory, OutboxRow) if r.idempotency_key.startswith("event-change:")]
    assert told.idempotency_key == f"event-change:{user}:{EVENT}:1:x" and told.reply["key"] == "events.cancelled"
    assert [a.action for a in await _rows(uow_factory, AuditRow)] == ["event.cancel"]


async def test_moving_a_cancelled_event_tells_nobody_again_and_reinstating_it_does(
        editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await _rsvp(uow_factory, clock, await _user(uow_factory, clock, 501), EVENT, ["1d"])
    await editor.cancel_event(AGENT, ZM, EVENT)
    moved = await editor.move_event(AGENT, ZM, EVENT, {"starts": "2027-10-01T09:00", "ends": "2027-10-01T15:00"})
    back = await editor.edit_event(AGENT, ZM, EVENT, {"cancelled": False})
    assert moved.announced == 0 and back.announced == 1
    assert (await _event(uow_factory, EVENT)).sequence == 2


async def test_a_new_address_in_the_same_town_is_news_when_moved_but_a_plain_edit_is_not(
        editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await _rsvp(uow_factory, clock, await _user(uow_factory, clock, 501), EVENT, ["1d"])
    typo = await editor.edit_event(AGENT, ZM, EVENT, {"address": "Messehalle Löbau, Eingang Nord"})
    moved = await editor.move_event(AGENT, ZM, EVENT, {"address": "Stadthalle Löbau"})
    assert typo.announced == 0 and moved.announced == 1


async def test_archiving_an_upcoming_event_cancels_it_first(
        editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await _rsvp(uow_factory, clock, await _user(uow_factory, clock, 501), EVENT, ["1d"])
    result = await editor.archive_event(AGENT, ZM, EVENT)
    row = await _event(uow_factory, EVENT)
    assert result.announced == 1 and row.archived and row.data["cancelled"]
    assert row.overrides["archived"] is True
    with pytest.raises(NotFound):  # archived: off the lists and the forms
        await editor.edit_event(AGENT, ZM, EVENT, {"title": "Wieder da"})
    report = await sync_pack(uow_factory, PACK, clock)  # the pack still lists it: it stays archived
    assert (await _event(uow_factory, EVENT)).archived and EVENT in report.kept["events"]


# ---- offers: a new one feeds saved searches ------------------------------------------------------

async def test_a_new_offer_alerts_a_matching_saved_search(
        editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    user = await _user(uow_factory, clock, 501)
    async with uow_factory() as uow:
        await uow.vacancies.save_search(user, SearchFilters(radius_km=25, kind="ausbildung"), clock.now())
        await uow.commit()

    result = await editor.create_offer(AGENT, ZM, {
        "company": "neisse-metallbau", "profession": "industriemechaniker-in", "kind": "ausbildung",
        "title": "Ausbildung Industriemechaniker:in ab 01.08.2028", "start": "2028-08-01", "places": "2",
        "description": "", "school_expectation": ""})

    assert result.action == "offer.create" and result.alerted == 1
    assert result.slug == "ausbildung-industriemechaniker-in-ab-01-2028"  # shortened to fit 48
    [alert] = [r for r in await _rows(uow_factory, OutboxRow) if r.reply["key"] == "vacancies.alert"]
    assert alert.chat_id == 501 and alert.reply["values"]["count"] == 1
    [row] = [r for r in await _rows(uow_factory, VacancyRow) if r.slug == result.slug]
    assert row.origin == "cockpit" and row.plz == "02826" and row.data["place"] == "Görlitz"
    assert row.data["published"] == "2027-03-01" and row.data["places"] == 2  # published: today (Berlin)
    assert "description" in row.data and row.data["description"] is None  # empty form fields: not given


async def test_archiving_and_restoring_an_offer(editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory,
                                                clock: SteppableClock) -> None:
    slug = next(v.slug for v in PACK.vacancies if v.company == "neisse-metallbau")
    user = await _user(uow_factory, clock, 501)
    async with uow_factory() as uow:
        await uow.vacancies.save_search(user, SearchFilters(radius_km=25), clock.now())
        await uow.commit()
    archived = await editor.archive_offer(AGENT, ZM, slug)
    async with uow_factory() as uow:
        assert await uow.vacancies.card(slug) is None
    restored = await editor.restore_offer(AGENT, ZM, slug)
    assert archived.alerted == 0 and restored.alerted == 1  # back on the lists: new for saved searches
    assert [a.action for a in await _rows(uow_factory, AuditRow)] == ["offer.archive", "offer.restore"]


# ---- invalid input: field errors, nothing written ------------------------------------------------

async def test_invalid_date_and_postal_code_give_field_errors_and_write_nothing(
        editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await _rsvp(uow_factory, clock, await _user(uow_factory, clock, 501), EVENT, ["1d"])
    before = await _content(uow_factory)

    with pytest.raises(EditRejected) as moved:
        await editor.move_event(AGENT, ZM, EVENT, {"starts": "2027-09-31T09:00", "plz": "99999"})
    with pytest.raises(EditRejected) as backwards:
        await editor.edit_event(AGENT, ZM, EVENT, {"ends": "2027-09-24T08:00"})
    with pytest.raises(EditRejected) as offer:
        await editor.create_offer(AGENT, ZM, {"company": "neisse-metallbau", "profession": "industriemechaniker-in",
                                              "kind": "lehre", "title": " ", "start": "2028-02-30", "plz": "0282"})
    with pytest.raises(EditRejected) as place:
        await editor.edit_company(AGENT, ZM, "neisse-metallbau", {"place": "Löbau"})

    assert moved.value.by_field == {"starts": ["invalid_datetime"], "plz": ["unknown_plz"]}
    assert backwards.value.by_field == {"ends": ["ends_before_starts"]}
    assert offer.value.by_field == {"kind": ["invalid_choice"], "title": ["required"], "start": ["invalid_date"],
                                    "plz": ["unknown_plz"]}
    assert place.value.by_field == {"place": ["place_not_at_plz"]}
    assert all(e.detail for e in moved.value.errors)  # the pack's own message, for the logs
    assert await _content(uow_factory) == before
    assert await _count(uow_factory, OutboxRow) == 0 and await _count(uow_factory, AuditRow) == 0


async def test_fields_an_agent_may_not_change_are_refused(editor: ContentEditor) -> None:
    with pytest.raises(EditRejected) as refused:
        await editor.edit_event(AGENT, ZM, EVENT, {"slug": "neu", "cluster": CARES, "title": "Neu"})
    with pytest.raises(EditRejected) as company:
        await editor.edit_company(AGENT, ZM, "neisse-metallbau", {"email": "x@example.org", "example": False})
    with pytest.raises(EditRejected) as moving:
        await editor.move_event(AGENT, ZM, EVENT, {"title": "Neu"})  # a move is time and place only
    assert refused.value.by_field == {"slug": ["not_editable"], "cluster": ["not_editable"]}
    assert company.value.by_field == {"email": ["not_editable"], "example": ["not_editable"]}
    assert moving.value.by_field == {"title": ["not_editable"]}


async def test_a_profession_still_offered_cannot_be_removed_from_the_company(editor: ContentEditor) -> None:
    company, offered = next((c, v.profession) for c in PACK.companies for v in PACK.vacancies
                            if c.cluster == ZM and v.company == c.slug and len(c.professions) > 1)
    keep = [p for p in company.professions if p != offered]
    with pytest.raises(EditRejected) as refused:
        await editor.edit_company(AGENT, ZM, company.slug, {"professions": keep})
    assert refused.value.by_field == {"professions": ["profession_in_use"]}
    assert (await editor.edit_company(AGENT, ZM, company.slug, {"professions": [*keep, offered]})).changed == \
        ("professions",)  # a new order is a change, and allowed


# ---- one cluster only ----------------------------------------------------------------------------

async def test_another_clusters_content_is_not_found(editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory,
                                                    clock: SteppableClock) -> None:
    cares_offer = next(v.slug for v in PACK.vacancies if PACK.companies_by_slug[v.company].cluster == CARES)
    before = await _content(uow_factory)
    for attempt in (editor.edit_event(OTHER, CARES, EVENT, {"title": "Gekapert"}),
                    editor.move_event(OTHER, CARES, EVENT, {"starts": "2027-09-25T10:00"}),
                    editor.cancel_event(OTHER, CARES, EVENT), editor.archive_event(OTHER, CARES, EVENT),
                    editor.rsvps(CARES, EVENT), editor.edit_offer(AGENT, ZM, cares_offer, {"title": "Gekapert"}),
                    editor.archive_offer(AGENT, ZM, cares_offer),
                    editor.edit_company(AGENT, ZM, "pflegezentrum-spreeblick", {"name": "Gekapert"}),
                    editor.item(ZM, "events", CARES_EVENT), editor.edit_event(AGENT, ZM, "gibt-es-nicht", {})):
        with pytest.raises(NotFound):
            await attempt
    with pytest.raises(EditRejected) as offer:  # naming another cluster's company: as if it did not exist
        await editor.create_offer(AGENT, ZM, {"company": "pflegezentrum-spreeblick", "title": "Pflege",
                                              "profession": "pflegefachfrau-pflegefachmann", "kind": "ausbildung",
                                              "start": "2028-08-01"})
    with pytest.raises(EditRejected) as guests:
        await editor.edit_event(AGENT, ZM, EVENT, {"companies": ["neisse-metallbau", "pflegezentrum-spreeblick"]})
    assert offer.value.by_field == {"company": ["unknown_ref"]}
    assert guests.value.by_field == {"companies": ["unknown_ref"]}
    assert await _content(uow_factory) == before
    assert {i.slug for i in await editor.items(ZM, "events")} == {e.slug for e in PACK.events if e.cluster == ZM}
    assert all(PACK.companies_by_slug[i.data["company"]].cluster == ZM for i in await editor.items(ZM, "vacancies"))


# ---- RSVP list -----------------------------------------------------------------------------------

async def test_the_rsvp_list_gives_numbers_not_people(editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory,
                                                      clock: SteppableClock) -> None:
    for chat_id, role, band, offsets in ((501, "teen", "u16", ["7d", "1d"]), (502, "teen", "16_17", ["1d"]),
                                         (503, "parent", "adult", []), (504, "teen", "u16", ["1d"])):
        await _rsvp(uow_factory, clock, await _user(uow_factory, clock, chat_id, role=role, age_band=band),
                    EVENT, offsets)
    async with uow_factory() as uow:  # someone who left the bot is not counted
        gone = await uow.users.get("telegram", 504)
        assert gone is not None
        await uow.users.save(gone.model_copy(update={"active": False}))
        await uow.commit()

    rsvps = await editor.rsvps(ZM, EVENT)

    assert rsvps.summary.count == 3 and rsvps.title == "Oberlausitzer Karrieretage"
    assert rsvps.summary.roles == {"parent": 1, "teen": 2}
    assert rsvps.summary.age_bands == {"16_17": 1, "adult": 1, "u16": 1}
    assert rsvps.summary.reminders == {"1d": 2, "7d": 1, "none": 1}
    assert "501" not in repr(rsvps) and "chat" not in repr(rsvps)


# ---- the audit log -------------------------------------------------------------------------------

async def test_every_change_is_recorded_with_who_what_and_when(
        editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    created = await editor.create_event(AGENT, ZM, {
        "title": "Tag der offenen Tür bei Neiße Metallbau", "format": "tag-der-offenen-tuer",
        "starts": "2027-06-05T10:00", "ends": "2027-06-05T14:00", "place": "Görlitz", "plz": "02826",
        "audience": "both", "description": "Werkstatt ansehen, Azubis fragen.", "companies": ["neisse-metallbau"]})
    clock.advance(minutes=5)
    await editor.edit_event(AGENT, ZM, created.slug, {"title": "Tag der offenen Tür – Neiße Metallbau"})
    await editor.edit_company(AGENT, ZM, "neisse-metallbau", {"size": "50 Beschäftigte"})
    await editor.edit_company(AGENT, ZM, "neisse-metallbau", {"size": "50 Beschäftigte"})  # no change: no entry

    rows = sorted(await _rows(uow_factory, AuditRow), key=lambda r: r.id)
    assert [(r.action, r.subject, r.actor, r.cluster) for r in rows] == [
        ("event.create", f"event:{created.slug}", AGENT, ZM), ("event.edit", f"event:{created.slug}", AGENT, ZM),
        ("company.edit", "company:neisse-metallbau", AGENT, ZM)]
    assert created.slug == "tag-der-offenen-tuer-bei-neisse-2027-06"  # the title, shortened at a word
    assert rows[0].at == datetime(2027, 3, 1, 9, 0, tzinfo=rows[0].at.tzinfo) and "starts" in rows[0].detail["fields"]
    assert rows[1].detail == {"fields": ["title"], "from": {"title": "Tag der offenen Tür bei Neiße Metallbau"},
                              "to": {"title": "Tag der offenen Tür – Neiße Metallbau"}}
    assert rows[2].detail["to"] == {"size": "50 Beschäftigte"}


async def test_an_edit_from_a_stale_form_is_refused(editor: ContentEditor, clock: SteppableClock) -> None:
    form = await editor.item(ZM, "events", EVENT)
    clock.advance(minutes=1)
    await editor.edit_event(AGENT, ZM, EVENT, {"title": "Karrieretage 2027"}, version=form.version)
    with pytest.raises(EditConflict):
        await editor.edit_event(AGENT, ZM, EVENT, {"title": "Karrieretage Löbau"}, version=form.version)
    assert (await editor.item(ZM, "events", EVENT)).data["title"] == "Karrieretage 2027"


# ---- living together with the YAML pack ----------------------------------------------------------

def _with_event(pack: Pack, slug: str, **changes: Any) -> Pack:
    return dataclasses.replace(pack, events=[e.model_copy(update=changes) if e.slug == slug else e
                                             for e in pack.events])


async def test_a_later_pack_load_keeps_the_cockpits_edits_and_entries(
        editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await _rsvp(uow_factory, clock, await _user(uow_factory, clock, 501), EVENT, ["1d"])
    await editor.move_event(AGENT, ZM, EVENT, {"starts": "2027-09-25T10:00", "ends": "2027-09-25T16:00"})
    created = await editor.create_event(AGENT, ZM, {
        "title": "Elternabend Niesky", "format": "elternabend", "starts": "2027-05-04T18:00",
        "ends": "2027-05-04T20:00", "place": "Niesky", "plz": "02906", "audience": "parents",
        "description": "Fragen rund um die Ausbildung."})
    offer = await editor.create_offer(AGENT, ZM, {"company": "nieskyer-stahlfeder", "title": "Praktikum Metall",
                                                  "profession": "industriemechaniker-in", "kind": "praktikum",
                                                  "start": "2027-07-01"})
    clock.advance(days=1)

    # the pack's authors fix the description of the moved event; the pack knows nothing of the new entries
    pack = _with_event(PACK, EVENT, description="Die große Messe in Löbau – mit neuer Beschreibung.")
    report = await sync_pack(uow_factory, pack, clock)

    row = await _event(uow_factory, EVENT)
    assert row.data["starts"] == "2027-09-25T10:00:00+02:00"  # the cockpit's time stays
    assert row.data["description"].endswith("neuer Beschreibung.")  # the pack's new text arrives
    assert row.sequence == 1 and report.announced == 0  # no second message: the time did not change again
    assert not (await _event(uow_factory, created.slug)).archived
    assert [r.archived for r in await _rows(uow_factory, VacancyRow) if r.slug == offer.slug] == [False]
    assert report.kept == {"companies": [], "vacancies": [offer.slug], "events": sorted([EVENT, created.slug]), "faq": []}
    assert report.archived["events"] == 0 and report.archived["vacancies"] == 0

    # a pack that removes the event it knows is not obeyed either: the cockpit edited it
    smaller = dataclasses.replace(pack, events=[e for e in pack.events if e.slug != EVENT])
    again = await sync_pack(uow_factory, smaller, clock)
    assert not (await _event(uow_factory, EVENT)).archived and EVENT in again.kept["events"]


async def test_a_pack_with_a_cockpit_slug_does_not_overwrite_the_cockpits_entry(
        editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    created = await editor.create_event(AGENT, ZM, {
        "title": "Elternabend Niesky", "format": "elternabend", "starts": "2027-05-04T18:00",
        "ends": "2027-05-04T20:00", "place": "Niesky", "plz": "02906", "audience": "parents",
        "description": "Fragen rund um die Ausbildung."})
    template = next(e for e in PACK.events if e.slug == EVENT)
    clash = template.model_copy(update={"slug": created.slug, "title": "Aus dem Pack"})
    report = await sync_pack(uow_factory, dataclasses.replace(PACK, events=[*PACK.events, clash]), clock)
    assert (await _event(uow_factory, created.slug)).title == "Elternabend Niesky"
    assert created.slug in report.kept["events"]


async def test_a_load_that_would_break_a_kept_entry_is_refused_and_writes_nothing(
        editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    offer = await editor.create_offer(AGENT, ZM, {"company": "nieskyer-stahlfeder", "title": "Praktikum Metall",
                                                  "profession": "industriemechaniker-in", "kind": "praktikum",
                                                  "start": "2027-07-01"})
    before = await _content(uow_factory)
    without = dataclasses.replace(
        PACK, companies=[c for c in PACK.companies if c.slug != "nieskyer-stahlfeder"],
        vacancies=[v for v in PACK.vacancies if v.company != "nieskyer-stahlfeder"],
        events=[e.model_copy(update={"companies": [c for c in e.companies if c != "nieskyer-stahlfeder"]})
                for e in PACK.events])
    with pytest.raises(PackError) as refused:
        await sync_pack(uow_factory, without, clock)
    assert any(f'"{offer.slug}".company' in str(p) and "web cockpit" in str(p) for p in refused.value.problems)
    assert await _content(uow_factory) == before


async def test_export_then_load_changes_nothing(editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory,
                                                clock: SteppableClock, tmp_path: Path) -> None:
    await editor.move_event(AGENT, ZM, EVENT, {"starts": "2027-09-25T10:00", "ends": "2027-09-25T16:00",
                                              "place": "Löbau", "plz": "02708", "address": "Stadthalle"})
    await editor.create_event(AGENT, ZM, {
        "title": "Elternabend Niesky", "format": "elternabend", "starts": "2027-10-31T02:30+01:00",
        "ends": "2027-10-31T04:00", "place": "Niesky", "plz": "02906", "audience": "parents",
        "description": "Fragen rund um die Ausbildung.\nMit Imbiss."})
    await editor.create_offer(AGENT, ZM, {"company": "spremberger-steinsetzer", "title": "Praktikum Bau",
                                          "profession": "maurer-in", "kind": "praktikum", "start": "2027-07-01",
                                          "plz": "03130", "place": "Bagenz", "berufsschule": {"name": "Cottbus",
                                                                                             "plz": "03046"}})
    await editor.edit_company(AGENT, ZM, "neisse-metallbau", {"description": "Beispielbetrieb: neu beschrieben."})
    await editor.archive_offer(AGENT, ZM, next(v.slug for v in PACK.vacancies if v.company == "neisse-metallbau"))
    await editor.cancel_event(AGENT, ZM, "insidertreff-loebau-2027")
    before = await _content(uow_factory)
    outbox = await _count(uow_factory, OutboxRow)
    clock.advance(days=1)

    report = await export_pack(uow_factory, tmp_path / "export")
    exported = load_pack(tmp_path / "export", default_directory())  # a valid pack
    loaded = await sync_pack(uow_factory, exported, clock)

    assert report.from_cockpit["events.yaml"] == 3 and report.from_cockpit["vacancies.yaml"] == 1
    assert not loaded.changed and loaded.announced == 0 and loaded.alerted == 0
    assert all(not kept for kept in loaded.kept.values()), loaded.kept
    assert await _content(uow_factory) == before and await _count(uow_factory, OutboxRow) == outbox
    text = (tmp_path / "export" / "vacancies.yaml").read_text(encoding="utf-8")
    assert 'plz: "03130"' in text and "# created in the cockpit" in text
    assert "# edited in the cockpit: address, ends, place, plz, starts" in \
        (tmp_path / "export" / "events.yaml").read_text(encoding="utf-8")


async def test_adopt_hands_entries_back_to_the_pack_once_it_says_the_same(
        editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, tmp_path: Path) -> None:
    await editor.move_event(AGENT, ZM, EVENT, {"starts": "2027-09-25T10:00", "ends": "2027-09-25T16:00"})
    other = await editor.edit_event(AGENT, ZM, "insidertreff-loebau-2027", {"title": "InsiderTreff"})
    await export_pack(uow_factory, tmp_path / "export")
    merged = load_pack(tmp_path / "export", default_directory())
    # the pack's authors take over the move, but not the other edit
    pack = dataclasses.replace(merged, events=[next(e for e in PACK.events if e.slug == other.slug)
                                               if e.slug == other.slug else e for e in merged.events])

    report = await sync_pack(uow_factory, pack, clock, adopt=True)

    assert report.adopted["events"] == 1 and report.kept["events"] == [other.slug]
    assert (await _event(uow_factory, EVENT)).overrides == {}
    assert (await _event(uow_factory, other.slug)).data["title"] == "InsiderTreff"
    later = _with_event(merged, EVENT, title="Karrieretage Löbau 2027 (neu)")  # the pack rules it again
    await sync_pack(uow_factory, later, clock)
    assert (await _event(uow_factory, EVENT)).title == "Karrieretage Löbau 2027 (neu)"


async def test_listing_shows_where_an_entry_comes_from(editor: ContentEditor) -> None:
    await editor.move_event(AGENT, ZM, EVENT, {"starts": "2027-09-25T10:00", "ends": "2027-09-25T16:00"})
    [item] = [i for i in await editor.items(ZM, "events") if i.slug == EVENT]
    assert item.origin == "pack" and item.edited == ("ends", "starts") and not item.archived
    assert [p for p, _ in await editor.professions()]


async def test_when_the_packs_change_does_not_fit_the_cockpits_edit_the_cockpits_entry_stays_whole(
        editor: ContentEditor, uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    offer = next(v for v in PACK.vacancies if v.company == "neisse-metallbau")
    await editor.edit_offer(AGENT, ZM, offer.slug, {"published": "2027-03-01", "title": "Neu im Cockpit"})
    earlier = offer.model_copy(update={"start": offer.published, "title": "Aus dem Pack"})  # before the cockpit's date
    pack = dataclasses.replace(PACK, vacancies=[earlier if v.slug == offer.slug else v for v in PACK.vacancies])
    report = await sync_pack(uow_factory, pack, clock)
    [row] = [r for r in await _rows(uow_factory, VacancyRow) if r.slug == offer.slug]
    assert row.data["title"] == "Neu im Cockpit" and row.data["published"] == "2027-03-01"
    assert offer.slug in report.kept["vacancies"]
