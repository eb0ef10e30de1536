"""Issue 10, point 10: filters are kept and chosen on one screen, "Zurück zum Angebot", the Merkliste
(open, remove, its own entry), RSVP'd events marked in /termine, .ics with buttons, button labels."""
from __future__ import annotations

from datetime import UTC, datetime

from content import default_directory
from flows.conversations.vacancies import VacanciesFlow
from flows.core.context import StepContext
from flows.core.model import Event, EventKind, UserRef
from flows.domain.labels import LABEL_MAX, short_label
from tests.unit.fakes import EVENTS, FakeUnitOfWork, SteppableClock
from tests.unit.harness import Harness

PLACES = default_directory()
LOEBAU_FAIR = next(e for e in EVENTS if e.slug == "karrieretage-loebau-2027")


async def _teen(plz: str = "02826") -> Harness:
    h = Harness(places=PLACES, clock=SteppableClock(datetime(2027, 1, 10, 9, tzinfo=UTC)))
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press("ob:age:16_17")
    await h.text(plz)
    await h.press(next(d for d in h.button_data if d.startswith("ob:place_c")))
    await h.press("ob:school:pupil")
    await h.press("ob:class:9")
    return h


def _offer(h: Harness) -> str:
    return next(d.removeprefix("ld:v:") for d in h.button_data if d.startswith("ld:v:"))


async def test_filters_are_chosen_on_one_screen_and_searched_once() -> None:
    h = await _teen()
    await h.command("stellen")
    assert await h.press("v:f") == ["vacancies.filters"]
    assert await h.press("v:r:100") == ["vacancies.filters"]  # no search yet
    assert await h.press("v:k:ausbildung") == ["vacancies.filters"]
    assert await h.press("v:p") == ["vacancies.choose_profession"]
    assert await h.press("v:pp:industriemechaniker-in") == ["vacancies.filters"]
    screen = h.reply("vacancies.filters").values
    assert (screen["radius"], screen["kind"], screen["profession"]) == (100, "ausbildung", "Industriemechaniker:in")
    chosen = [b.data for r in h.replies for row in r.buttons for b in row if b.values.get("chosen")]
    assert sorted(chosen) == ["v:k:ausbildung", "v:r:100"]
    assert await h.press("v:n:0") == ["vacancies.header", "vacancies.card"]
    header = h.reply("vacancies.header").values
    assert (header["radius"], header["kind"], header["profession"]) == (100, "ausbildung", "Industriemechaniker:in")


async def test_the_last_filters_are_kept_for_the_next_search() -> None:
    h = await _teen()
    await h.command("stellen")
    await h.press("v:f")
    await h.press("v:r:50")
    await h.press("v:k:ausbildung")
    await h.press("v:n:0")
    await h.command("termine")  # somewhere else in between
    assert await h.command("stellen") == ["vacancies.header", "vacancies.card"]
    header = h.reply("vacancies.header").values
    assert (header["radius"], header["kind"]) == (50, "ausbildung")
    await h.press("v:f")
    assert h.reply("vacancies.filters").values["radius"] == 50


async def test_a_company_page_opened_from_an_offer_goes_back_to_that_offer() -> None:
    h = await _teen()
    await h.command("stellen")
    await h.press("v:n:1")
    second = _offer(h)
    [company] = [d for d in h.button_data if d.startswith("co:s:")]
    assert await h.press(company) == ["companies.page"]
    back = next(b for r in h.replies for row in r.buttons for b in row if b.key == "btn.companies.back_to_offer")
    assert back.data == "v:n:1"
    assert not any(d.startswith("co:l:") for d in h.button_data)
    assert "vacancies.card" in await h.press(back.data)
    assert _offer(h) == second


async def test_the_saved_list_opens_and_removes_offers() -> None:
    h = await _teen()
    await h.command("stellen")
    first = _offer(h)
    await h.press(f"v:s:{first}")
    await h.press("v:n:1")
    second = _offer(h)
    await h.press(f"v:s:{second}")
    assert await h.press("v:m") == ["vacancies.saved_list"]
    assert h.reply("vacancies.saved_list").values["count"] == 2
    assert f"v:x:{first}" in h.button_data and f"v:x:{second}" in h.button_data
    assert await h.press(f"v:o:{second}") == ["vacancies.card"]
    assert f"v:x:{second}" in h.button_data  # the saved card can be taken off the list, too
    assert await h.press(f"v:x:{second}") == ["vacancies.removed", "vacancies.saved_list"]
    assert h.reply("vacancies.saved_list").values["count"] == 1
    assert [m.slug for m in h.store.marks[h.user_id]] == [first]
    assert await h.forge(f"v:x:{second}") != ["vacancies.removed", "vacancies.saved_list"]  # already gone


async def test_the_saved_entry_shows_the_saved_list() -> None:
    h = await _teen()
    await h.command("stellen")
    await h.press(f"v:s:{_offer(h)}")
    async with FakeUnitOfWork(h.store) as uow:
        profile = await uow.users.get("telegram", 42)
        assert profile is not None
        event = Event(user=UserRef(channel="telegram", chat_id=42), kind=EventKind.COMMAND, text="merkliste")
        ctx = StepContext(event=event, profile=profile, state=await uow.conversations.get(h.user_id), uow=uow,
                          places=PLACES, clock=h.clock)
        turn = await VacanciesFlow().start(ctx, "saved")
    assert [r.key for r in turn.replies] == ["vacancies.saved_list"]
    assert turn.replies[0].values["count"] == 1


async def test_termine_marks_the_events_the_user_asked_to_be_reminded_of() -> None:
    h = await _teen("02708")
    await h.command("termine")
    chosen = [d.removeprefix("e:s:") for d in h.button_data if d.startswith("e:s:")][1]
    title = next(e.title for e in EVENTS if e.slug == chosen)
    await h.press(f"e:s:{chosen}")
    await h.press(f"e:y:{chosen}")
    assert await h.command("termine") == ["events.list"]
    items = h.reply("events.list").values["items"]
    assert [i["going"] for i in items if i["title"] == title] == [True]
    assert not any(i["going"] for i in items if i["title"] != title)
    [item] = [b for row in h.reply("events.list").buttons for b in row if b.data == f"e:s:{chosen}"]
    assert item.values["going"] is True


async def test_the_calendar_file_comes_with_buttons_back() -> None:
    h = await _teen("02708")
    await h.forge(f"e:s:{LOEBAU_FAIR.slug}")
    assert await h.press(f"e:c:{LOEBAU_FAIR.slug}") == ["events.calendar"]
    assert h.reply("events.calendar").document is not None
    assert f"e:s:{LOEBAU_FAIR.slug}" in h.button_data and "e:open" in h.button_data
    assert await h.press(f"e:s:{LOEBAU_FAIR.slug}") == ["events.page"]


def test_labels_are_cut_at_a_word_boundary() -> None:
    title = "Unternehmen machen Schule: Bau und Metall stellen sich vor"
    label = short_label(title)
    assert label == "Unternehmen machen Schule: Bau und…" and len(label) <= LABEL_MAX
    assert short_label("Kurz") == "Kurz"
    assert short_label("x" * 50).endswith("…") and len(short_label("x" * 50)) == LABEL_MAX


async def test_list_buttons_never_end_in_half_a_word() -> None:
    h = await _teen("02763")  # Zittau: "Unternehmen machen Schule: Bau und Metall stellen sich vor"
    await h.command("termine")
    titles = [b.values["title"] for row in h.reply("events.list").buttons for b in row if "title" in b.values]
    assert titles and all(len(t) <= LABEL_MAX for t in titles)
    full = {e.title for e in EVENTS}
    for t in titles:
        assert t in full or (t.endswith("…") and any(f.startswith(t[:-1] + " ") for f in full)), t
