"""Commutes by bus and train (issue 16): how a young person gets from home to a company or a Berufsschule
on a school day, and back in the afternoon. Pure functions over one day's timetable (flows/domain/journeys.py);
the planning job (bot/commute_job.py) runs them for every destination and keeps the answers per
(home area, destination, day type) in the database, where cards, pages and the ranking read them.

Home areas and destinations are places of the postcode table (a user's home is a place, so are offers,
companies and Berufsschulen): a commute is from the centre of one place to the centre of another, as the
straight-line km are.

- `plan_destination(tt, destination, homes)`: one profile scan (arrive by 08:00) and one forward scan (leave
  at 16:00) for the destination, then a lookup per home.
- `reference_school_day(network, today)`: which day's timetable stands for "a school day".
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flows.domain.geo import distance_km
from flows.domain.journeys import DestinationProfile, Journey, Point, Reach, Timetable
from flows.domain.transit_network import TransitNetwork

ARRIVE_BY_S = 8 * 3600  # at the company or the Berufsschule by 08:00
MORNING_FROM_S = 4 * 3600  # journeys leaving from 04:00 count: the earliest one can be there
BACK_FROM_S = 16 * 3600  # the way back: leaving at 16:00
MAX_COMMUTE_KM = 100.0  # farther apart (the widest search radius): no daily commute, not planned
FILTER_MINUTES = 60  # the ranking's filter "höchstens 60 Minuten mit Bus und Bahn"
REFERENCE_WEEKS = 8  # the school day's timetable is picked from the working days of the coming weeks
SCHOOL_DAY = "school"  # the day type of the commutes kept (a working day outside the school holidays)


@dataclass(frozen=True)
class Commute:
    """From one home area to one destination on a school day."""

    minutes: int  # door to door: the shortest journey that arrives by 08:00
    changes: int
    walk_minutes: int
    leave: int  # that journey: leaving home (seconds after midnight)
    arrive: int  # ... and at the destination
    first_arrival: int | None  # the earliest one can be there by bus and train; None: on foot (any time)
    back_arrival: int | None  # at home again, leaving at 16:00; None: not within 3 hours

    @property
    def on_foot(self) -> bool:
        return self.first_arrival is None

    @property
    def back_minutes(self) -> int | None:
        return None if self.back_arrival is None else -((BACK_FROM_S - self.back_arrival) // 60)


@dataclass(frozen=True)
class FeedCredit:
    """Whose timetable it is: shown with the commutes' sources (/fahrplan) and in the README."""

    name: str
    publisher: str
    licence: str
    url: str


@dataclass(frozen=True)
class CommutePlan:
    """The commutes in the database: planned from which network, for which day."""

    network: str  # the network file's fingerprint: a new `lotse transit load` plans everything again
    service_day: date
    feeds: tuple[FeedCredit, ...]
    planned_at: datetime
    complete: bool  # every destination known at the time planned


# What a lookup knows of one destination: a commute, NO_CONNECTION (planned: nothing arrives by 08:00), or it is
# missing from the answer (no timetable loaded, not planned yet, or too far for a daily commute).
NO_CONNECTION = None


def commute_from(journey: Journey, first_arrival: int | None, back_arrival: int | None) -> Commute:
    on_foot = journey.rides == 0
    return Commute(minutes=journey.minutes, changes=journey.changes, walk_minutes=journey.walk_minutes,
                   leave=journey.departure, arrive=journey.arrival,
                   first_arrival=None if on_foot else first_arrival, back_arrival=back_arrival)


def home_areas(places: Iterable[tuple[float, float]], towns: Sequence[Point], km: float) -> list[Point]:
    """The places within `km` of a region's reference towns, each coordinate once: where users live (a home
    farther away is outside the regions, and its offers are searched around a region's main town)."""
    found: set[Point] = set()
    for lat, lon in places:
        if (lat, lon) not in found and any(distance_km(lat, lon, t[0], t[1]) <= km for t in towns):
            found.add((lat, lon))
    return sorted(found)


def within_reach(destination: Point, homes: Iterable[Point], km: float = MAX_COMMUTE_KM) -> list[Point]:
    """The homes near enough to the destination for a daily commute."""
    return [h for h in homes if distance_km(destination[0], destination[1], h[0], h[1]) <= km]


def plan_destination(tt: Timetable, destination: Point, homes: Sequence[Point]) -> dict[Point, Commute | None]:
    """Every home's commute to `destination` (NO_CONNECTION where nothing arrives by 08:00). Homes are
    taken as given: choose them with `within_reach`."""
    profile = DestinationProfile.build(tt, destination, ARRIVE_BY_S, ARRIVE_BY_S - MORNING_FROM_S)
    back = Reach(tt, destination, BACK_FROM_S)
    planned: dict[Point, Commute | None] = {}
    for home in homes:
        near = tt.stops_near(home)
        journey = profile.quickest_from(home, near)
        if journey is None:
            planned[home] = NO_CONNECTION
            continue
        planned[home] = commute_from(journey, profile.first_arrival_from(home, near), back.arrival_at(home, near))
    return planned


def trips_running(network: TransitNetwork, day: date, per_service: Sequence[int] | None = None) -> int:
    """How many trips run that day (`per_service`: each service's number of trips, if counted already)."""
    if per_service is None:
        per_service = trips_per_service(network)
    return sum(count for service, count in zip(network.services, per_service) if service.runs_on(day))


def trips_per_service(network: TransitNetwork) -> list[int]:
    counts = [0] * len(network.services)
    for trip in network.trips:
        counts[trip.service] += 1
    return counts


def reference_school_day(network: TransitNetwork, today: date, is_working_day: Callable[[date], bool],
                         weeks: int = REFERENCE_WEEKS) -> date | None:
    """The day whose timetable stands for a school day: of the working days from tomorrow on, within
    `weeks`, the first with the most trips running. School buses do not run in the school holidays, which
    the feeds know and we do not; a holiday week has fewer trips. None: no trips at all in that time
    (the feeds ran out)."""
    per_service = trips_per_service(network)
    best: tuple[int, date] | None = None
    for offset in range(1, weeks * 7 + 1):
        day = today + timedelta(days=offset)
        if not is_working_day(day):
            continue
        count = trips_running(network, day, per_service)
        if count and (best is None or count > best[0]):
            best = (count, day)
    return best[1] if best else None
