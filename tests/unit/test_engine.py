"""The engine: once per update, one transaction, per-user ordering, apologies instead of crashes."""
from __future__ import annotations

import asyncio

import pytest

from flows.conversations.onboarding import OnboardingFlow
from flows.core.engine import CLAIM_TIMEOUT, Engine, Outcome
from flows.core.model import Event, EventKind, UserRef
from tests.unit.fakes import FakeUnitOfWork, Store
from tests.unit.harness import Harness


def _event(update_id: int, **fields: object) -> Event:
    return Event(user=UserRef(channel="telegram", chat_id=5), update_id=update_id, **fields)  # type: ignore[arg-type]


async def test_same_update_twice_is_processed_once_and_unsent_replies_only_after_the_claim_ran_out() -> None:
    h = Harness()
    start = _event(1, kind=EventKind.COMMAND, text="start")
    first = await h.engine.handle(start)
    again = await h.engine.handle(start)  # redelivered while the first worker sends the replies
    assert again.duplicate and again.replies == []  # that worker sends them: never twice
    h.clock.advance(seconds=CLAIM_TIMEOUT.total_seconds() + 1)  # ... but it died before sending
    taken = await h.engine.handle(start)
    assert taken.duplicate and [r.key for r in taken.replies] == [r.key for r in first.replies]
    assert (await h.engine.handle(start)).replies == []  # taken over once, not by every redelivery
    await h.engine.mark_answered(start)
    h.clock.advance(seconds=CLAIM_TIMEOUT.total_seconds() + 1)
    assert (await h.engine.handle(start)).replies == []  # sent: never again
    assert len(h.store.states) == 1 and list(h.store.states.values())[0].version == 1


async def test_an_update_whose_worker_died_before_handling_it_is_handled_by_the_next() -> None:
    h = Harness()
    start = _event(3, kind=EventKind.COMMAND, text="start")
    async with FakeUnitOfWork(h.store) as uow:  # claimed by a worker that then died
        assert await uow.updates.claim("telegram", 3, 5, h.clock.now())
        await uow.commit()
    assert (await h.engine.handle(start)).replies == []  # within the claim: left to that worker
    h.clock.advance(seconds=CLAIM_TIMEOUT.total_seconds() + 1)
    handled = await h.engine.handle(start)
    assert [r.key for r in handled.replies][:1] == ["onboarding.welcome"] and not handled.duplicate


async def test_replies_are_forgotten_once_answered() -> None:
    h = Harness()
    event = _event(2, kind=EventKind.COMMAND, text="meinedaten")
    await h.engine.handle(event)
    assert h.store.updates[("telegram", 2)]["replies"]
    await h.engine.mark_answered(event)
    assert h.store.updates[("telegram", 2)]["replies"] is None  # the export is not kept


async def test_exception_in_a_flow_apologises_keeps_data_and_shows_menu(monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")

    async def broken(self: OnboardingFlow, ctx: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(OnboardingFlow, "handle", broken)
    assert await h.press("ob:age:u16") == ["error.apology", "menu.main"]
    assert h.profile.role == "teen"  # earlier answers survive
    monkeypatch.undo()
    assert await h.command("start") == ["onboarding.welcome", "onboarding.ask_role"]  # bot keeps going


async def test_two_updates_of_one_user_never_run_at_the_same_time(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store()
    h = Harness(store=store)
    active = 0
    overlap = False
    handled: list[int] = []
    original = Engine._process

    async def slow_process(self: Engine, event: Event) -> Outcome:
        nonlocal active, overlap
        active += 1
        overlap = overlap or active > 1
        await asyncio.sleep(0.01)
        try:
            return await original(self, event)
        finally:
            active -= 1
            handled.append(event.update_id or 0)

    with monkeypatch.context() as patched:  # the original comes back when the block ends
        patched.setattr(Engine, "_process", slow_process)
        events = [_event(10 + i, kind=EventKind.TEXT, text="hallo") for i in range(5)]
        await asyncio.gather(*(h.engine.handle(e) for e in events))
    assert not overlap
    assert handled == [e.update_id for e in events]
    assert len(h.store.updates) == 5


async def test_concurrent_change_by_another_worker_is_retried() -> None:
    h = Harness()
    await h.command("start")
    user_id = h.user_id
    state = h.store.states[user_id]
    bumped = state.model_copy(update={"version": state.version + 1})
    h.store.states[user_id] = bumped  # another process saved meanwhile; content identical
    assert await h.press("ob:role:teen") == ["onboarding.ask_age"]


async def test_unknown_command_free_text_and_media_get_helpful_answers() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:skip")
    await h.press("ob:place:skip")
    assert await h.command("gibtsnicht") == ["fallback.unknown_command", "menu.main"]
    assert await h.text("hallo?") == ["fallback.free_text", "menu.main"]  # small talk: a hint and the menu
    assert await h.text("Was ist ein Quantencomputer?") == ["questions.nothing"]  # a question nothing answers
    for media in ("sticker", "photo", "voice", "video"):
        assert await h.media(media) == ["fallback.media", "menu.main"]
    assert await h.location(51.0, 14.0) == ["fallback.location", "menu.main"]


async def test_menu_offers_every_journey_and_help() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:skip")
    await h.press("ob:place:skip")
    assert {"qz:start", "p:open", "v:open", "e:open", "ob:settings:open", "pv:info:open"} <= set(h.button_data)
    assert await h.press("m:help") == ["menu.help", "menu.main"]
    assert await h.command("abbrechen") == ["menu.cancelled", "menu.main"]


async def test_media_in_the_middle_of_a_question_repeats_the_question() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    assert await h.media("sticker") == ["fallback.media", "onboarding.ask_age"]


async def test_resume_shows_the_open_question() -> None:
    h = Harness()
    await h.command("start")
    await h.press("ob:role:teen")
    outcome = await h.engine.resume(h.user)
    assert [r.key for r in outcome.replies] == ["onboarding.ask_age"]


async def test_last_seen_is_kept_to_the_hour_and_a_returning_user_is_active_again() -> None:
    h = Harness()
    await h.command("start")
    first = h.profile.last_seen_at
    h.clock.advance(minutes=30)
    await h.press("ob:role:teen")
    assert h.profile.last_seen_at == first  # a tap within the hour writes no profile change
    h.store.users[h.user_id].active = False  # the user had blocked the bot
    h.clock.advance(minutes=31)
    await h.press("ob:age:u16")
    assert h.profile.last_seen_at == h.clock.now() and h.profile.active


def test_a_nul_character_in_what_a_user_sends_is_dropped_before_anything_stores_it() -> None:
    from flows.core.model import Event, EventKind, UserRef

    event = Event(user=UserRef(channel="telegram", chat_id=1), kind=EventKind.TEXT, text="Dach\x00decker",
                  payload="zukunft\x00smacher")
    assert (event.text, event.payload) == ("Dachdecker", "zukunftsmacher")


async def test_webhook_workers_resend_only_replies_a_dead_worker_left_and_only_once() -> None:
    h = Harness()
    start = _event(4, kind=EventKind.COMMAND, text="start")
    await h.engine.handle(start)  # stored; a live worker is sending it
    since = h.clock.now() - CLAIM_TIMEOUT
    assert await h.engine.unanswered("telegram", since, abandoned_only=True) == []
    assert len(await h.engine.unanswered("telegram", since)) == 1  # the only poller resends at once
    h.clock.advance(seconds=CLAIM_TIMEOUT.total_seconds() + 1)  # that worker died
    [(event, outcome)] = await h.engine.unanswered("telegram", since, abandoned_only=True)
    assert event.update_id == 4 and outcome.replies
    assert await h.engine.unanswered("telegram", since, abandoned_only=True) == []  # taken over once
