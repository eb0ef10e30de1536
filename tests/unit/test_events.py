"""Messen & Termine: relevant events, RSVP with reminders in the outbox, .ics, changes, feedback."""
from __future__ import annotations

from datetime import UTC, datetime

from content import default_directory
from flows.conversations.events import announce_change
from flows.delivery.outbox import OutboxStatus
from tests.unit.fakes import EVENTS, FakeUnitOfWork, SteppableClock
from tests.unit.harness import Harness

LOEBAU_FAIR = next(e for e in EVENTS if "karrieretage" in e.slug)


async def _user(role: str = "teen", plz: str = "02708", start: datetime | None = None) -> Harness:
    h = Harness(places=default_directory(), clock=SteppableClock(start or datetime(2027, 1, 10, 9, tzinfo=UTC)))
    await h.command("start")
    await h.press(f"ob:role:{role}")
    if role == "teen":
        await h.press("ob:age:u16")
    await h.text(plz)
    await h.press(next(d for d in h.button_data if d.startswith("ob:place_c")))
    if role == "teen":
        await h.press("ob:school:skip")
    return h


def _pending(h: Harness) -> list[str]:
    return sorted(m.idempotency_key for m in h.store.outbox.values() if m.status is OutboxStatus.PENDING)


async def test_list_shows_upcoming_events_near_home_for_the_audience() -> None:
    teen = await _user("teen")
    assert await teen.press("e:open") == ["events.list"]
    items = teen.reply("events.list").values["items"]
    slugs = [d.removeprefix("e:s:") for d in teen.button_data if d.startswith("e:s:")]
    shown = [e for e in EVENTS if e.slug in slugs]
    assert shown and all(e.audience in ("teens", "both") and not e.cancelled for e in shown)
    assert [e.starts for e in shown] == sorted(e.starts for e in shown)
    assert all(i["km"] is None or i["km"] <= 50 or e.cluster == "zukunftsmacher" for i, e in zip(items, shown))
    parent = await _user("parent")
    await parent.press("e:open")
    parent_slugs = [d.removeprefix("e:s:") for d in parent.button_data if d.startswith("e:s:")]
    assert all(next(e for e in EVENTS if e.slug == s).audience in ("parents", "both") for s in parent_slugs)


async def test_rsvp_plans_reminders_and_feedback_and_cancel_removes_them() -> None:
    h = await _user()
    await h.press("e:open")
    await h.forge(f"e:s:{LOEBAU_FAIR.slug}")
    assert h.keys == ["events.page"] and f"e:y:{LOEBAU_FAIR.slug}" in h.button_data
    assert await h.press(f"e:y:{LOEBAU_FAIR.slug}") == ["events.going", "events.page"]
    keys = _pending(h)
    assert len(keys) == 4  # 7 days, 1 day, 2 hours before, and "Wie war's?" afterwards
    assert sum(k.startswith("reminder:") for k in keys) == 3 and sum(k.startswith("feedback:") for k in keys) == 1
    messages = list(h.store.outbox.values())
    assert all(m.minor for m in messages)  # under 16: the stricter quiet hours apply
    assert await h.press(f"e:y:{LOEBAU_FAIR.slug}") if f"e:y:{LOEBAU_FAIR.slug}" in h.button_data else True
    assert await h.press(f"e:x:{LOEBAU_FAIR.slug}") == ["events.not_going", "events.page"]
    assert _pending(h) == []


async def test_changing_reminder_offsets_replans_the_outbox() -> None:
    h = await _user()
    await h.forge(f"e:s:{LOEBAU_FAIR.slug}")
    await h.press(f"e:y:{LOEBAU_FAIR.slug}")
    assert await h.press(f"e:r:{LOEBAU_FAIR.slug}") == ["events.reminders"]
    await h.press(f"e:t:{LOEBAU_FAIR.slug}:2h")  # switch 2 h off
    assert h.reply("events.reminders").values["offsets"] == ["7d", "1d"]
    assert not any(":2h:" in k for k in _pending(h))
    await h.press(f"e:t:{LOEBAU_FAIR.slug}:off")
    assert [k for k in _pending(h) if k.startswith("reminder:")] == []
    await h.press(f"e:t:{LOEBAU_FAIR.slug}:default")
    assert sum(k.startswith("reminder:") for k in _pending(h)) == 3


async def test_calendar_file_is_an_ics_document() -> None:
    h = await _user()
    await h.forge(f"e:s:{LOEBAU_FAIR.slug}")
    assert await h.press(f"e:c:{LOEBAU_FAIR.slug}") == ["events.calendar"]
    document = h.reply("events.calendar").document
    assert document is not None and document.filename.endswith(".ics")
    assert b"BEGIN:VEVENT" in document.content and b"TZID=Europe/Berlin" in document.content


async def test_feedback_stars_are_stored() -> None:
    h = await _user()
    assert await h.forge(f"e:f:{LOEBAU_FAIR.slug}:4") == ["events.thanks"]
    assert h.store.feedback[h.user_id][LOEBAU_FAIR.slug] == 4
    assert (await h.forge(f"e:f:{LOEBAU_FAIR.slug}:9"))[0] == "fallback.stale_button"


async def test_moved_or_cancelled_event_tells_attendees_and_replans() -> None:
    h = await _user()
    await h.forge(f"e:s:{LOEBAU_FAIR.slug}")
    await h.press(f"e:y:{LOEBAU_FAIR.slug}")
    before = set(_pending(h))
    moved = LOEBAU_FAIR.model_copy(update={"starts": LOEBAU_FAIR.starts.replace(day=LOEBAU_FAIR.starts.day + 1),
                                           "ends": LOEBAU_FAIR.ends.replace(day=LOEBAU_FAIR.ends.day + 1),
                                           "sequence": 1})
    async with FakeUnitOfWork(h.store) as uow:
        assert await announce_change(uow, LOEBAU_FAIR, moved, h.clock.now()) == 1
        await uow.commit()
    after = set(_pending(h))
    assert any(k.startswith("event-change:") for k in after)
    assert not (before & after)  # every old reminder was replaced by one for the new time
    cancelled = moved.model_copy(update={"cancelled": True, "sequence": 2})
    async with FakeUnitOfWork(h.store) as uow:
        await announce_change(uow, moved, cancelled, h.clock.now())
        await uow.commit()
    left = _pending(h)
    assert not any(k.startswith(("reminder:", "feedback:")) for k in left)
    assert sum(k.startswith("event-change:") for k in left) == 2


async def test_rsvps_and_ratings_are_in_the_export() -> None:
    import json

    h = await _user()
    await h.forge(f"e:s:{LOEBAU_FAIR.slug}")
    await h.press(f"e:y:{LOEBAU_FAIR.slug}")
    await h.forge(f"e:f:{LOEBAU_FAIR.slug}:5")
    await h.command("meinedaten")
    document = h.reply("privacy.export").document
    assert document is not None
    export = json.loads(document.content)
    assert export["events"][0]["event"] == LOEBAU_FAIR.slug and export["event_ratings"] == {LOEBAU_FAIR.slug: 5}
