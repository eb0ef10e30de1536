"""Issue 11: a tap on an announcement's button is counted and leads where it says (an event page with
"Erinnere mich", an offer card, a profession page); stale or forged taps do no harm. Blocking the
bot stops everything for that person; unblocking leaves their opt-ins as they were."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime

from content import default_directory
from flows.core.engine import Outcome
from flows.core.model import ConsentRecord, Event, EventKind
from flows.delivery.outbox import OutboxStatus
from flows.domain.broadcast import (
    CONSENT_VERSION,
    AnnouncementButton,
    Broadcast,
    BroadcastStatus,
    ButtonKind,
    Recipient,
    RecipientStatus,
    Topic,
    consent_purpose,
)
from tests.unit.fakes import EVENTS, PROFESSIONS, VACANCIES, FakeBroadcasts, SteppableClock, Store
from tests.unit.harness import Harness

_ids = itertools.count(90_000)
EVENT = next(e for e in EVENTS if e.slug == "impuls-cottbus-2027")
OFFER, PROFESSION = VACANCIES[0], PROFESSIONS[0]


async def _person(store: Store, chat_id: int = 42) -> Harness:
    h = Harness(store=store, chat_id=chat_id, places=default_directory(),
                clock=SteppableClock(datetime(2027, 2, 1, 10, tzinfo=UTC)))
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press("ob:age:16_17")
    await h.text("Löbau")
    await h.press(next(d for d in h.button_data if d.startswith("ob:place_c")))
    await h.press("ob:school:skip")
    return h


def _broadcast(store: Store, h: Harness, status: BroadcastStatus = BroadcastStatus.DONE,
               recipients: list[Harness] | None = None) -> int:
    broadcast_id = store.next_id
    store.next_id += 1
    store.broadcasts[broadcast_id] = Broadcast(
        id=broadcast_id, cluster="zukunftsmacher", topic=Topic.EVENTS, text_du="Komm vorbei", text_sie="Kommen Sie",
        buttons=[AnnouncementButton(kind=ButtonKind.EVENT, ref=EVENT.slug),
                 AnnouncementButton(kind=ButtonKind.OFFER, ref=OFFER.slug),
                 AnnouncementButton(kind=ButtonKind.PROFESSION, ref=PROFESSION.slug),
                 AnnouncementButton(kind=ButtonKind.LINK, ref="https://example.org", label="Mehr"),
                 AnnouncementButton(kind=ButtonKind.EVENT, ref="gibt-es-nicht")],
        status=status, created_by="telegram:1", created_at=h.clock.now())
    for person in [h] if recipients is None else recipients:
        store.recipients[(broadcast_id, person.user_id)] = Recipient(
            broadcast_id=broadcast_id, user_id=person.user_id, channel="telegram", chat_id=person.user.chat_id,
            formal=False, minor=True, status=RecipientStatus.SENT, status_at=h.clock.now())
    return broadcast_id


def _tapped(store: Store, broadcast_id: int, h: Harness) -> datetime | None:
    return store.recipients[(broadcast_id, h.user_id)].tapped_at


async def test_ich_komme_is_counted_and_plans_the_reminders_at_once() -> None:
    store = Store()
    h = await _person(store)
    b = _broadcast(store, h)
    assert await h.forge(f"an:go:{b}:0") == ["events.going", "events.page"]  # one tap: RSVP with reminders
    assert h.reply("events.page").values["title"] == EVENT.title
    assert any(m.status is OutboxStatus.PENDING for m in store.outbox.values())  # reminders planned
    assert _tapped(store, b, h) == h.clock.now()
    first = h.clock.now()
    h.clock.advance(minutes=5)
    planned = len(store.outbox)
    assert await h.forge(f"an:go:{b}:0") == ["events.going", "events.page"]  # a second tap: the first one counts
    assert len(store.outbox) == planned  # and no reminder twice
    assert _tapped(store, b, h) == first
    assert (await FakeBroadcasts(store).results(b)).taps == 1


async def test_offer_and_profession_buttons_open_their_cards() -> None:
    store = Store()
    h = await _person(store)
    b = _broadcast(store, h)
    assert await h.forge(f"an:go:{b}:1") == ["vacancies.card"]
    assert h.reply("vacancies.card").values["title"] == OFFER.title
    assert f"ld:v:{OFFER.slug}" in h.button_data  # "Interessiert mich"
    assert await h.forge(f"an:go:{b}:2") == ["professions.teen_page"]
    assert _tapped(store, b, h) is not None


async def test_stale_and_forged_taps_do_no_harm() -> None:
    store = Store()
    h = await _person(store)
    other = await _person(store, chat_id=43)
    b = _broadcast(store, h, recipients=[other])  # h did not get this one
    assert await h.forge(f"an:go:{b}:0") == ["announcements.stale", "menu.main"]
    assert (b, h.user_id) not in store.recipients
    cancelled = _broadcast(store, h, status=BroadcastStatus.CANCELLED)
    assert await h.forge(f"an:go:{cancelled}:0") == ["announcements.stale", "menu.main"]
    assert _tapped(store, cancelled, h) is None
    mine = _broadcast(store, h)
    for forged in (f"an:go:{mine}:3", f"an:go:{mine}:9", f"an:go:{mine}:x", f"an:go:{mine + 1000}:0", "an:go::"):
        assert await h.forge(forged) == ["announcements.stale", "menu.main"], forged
    assert _tapped(store, mine, h) is None  # a link's index (it opens outside) or a wrong one: not counted
    store.recipients[(mine, h.user_id)].status = RecipientStatus.PLANNED  # not sent yet: a forged button
    assert await h.forge(f"an:go:{mine}:0") == ["announcements.stale", "menu.main"]
    store.recipients[(mine, h.user_id)].status = RecipientStatus.SENT
    assert await h.forge(f"an:go:{mine}:4") == ["announcements.gone", "menu.main"]  # the event is gone
    assert _tapped(store, mine, h) is not None


# ---- blocking -----------------------------------------------------------------------------------
async def _membership(h: Harness, kind: EventKind, update_id: int | None = None) -> Outcome:
    event = Event(user=h.user, kind=kind, update_id=update_id if update_id is not None else next(_ids))
    outcome = await h.engine.handle(event)
    await h.engine.mark_answered(event)
    return outcome


async def test_blocking_marks_inactive_and_drops_pending_messages_unblocking_keeps_opt_ins() -> None:
    store = Store()
    h = await _person(store)
    await h.press("an:set:events:yes")
    await h.forge(f"e:y:{EVENT.slug}")  # reminders in the outbox
    assert any(m.status is OutboxStatus.PENDING for m in store.outbox.values())
    update_id = next(_ids)
    blocked = await _membership(h, EventKind.BLOCKED, update_id)
    assert blocked.replies == []  # never an answer to someone who blocked the bot
    assert store.users[h.user_id].active is False
    assert not any(m.status is OutboxStatus.PENDING for m in store.outbox.values())
    assert (await _membership(h, EventKind.BLOCKED, update_id)).duplicate  # Telegram sent it again
    assert store.users[h.user_id].active is False
    consents = [c.model_copy() for c in store.consents[h.user_id]]
    assert [c.purpose for c in consents] == [consent_purpose(Topic.EVENTS)]
    unblocked = await _membership(h, EventKind.UNBLOCKED)
    assert unblocked.replies == [] and store.users[h.user_id].active is True
    assert store.consents[h.user_id] == consents  # opt-ins stay as they were


async def test_a_block_by_someone_unknown_stores_nobody() -> None:
    store = Store()
    h = Harness(store=store, chat_id=99)
    assert (await _membership(h, EventKind.BLOCKED)).replies == []
    assert (await _membership(h, EventKind.UNBLOCKED)).replies == []
    assert store.users == {}


async def test_whoever_writes_again_after_blocking_is_active() -> None:
    store = Store()
    h = await _person(store)
    store.consents[h.user_id] = [ConsentRecord(purpose=consent_purpose(Topic.NEWS), text_version=CONSENT_VERSION,
                                               given_by="self", given_at=h.clock.now(), id=500)]
    await _membership(h, EventKind.BLOCKED)
    assert await h.command("menu") == ["menu.main"]
    assert store.users[h.user_id].active is True and store.consents[h.user_id][0].withdrawn_at is None
