"""Announcements on real SQLite: the broadcasts, one recipient row per (broadcast, person), the weekly
cap, taps, results, erasure, and an audience that agrees with the domain's rules (FakeBroadcasts)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import col

from content import DEMO_DIR, default_directory, load_pack
from flows.core.model import ConsentRecord, Profile, QuizAttempt
from flows.domain.broadcast import (
    CONSENT_VERSION,
    WEEK,
    AnnouncementButton,
    Audience,
    Broadcast,
    BroadcastStatus,
    ButtonKind,
    Recipient,
    RecipientStatus,
    Topic,
    consent_purpose,
)
from flows.domain.content import Rsvp, SearchFilters
from flows.domain.lead import Lead, LeadStatus, ParentRequest
from flows.jobs.retention import INACTIVE_PROFILE_KEPT, purge
from storage.content_sync import sync_pack
from storage.db import create_engine, session_factory
from storage.tables_broadcasts import BroadcastRecipientRow
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.unit.fakes import FakeBroadcasts, SteppableClock, Store

PACK = load_pack(DEMO_DIR, default_directory())
CLUSTER = "zukunftsmacher"
EVENT = "ums-zittau-2027-01"  # in Zittau, a cluster event


def _broadcast(now: datetime, **fields: object) -> Broadcast:
    values: dict[str, object] = {"cluster": CLUSTER, "topic": Topic.EVENTS, "text_du": "Komm vorbei, {vorname}!",
                                 "text_sie": "Kommen Sie vorbei!", "created_by": "telegram:900", "created_at": now}
    values.update(fields)
    return Broadcast.model_validate(values)


async def _user(uow: SqlUnitOfWork, chat_id: int, now: datetime, **fields: object) -> int:
    values: dict[str, object] = {"channel": "telegram", "chat_id": chat_id, "role": "teen", "age_band": "18plus",
                                 "cluster": CLUSTER, "plz": "02826", "place": "Görlitz", "onboarded": True,
                                 "created_at": now, "last_seen_at": now}
    values.update(fields)
    profile = await uow.users.save(Profile.model_validate(values))
    assert profile.id is not None
    return profile.id


async def _opt_in(uow: SqlUnitOfWork, user_id: int, at: datetime, topic: Topic = Topic.EVENTS,
                  given_by: str = "self", withdrawn_at: datetime | None = None) -> None:
    await uow.consents.add(user_id, ConsentRecord(purpose=consent_purpose(topic), text_version=CONSENT_VERSION,
                                                  given_by=given_by, given_at=at, withdrawn_at=withdrawn_at))


def _recipient(broadcast_id: int, user_id: int, **fields: object) -> Recipient:
    values: dict[str, object] = {"broadcast_id": broadcast_id, "user_id": user_id, "channel": "telegram",
                                 "chat_id": 1000 + user_id, "formal": False, "minor": False}
    values.update(fields)
    return Recipient.model_validate(values)


async def _people(uow_factory: SqlUnitOfWorkFactory, now: datetime, count: int) -> list[int]:
    async with uow_factory() as uow:
        ids = [await _user(uow, 100 + i, now) for i in range(count)]
        await uow.commit()
    return ids


async def test_broadcasts_are_stored_whole_listed_newest_first_and_due_when_their_time_comes(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    now = clock.now()
    draft = _broadcast(now, picture="AgACAgIAAxkBAAIB", audience=Audience(roles=["teen"], radius_km=30,
                                                                          near_plz="02826", school_classes=[9]),
                       buttons=[AnnouncementButton(kind=ButtonKind.EVENT, ref=EVENT),
                                AnnouncementButton(kind=ButtonKind.LINK, ref="https://example.org", label="Mehr")])
    draft.record("created", "telegram:900", now)
    async with uow_factory() as uow:
        first = await uow.broadcasts.add(draft)
        second = await uow.broadcasts.add(_broadcast(now, scheduled_at=now + timedelta(hours=1),
                                                     status=BroadcastStatus.SCHEDULED))
        other = await uow.broadcasts.add(_broadcast(now, cluster="tab-mint", status=BroadcastStatus.RUNNING))
        await uow.commit()
    assert first.id is not None and second.id is not None and other.id is not None and draft.id is None
    async with uow_factory() as uow:
        assert await uow.broadcasts.get(first.id) == first  # every field, buttons, audience and history too
        assert await uow.broadcasts.get(999) is None
        assert [b.id for b in await uow.broadcasts.for_cluster(CLUSTER)] == [second.id, first.id]
        assert [b.id for b in await uow.broadcasts.due(now)] == [other.id]  # running: goes on feeding
        assert [b.id for b in await uow.broadcasts.due(now + timedelta(hours=1))] == [second.id, other.id]
        changed = first.model_copy(update={"status": BroadcastStatus.SCHEDULED, "scheduled_at": now,
                                           "approved_by": "telegram:901", "text_du": "Neu"}, deep=True)
        changed.record("approved", "telegram:901", now + timedelta(minutes=1))
        await uow.broadcasts.save(changed)
        assert await uow.broadcasts.get(first.id) == changed  # read in the same unit of work
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.broadcasts.get(first.id)
        assert stored == changed and stored is not None
        assert [h.action for h in stored.history] == ["created", "approved"]
        assert [b.id for b in await uow.broadcasts.due(now)] == [first.id, other.id]


async def test_one_recipient_row_per_broadcast_and_person_however_often_it_is_added(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    now = clock.now()
    ids = await _people(uow_factory, now, 3)
    async with uow_factory() as uow:
        broadcast = await uow.broadcasts.add(_broadcast(now))
        assert broadcast.id is not None
        rows = [_recipient(broadcast.id, u, first_name="Tom", km=12) for u in ids]
        assert await uow.broadcasts.add_recipients(rows[:2]) == 2
        assert await uow.broadcasts.add_recipients(rows) == 1  # the two that exist are left alone
        assert await uow.broadcasts.add_recipients([]) == 0
        await uow.commit()
    async with uow_factory() as uow:
        await uow.broadcasts.set_recipient_status(broadcast.id, ids[0], RecipientStatus.SENT, now)
        changed = [r.model_copy(update={"first_name": "Anna"}) for r in rows]
        assert await uow.broadcasts.add_recipients(changed) == 0
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.broadcasts.recipient(broadcast.id, ids[0])
        assert stored is not None and stored.status is RecipientStatus.SENT and stored.first_name == "Tom"
        assert await uow.broadcasts.recipient(broadcast.id, 999) is None
        found = (await uow.session.execute(select(func.count()).select_from(BroadcastRecipientRow))).scalar_one()
        assert found == 3


async def test_competing_workers_adding_the_same_recipients_end_with_one_row_each_and_no_error(
        db_url: str, clock: SteppableClock) -> None:
    """Two processes (two engines: nothing of one process serialises them) resolve the same audience
    at once; the unique (broadcast, person) row keeps every person to one row."""
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        factories = [SqlUnitOfWorkFactory(session_factory(e), clock) for e in engines]
        now = clock.now()
        ids = await _people(factories[0], now, 60)
        async with factories[0]() as uow:
            broadcast = await uow.broadcasts.add(_broadcast(now))
            await uow.commit()
        assert broadcast.id is not None
        bid = broadcast.id

        async def worker(factory: SqlUnitOfWorkFactory, users: list[int]) -> int:
            new = 0
            for start in range(0, len(users), 10):  # in batches, as a feeder would
                async with factory() as uow:
                    new += await uow.broadcasts.add_recipients([_recipient(bid, u) for u in users[start:start + 10]])
                    await uow.commit()
            return new

        results = await asyncio.gather(worker(factories[0], ids[:40]), worker(factories[1], ids[20:]),
                                       worker(factories[1], list(reversed(ids))))
        assert sum(results) == len(ids)
        async with factories[1]() as uow:
            rows = (await uow.session.execute(select(col(BroadcastRecipientRow.user_id)).where(
                col(BroadcastRecipientRow.broadcast_id) == bid))).scalars().all()
            assert sorted(rows) == sorted(ids)
    finally:
        for engine in engines:
            await engine.dispose()


async def test_statuses_the_weekly_cap_and_cancelling_what_is_not_sent(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    now = clock.now()
    ids = await _people(uow_factory, now, 5)
    async with uow_factory() as uow:
        old = await uow.broadcasts.add(_broadcast(now - timedelta(days=9)))
        first = await uow.broadcasts.add(_broadcast(now))
        second = await uow.broadcasts.add(_broadcast(now))
        assert old.id is not None and first.id is not None and second.id is not None
        for b in (old.id, first.id, second.id):
            await uow.broadcasts.add_recipients([_recipient(b, u) for u in ids])
        await uow.broadcasts.set_recipient_status(old.id, ids[0], RecipientStatus.SENT, now - timedelta(days=8))
        await uow.broadcasts.set_recipient_status(first.id, ids[0], RecipientStatus.SENT, now - timedelta(days=6))
        await uow.broadcasts.set_recipient_status(second.id, ids[0], RecipientStatus.SENT, now)
        await uow.broadcasts.set_recipient_status(first.id, ids[1], RecipientStatus.FAILED, now)
        await uow.broadcasts.set_recipient_status(first.id, ids[2], RecipientStatus.QUEUED, now)
        await uow.broadcasts.set_recipient_status(first.id, ids[3], RecipientStatus.UNKNOWN, now)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.broadcasts.sent_since(ids[0], now - WEEK) == 2  # the one 8 days ago no longer counts
        assert await uow.broadcasts.sent_since(ids[0], now - timedelta(days=6)) == 2  # from exactly then
        assert await uow.broadcasts.sent_since(ids[0], now - timedelta(days=5)) == 1
        assert await uow.broadcasts.sent_since(ids[1], now - WEEK) == 0  # failed is not "got it"
        planned = await uow.broadcasts.recipients(first.id, RecipientStatus.PLANNED, 10)
        assert [r.user_id for r in planned] == [ids[4]]
        assert [r.user_id for r in await uow.broadcasts.recipients(second.id, RecipientStatus.PLANNED, 2)] == ids[1:3]
        cancel_at = now + timedelta(minutes=5)
        assert await uow.broadcasts.set_planned_status(first.id, RecipientStatus.CANCELLED, cancel_at) == 2
        await uow.commit()
    async with uow_factory() as uow:
        statuses = {u: (await uow.broadcasts.recipient(first.id, u)) for u in ids}
        assert {u: r.status for u, r in statuses.items() if r} == {
            ids[0]: RecipientStatus.SENT, ids[1]: RecipientStatus.FAILED, ids[2]: RecipientStatus.CANCELLED,
            ids[3]: RecipientStatus.UNKNOWN, ids[4]: RecipientStatus.CANCELLED}
        cancelled = statuses[ids[2]]
        assert cancelled is not None and cancelled.status_at == cancel_at
        assert await uow.broadcasts.set_planned_status(first.id, RecipientStatus.CANCELLED, cancel_at) == 0
        assert len(await uow.broadcasts.recipients(second.id, RecipientStatus.PLANNED, 10)) == 4  # untouched


async def test_only_the_first_tap_counts(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    now = clock.now()
    ids = await _people(uow_factory, now, 1)
    async with uow_factory() as uow:
        broadcast = await uow.broadcasts.add(_broadcast(now))
        assert broadcast.id is not None
        await uow.broadcasts.add_recipients([_recipient(broadcast.id, ids[0], status=RecipientStatus.SENT,
                                                        status_at=now)])
        await uow.broadcasts.record_tap(broadcast.id, ids[0], now + timedelta(minutes=1))
        await uow.broadcasts.record_tap(broadcast.id, ids[0], now + timedelta(minutes=2))
        await uow.broadcasts.record_tap(broadcast.id, 999, now)  # no such recipient: nothing happens
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.broadcasts.recipient(broadcast.id, ids[0])
        assert stored is not None and stored.tapped_at == now + timedelta(minutes=1)
        assert (await uow.broadcasts.results(broadcast.id)).taps == 1


async def test_results_count_statuses_taps_and_what_followed_within_its_window(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    now = clock.now()
    ids = await _people(uow_factory, now, 12)
    sent = now
    async with uow_factory() as uow:
        broadcast = await uow.broadcasts.add(_broadcast(now, buttons=[AnnouncementButton(kind=ButtonKind.EVENT,
                                                                                         ref=EVENT)]))
        assert broadcast.id is not None
        bid = broadcast.id
        statuses = [RecipientStatus.SENT] * 6 + [RecipientStatus.BLOCKED, RecipientStatus.FAILED,
                                                 RecipientStatus.UNKNOWN, RecipientStatus.OPTED_OUT,
                                                 RecipientStatus.CAPPED, RecipientStatus.PLANNED]
        await uow.broadcasts.add_recipients([_recipient(bid, u, status=s, status_at=sent)
                                             for u, s in zip(ids, statuses, strict=True)])
        await uow.broadcasts.record_tap(bid, ids[0], sent + timedelta(minutes=3))
        await uow.broadcasts.record_tap(bid, ids[1], sent + timedelta(minutes=4))
        # Opt-outs: within 48 h (ids[0], exactly at 48 h ids[1]); too late (ids[2]); another topic (ids[3]);
        # before the message (ids[4]); a blocked person's withdrawal does not count (ids[6]).
        await _opt_in(uow, ids[0], now - timedelta(days=30), withdrawn_at=sent + timedelta(hours=47))
        await _opt_in(uow, ids[1], now - timedelta(days=30), withdrawn_at=sent + timedelta(hours=48))
        await _opt_in(uow, ids[2], now - timedelta(days=30), withdrawn_at=sent + timedelta(hours=49))
        await _opt_in(uow, ids[3], now - timedelta(days=30), topic=Topic.NEWS, withdrawn_at=sent + timedelta(hours=1))
        await _opt_in(uow, ids[4], now - timedelta(days=30), withdrawn_at=sent - timedelta(hours=1))
        await _opt_in(uow, ids[0], now - timedelta(days=30), withdrawn_at=sent + timedelta(hours=2))  # counted once
        await _opt_in(uow, ids[6], now - timedelta(days=30), withdrawn_at=sent + timedelta(hours=1))
        # RSVPs to its event: within 7 days (ids[0], ids[5]); too late (ids[1]); another event (ids[2]);
        # before the message (ids[3]).
        for user, event, at in ((ids[0], EVENT, sent + timedelta(days=1)), (ids[5], EVENT, sent + timedelta(days=7)),
                                (ids[1], EVENT, sent + timedelta(days=8)),
                                (ids[2], "schau-rein-zittau-2027", sent + timedelta(hours=1)),
                                (ids[3], EVENT, sent - timedelta(minutes=1))):
            await uow.events.save_rsvp(user, Rsvp(event=event, offsets=[], created_at=at))
        # Leads: within 7 days (ids[2], twice: counted once); too late (ids[4]); before (ids[5]); not sent (ids[7]).
        for n, (user, at) in enumerate(((ids[2], sent + timedelta(hours=5)), (ids[2], sent + timedelta(days=2)),
                                        (ids[4], sent + timedelta(days=7, seconds=1)),
                                        (ids[5], sent - timedelta(days=1)), (ids[7], sent + timedelta(hours=1)))):
            await uow.leads.add_once(Lead(user_id=user, company="zittauer-gebirgsbau", target=f"vacancy:{n}",
                                          status=LeadStatus.DELIVERED, created_at=at, status_at=at))
        await uow.commit()
    async with uow_factory() as uow:
        results = await uow.broadcasts.results(bid)
    assert results.model_dump() == {
        "total": 12, "planned": 1, "queued": 0, "sent": 6, "blocked": 1, "failed": 1, "unknown": 1, "skipped": 2,
        "opted_out_48h": 2, "taps": 2, "rsvps_7d": 2, "leads_7d": 1}
    assert results.remaining == 1 and results.not_delivered == 3
    async with uow_factory() as uow:
        assert (await uow.broadcasts.results(999)).total == 0


async def test_erasing_a_person_removes_their_recipient_rows_and_retention_still_runs(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    now = clock.now()
    ids = await _people(uow_factory, now, 3)
    async with uow_factory() as uow:
        broadcast = await uow.broadcasts.add(_broadcast(now))
        assert broadcast.id is not None
        await uow.broadcasts.add_recipients([_recipient(broadcast.id, u, status=RecipientStatus.SENT, status_at=now,
                                                        first_name="Tom") for u in ids])
        await uow.users.delete(ids[0])  # /loeschen
        await uow.commit()
    clock.advance(days=INACTIVE_PROFILE_KEPT.days + 1)
    async with uow_factory() as uow:
        await uow.users.save(Profile(id=ids[2], channel="telegram", chat_id=102, cluster=CLUSTER,
                                     created_at=now, last_seen_at=clock.now()))
        await uow.commit()
    report = await purge(uow_factory, clock)  # ids[1] was not seen for more than a year
    assert report.users == 1
    async with uow_factory() as uow:
        rows = (await uow.session.execute(select(col(BroadcastRecipientRow.user_id)))).scalars().all()
        assert rows == [ids[2]]
        assert await uow.broadcasts.get(broadcast.id) is not None  # the agent's announcement stays
        assert (await uow.broadcasts.results(broadcast.id)).sent == 1


async def test_parents_links_keep_what_they_ask_for(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    now = clock.now()
    ids = await _people(uow_factory, now, 1)
    async with uow_factory() as uow:
        await uow.leads.add_parent_request(ParentRequest(token="a" * 32, user_id=ids[0], lead_ids=[3],
                                                         created_at=now, expires_at=now + timedelta(days=7)))
        await uow.leads.add_parent_request(ParentRequest(token="b" * 32, user_id=ids[0], purpose="announcements",
                                                         topics=["events", "news"], created_at=now,
                                                         expires_at=now + timedelta(days=7)))
        await uow.commit()
    async with uow_factory() as uow:
        lead = await uow.leads.parent_request("a" * 32)
        announcements = await uow.leads.parent_request("b" * 32)
        assert lead is not None and lead.purpose == "lead" and lead.topics == [] and lead.lead_ids == [3]
        assert announcements is not None and announcements.purpose == "announcements"
        assert announcements.topics == ["events", "news"] and announcements.lead_ids == []
        assert [r.token for r in await uow.leads.parent_requests_for(ids[0])] == ["a" * 32, "b" * 32]


# ---- the audience: SQL and the domain's rules agree ------------------------------------------
async def _varied_people(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> dict[str, int]:
    """People of every kind the rules tell apart, named by what makes them special."""
    now = clock.now()
    month = now - timedelta(days=30)
    people: dict[str, int] = {}
    async with uow_factory() as uow:
        async def person(name: str, consent: str | None = "self", topic: Topic = Topic.EVENTS,
                         withdrawn: datetime | None = None, **fields: object) -> int:
            user_id = await _user(uow, 5000 + len(people), now, **fields)
            if consent is not None:
                await _opt_in(uow, user_id, month, topic, consent, withdrawn)
            people[name] = user_id
            return user_id

        await person("teen_goerlitz", age_band="16_17", school_status="pupil", school_class=9)
        await person("u16_self", age_band="u16", plz="02763", place="Zittau")
        await person("u16_parent", consent="parent", age_band="u16", plz="02763", place="Zittau", school_class=8,
                     school_status="pupil", locale="en")
        await person("teen_no_age_self", age_band=None)
        await person("teen_no_age_parent", consent="parent", age_band=None, plz="02625", place="Bautzen")
        await person("parent_cottbus", role="parent", age_band=None, plz="03046", place="Cottbus")
        await person("withdrawn", withdrawn=now - timedelta(days=1))
        await person("inactive", active=False)
        await person("other_cluster", cluster="tab-mint", plz="06108", place="Halle (Saale)")
        await person("news_only", topic=Topic.NEWS)
        await person("no_consent", consent=None)
        await person("rsvp", plz="02763", place="Zittau", last_seen_at=now - timedelta(days=2))
        await person("quiz", age_band="16_17", last_seen_at=now - timedelta(days=30), school_status="pupil",
                     school_class=10, plz="02906", place="Niesky")
        await person("saved_search", school_status="abitur", last_seen_at=None, plz="02625", place="Bautzen")
        await person("got_it", age_band="16_17")
        await person("capped_it", role="parent", age_band=None)
        await person("no_role", role=None, age_band=None)
        await person("company", role="company", age_band=None)
        await person("unknown_home", plz="02826", place="Nirgendwo")
        await person("no_home", plz=None, place=None)
        await person("far_teen", plz="01968", place="Senftenberg", age_band="16_17")
        # Another record beside an active one: a withdrawn self opt-in of a u16 does not matter.
        await _opt_in(uow, people["u16_parent"], month, given_by="self", withdrawn_at=now - timedelta(days=3))

        await uow.events.save_rsvp(people["rsvp"], Rsvp(event=EVENT, offsets=["1d"], created_at=month))
        await uow.events.save_rsvp(people["quiz"], Rsvp(event="schau-rein-zittau-2027", offsets=[], created_at=month))
        await uow.quiz.save(people["quiz"], QuizAttempt(answers={}, started_at=month, finished_at=month,
                                                        top=["mechatroniker-in", "maurer-in"]))
        await uow.quiz.save(people["teen_goerlitz"], QuizAttempt(answers={}, started_at=month,  # not finished
                                                                 top=["mechatroniker-in"]))
        await uow.vacancies.save_search(people["saved_search"], SearchFilters(profession="industriemechaniker-in"),
                                        month)
        await uow.vacancies.save_search(people["saved_search"], SearchFilters(radius_km=10), month)
        for n, (name, shared) in enumerate((("teen_goerlitz", {"first_name": "Alt"}),
                                            ("teen_goerlitz", {"first_name": "Lea"}),
                                            ("rsvp", {"first_name": "Ben"}), ("rsvp", {}),
                                            ("parent_cottbus", {"first_name": "Petra", "phone": "+49"}))):
            await uow.leads.add_once(Lead(user_id=people[name], company="zittauer-gebirgsbau", target=f"vacancy:{n}",
                                          status=LeadStatus.DELIVERED, shared=shared, created_at=month,
                                          status_at=month))
        earlier = await uow.broadcasts.add(_broadcast(now - timedelta(days=3)))
        assert earlier.id is not None
        people["earlier"] = earlier.id
        await uow.broadcasts.add_recipients([
            _recipient(earlier.id, people["got_it"], status=RecipientStatus.SENT, status_at=now - timedelta(days=3)),
            _recipient(earlier.id, people["capped_it"], status=RecipientStatus.CAPPED, status_at=now),
            _recipient(earlier.id, people["quiz"], status=RecipientStatus.SENT, status_at=now - timedelta(days=1))])
        await uow.commit()
    return people


async def _mirror(uow: SqlUnitOfWork, user_ids: list[int], broadcast_ids: list[int]) -> Store:
    """The same data, read back through the other repositories, in the fakes' store."""
    store = Store()
    store.professions = await uow.content.professions()
    store.events = [e for e in [await uow.events.get(ev.slug) for ev in PACK.events] if e is not None]
    for user_id in user_ids:
        profile = await uow.users.by_id(user_id)
        assert profile is not None
        store.users[user_id] = profile
        store.consents[user_id] = await uow.consents.list_for_user(user_id)
        store.quiz[user_id] = await uow.quiz.list_for_user(user_id)
        store.searches[user_id] = await uow.vacancies.searches(user_id)
        store.rsvps[user_id] = {r.event: r for r in await uow.events.rsvps(user_id)}
        for lead in await uow.leads.for_user(user_id):
            assert lead.id is not None
            store.leads[lead.id] = lead
    for broadcast_id in broadcast_ids:
        broadcast = await uow.broadcasts.get(broadcast_id)
        assert broadcast is not None
        store.broadcasts[broadcast_id] = broadcast
        for status in RecipientStatus:
            for r in await uow.broadcasts.recipients(broadcast_id, status, 100_000):
                store.recipients[(broadcast_id, r.user_id)] = r
    return store


AUDIENCES = [
    Audience(),
    Audience(roles=[]),
    Audience(roles=["parent"]),
    Audience(roles=["teen"], age_bands=["u16"]),
    Audience(age_bands=["16_17", "18plus"]),
    Audience(near_plz="02826", radius_km=30),
    Audience(near_plz="02826"),  # no radius: the whole cluster
    Audience(near_plz="99999", radius_km=5),  # an unknown postcode: no centre, no radius
    Audience(near_event=EVENT, radius_km=20),
    Audience(near_event=EVENT, near_plz="03046", radius_km=60),  # the event wins
    Audience(fields=["mechatronik"]),
    Audience(fields=["metall-elektro", "bau-handwerk"]),
    Audience(professions=["industriemechaniker-in"]),
    Audience(professions=["mechatroniker-in"], fields=["metall-elektro"]),
    Audience(school_statuses=["pupil"]),
    Audience(school_classes=[9, 10]),
    Audience(rsvp_event=EVENT, rsvp_going=True),
    Audience(rsvp_event=EVENT, rsvp_going=False),
    Audience(rsvp_event=EVENT),  # without an answer: no filter
    Audience(active_within_days=7),
    Audience(active_within_days=60),
    Audience(exclude_recipients_of=[1, 2, 3, 4, 5]),
    Audience(roles=[], exclude_recipients_of=[999]),
    Audience(roles=["teen"], age_bands=["16_17"], near_event=EVENT, radius_km=100, active_within_days=40,
             school_statuses=["pupil"], exclude_recipients_of=[1, 2, 3]),
]


async def test_the_sql_audience_is_exactly_the_domains(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    people = await _varied_people(uow_factory, clock)
    earlier = people.pop("earlier")
    now = clock.now()
    seen: set[int] = set()
    async with uow_factory() as uow:
        made = []
        for n, audience in enumerate(AUDIENCES):
            buttons = [AnnouncementButton(kind=ButtonKind.EVENT, ref=EVENT)] if n % 2 else []
            topic = Topic.NEWS if n == 1 else Topic.EVENTS
            made.append(await uow.broadcasts.add(_broadcast(now, audience=audience, buttons=buttons, topic=topic)))
        await uow.commit()
    async with uow_factory() as uow:
        store = await _mirror(uow, list(people.values()), [earlier] + [b.id for b in made if b.id is not None])
        fake = FakeBroadcasts(store)
        for broadcast in made:
            # Exclusions name the earlier announcement whatever ids the audiences were written with.
            if broadcast.audience.exclude_recipients_of:
                broadcast.audience.exclude_recipients_of.append(earlier)
            expected = await fake.audience(broadcast, now)
            got = await uow.broadcasts.audience(broadcast, now)
            assert got == expected, broadcast.audience
            for weekly_cap in (0, 1, 2):
                assert await uow.broadcasts.count(broadcast, now, weekly_cap) == \
                    await fake.count(broadcast, now, weekly_cap), broadcast.audience
            seen |= {r.user_id for r in got}
        plain = await uow.broadcasts.audience(made[0], now)
        name_of = {v: k for k, v in people.items()}
        assert sorted(name_of[r.user_id] for r in plain) == sorted(
            ["teen_goerlitz", "u16_parent", "teen_no_age_parent", "parent_cottbus", "rsvp", "quiz", "saved_search",
             "got_it", "capped_it", "unknown_home", "no_home", "far_teen"])
        by_name = {name_of[r.user_id]: r for r in await uow.broadcasts.audience(made[1], now)}  # news, everyone
        assert set(by_name) == {"news_only"}
        with_event = {name_of[r.user_id]: r for r in await uow.broadcasts.audience(made[9], now)}
        assert with_event["rsvp"].first_name is None and with_event["rsvp"].km == 0  # the latest lead: no name
        assert with_event["u16_parent"].minor and with_event["u16_parent"].locale == "en"
        assert "parent_cottbus" not in with_event and "far_teen" not in with_event  # farther than 20 km
        cottbus = next(r for r in plain if name_of[r.user_id] == "parent_cottbus")
        assert cottbus.formal and cottbus.first_name == "Petra" and cottbus.km is None  # no event: no km
    # Every kind of person was chosen by some audience, and the others never.
    never = {people[n] for n in ("u16_self", "teen_no_age_self", "withdrawn", "inactive", "other_cluster",
                                 "no_consent")}
    assert seen == set(people.values()) - never  # incl. "company" and "no_role": roles [] means any role


async def test_the_audience_of_thousands_is_resolved_in_a_few_queries(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    """10,000 opted-in people (and others): one pass, every one of them, with their details."""
    from sqlalchemy import event, insert

    from storage.tables import ConsentRow, UserRow

    await sync_pack(uow_factory, PACK, clock)
    now = clock.now()
    towns = [("02826", "Görlitz"), ("02763", "Zittau"), ("02625", "Bautzen"), ("03046", "Cottbus")]
    async with uow_factory() as uow:
        users = [{"channel": "telegram", "chat_id": 10_000 + i, "role": "teen" if i % 3 else "parent",
                  "age_band": ("u16", "16_17", "18plus", None)[i % 4], "cluster": CLUSTER,
                  "plz": towns[i % 4][0], "place": towns[i % 4][1], "onboarded": True, "active": True,
                  "locale": "de", "created_at": now, "last_seen_at": now} for i in range(12_000)]
        await uow.session.execute(insert(UserRow), users)
        ids = (await uow.session.execute(select(col(UserRow.id)).order_by(col(UserRow.id)))).scalars().all()
        consents: list[dict[str, object]] = [{"user_id": u, "purpose": consent_purpose(Topic.EVENTS), "text_version": CONSENT_VERSION,
                     "given_by": "parent", "recipients": [], "given_at": now} for u in ids[:10_000]]
        await uow.session.execute(insert(ConsentRow), consents)
        broadcast = await uow.broadcasts.add(_broadcast(now, buttons=[AnnouncementButton(kind=ButtonKind.EVENT,
                                                                                         ref=EVENT)],
                                                        audience=Audience(near_event=EVENT, radius_km=200)))
        await uow.commit()
    statements: list[str] = []
    engine = uow_factory.sessions.kw["bind"]

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with uow_factory() as uow:
            chosen = await uow.broadcasts.audience(broadcast, now)
            assert await uow.broadcasts.add_recipients(chosen) == 10_000
            await uow.commit()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(chosen) == 10_000 and {r.km for r in chosen} == {31, 0, 41, 101}  # Görlitz, Zittau, Bautzen, Cottbus
    assert len(statements) < 20  # not one query per person
