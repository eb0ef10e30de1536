"""Calendar file (.ics, RFC 5545) for one event, written by hand: the format is small.

Times are written as local wall-clock time with a VTIMEZONE, so the calendar shows "10:00" even
when the reader's device is set to another zone. The VTIMEZONE states the EU summer-time rule
(last Sunday of March and of October, 01:00 UTC) as RRULEs; `event_ics` refuses a zone that does
not follow it rather than write a wrong file. The one instant a TZID local time cannot name, the
second 02:30 of an October night, is written in UTC instead.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

PRODID = "-//Azubi-Lotse//Azubi-Lotse Termine//DE"
MEDIA_TYPE = "text/calendar"  # for sending the file as a document
MAX_OCTETS = 75  # per physical line, without CRLF (RFC 5545 3.1)
EU_RULE_SINCE = 1996  # the October half of today's rule applies from 1996; earlier years differ

_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # TEXT allows no controls but HTAB
_EMAIL_RE = re.compile(r"[^@\s:;,\"<>]+@[^@\s:;,\"<>]+\.[^@\s:;,\"<>]+")
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                         "ß": "ss", "ẞ": "SS"})  # "Löbau" -> "loebau", not "lobau"


def escape_text(value: str) -> str:
    """TEXT value (RFC 5545 3.3.11): backslash first, then ; , and every kind of newline."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
    return _CONTROL_RE.sub("", value)


def _param(value: str) -> str:
    # A parameter value cannot contain DQUOTE or controls at all; quote it when it has : ; ,
    value = _CONTROL_RE.sub(" ", value.replace("\t", " ")).replace('"', "'")
    return f'"{value}"' if any(c in value for c in ":;,") else value


def fold(line: str) -> list[str]:
    """Split one content line into physical lines of at most 75 octets, never inside a character."""
    lines: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > MAX_OCTETS:
            lines.append("".join(current))
            current, size = [" "], 1  # the leading space of a continuation counts too
        current.append(char)
        size += width
    lines.append("".join(current))
    return lines


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def _stamp(value: datetime) -> str:
    return f"{value:%Y%m%dT%H%M%S}Z"


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _last_sunday(year: int, month: int) -> date:
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)


def _eu_switches(year: int) -> tuple[datetime, datetime]:
    """Start and end of summer time under the EU rule, as UTC instants."""
    def switch(month: int) -> datetime:
        return datetime.combine(_last_sunday(year, month), time(1), tzinfo=UTC)

    return switch(3), switch(10)


def _vtimezone(zone: ZoneInfo, years: range) -> list[str]:
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
    return [
        "BEGIN:VTIMEZONE",
        f"TZID:{escape_text(zone.key)}",
        "BEGIN:DAYLIGHT",
        f"TZOFFSETFROM:{_offset(std)}",
        f"TZOFFSETTO:{_offset(dst)}",
        f"TZNAME:{escape_text(summer.tzname() or 'DST')}",
        f"DTSTART:{(spring + std).replace(tzinfo=None):%Y%m%dT%H%M%S}",  # onset in the old local time
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        "END:DAYLIGHT",
        "BEGIN:STANDARD",
        f"TZOFFSETFROM:{_offset(dst)}",
        f"TZOFFSETTO:{_offset(std)}",
        f"TZNAME:{escape_text(winter.tzname() or 'STD')}",
        f"DTSTART:{(autumn + dst).replace(tzinfo=None):%Y%m%dT%H%M%S}",
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
        "END:STANDARD",
        "END:VTIMEZONE",
    ]


def _local(name: str, value: datetime, zone: ZoneInfo) -> str:
    local = value.astimezone(zone)
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        # The second 02:30 of an October night: a TZID local time always means the first one
        # (RFC 5545 3.3.5), so only UTC can say this instant.
        return f"{name}:{_stamp(value)}"
    return f"{name};TZID={_param(zone.key)}:{local:%Y%m%dT%H%M%S}"


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

    event = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(uid)}",
        f"DTSTAMP:{_stamp(_utc(now_utc, 'now_utc'))}",
        f"SEQUENCE:{sequence}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        _local("DTSTART", starts, zone),
        _local("DTEND", ends, zone),
        f"SUMMARY:{escape_text(title)}",
    ]
    if description:
        event.append(f"DESCRIPTION:{escape_text(description)}")
    if location:
        event.append(f"LOCATION:{escape_text(location)}")
    if url:
        if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url) or not urlsplit(url).scheme:
            raise ValueError("url must be an absolute ASCII URI without spaces")
        event.append(f"URL:{url}")  # a URI value: no TEXT escaping
    if organizer_name:
        event.append(f"CONTACT:{escape_text(organizer_name)}")
    if organizer_email:
        if not _EMAIL_RE.fullmatch(organizer_email) or not organizer_email.isascii():
            raise ValueError("organizer_email is not an e-mail address")
        cn = f";CN={_param(organizer_name)}" if organizer_name else ""
        event.append(f"ORGANIZER{cn}:mailto:{organizer_email}")
    event.append("END:VEVENT")

    lines = [
        "BEGIN:VCALENDAR",
        f"PRODID:{PRODID}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        f"METHOD:{'CANCEL' if cancelled else 'PUBLISH'}",
        *_vtimezone(zone, local_years),
        *event,
        "END:VCALENDAR",
    ]
    return "".join(physical + "\r\n" for line in lines for physical in fold(line)).encode("utf-8")


def ics_filename(name: str, fallback: str = "termin") -> str:
    """Safe ASCII file name: "Girls'Day – Görlitz" -> "girls-day-goerlitz.ics"."""
    text = unicodedata.normalize("NFC", name).translate(_GERMAN)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:60].strip("-")
    return f"{slug or fallback}.ics"
