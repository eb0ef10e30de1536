"""The cockpit's funnel rules: which lead makes which step, monotone counts, masking, cohorts, sources."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from content import default_directory
from flows.domain.funnel import (
    STEPS,
    Funnel,
    FunnelStep,
    LeadFacts,
    UserJourney,
    by_source,
    by_week,
    drop_offs,
    funnel,
    masked,
    shown,
    week_label,
    week_of,
)
from flows.domain.lead import LeadStatus
from tests.unit.harness import Harness

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _lead(status: str, *history: str, consented: bool = False, arrived: bool = False) -> LeadFacts:
    return LeadFacts.of(status, [{"status": s, "at": T0.isoformat()} for s in history], consented, arrived)


def _user(user_id: int, furthest: FunnelStep, source: str | None = None, at: datetime = T0) -> UserJourney:
    """A user who did every step up to `furthest`."""
    return UserJourney(user_id, at, source, frozenset(s for s in STEPS if STEPS.index(s) <= STEPS.index(furthest)))


def test_shown_masks_one_to_four_but_not_zero_or_five() -> None:
    assert [shown(n) for n in (0, 1, 4, 5, 1234)] == ["0", "< 5", "< 5", "5", "1234"]
    assert [masked(n) for n in (0, 1, 4, 5)] == [False, True, True, False]
    with pytest.raises(ValueError):
        shown(-1)


def test_lead_steps_from_status_and_history() -> None:
    # Waiting for a parent, declined by one, withdrawn before: interest only, no consent.
    for lead in (_lead("waiting_parent"), _lead("declined", "declined"), _lead("withdrawn", "withdrawn")):
        assert lead.steps() == {FunnelStep.INTERESTED}
    # Consented and handed to the outbox, but not arrived yet: not delivered.
    assert _lead("delivered", "delivered", consented=True).steps() == {FunnelStep.INTERESTED, FunnelStep.CONSENT}
    assert _lead("delivered", "delivered", consented=True, arrived=True).steps() == {
        FunnelStep.INTERESTED, FunnelStep.CONSENT, FunnelStep.DELIVERED}
    # Hired once, then the company said no place after all: hired stays reached (history).
    moved_on = _lead("no_place", "delivered", "contacted", "interview", "hired", "no_place", consented=True, arrived=True)
    assert {FunnelStep.CONTACTED, FunnelStep.INTERVIEW, FunnelStep.HIRED} <= moved_on.steps()
    # A company's report proves it got the lead, even without a recorded arrival.
    assert FunnelStep.DELIVERED in _lead("contacted", "delivered", "contacted", consented=True).steps()
    assert FunnelStep.DELIVERED in _lead("no_place", "delivered", "no_place", consented=True).steps()
    # Withdrawn after an interview: the interview was reached, hired not.
    later = _lead("withdrawn", "delivered", "interview", "withdrawn", consented=True, arrived=True)
    assert FunnelStep.INTERVIEW in later.steps() and FunnelStep.HIRED not in later.steps()
    # A status this code does not know is ignored, not an error.
    assert _lead("archived", "delivered", "mystery").statuses == frozenset({LeadStatus.DELIVERED})


def test_journey_from_facts_and_furthest_step() -> None:
    quiet = UserJourney.of(1, T0, None)
    assert quiet.reached == {FunnelStep.NEW} and quiet.furthest is FunnelStep.NEW
    skipped_quiz = UserJourney.of(2, T0, "", onboarded=True, offers_viewed=True,
                                  leads=[_lead("waiting_parent"), _lead("hired", "delivered", "hired", consented=True)])
    assert skipped_quiz.source is None  # an empty source is no source
    assert skipped_quiz.furthest is FunnelStep.HIRED
    assert FunnelStep.QUIZ_DONE not in skipped_quiz.reached and skipped_quiz.counts_at(FunnelStep.QUIZ_DONE)
    assert UserJourney(3, T0, None, frozenset({FunnelStep.HIRED})).reached == {FunnelStep.NEW, FunnelStep.HIRED}


def test_funnel_counts_each_user_once_per_step_and_never_grows() -> None:
    two_leads = UserJourney.of(1, T0, None, onboarded=True, quiz_done=True, offers_viewed=True,
                               leads=[_lead("hired", "delivered", "contacted", "hired", consented=True, arrived=True),
                                      _lead("interview", "delivered", "interview", consented=True, arrived=True)])
    skipped_quiz = UserJourney.of(2, T0, None, onboarded=True, offers_viewed=True,
                                  leads=[_lead("delivered", "delivered", consented=True)])
    result = funnel([two_leads, skipped_quiz, UserJourney.of(3, T0, None, onboarded=True), UserJourney.of(4, T0, None)])
    assert dict(result) == {
        FunnelStep.NEW: 4, FunnelStep.ONBOARDED: 3, FunnelStep.QUIZ_DONE: 2, FunnelStep.OFFERS_VIEWED: 2,
        FunnelStep.INTERESTED: 2, FunnelStep.CONSENT: 2, FunnelStep.DELIVERED: 1, FunnelStep.CONTACTED: 1,
        FunnelStep.INTERVIEW: 1, FunnelStep.HIRED: 1}
    assert result.did(FunnelStep.QUIZ_DONE) == 1 and result.did(FunnelStep.INTERVIEW) == 1  # did it themselves
    assert all(a >= b for a, b in zip(result.counts, result.counts[1:]))
    assert result.total == 4 and funnel([]) == Funnel()


def test_drop_off_is_the_share_lost_and_none_where_a_count_is_masked() -> None:
    users = ([_user(i, FunnelStep.HIRED) for i in range(20)] + [_user(100 + i, FunnelStep.QUIZ_DONE) for i in range(20)]
             + [_user(200 + i, FunnelStep.ONBOARDED) for i in range(10)] + [_user(300 + i, FunnelStep.NEW) for i in range(3)])
    result = funnel(users)
    assert (result[FunnelStep.NEW], result[FunnelStep.ONBOARDED], result[FunnelStep.QUIZ_DONE]) == (53, 50, 40)
    drops = drop_offs(result)
    assert drops[FunnelStep.NEW] is None  # nothing before the first step
    assert drops[FunnelStep.ONBOARDED] == pytest.approx(3 / 53)  # 3 lost: the difference is not a shown count
    assert drops[FunnelStep.QUIZ_DONE] == pytest.approx(0.2)
    assert drops[FunnelStep.OFFERS_VIEWED] == pytest.approx(0.5)
    assert drops[FunnelStep.HIRED] == 0.0

    small = funnel([_user(1, FunnelStep.INTERESTED)] + [_user(10 + i, FunnelStep.ONBOARDED) for i in range(6)])
    assert (small[FunnelStep.ONBOARDED], small[FunnelStep.QUIZ_DONE], small[FunnelStep.CONSENT]) == (7, 1, 0)
    assert small.drop_off(FunnelStep.QUIZ_DONE) is None  # 7 -> "< 5": the share would reveal 1
    assert small.drop_off(FunnelStep.OFFERS_VIEWED) is None  # "< 5" -> "< 5"
    assert small.drop_off(FunnelStep.CONSENT) is None  # "< 5" -> 0 would reveal the 1 as well
    assert small.drop_off(FunnelStep.DELIVERED) is None  # 0 -> 0: nobody to lose
    assert small.drop_off(FunnelStep.ONBOARDED) == 0.0  # 7 -> 7


def test_week_cohorts_in_local_time_across_clock_changes_and_the_new_year() -> None:
    users = [
        # Sunday 29 March 2026, 23:30 UTC = Monday 01:30 summer time: the new week.
        _user(1, FunnelStep.NEW, at=datetime(2026, 3, 29, 23, 30, tzinfo=UTC)),
        # Sunday 29 March 2026, 21:30 UTC = 23:30 summer time: still the week before.
        _user(2, FunnelStep.INTERESTED, at=datetime(2026, 3, 29, 21, 30, tzinfo=UTC)),
        # Sunday 25 October 2026, 22:30 UTC = 23:30 winter time: still the week of 19 October.
        _user(3, FunnelStep.HIRED, at=datetime(2026, 10, 25, 22, 30, tzinfo=UTC)),
        # Sunday 25 October 2026, 23:00 UTC = Monday 00:00 winter time: the week of 26 October.
        _user(4, FunnelStep.NEW, at=datetime(2026, 10, 25, 23, 0, tzinfo=UTC)),
        # New Year's Eve 2026, 23:30 UTC = Friday 1 January 2027 00:30: the week of Monday 28 December 2026.
        _user(5, FunnelStep.ONBOARDED, at=datetime(2026, 12, 31, 23, 30, tzinfo=UTC)),
        _user(6, FunnelStep.NEW, at=datetime(2027, 1, 4, 8, 0, tzinfo=UTC)),
    ]
    assert week_of(users[0].created_at, BERLIN) == date(2026, 3, 30)
    assert week_of(users[1].created_at, BERLIN) == date(2026, 3, 23)
    assert week_of(users[2].created_at, BERLIN) == date(2026, 10, 19)
    assert week_of(users[3].created_at, BERLIN) == date(2026, 10, 26)
    assert week_of(users[4].created_at, BERLIN) == date(2026, 12, 28)
    assert week_label(date(2026, 12, 28)) == "2026-W53" and week_label(date(2027, 1, 4)) == "2027-W01"
    assert week_of(datetime(2026, 3, 29, 23, 30), BERLIN) == date(2026, 3, 30)  # naive: taken as UTC

    weeks = by_week(users[2:], BERLIN)
    assert [monday for monday, _ in weeks][:2] == [date(2026, 10, 19), date(2026, 10, 26)]
    assert len(weeks) == 12 and all(monday.weekday() == 0 for monday, _ in weeks)  # empty weeks in between too
    cohorts = dict(weeks)
    assert cohorts[date(2026, 10, 19)][FunnelStep.HIRED] == 1 and cohorts[date(2026, 10, 19)].total == 1
    assert cohorts[date(2026, 10, 26)].total == 1 and cohorts[date(2026, 11, 2)].total == 0
    assert cohorts[date(2026, 12, 28)][FunnelStep.ONBOARDED] == 1 and cohorts[date(2027, 1, 4)].total == 1
    assert sum(f.total for _, f in weeks) == 4

    spring = by_week(users[:2], BERLIN, first=date(2026, 3, 18), last=date(2026, 4, 8))
    assert [monday for monday, _ in spring] == [date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30),
                                               date(2026, 4, 6)]
    assert [f.total for _, f in spring] == [0, 1, 1, 0] and spring[1][1][FunnelStep.INTERESTED] == 1
    only = by_week(users, BERLIN, first=date(2026, 10, 26), last=date(2026, 10, 26))
    assert [(monday, f.total) for monday, f in only] == [(date(2026, 10, 26), 1)]  # the others left out
    assert by_week([], BERLIN) == []


def test_funnel_by_source_direct_last() -> None:
    users = ([_user(i, FunnelStep.INTERESTED, "plakat-schule") for i in range(3)]
             + [_user(10 + i, FunnelStep.HIRED, "messe-2027") for i in range(6)]
             + [_user(20 + i, FunnelStep.NEW) for i in range(9)]
             + [_user(30 + i, FunnelStep.ONBOARDED, "aushang") for i in range(3)])
    result = by_source(users)
    assert [source for source, _ in result] == ["messe-2027", "aushang", "plakat-schule", None]
    sources = dict(result)
    assert sources["messe-2027"][FunnelStep.HIRED] == 6 and sources["plakat-schule"][FunnelStep.INTERESTED] == 3
    assert sources["plakat-schule"][FunnelStep.CONSENT] == 0 and sources[None].total == 9
    assert sum(f.total for _, f in result) == len(users) and by_source([]) == []
    assert shown(sources["aushang"].total) == "< 5"


# ---- the step "offers viewed" is recorded by the bot ------------------------------------------------
async def _teen(h: Harness) -> None:
    await h.command("start")
    await h.press("ob:role:teen")
    await h.press("ob:age:16_17")
    await h.text("02826")
    await h.press(next(d for d in h.button_data if d.startswith("ob:place_c")))
    await h.press("ob:school:mittlere_reife")


async def test_offers_viewed_is_set_on_the_first_list_and_kept_later() -> None:
    h = Harness(places=default_directory())
    await _teen(h)
    assert h.profile.offers_viewed_at is None
    assert await h.forge("v:f") == ["vacancies.filters"]  # the filters first (an old filter button)
    for data in ("v:r:10", "v:p", "v:pp:hauswirtschafter-in", "v:n:0"):
        await h.press(data)  # a search without a result shows no offer
    assert h.keys == ["vacancies.none"] and h.profile.offers_viewed_at is None
    await h.press("v:f")
    await h.press("v:p")
    await h.press("v:pp:all")
    h.clock.advance(hours=1)
    first = h.clock.now()
    assert await h.press("v:n:0") == ["vacancies.header", "vacancies.card"]
    assert h.profile.offers_viewed_at == first
    h.clock.advance(days=3)
    await h.press(next(d for d in h.button_data if d.startswith("v:n:")))  # the next card
    await h.command("stellen")
    assert h.keys == ["vacancies.header", "vacancies.card"]
    assert h.profile.offers_viewed_at == first  # the first time counts, later lists change nothing


async def test_offers_viewed_from_a_saved_offer_and_not_without_a_home() -> None:
    h = Harness(places=default_directory())
    await h.command("start")
    await h.press("ob:role:teen")
    await h.forge("v:open")
    assert h.keys == ["vacancies.need_place"] and h.profile.offers_viewed_at is None
    other = Harness(chat_id=43, store=h.store, clock=h.clock, places=default_directory())
    await _teen(other)
    await other.press("v:open")
    slug = next(d for d in other.button_data if d.startswith("ld:v:")).removeprefix("ld:v:")
    await other.press(f"v:s:{slug}")
    other.store.users[other.user_id] = other.profile.model_copy(update={"offers_viewed_at": None})  # as before the column
    h.clock.advance(minutes=5)
    await other.press("v:m")
    assert other.keys == ["vacancies.saved_list"] and other.profile.offers_viewed_at is None
    assert await other.press(f"v:o:{slug}") == ["vacancies.card"]
    assert other.profile.offers_viewed_at == h.clock.now()
