"""Calendar file (.ics, RFC 5545) for one event, written with the `icalendar` library.

The library writes the file: components, TEXT escaping, parameter quoting, line folding, CRLF.
This module decides what goes in. Times are written as local wall-clock time with a VTIMEZONE,
so the calendar shows "10:00" even when the reader's device is set to another zone. The VTIMEZONE
is the compact one: the EU summer-time rule (last Sunday of March and of October, 01:00 UTC) as
two yearly RRULEs, not the library's list of every transition; `event_ics` refuses a zone that
does not follow the rule rather than write a wrong file. The one instant a TZID local time cannot
name, the second 02:30 of an October night, is written in UTC instead.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress, vRecur, vText, vUri
from icalendar.parser import Contentline

PRODID = "-//Azubi-Lotse//Azubi-Lotse Termine//DE"
MEDIA_TYPE = "text/calendar"  # for sending the file as a document
MAX_OCTETS = 75  # per physical line, without CRLF (RFC 5545 3.1)
EU_RULE_SINCE = 1996  # the October half of today's rule applies from 1996; earlier years differ

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # TEXT allows no controls but HTAB (and \n, escaped)
_EMAIL_RE = re.compile(r"[^@\s:;,\"<>]+@[^@\s:;,\"<>]+\.[^@\s:;,\"<>]+")
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                         "ß": "ss", "ẞ": "SS"})  # "Löbau" -> "loebau", not "lobau"


def _text(value: str) -> vText:
    """A TEXT value: every kind of newline made \\n, other controls dropped; the library escapes."""
    return vText(_CONTROL_RE.sub("", value.replace("\r\n", "\n").replace("\r", "\n")))


def escape_text(value: str) -> str:
    """TEXT value as written (RFC 5545 3.3.11): backslash, ; , and newlines escaped by the library."""
    return _text(value).to_ical().decode("utf-8")


def _param(value: str) -> str:
    # A parameter value cannot contain DQUOTE or controls at all; the library quotes : ; ,
    return re.sub(r"[\x00-\x1f\x7f]", " ", value).replace('"', "'")


def fold(line: str) -> list[str]:
    """One content line as the library folds it: physical lines of at most 75 octets, never
    inside a character (continuations start with a space)."""
    return Contentline(line).to_ical().decode("utf-8").split("\r\n")


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def _last_sunday(year: int, month: int) -> date:
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)


def _eu_switches(year: int) -> tuple[datetime, datetime]:
    """Start and end of summer time under the EU rule, as UTC instants."""
    def switch(month: int) -> datetime:
        return datetime.combine(_last_sunday(year, month), time(1), tzinfo=UTC)

    return switch(3), switch(10)


def _vtimezone(zone: ZoneInfo, years: range) -> Timezone:
    winter = datetime(years.start, 1, 15, 12, tzinfo=zone)
    summer = datetime(years.start, 7, 15, 12, tzinfo=zone)
    std, dst = winter.utcoffset(), summer.utcoffset()
    assert std is not None and dst is not None  # zoneinfo always knows the offset
    second = timedelta(seconds=1)
    for year in years:
        spring, autumn = _eu_switches(year)
        seen = [t.astimezone(zone).utcoffset() for t in (spring - second, spring, autumn - second, autumn)]
        if std == dst or seen != [std, dst, dst, std]:
            raise ValueError(f"time zone {zone.key} does not follow the EU summer-time rule in {year}")
    spring, autumn = _eu_switches(EU_RULE_SINCE)

    def observance(kind: type[TimezoneDaylight | TimezoneStandard], old: timedelta, new: timedelta,
                   name: str, onset: datetime, month: int) -> TimezoneDaylight | TimezoneStandard:
        part = kind()
        part.add("TZOFFSETFROM", old)
        part.add("TZOFFSETTO", new)
        part.add("TZNAME", name)
        part.add("DTSTART", (onset + old).replace(tzinfo=None))  # onset in the old local time
        part.add("RRULE", vRecur(FREQ="YEARLY", BYMONTH=month, BYDAY="-1SU"))
        return part

    vtimezone = Timezone()
    vtimezone.add("TZID", zone.key)
    vtimezone.add_component(observance(TimezoneDaylight, std, dst, summer.tzname() or "DST", spring, 3))
    vtimezone.add_component(observance(TimezoneStandard, dst, std, winter.tzname() or "STD", autumn, 10))
    return vtimezone


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    local = value.astimezone(zone)
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        # The second 02:30 of an October night: a TZID local time always means the first one
        # (RFC 5545 3.3.5), so only UTC can say this instant.
        return value
    return local  # written with TZID=<zone key> by the library


def event_ics(
    uid: str,
    title: str,
    description: str | None,
    location: str | None,
    starts_utc: datetime,
    ends_utc: datetime,
    *,
    now_utc: datetime,
    url: str | None = None,
    organizer_name: str | None = None,
    organizer_email: str | None = None,
    tz: str = "Europe/Berlin",
    cancelled: bool = False,
    sequence: int = 0,
) -> bytes:
    """A VCALENDAR with one VEVENT, UTF-8 with CRLF line ends.

    Keep `uid` stable for the life of the event and raise `sequence` with every change (a
    cancellation included), so calendars update the entry they already have instead of adding one.
    ORGANIZER needs an address, so it is written only with `organizer_email`; the name alone goes
    into CONTACT.
    """
    starts, ends = _utc(starts_utc, "starts_utc"), _utc(ends_utc, "ends_utc")
    if ends <= starts:
        raise ValueError("ends_utc must be after starts_utc")
    if not uid.strip() or not title.strip():
        raise ValueError("uid and title must not be empty")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise ValueError("sequence must be a non-negative integer")
    zone = ZoneInfo(tz)
    local_years = range(starts.astimezone(zone).year, ends.astimezone(zone).year + 1)

    event = Event()
    event.add("UID", _text(uid))
    event.add("DTSTAMP", _utc(now_utc, "now_utc").replace(microsecond=0))
    event.add("SEQUENCE", sequence)
    event.add("STATUS", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("DTSTART", _local(starts, zone))
    event.add("DTEND", _local(ends, zone))
    event.add("SUMMARY", _text(title))
    if description:
        event.add("DESCRIPTION", _text(description))
    if location:
        event.add("LOCATION", _text(location))
    if url:
        if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url) or not urlsplit(url).scheme:
            raise ValueError("url must be an absolute ASCII URI without spaces")
        event.add("URL", vUri(url))  # a URI value: no TEXT escaping
    if organizer_name:
        event.add("CONTACT", _text(organizer_name))
    if organizer_email:
        if not _EMAIL_RE.fullmatch(organizer_email) or not organizer_email.isascii():
            raise ValueError("organizer_email is not an e-mail address")
        organizer = vCalAddress(f"mailto:{organizer_email}")
        if organizer_name:
            organizer.params["CN"] = _param(organizer_name)
        event.add("ORGANIZER", organizer)

    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "CANCEL" if cancelled else "PUBLISH")
    calendar.add_component(_vtimezone(zone, local_years))
    calendar.add_component(event)
    return calendar.to_ical()


def ics_filename(name: str, fallback: str = "termin") -> str:
    """Safe ASCII file name: "Girls'Day – Görlitz" -> "girls-day-goerlitz.ics"."""
    text = unicodedata.normalize("NFC", name).translate(_GERMAN)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:60].strip("-")
    return f"{slug or fallback}.ics"
