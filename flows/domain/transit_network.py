"""A public-transport network as the journey planner reads it (issue 16): stops, trips with their service
days, stop times, transfers, and the feeds it came from. Built from operators' GTFS feeds by
transit/gtfs.py (`lotse transit load`), stored as a compact file beside the database, read by the bot.

Times are seconds after the service day's midnight (GTFS allows more than 24:00:00 for trips that run
past midnight). Indices, not GTFS ids, link the parts: a stop is its position in `stops`, a trip its
position in `trips`, a service its position in `services`.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class TransitStop:
    gtfs_id: str  # "<feed>:<stop_id>": ids of two feeds never meet
    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class TransitTrip:
    service: int  # index into TransitNetwork.services
    route_name: str  # short name shown ("RE 1", "Bus 160"), else the long name
    route_type: int  # GTFS route_type (0 tram, 2 rail, 3 bus, ...; extended types kept as they are)


@dataclass(frozen=True)
class Service:
    """When a service runs: its calendar (weekdays Monday..Sunday, from, to) and calendar_dates' exceptions."""

    gtfs_id: str
    weekdays: tuple[bool, bool, bool, bool, bool, bool, bool] = (False,) * 7
    start: date | None = None
    end: date | None = None
    added: frozenset[date] = frozenset()
    removed: frozenset[date] = frozenset()

    def runs_on(self, day: date) -> bool:
        if day in self.removed:
            return False
        if day in self.added:
            return True
        return self.start is not None and self.end is not None and self.start <= day <= self.end \
            and self.weekdays[day.weekday()]


def _ints() -> array[int]:
    return array("i")


@dataclass
class StopTimes:
    """Every trip's stop times in columns (a regional network has close to a million): trip by trip, each
    trip in its stop_sequence order; row i is (trip[i], stop[i], arrival[i], departure[i])."""

    trip: array[int] = field(default_factory=_ints)
    stop: array[int] = field(default_factory=_ints)
    arrival: array[int] = field(default_factory=_ints)  # seconds after the service day's midnight
    departure: array[int] = field(default_factory=_ints)

    def __len__(self) -> int:
        return len(self.trip)

    def append(self, trip: int, stop: int, arrival: int, departure: int) -> None:
        self.trip.append(trip)
        self.stop.append(stop)
        self.arrival.append(arrival)
        self.departure.append(departure)


@dataclass(frozen=True)
class Transfer:
    from_stop: int
    to_stop: int
    seconds: int  # walking or the minimum change time (GTFS transfers.txt, type 2; or stops near each other)


@dataclass(frozen=True)
class FeedInfo:
    name: str  # the file's name without .zip, or feed_info's publisher
    publisher: str
    url: str | None
    licence: str | None  # as given by the operator (feed_info / the README's table); shown in the README
    version: str | None
    valid_from: date | None
    valid_to: date | None
    agencies: tuple[str, ...] = ()  # agency.txt's names, for the attribution (added by transit/gtfs.py)


@dataclass
class TransitNetwork:
    stops: list[TransitStop] = field(default_factory=list)
    trips: list[TransitTrip] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    stop_times: StopTimes = field(default_factory=StopTimes)
    transfers: list[Transfer] = field(default_factory=list)
    feeds: list[FeedInfo] = field(default_factory=list)
