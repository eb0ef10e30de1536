"""Working days for the lead follow-up: Monday to Friday without the public holidays of Germany
and of the company's federal state (Reformationstag in Saxony, Saxony-Anhalt and Brandenburg,
Buß- und Bettag in Saxony …), from the well-kept `holidays` package."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

ZONE = ZoneInfo("Europe/Berlin")
# The postcode table names states in German; `holidays` wants ISO 3166-2 subdivision codes.
STATE_CODES = {
    "Baden-Württemberg": "BW", "Bayern": "BY", "Berlin": "BE", "Brandenburg": "BB", "Bremen": "HB",
    "Hamburg": "HH", "Hessen": "HE", "Mecklenburg-Vorpommern": "MV", "Niedersachsen": "NI",
    "Nordrhein-Westfalen": "NW", "Rheinland-Pfalz": "RP", "Saarland": "SL", "Sachsen": "SN",
    "Sachsen-Anhalt": "ST", "Schleswig-Holstein": "SH", "Thüringen": "TH",
}


@lru_cache(maxsize=64)
def _holidays(subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("DE", subdiv=subdivision, years=year))


def is_working_day(day: date, state: str | None = None) -> bool:
    return day.weekday() < 5 and day not in _holidays(STATE_CODES.get(state or ""), day.year)


def add_working_days(start: datetime, days: int, state: str | None = None) -> datetime:
    """The same local time `days` working days later; `state` (German name, e.g. "Sachsen") adds
    that state's holidays to the nationwide ones."""
    local = start.astimezone(ZONE)
    for _ in range(days * 3 + 30):  # bounded: never more than a few days off in a row
        if days <= 0:
            break
        local += timedelta(days=1)
        if is_working_day(local.date(), state):
            days -= 1
    return local.astimezone(start.tzinfo)


def working_days_in(first: date, last: date, state: str | None = None) -> int:
    """How many working days lie from `first` to `last`, both included (0 if last < first): weekdays
    by arithmetic, less the holidays on weekdays in between (no loop over the days)."""
    if last < first:
        return 0
    span = (last - first).days + 1
    weeks, rest = divmod(span, 7)
    weekdays = weeks * 5 + sum(1 for i in range(rest) if (first.weekday() + i) % 7 < 5)
    code = STATE_CODES.get(state or "")
    off = sum(1 for year in range(first.year, last.year + 1) for day in _holidays(code, year)
              if first <= day <= last and day.weekday() < 5)
    return weekdays - off
