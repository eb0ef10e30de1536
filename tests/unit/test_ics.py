"""The .ics output, read back with the `icalendar` library (`Calendar.from_ical`)."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Component, Timezone, vDDDTypes, vUTCOffset

from flows.domain.ics import MAX_OCTETS, escape_text, event_ics, fold, ics_filename

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 1, 5, 12, 0, 7, 123456, tzinfo=UTC)
LONG_DESCRIPTION = (
    "Über 40 Betriebe aus der Oberlausitz stellen sich vor: Mechatroniker:innen, Elektroniker:innen, "
    "Pflegefachkräfte und Zerspanungsmechaniker:innen zeigen, was sie täglich tun. 🎉🔧⚡ "
    "Für Eltern gibt es um 11:00 Uhr einen Vortrag über Ausbildungsvergütung, Berufsschule und Fahrtkosten; "
    "bringt eure Fragen mit – Größe, Gewicht und Gehör spielen keine Rolle! 👩‍🔧👨‍⚕️ Äöüß ÄÖÜẞ "
) * 3


# -- reading it back ------------------------------------------------------------------------------

def physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    lines = data[:-2].split(b"\r\n")
    assert all(b"\r" not in line and b"\n" not in line for line in lines), "bare CR or LF"
    return lines


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def child(component: Component, name: str) -> Component:
    (found,) = [c for c in component.subcomponents if c.name == name]
    return found


def event_of(data: bytes) -> Component:
    return child(parse(data), "VEVENT")


def written(value: object) -> str:
    """A property value as it stands in the file (escaped, not decoded)."""
    text = value.to_ical()  # type: ignore[attr-defined]
    return text.decode("utf-8") if isinstance(text, bytes) else text


def params(value: object) -> dict[str, str]:
    return dict(value.params)  # type: ignore[attr-defined]


def utc_of(value: object) -> datetime:
    """The UTC instant of a DATE-TIME; fold=0 is RFC 5545's "first occurrence" of an ambiguous time."""
    dt: datetime = value.dt  # type: ignore[attr-defined]
    # (aware datetimes in a fold never compare equal across zones, so compare in UTC)
    return dt.replace(fold=0).astimezone(UTC)


def make(**overrides: object) -> bytes:
    args: dict[str, object] = dict(
        uid="karrieretage-2027@azubi-lotse",
        title="Oberlausitzer Karrieretage",
        description="Ausbildungsmesse mit 60 Betrieben",
        location="Messe Löbau, Görlitzer Str. 1, 02708 Löbau",
        starts_utc=datetime(2027, 9, 24, 7, tzinfo=UTC),
        ends_utc=datetime(2027, 9, 24, 13, tzinfo=UTC),
        now_utc=NOW,
    )
    args.update(overrides)
    return event_ics(**args)  # type: ignore[arg-type]


# -- structure and required properties ------------------------------------------------------------

def test_calendar_has_every_required_property() -> None:
    cal = parse(make(url="https://example.org/termine/karrieretage?jahr=2027", sequence=3))
    assert cal.name == "VCALENDAR"
    assert str(cal["PRODID"]).startswith("-//")
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["CALSCALE"]) == "GREGORIAN"
    assert str(cal["METHOD"]) == "PUBLISH"
    assert [c.name for c in cal.subcomponents] == ["VTIMEZONE", "VEVENT"]
    event = child(cal, "VEVENT")
    assert str(event["UID"]) == "karrieretage-2027@azubi-lotse"
    assert written(event["DTSTAMP"]) == "20270105T120007Z"
    assert params(event["DTSTART"]) == {"TZID": "Europe/Berlin"}
    assert written(event["DTSTART"]) == "20270924T090000"
    assert written(event["DTEND"]) == "20270924T150000"
    assert str(event["SUMMARY"]) == "Oberlausitzer Karrieretage"
    assert str(event["DESCRIPTION"]) == "Ausbildungsmesse mit 60 Betrieben"
    assert str(event["LOCATION"]) == "Messe Löbau, Görlitzer Str. 1, 02708 Löbau"
    assert written(event["SEQUENCE"]) == "3"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["URL"]) == "https://example.org/termine/karrieretage?jahr=2027"
    assert "ORGANIZER" not in event
    # every TZID used is defined
    tzids = {params(v)["TZID"] for v in event.values() if "TZID" in getattr(v, "params", {})}
    assert tzids == {str(child(cal, "VTIMEZONE")["TZID"])}


def test_output_is_stable() -> None:
    assert make(sequence=1) == make(sequence=1)


def test_cancelled_event() -> None:
    cal = parse(make(cancelled=True, sequence=4))
    assert str(cal["METHOD"]) == "CANCEL"
    event = child(cal, "VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"
    assert written(event["SEQUENCE"]) == "4"
    assert str(event["UID"]) == "karrieretage-2027@azubi-lotse"


def test_organizer_needs_an_address_so_a_bare_name_becomes_contact() -> None:
    event = event_of(make(organizer_name="TAB_MINT: Netzwerk, Cottbus"))
    assert str(event["CONTACT"]) == "TAB_MINT: Netzwerk, Cottbus"
    assert "ORGANIZER" not in event
    event = event_of(make(organizer_name='Die "Zukunftsmacher"', organizer_email="info@example.org"))
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:info@example.org"
    assert params(organizer) == {"CN": "Die 'Zukunftsmacher'"}


def test_optional_texts_are_left_out_when_empty() -> None:
    event = event_of(make(description="", location=None))
    assert "DESCRIPTION" not in event and "LOCATION" not in event


# -- bytes on the wire ----------------------------------------------------------------------------

def test_crlf_everywhere_and_no_line_over_75_octets() -> None:
    data = make(title="Girls'Day & Boys'Day 2027 – " * 5, description=LONG_DESCRIPTION, location="Zittau " * 30,
                organizer_name="Lausitz-Cares " * 10, organizer_email="kontakt@example.org")
    assert data.count(b"\n") == data.count(b"\r\n") == data.count(b"\r")
    lines = physical_lines(data)
    assert max(len(line) for line in lines) == MAX_OCTETS  # folding happened, and at the limit
    assert all(len(line) <= MAX_OCTETS for line in lines)
    assert not data.startswith(b"\xef\xbb\xbf")  # no BOM


def test_folding_never_splits_a_character_and_unfolds_to_the_original() -> None:
    data = make(description=LONG_DESCRIPTION)
    for line in physical_lines(data):
        line.decode("utf-8")  # raises if a multi-byte character was cut
    assert str(event_of(data)["DESCRIPTION"]) == LONG_DESCRIPTION


@pytest.mark.parametrize("lead", range(5))
@pytest.mark.parametrize("char", ["ä", "€", "🎉"])  # 2, 3 and 4 octets, at every alignment
def test_fold_at_every_alignment(lead: int, char: str) -> None:
    line = "DESCRIPTION:" + "x" * lead + char * 80
    physical = fold(line)
    assert all(len(p.encode()) <= MAX_OCTETS for p in physical)
    assert all(p.startswith(" ") for p in physical[1:])
    # lines are full: the library puts at most MAX_OCTETS - 1 octets of the content line on each
    # physical line (a continuation's leading space makes it MAX_OCTETS)
    content = [physical[0], *(p[1:] for p in physical[1:])]
    assert all(len(c.encode()) > MAX_OCTETS - 1 - len(char.encode()) for c in content[:-1])
    assert "".join(content) == line


def test_short_lines_are_not_folded() -> None:
    limit = MAX_OCTETS - 1  # the first physical line, see above
    assert fold("SUMMARY:" + "x" * (limit - 8)) == ["SUMMARY:" + "x" * (limit - 8)]
    assert len(fold("SUMMARY:" + "x" * (limit - 7))) == 2


# -- TEXT escaping --------------------------------------------------------------------------------

def test_text_escaping() -> None:
    assert escape_text("a;b,c\\d\ne") == "a\\;b\\,c\\\\d\\ne"
    assert escape_text("x\r\ny\rz") == "x\\ny\\nz"
    assert escape_text("Tab\tbleibt, Steuerzeichen\x07 nicht") == "Tab\tbleibt\\, Steuerzeichen nicht"
    assert escape_text("C:\\new") == "C:\\\\new"  # not mistaken for a newline when read back


def test_escaped_texts_read_back_exactly() -> None:
    tricky = "Treffpunkt: Tor 3; danach Halle B, Raum 2\\3\nBitte Ausweis mitbringen!\r\nDanke"
    data = make(title=tricky, description=tricky, location=tricky)
    unfolded = data.decode("utf-8").replace("\r\n ", "")  # RFC 5545 3.1: CRLF + one space is a fold
    event = event_of(data)
    expected = tricky.replace("\r\n", "\n")
    for name in ("SUMMARY", "DESCRIPTION", "LOCATION"):
        (value,) = re.findall(f"^{name}:(.*)$", unfolded, re.MULTILINE)
        assert not re.search(r"(?<!\\)(?:\\\\)*[;,]", value.rstrip("\r")), f"unescaped ; or , in {value!r}"
        assert value.rstrip("\r") == escape_text(tricky)
        assert str(event[name]) == expected


# -- times and the time zone ----------------------------------------------------------------------

@pytest.mark.parametrize("starts_local,ends_local,dtstart,dtend", [
    (datetime(2027, 6, 8, 8), datetime(2027, 6, 8, 12, 30), "20270608T080000", "20270608T123000"),  # CEST
    (datetime(2027, 1, 20, 8), datetime(2027, 1, 20, 14), "20270120T080000", "20270120T140000"),  # CET
    (datetime(2027, 3, 28, 10), datetime(2027, 3, 28, 16), "20270328T100000", "20270328T160000"),
    (datetime(2027, 10, 30, 22), datetime(2027, 10, 31, 4), "20271030T220000", "20271031T040000"),
])
def test_dtstart_is_local_berlin_time(starts_local: datetime, ends_local: datetime, dtstart: str, dtend: str) -> None:
    starts, ends = starts_local.replace(tzinfo=BERLIN), ends_local.replace(tzinfo=BERLIN)
    event = event_of(make(starts_utc=starts.astimezone(UTC), ends_utc=ends.astimezone(UTC)))
    assert (written(event["DTSTART"]), written(event["DTEND"])) == (dtstart, dtend)
    assert params(event["DTSTART"]) == params(event["DTEND"]) == {"TZID": "Europe/Berlin"}
    assert utc_of(event["DTSTART"]) == starts.astimezone(UTC) and utc_of(event["DTEND"]) == ends.astimezone(UTC)


def test_second_occurrence_of_an_ambiguous_time_is_written_in_utc() -> None:
    # 2027-10-31 02:30 happens twice; a TZID local time would mean the first (summer) one.
    first, second = datetime(2027, 10, 31, 0, 30, tzinfo=UTC), datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    event = event_of(make(starts_utc=first, ends_utc=second))
    assert written(event["DTSTART"]) == "20271031T023000" and "TZID" in params(event["DTSTART"])
    assert written(event["DTEND"]) == "20271031T013000Z" and params(event["DTEND"]) == {}
    assert utc_of(event["DTSTART"]) == first and utc_of(event["DTEND"]) == second


def rrule(component: Component) -> dict[str, str]:
    return dict(part.split("=") for part in written(component["RRULE"]).split(";"))


def test_vtimezone_has_both_components_with_the_eu_rule() -> None:
    tz = child(parse(make()), "VTIMEZONE")
    assert str(tz["TZID"]) == "Europe/Berlin"
    assert sorted((c.name for c in tz.subcomponents), key=str) == ["DAYLIGHT", "STANDARD"]  # compact: one rule each
    daylight, standard = child(tz, "DAYLIGHT"), child(tz, "STANDARD")
    assert (written(daylight["TZOFFSETFROM"]), written(daylight["TZOFFSETTO"])) == ("+0100", "+0200")
    assert (written(standard["TZOFFSETFROM"]), written(standard["TZOFFSETTO"])) == ("+0200", "+0100")
    assert written(daylight["RRULE"]).startswith("FREQ=YEARLY;")
    assert rrule(daylight) == {"FREQ": "YEARLY", "BYMONTH": "3", "BYDAY": "-1SU"}
    assert rrule(standard) == {"FREQ": "YEARLY", "BYMONTH": "10", "BYDAY": "-1SU"}
    assert (str(daylight["TZNAME"]), str(standard["TZNAME"])) == ("CEST", "CET")
    assert all("RDATE" not in c for c in (daylight, standard))


def rule_start(rule: Component) -> datetime:
    """DTSTART of a DAYLIGHT or STANDARD rule: a DATE-TIME (local, floating)."""
    prop = rule["DTSTART"]
    assert isinstance(prop, vDDDTypes) and isinstance(prop.dt, datetime)
    return prop.dt


def utc_offset(rule: Component, name: str) -> timedelta:
    prop = rule[name]
    assert isinstance(prop, vUTCOffset)
    return prop.td


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    while day.weekday() != 6:
        day -= timedelta(days=1)
    return day


@pytest.mark.parametrize("year", range(2026, 2031))
def test_vtimezone_rules_agree_with_the_tz_database(year: int) -> None:
    tz = child(parse(make()), "VTIMEZONE")
    for comp in (child(tz, "DAYLIGHT"), child(tz, "STANDARD")):
        start = rule_start(comp)
        offset_from, offset_to = utc_offset(comp, "TZOFFSETFROM"), utc_offset(comp, "TZOFFSETTO")
        assert start.tzinfo is None  # local time of the onset, before the change
        rule = rrule(comp)
        assert rule["BYDAY"] == "-1SU" and start.date() == _last_sunday(start.year, int(rule["BYMONTH"]))
        onset_local = datetime.combine(_last_sunday(year, int(rule["BYMONTH"])), start.time())
        onset = (onset_local - offset_from).replace(tzinfo=UTC)
        before = (onset - timedelta(seconds=1)).astimezone(BERLIN).utcoffset()
        assert before == offset_from
        assert onset.astimezone(BERLIN).utcoffset() == offset_to
        assert onset.astimezone(BERLIN).time() == (start + offset_to - offset_from).time()
    assert time(2) == rule_start(child(tz, "DAYLIGHT")).time()


def test_other_eu_zones_work_and_others_are_refused() -> None:
    cal = parse(make(tz="Europe/London"))
    assert written(child(cal, "VEVENT")["DTSTART"]) == "20270924T080000"
    assert written(child(child(cal, "VTIMEZONE"), "STANDARD")["TZOFFSETTO"]) == "+0000"
    with pytest.raises(ValueError, match="EU summer-time rule"):
        make(tz="America/New_York")


# -- refused input --------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides", [
    {"starts_utc": datetime(2027, 9, 24, 9)},  # naive
    {"now_utc": datetime(2027, 1, 5)},
    {"ends_utc": datetime(2027, 9, 24, 7, tzinfo=UTC)},  # ends == starts
    {"uid": " "}, {"title": ""},
    {"sequence": -1}, {"sequence": True},
    {"url": "https://example.org/a b"}, {"url": "example.org"}, {"url": "https://example.org/\r\nX:1"},
    {"url": "https://bücher.example/"},
    {"organizer_email": "not an address"}, {"organizer_email": "a@b.de\r\nATTENDEE:x"},
])
def test_bad_input_is_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make(**overrides)


# -- file name ------------------------------------------------------------------------------------

@pytest.mark.parametrize("title,expected", [
    ("Oberlausitzer Karrieretage 2027", "oberlausitzer-karrieretage-2027.ics"),
    ("Girls'Day – Görlitz", "girls-day-goerlitz.ics"),
    ("Spätschicht: Straßenbau & Größe", "spaetschicht-strassenbau-groesse.ics"),
    ("Café Crème", "cafe-creme.ics"),
    ("🎉🎉", "termin.ics"),
    ("../../etc/passwd", "etc-passwd.ics"),
    ("x" * 200, "x" * 60 + ".ics"),
])
def test_ics_filename(title: str, expected: str) -> None:
    assert ics_filename(title) == expected


def test_ics_filename_handles_decomposed_umlauts() -> None:
    assert ics_filename("Lo\u0308bau") == "loebau.ics"


# -- the whole file, decoded ----------------------------------------------------------------------

def test_decoded_values_and_our_vtimezone_match_the_tz_database() -> None:
    starts, ends = datetime(2027, 3, 28, 8, tzinfo=UTC), datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    data = make(starts_utc=starts, ends_utc=ends, description=LONG_DESCRIPTION, url="https://example.org/x",
                organizer_name="TAB_MINT", organizer_email="info@example.org", sequence=2)
    cal = Calendar.from_ical(data)
    (event,) = cal.walk("VEVENT")
    assert event.decoded("DTSTART") == starts and event.decoded("DTEND") == ends
    assert event.decoded("DTSTAMP") == NOW.replace(microsecond=0)
    assert str(event["DESCRIPTION"]) == LONG_DESCRIPTION
    assert str(event["ORGANIZER"]) == "mailto:info@example.org"
    (vtimezone,) = cal.walk("VTIMEZONE")
    assert isinstance(vtimezone, Timezone)
    own = vtimezone.to_tz(lookup_tzid=False)  # built from our VTIMEZONE, not the tz database
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    while instant < datetime(2030, 1, 1, tzinfo=UTC):
        assert instant.astimezone(own).utcoffset() == instant.astimezone(BERLIN).utcoffset(), instant
        instant += timedelta(minutes=30)
