"""Offers, events, RSVPs and what a content load tells users, on real SQLite."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from content import DEMO_DIR, default_directory, load_pack
from content.schema import Vacancy
from flows.core.model import Profile
from flows.domain.content import Rsvp, SearchFilters
from flows.domain.geo import bounding_box
from storage.content_sync import sync_pack
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock

PACK = load_pack(DEMO_DIR, default_directory())
GOERLITZ = (51.1503, 14.9829)


async def _user(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, chat_id: int = 5) -> Profile:
    async with uow_factory() as uow:
        user = await uow.users.save(Profile(channel="telegram", chat_id=chat_id, role="teen", age_band="u16",
                                            plz="02826", place="Görlitz", created_at=clock.now()))
        await uow.commit()
    return user


async def test_candidates_come_from_the_box_and_cards_have_company_and_school(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with uow_factory() as uow:
        near = await uow.vacancies.candidates(bounding_box(*GOERLITZ, 25), None, None)
        everything = await uow.vacancies.candidates((-90, 90, -180, 180), None, None)
        interns = await uow.vacancies.candidates((-90, 90, -180, 180), "praktikum", None)
        card = await uow.vacancies.card(near[0].slug)
    assert 0 < len(near) < len(everything) == len(PACK.vacancies)
    assert all(c.kind == "praktikum" for c in interns) and interns
    assert card is not None and card.company_name.endswith("(Beispiel)") and card.example
    assert all(abs(c.lat - GOERLITZ[0]) < 0.3 for c in near)


async def test_marks_and_searches_are_stored_once(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    user = await _user(uow_factory, clock)
    assert user.id is not None
    slug = PACK.vacancies[0].slug
    async with uow_factory() as uow:
        assert await uow.vacancies.mark(user.id, slug, "saved", clock.now())
        assert not await uow.vacancies.mark(user.id, slug, "saved", clock.now())
        assert await uow.vacancies.save_search(user.id, SearchFilters(radius_km=50), clock.now())
        assert not await uow.vacancies.save_search(user.id, SearchFilters(radius_km=50), clock.now())
        await uow.commit()
    async with uow_factory() as uow:
        assert [m.slug for m in await uow.vacancies.marks(user.id)] == [slug]
        assert await uow.vacancies.searches(user.id) == [SearchFilters(radius_km=50)]
        [(owner, search_id, filters)] = await uow.vacancies.all_searches()
        assert owner.id == user.id and filters.radius_km == 50
        assert not await uow.vacancies.delete_search(user.id + 1, search_id)  # not someone else's
        assert await uow.vacancies.delete_search(user.id, search_id)
        assert await uow.vacancies.searches(user.id) == []


async def test_rsvp_round_trip_and_attendees(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    user = await _user(uow_factory, clock)
    assert user.id is not None
    event = PACK.events[0].slug
    async with uow_factory() as uow:
        await uow.events.save_rsvp(user.id, Rsvp(event=event, offsets=["7d"], created_at=clock.now()))
        await uow.events.save_rsvp(user.id, Rsvp(event=event, offsets=["1d", "2h"], created_at=clock.now()))
        await uow.events.save_feedback(user.id, event, 5, clock.now())
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.events.rsvp(user.id, event)
        assert stored is not None and stored.offsets == ["1d", "2h"]
        [(profile, rsvp)] = await uow.events.attendees(event)
        assert profile.id == user.id and rsvp.event == event
        assert await uow.events.feedback(user.id) == {event: 5}
        info = await uow.events.get(event)
        assert info is not None and info.starts.tzinfo is not None and info.lat > 0


async def test_loading_a_moved_event_tells_attendees_and_new_offers_alert_searches(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    from flows.domain.geo import distance_km

    def near_goerlitz(v: Vacancy) -> bool:
        assert v.plz is not None  # the loader fills in the company's
        place = default_directory().lookup(v.plz)[0]
        return distance_km(*GOERLITZ, place.lat, place.lon) < 60

    late = next(v for v in PACK.vacancies if near_goerlitz(v))  # an offer that arrives with the next load
    far = next(v for v in PACK.vacancies if not near_goerlitz(v))
    first = [v for v in PACK.vacancies if v.slug not in (late.slug, far.slug)]
    await sync_pack(uow_factory, dataclasses.replace(PACK, vacancies=first), clock)
    user = await _user(uow_factory, clock)
    assert user.id is not None
    event = next(e for e in PACK.events if not e.cancelled and e.starts > datetime(2027, 3, 1, tzinfo=UTC))
    from flows.conversations.events import schedule

    async with uow_factory() as uow:
        info = await uow.events.get(event.slug)
        assert info is not None
        rsvp = Rsvp(event=event.slug, offsets=["1d"], created_at=clock.now())
        await uow.events.save_rsvp(user.id, rsvp)
        await schedule(uow, user, info, None, rsvp, clock.now())
        await uow.vacancies.save_search(user.id, SearchFilters(radius_km=100), clock.now())
        await uow.commit()
    moved = event.model_copy(update={"starts": event.starts + timedelta(days=1), "ends": event.ends + timedelta(days=1)})
    events = [moved if e.slug == event.slug else e for e in PACK.events]
    report = await sync_pack(uow_factory, dataclasses.replace(PACK, events=events), clock)
    assert report.announced == 1
    assert report.alerted == 1  # the offer near Görlitz matches the saved search; the far one doesn't
    async with uow_factory() as uow:
        change = await uow.outbox.get(f"event-change:{user.id}:{event.slug}:1:m")
        info = await uow.events.get(event.slug)
        alerts = [m for m in await uow.outbox.claim_due(clock.now(), 50, 30, "telegram")
                  if m.reply.key == "vacancies.alert"]
    assert change is not None and change.reply.key == "events.changed" and info is not None and info.sequence == 1
    assert len(alerts) == 1 and alerts[0].reply.values["count"] == 1
    again = await sync_pack(uow_factory, dataclasses.replace(PACK, events=events), clock)
    assert again.announced == 0 and not again.changed  # nothing new, nothing told twice
