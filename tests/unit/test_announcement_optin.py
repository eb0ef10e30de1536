"""Issue 11.1: nobody gets an announcement without having said yes, per topic; under 16 a parent
confirms through the same single-use link as for a hand-over; one tap stops a topic."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from content import default_directory
from flows.core.model import ConsentRecord
from flows.delivery.outbox import OutboxStatus
from flows.domain.broadcast import CONSENT_VERSION, Topic, consent_purpose
from flows.wiring import build_engine
from tests.unit.fakes import FakeUnitOfWork, SteppableClock, Store
from tests.unit.harness import Harness

EVENTS, OFFERS, NEWS = (consent_purpose(t) for t in Topic)


def _harness(store: Store, chat_id: int = 42, clock: SteppableClock | None = None) -> Harness:
    return Harness(store=store, chat_id=chat_id, places=default_directory(),
                   clock=clock or SteppableClock(datetime(2027, 2, 1, 10, tzinfo=UTC)))


async def _onboard(h: Harness, role: str = "teen", age: str | None = "16_17") -> list[str]:
    await h.command("start")
    await h.press(f"ob:role:{role}")
    if role == "teen":
        await h.press(f"ob:age:{age}" if age else "ob:age:skip")
    await h.text("Löbau")
    await h.press(next(d for d in h.button_data if d.startswith("ob:place_c")))
    if role == "teen":
        await h.press("ob:school:pupil")
        return await h.press("ob:class:10")
    return h.keys


def _active(store: Store, h: Harness) -> list[ConsentRecord]:
    return [c for c in store.consents.get(h.user_id, []) if c.withdrawn_at is None]


def _settings(h: Harness) -> dict[str, str]:
    """Each topic's state on the opt-in screen."""
    return {b.values["topic"]: b.values["setting"] for row in h.reply("announcements.overview").buttons
            for b in row if b.key == "btn.announcements.topic"}


async def test_the_end_of_onboarding_asks_once_with_a_button_per_topic_and_no_thanks() -> None:
    store = Store()
    h = _harness(store)
    assert await _onboard(h) == ["onboarding.done", "menu.main"]  # the question rides on the last message
    done = h.reply("onboarding.done")
    assert done.values["cap"] == 2 and done.values["parent"] is False
    assert [b.data for row in done.buttons for b in row] == [
        "an:set:events:yes", "an:set:offers:yes", "an:set:news:yes", "an:set:all:no"]
    assert await h.press("an:set:events:yes") == ["announcements.overview"]
    [consent] = _active(store, h)
    assert (consent.purpose, consent.text_version, consent.given_by) == (EVENTS, CONSENT_VERSION, "self")
    assert consent.given_at == h.clock.now()
    assert _settings(h) == {"events": "on", "offers": "off", "news": "off"}
    assert h.reply("announcements.overview").values["cap"] == 2
    assert await h.press("an:set:news:yes") == ["announcements.overview"]
    assert await h.forge("an:set:news:yes") == ["announcements.overview"]  # an older button: still one consent
    assert sorted(c.purpose for c in _active(store, h)) == [EVENTS, NEWS]
    assert await h.press("an:set:events:no") == ["announcements.overview"]
    assert [c.purpose for c in _active(store, h)] == [NEWS]
    withdrawn = [c for c in store.consents[h.user_id] if c.withdrawn_at is not None]
    assert [c.purpose for c in withdrawn] == [EVENTS]  # kept, with the time it was withdrawn
    assert await h.press("m:open") == ["menu.main"]


async def test_no_thanks_records_nothing_and_says_where_to_change_it() -> None:
    store = Store()
    h = _harness(store)
    await _onboard(h)
    assert await h.press("an:set:all:no") == ["announcements.declined"]
    assert store.consents.get(h.user_id, []) == []
    assert h.button_data == ["an:open:m"]
    assert await h.press("an:open:m") == ["announcements.overview"]
    assert set(_settings(h).values()) == {"off"}


async def test_parents_and_others_can_opt_in_themselves_companies_never() -> None:
    store = Store()
    parent = _harness(store, chat_id=50)
    await _onboard(parent, role="parent")
    assert parent.reply("onboarding.done").buttons  # asked, in the Sie form (the reply carries no du)
    assert await parent.press("an:set:offers:yes") == ["announcements.overview"]
    assert [(c.purpose, c.given_by) for c in _active(store, parent)] == [(OFFERS, "self")]

    company = _harness(store, chat_id=51)
    await _onboard(company, role="company")
    assert company.reply("onboarding.done").buttons == []
    await company.command("einstellungen")
    assert not any(d.startswith("an:") for d in company.button_data)
    assert "announcements.overview" not in await company.forge("an:set:events:yes")
    assert "announcements.overview" not in await company.forge("an:open:s")
    assert store.consents.get(company.user_id, []) == []


async def test_settings_show_each_topic_on_or_off_and_lead_back() -> None:
    store = Store()
    h = _harness(store)
    await _onboard(h)
    await h.press("an:set:offers:yes")
    assert await h.command("einstellungen") == ["settings.overview"]
    assert h.button_data[-2:] == ["ob:settings:done", "an:open:s"]  # "Fertig" keeps its place
    assert await h.press("an:open:s") == ["announcements.overview"]
    assert _settings(h) == {"events": "off", "offers": "on", "news": "off"}
    assert await h.press("an:set:events:yes") == ["announcements.overview"]
    assert _settings(h) == {"events": "on", "offers": "on", "news": "off"}
    assert await h.press("ob:settings:open") == ["settings.overview"]
    assert await h.text("irgendwas") != []  # typed text on the screen: not understood, nothing changes
    assert sorted(c.purpose for c in _active(store, h)) == [EVENTS, OFFERS]


async def test_someone_who_has_not_said_who_they_are_is_asked_to_first() -> None:
    store = Store()
    h = _harness(store)
    await h.command("start")
    await h.press("ob:role:skip")
    await h.press("ob:place:skip")
    assert h.reply("onboarding.done").buttons == []  # no role: no question
    assert await h.forge("an:set:events:yes") == ["announcements.role_first"]
    assert store.consents.get(h.user_id, []) == []


async def test_a_configured_weekly_cap_is_named_everywhere() -> None:
    store = Store()
    h = _harness(store)
    h.engine = build_engine(lambda: FakeUnitOfWork(store), default_directory(), h.clock, weekly_cap=3)
    await _onboard(h)
    assert h.reply("onboarding.done").values["cap"] == 3
    await h.press("an:set:events:yes")
    assert h.reply("announcements.overview").values["cap"] == 3


# ---- under 16: a parent confirms --------------------------------------------------------------
async def _child_asks(store: Store, age: str | None = "u16") -> tuple[Harness, str]:
    child = _harness(store)
    await _onboard(child, age=age)
    assert child.reply("onboarding.done").values["parent"] is True
    assert await child.press("an:set:events:yes") == ["announcements.overview"]
    assert store.consents.get(child.user_id, []) == []  # nothing yet: a parent decides
    assert _settings(child) == {"events": "chosen", "offers": "off", "news": "off"}
    assert await child.press("an:set:news:yes") == ["announcements.overview"]
    assert await child.press("an:ask") == ["announcements.parent_link", "menu.main"]
    link = child.reply("announcements.parent_link")
    assert link.values["topics"] == ["events", "news"] and link.values["days"] == 7
    token = link.values["payload"].removeprefix("pc-")
    request = store.parent_requests[token]
    assert (request.purpose, request.topics, request.lead_ids) == ("announcements", ["events", "news"], [])
    return child, token


async def test_under_16_a_parent_confirms_exactly_what_the_child_gets_and_the_child_is_told() -> None:
    store = Store()
    child, token = await _child_asks(store)
    await child.forge("an:open:m")
    assert _settings(child) == {"events": "waiting", "offers": "off", "news": "waiting"}

    parent = _harness(store, chat_id=77, clock=child.clock)
    assert await parent.command("start", f"pc-{token}") == ["announcements.parent_declare"]
    assert await parent.press(f"ld:pr:{token}:p") == ["announcements.parent_review"]
    review = parent.reply("announcements.parent_review")
    assert review.values["topics"] == ["events", "news"] and review.values["cap"] == 2
    assert review.values["version"] == CONSENT_VERSION
    assert await parent.press(f"ld:pa:{token}:p") == ["announcements.parent_thanks"]
    consents = _active(store, child)
    assert sorted((c.purpose, c.given_by, c.text_version) for c in consents) == [
        (EVENTS, "parent", CONSENT_VERSION), (NEWS, "parent", CONSENT_VERSION)]
    request = store.parent_requests[token]
    assert (request.decision, request.relation, request.decided_by_chat_id) == ("approved", "parent", 77)
    assert request.consent_id in {c.id for c in consents}
    [told] = [m for m in store.outbox.values() if m.reply.key == "announcements.child_approved"]
    assert told.recipient.chat_id == 42 and told.status is OutboxStatus.PENDING
    assert told.reply.values["topics"] == ["events", "news"]

    # One decision per link: pressed again, nothing is added.
    assert await parent.forge(f"ld:pa:{token}:p") == ["leads.parent_already", "menu.main"]
    assert len(_active(store, child)) == 2
    await child.forge("an:open:m")
    assert _settings(child) == {"events": "on", "offers": "off", "news": "on"}
    # The child may stop a topic by themselves.
    assert await child.press("an:set:news:no") == ["announcements.overview"]
    assert [c.purpose for c in _active(store, child)] == [EVENTS]


async def test_a_parent_who_declines_gives_no_consent_and_the_child_is_told() -> None:
    store = Store()
    child, token = await _child_asks(store)
    parent = _harness(store, chat_id=77, clock=child.clock)
    await parent.command("start", f"pc-{token}")
    await parent.press(f"ld:pr:{token}:g")
    assert await parent.press(f"ld:pd:{token}:g") == ["announcements.parent_declined"]
    assert store.consents.get(child.user_id, []) == []
    assert [m.reply.key for m in store.outbox.values()] == ["announcements.child_declined"]


async def test_the_childs_own_account_and_minors_are_refused_and_the_link_stays_valid() -> None:
    store = Store()
    child, token = await _child_asks(store)
    assert (await child.command("start", f"pc-{token}"))[0] == "leads.parent_link_own"
    assert (await child.forge(f"ld:pa:{token}:p"))[0] == "leads.parent_link_own"
    friend = _harness(store, chat_id=60, clock=child.clock)
    await _onboard(friend, age="16_17")
    assert (await friend.command("start", f"pc-{token}"))[0] == "leads.parent_link_minor"
    assert (await friend.forge(f"ld:pa:{token}:p"))[0] == "leads.parent_link_minor"
    assert store.parent_requests[token].decided_at is None  # a refusal consumes nothing
    assert store.consents.get(child.user_id, []) == []
    parent = _harness(store, chat_id=77, clock=child.clock)
    await parent.command("start", f"pc-{token}")
    assert await parent.press(f"ld:pr:{token}:n") == ["leads.parent_not_guardian"]
    assert store.parent_requests[token].decided_at is None
    await parent.command("start", f"pc-{token}")
    await parent.press(f"ld:pr:{token}:p")
    assert await parent.press(f"ld:pa:{token}:p") == ["announcements.parent_thanks"]
    assert len(_active(store, child)) == 2


async def test_a_young_person_without_an_age_band_counts_as_under_16() -> None:
    store = Store()
    child, token = await _child_asks(store, age=None)
    assert child.profile.age_band is None and store.parent_requests[token].purpose == "announcements"


async def test_a_self_consent_does_not_count_once_the_profile_says_under_16() -> None:
    store = Store()
    h = _harness(store)
    await _onboard(h, age="16_17")
    await h.press("an:set:events:yes")
    store.users[h.user_id].age_band = "u16"  # changed in /einstellungen
    await h.forge("an:open:s")
    assert _settings(h)["events"] == "off"
    assert "an:ask" not in h.button_data
    assert await h.press("an:set:events:yes") == ["announcements.overview"]
    assert _settings(h)["events"] == "chosen" and "an:ask" in h.button_data


async def test_ask_without_a_choice_or_for_an_adult_creates_no_link() -> None:
    store = Store()
    h = _harness(store)
    await _onboard(h, age="16_17")
    assert await h.forge("an:ask") == ["announcements.overview"]
    child = _harness(store, chat_id=43)
    await _onboard(child, age="u16")
    assert await child.forge("an:ask") == ["announcements.overview"]
    assert store.parent_requests == {}


# ---- "Keine solchen Nachrichten mehr" -----------------------------------------------------------
async def test_stop_works_in_one_tap_from_any_state_and_a_replay_changes_nothing() -> None:
    store = Store()
    h = _harness(store)
    await _onboard(h)
    await h.press("an:set:events:yes")
    await h.press("an:set:offers:yes")
    await h.command("stellen")  # somewhere else
    state = store.states[h.user_id].model_copy()
    assert await h.forge("an:stop:events") == ["announcements.stopped"]
    assert h.reply("announcements.stopped").values["topic"] == "events"
    assert h.button_data == ["an:open:m"]  # opting in again: the screen of /einstellungen
    assert [c.purpose for c in _active(store, h)] == [OFFERS]
    assert (store.states[h.user_id].flow, store.states[h.user_id].step) == (state.flow, state.step)
    withdrawn_at = next(c.withdrawn_at for c in store.consents[h.user_id] if c.purpose == EVENTS)
    h.clock.advance(hours=1)
    assert await h.forge("an:stop:events") == ["announcements.stopped"]  # replayed: the same, harmless
    assert next(c.withdrawn_at for c in store.consents[h.user_id] if c.purpose == EVENTS) == withdrawn_at
    assert [c.purpose for c in _active(store, h)] == [OFFERS]
    assert await h.forge("an:stop:weather") != ["announcements.stopped"]  # no such topic


async def test_stop_during_onboarding_questions_and_for_a_parent_confirmed_topic() -> None:
    store = Store()
    child, token = await _child_asks(store)
    parent = _harness(store, chat_id=77, clock=child.clock)
    await parent.command("start", f"pc-{token}")
    await parent.press(f"ld:pr:{token}:p")
    await parent.press(f"ld:pa:{token}:p")
    assert await child.forge("an:stop:news") == ["announcements.stopped"]
    assert [c.purpose for c in _active(store, child)] == [EVENTS]
    other = _harness(store, chat_id=44)
    await other.command("start")  # in the middle of the questions
    assert await other.forge("an:stop:events") == ["announcements.stopped"]
    assert await other.forge("ob:role:teen") == ["onboarding.ask_age"]  # the question is still open


# ---- /meinedaten, /loeschen ---------------------------------------------------------------------
async def test_the_export_shows_the_opt_ins_and_deleting_ends_them() -> None:
    store = Store()
    child, token = await _child_asks(store)
    parent = _harness(store, chat_id=77, clock=child.clock)
    await parent.command("start", f"pc-{token}")
    await parent.press(f"ld:pr:{token}:p")
    await parent.press(f"ld:pa:{token}:p")
    await child.command("meinedaten")
    document = child.reply("privacy.export").document
    assert document is not None
    export = json.loads(document.content)
    assert sorted((c["purpose"], c["given_by"], c["text_version"]) for c in export["consents"]) == [
        (EVENTS, "parent", CONSENT_VERSION), (NEWS, "parent", CONSENT_VERSION)]
    [decision] = export["parent_decisions"]
    assert decision["purpose"] == "announcements" and decision["topics"] == ["events", "news"]
    assert decision["relation"] == "parent" and "token" not in decision
    user_id = child.user_id
    await child.command("loeschen")
    await child.press("pv:delete:yes")
    assert user_id not in store.consents and store.parent_requests == {}
