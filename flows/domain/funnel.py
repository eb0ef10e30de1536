"""The cockpit's funnel: how far the users of a cluster got, from their first /start to a job.

Pure rules over `UserJourney`s (storage/funnel.py reads them from the database in a few queries).

The steps, in order, and what in the data makes a user reach each one:

    new            the user exists (users.created_at; every user of the cohort)
    onboarded      users.onboarded is true (the first questions answered, or left via the settings)
    quiz_done      a finished Berufe-Check: a quiz_attempts row with finished_at set
    offers_viewed  users.offers_viewed_at is set (the bot showed them a list of offers or an offer card)
    interested     any lead: "Interessiert mich" was confirmed for at least one company, whatever became
                   of it (waiting for a parent, declined, withdrawn all count as interest)
    consent        a lead whose consent_id names a consent record of purpose "lead" (given by the young
                   person, by a parent for an under-16, or by a parent asking for their child). A lead
                   still waiting for a parent or one a parent declined has none and does not count; a
                   consent withdrawn later still counts (it was given).
    delivered      a lead its company really got (leads.delivered_at set: the first new-lead message that
                   went out, flows/delivery/lead_arrival.py), or one the company has reported on
                   (contacted, interview, hired, no_place: the company cannot report on what it never got).
                   "Handed to the outbox" (status delivered, not yet arrived) does not count.
    contacted      a lead with status contacted now or in its history
    interview      a lead with status interview now or in its history
    hired          a lead with status hired now or in its history (a lead may have moved on to no_place
                   or withdrawn afterwards: reached once is reached)

A lead's statuses are its current status plus every status in its history ([{status, at}]); a lead is
created as waiting_parent or delivered with an empty history, so the current status is needed too.

Counting: the funnel shows how far people got. A user counts at every step up to the furthest step
they reached, so the counts never grow from one step to the next; someone who asked a company without
doing the Berufe-Check (the quiz is optional) counts as quiz_done too. `Funnel.did` keeps the plain
number of users who did a step themselves, for a note next to the chart.

Privacy: counts 1..4 are shown as "< 5" (`shown`); a drop-off next to a masked count is not given
(None), since the two numbers would reveal it.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from flows.domain.lead import LeadStatus

MASK_BELOW = 5  # counts 1..MASK_BELOW-1 are shown as "< 5"
MASKED = f"< {MASK_BELOW}"


class FunnelStep(StrEnum):
    NEW = "new"
    ONBOARDED = "onboarded"
    QUIZ_DONE = "quiz_done"
    OFFERS_VIEWED = "offers_viewed"
    INTERESTED = "interested"
    CONSENT = "consent"
    DELIVERED = "delivered"
    CONTACTED = "contacted"
    INTERVIEW = "interview"
    HIRED = "hired"


STEPS: tuple[FunnelStep, ...] = tuple(FunnelStep)
_POSITION = {step: i for i, step in enumerate(STEPS)}
# A company's report proves it got the lead.
_REPORTED = frozenset({LeadStatus.CONTACTED, LeadStatus.INTERVIEW, LeadStatus.HIRED, LeadStatus.NO_PLACE})
_STATUSES = {status.value: status for status in LeadStatus}
_BY_STATUS = {LeadStatus.CONTACTED: FunnelStep.CONTACTED, LeadStatus.INTERVIEW: FunnelStep.INTERVIEW,
              LeadStatus.HIRED: FunnelStep.HIRED}


def position(step: FunnelStep) -> int:
    """0 for new, 9 for hired."""
    return _POSITION[step]


# ---- masking --------------------------------------------------------------------------------------
def masked(count: int) -> bool:
    """A count that must not be shown as a number (1..4 people: minors could be recognised)."""
    return 0 < count < MASK_BELOW


def shown(count: int) -> str:
    """A count as the cockpit shows it: "0", "< 5" for 1..4, else the number."""
    if count < 0:
        raise ValueError(f"a count cannot be negative: {count}")
    return MASKED if masked(count) else str(count)


# ---- one user ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeadFacts:
    """What the funnel needs of one lead."""

    statuses: frozenset[LeadStatus]  # its current status and every status in its history
    consented: bool  # its consent_id names a consent record of purpose "lead"
    arrived: bool  # delivered_at is set: the company really got it

    @classmethod
    def of(cls, status: str, history: Iterable[Mapping[str, str]], consented: bool, arrived: bool) -> LeadFacts:
        """From a stored lead; statuses this code does not know (any more) are left out."""
        names = {status, *(entry.get("status", "") for entry in history)}
        return cls(frozenset(_STATUSES[n] for n in names if n in _STATUSES), consented, arrived)

    def steps(self) -> set[FunnelStep]:
        reached = {FunnelStep.INTERESTED}
        if self.consented:
            reached.add(FunnelStep.CONSENT)
        if self.arrived or self.statuses & _REPORTED:
            reached.add(FunnelStep.DELIVERED)
        reached |= {step for status, step in _BY_STATUS.items() if status in self.statuses}
        return reached


@dataclass(frozen=True)
class UserJourney:
    """One user of the cohort: when they came, through which link, and the steps they did themselves
    (`reached`, always with NEW). `furthest` is what the funnel counts."""

    user_id: int
    created_at: datetime  # UTC
    source: str | None  # the deep link's source (QR code, poster ...); None: came directly
    reached: frozenset[FunnelStep] = frozenset({FunnelStep.NEW})
    furthest: FunnelStep = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if FunnelStep.NEW not in self.reached:
            object.__setattr__(self, "reached", self.reached | {FunnelStep.NEW})
        object.__setattr__(self, "furthest", max(self.reached, key=position))

    @classmethod
    def of(cls, user_id: int, created_at: datetime, source: str | None, *, onboarded: bool = False,
           quiz_done: bool = False, offers_viewed: bool = False, leads: Iterable[LeadFacts] = ()) -> UserJourney:
        reached = {FunnelStep.NEW}
        if onboarded:
            reached.add(FunnelStep.ONBOARDED)
        if quiz_done:
            reached.add(FunnelStep.QUIZ_DONE)
        if offers_viewed:
            reached.add(FunnelStep.OFFERS_VIEWED)
        for lead in leads:
            reached |= lead.steps()
        return cls(user_id, created_at, source or None, frozenset(reached))

    def counts_at(self, step: FunnelStep) -> bool:
        """Counted at `step` of the funnel: got that far (perhaps skipping an optional step)."""
        return position(step) <= position(self.furthest)


# ---- the funnel -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Funnel:
    """Users per step (`counts`, in STEPS order, never growing) and who did each step themselves (`done`)."""

    counts: tuple[int, ...] = field(default=(0,) * len(STEPS))
    done: tuple[int, ...] = field(default=(0,) * len(STEPS))

    def __getitem__(self, step: FunnelStep) -> int:
        return self.counts[position(step)]

    def __iter__(self) -> Iterator[tuple[FunnelStep, int]]:
        return iter(zip(STEPS, self.counts))

    @property
    def total(self) -> int:
        """The users of the cohort (step new)."""
        return self.counts[0]

    def did(self, step: FunnelStep) -> int:
        """Users who did this step themselves (e.g. the quiz), not just got past it."""
        return self.done[position(step)]

    def drop_off(self, step: FunnelStep) -> float | None:
        """The share (0..1) of the previous step's users who did not get to `step`. None for the first
        step, after a step nobody reached, and where either count is masked (it would reveal it)."""
        i = position(step)
        if i == 0:
            return None
        before, now = self.counts[i - 1], self.counts[i]
        if before == 0 or masked(before) or masked(now):
            return None
        return (before - now) / before


def funnel(journeys: Iterable[UserJourney]) -> Funnel:
    """Each user counted once per step they got to."""
    ended = [0] * len(STEPS)  # users whose furthest step is this one
    done = [0] * len(STEPS)
    for journey in journeys:
        ended[_POSITION[journey.furthest]] += 1
        for step in journey.reached:
            done[_POSITION[step]] += 1
    counts, below = [], 0
    for i in reversed(range(len(STEPS))):
        below += ended[i]
        counts.append(below)
    return Funnel(tuple(reversed(counts)), tuple(done))


def drop_offs(result: Funnel) -> dict[FunnelStep, float | None]:
    """Every step's drop-off from the previous one (None: first step, or not to be shown)."""
    return {step: result.drop_off(step) for step in STEPS}


# ---- cohorts ----------------------------------------------------------------------------------------
def week_of(moment: datetime, zone: ZoneInfo) -> date:
    """The Monday (local date) of the week `moment` falls in, in `zone` (a naive moment is taken as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    day = aware.astimezone(zone).date()
    return day - timedelta(days=day.weekday())


def week_label(monday: date) -> str:
    """The ISO week, e.g. "2026-W53" (the week of Monday 28 December 2026)."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def by_week(journeys: Iterable[UserJourney], zone: ZoneInfo, *, first: date | None = None,
            last: date | None = None) -> list[tuple[date, Funnel]]:
    """The funnel of each week's new users (cohort: the local week the user was created), oldest first,
    keyed by the week's Monday. Every week from `first` (default: the earliest) to `last` (default: the
    latest) is listed, weeks without new users as an empty funnel; users outside are left out."""
    cohorts: dict[date, list[UserJourney]] = defaultdict(list)
    for journey in journeys:
        cohorts[week_of(journey.created_at, zone)].append(journey)
    start = _monday(first) if first is not None else min(cohorts, default=None)
    end = _monday(last) if last is not None else max(cohorts, default=None)
    if start is None or end is None:
        return []
    weeks: list[tuple[date, Funnel]] = []
    monday = start
    while monday <= end:
        weeks.append((monday, funnel(cohorts.get(monday, ()))))
        monday += timedelta(days=7)
    return weeks


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def by_source(journeys: Iterable[UserJourney]) -> list[tuple[str | None, Funnel]]:
    """The funnel per source (deep link / QR code; None: no source, came directly): most new users
    first, then by name; None last."""
    groups: dict[str | None, list[UserJourney]] = defaultdict(list)
    for journey in journeys:
        groups[journey.source].append(journey)
    funnels = [(source, funnel(members)) for source, members in groups.items()]
    return sorted(funnels, key=lambda item: (item[0] is None, -item[1].total, item[0] or ""))

