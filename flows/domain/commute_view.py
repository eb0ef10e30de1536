"""What a card or page says about getting to one place by bus and train (issue 16): the values of the shared
line `commute.line` (prompts/messages/*/commute.yaml) for one destination.

    status        what the line says
    transit       minutes by bus and train, changes, the earliest arrival, the way back from 16:00
    on_foot       minutes on foot (nothing by bus and train is quicker)
    none          planned, but nothing arrives by 08:00: say so, with the km
    far           farther than a daily commute (MAX_COMMUTE_KM): the km only, too far for every day
    unplanned     a timetable is loaded, but this trip is not planned (not yet, or home outside its area): km
    no_timetable  no timetable loaded: km

`commutes_to` looks up all destinations of one page with one `lookup`. Times are shown as "7:12".
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from flows.core.ports import CommuteReader
from flows.domain.commute import MAX_COMMUTE_KM, Commute, CommutePlan
from flows.domain.geo import Place, distance_km
from flows.domain.journeys import Point

TRANSIT, ON_FOOT, NONE, FAR, UNPLANNED, NO_TIMETABLE = "transit", "on_foot", "none", "far", "unplanned", "no_timetable"
DAY_MINUTES = 24 * 60

CommuteValues = dict[str, str | int | None]  # what goes into a reply: JSON-able


@dataclass(frozen=True)
class CommuteView:
    """One destination as the line shows it; times as "H:MM", None where the status has none."""

    status: str
    km: int  # straight line, from the centre of home to the centre of the destination's place
    minutes: int | None = None
    changes: int | None = None
    walk_minutes: int | None = None
    leave: str | None = None  # the quickest journey arriving by 08:00: leaving home ...
    arrive: str | None = None  # ... and there
    first: str | None = None  # the earliest one can be there by bus and train
    back: str | None = None  # at home again, leaving at 16:00; None: not within 3 hours
    back_minutes: int | None = None

    @property
    def known_minutes(self) -> int | None:
        """Door to door, where a way by bus and train or on foot is known (for sorting)."""
        return self.minutes if self.status in (TRANSIT, ON_FOOT) else None

    def values(self) -> CommuteValues:
        return asdict(self)


def clock_time(seconds: int, round_up: bool = False) -> str:
    """Seconds after midnight as "7:12"; beyond the day (the next day's early hours, or the night before's
    bus at -0:30) as the wall clock shows it ("0:40", "23:30").
    Arrivals are rounded up to the minute, departures down: never later or earlier than the timetable."""
    minutes = math.ceil(seconds / 60) if round_up else seconds // 60
    minutes %= DAY_MINUTES
    return f"{minutes // 60}:{minutes % 60:02d}"


def commute_view(home: Place, destination: Point, plan: CommutePlan | None,
                 found: Mapping[Point, Commute | None]) -> CommuteView:
    """The line for one destination; `found`: what `CommuteReader.lookup` answered for this home."""
    straight = distance_km(home.lat, home.lon, destination[0], destination[1])
    km = round(straight)
    if plan is None:
        return CommuteView(NO_TIMETABLE, km)
    if destination not in found:
        return CommuteView(FAR if straight > MAX_COMMUTE_KM else UNPLANNED, km)
    commute = found[destination]
    if commute is None:
        return CommuteView(NONE, km)
    return CommuteView(
        ON_FOOT if commute.on_foot else TRANSIT, km, minutes=commute.minutes, changes=commute.changes,
        walk_minutes=commute.walk_minutes, leave=clock_time(commute.leave), arrive=_arrival(commute.arrive),
        first=_arrival(commute.first_arrival), back=_arrival(commute.back_arrival), back_minutes=commute.back_minutes)


def _arrival(seconds: int | None) -> str | None:
    return clock_time(seconds, round_up=True) if seconds is not None else None


async def commutes_to(reader: CommuteReader, home: Place | None,
                      destinations: Sequence[Point | None]) -> list[CommuteView | None]:
    """The lines for several destinations of one page, in their order, with one lookup; None where home or
    the destination is unknown (then nothing is said about the way there)."""
    if home is None:
        return [None] * len(destinations)
    points = list(dict.fromkeys(d for d in destinations if d is not None))
    plan = await reader.plan() if points else None
    found = await reader.lookup((home.lat, home.lon), points) if plan is not None else {}
    return [None if d is None else commute_view(home, d, plan, found) for d in destinations]


def shown(view: CommuteView | None) -> CommuteValues | None:
    """A view as reply values (None stays None)."""
    return view.values() if view is not None else None
