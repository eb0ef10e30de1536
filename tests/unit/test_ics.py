"""The .ics output, read back with a small RFC 5545 parser written here (unfold, split, unescape)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from flows.domain.ics import MAX_OCTETS, escape_text, event_ics, fold, ics_filename

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 1, 5, 12, 0, 7, 123456, tzinfo=UTC)
LONG_DESCRIPTION = (
    "Über 40 Betriebe aus der Oberlausitz stellen sich vor: Mechatroniker:innen, Elektroniker:innen, "
    "Pflegefachkräfte und Zerspanungsmechaniker:innen zeigen, was sie täglich tun. 🎉🔧⚡ "
    "Für Eltern gibt es um 11:00 Uhr einen Vortrag über Ausbildungsvergütung, Berufsschule und Fahrtkosten; "
    "bringt eure Fragen mit – Größe, Gewicht und Gehör spielen keine Rolle! 👩‍🔧👨‍⚕️ Äöüß ÄÖÜẞ "
) * 3


# -- the test-side parser -------------------------------------------------------------------------

@dataclass
class Prop:
    name: str
    params: dict[str, str]
    value: str


@dataclass
class Component:
    name: str
    props: list[Prop] = field(default_factory=list)
    children: list[Component] = field(default_factory=list)

    def all(self, name: str) -> list[Prop]:
        return [p for p in self.props if p.name == name]

    def one(self, name: str) -> Prop:
        (prop,) = self.all(name)
        return prop

    def child(self, name: str) -> Component:
        (comp,) = [c for c in self.children if c.name == name]
        return comp


_LINE_RE = re.compile(r'([A-Z0-9-]+)((?:;[A-Z0-9-]+=(?:"[^"]*"|[^";:,]*))*):(.*)')
_PARAM_RE = re.compile(r';([A-Z0-9-]+)=("[^"]*"|[^";:,]*)')


def physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    lines = data[:-2].split(b"\r\n")
    assert all(b"\r" not in line and b"\n" not in line for line in lines), "bare CR or LF"
    return lines


def unfold(data: bytes) -> list[str]:
    logical: list[str] = []
    for line in physical_lines(data):
        text = line.decode("utf-8")  # every physical line on its own: a split character fails here
        if text[:1] in (" ", "\t"):
            logical[-1] += text[1:]
        else:
            logical.append(text)
    return logical


def parse(data: bytes) -> Component:
    stack: list[Component] = [Component("")]
    for line in unfold(data):
        match = _LINE_RE.fullmatch(line)
        assert match, line
        name, params, value = match[1], dict(_PARAM_RE.findall(match[2])), match[3]
        if name == "BEGIN":
            stack.append(Component(value))
        elif name == "END":
            done = stack.pop()
            assert done.name == value, f"END:{value} closes {done.name}"
            stack[-1].children.append(done)
        else:
            stack[-1].props.append(Prop(name, {k: v.strip('"') for k, v in params.items()}, value))
    assert len(stack) == 1
    (calendar,) = stack[0].children
    return calendar


def unescape(value: str) -> str:
    assert not re.search(r"(?<!\\)(?:\\\\)*[;,]", value), f"unescaped ; or , in {value!r}"
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def instant(prop: Prop) -> datetime:
    """The UTC instant of a DATE-TIME; fold=0 is RFC 5545's "first occurrence" of an ambiguous time."""
    if prop.value.endswith("Z"):
        return datetime.strptime(prop.value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    wall = datetime.strptime(prop.value, "%Y%m%dT%H%M%S")
    # (aware datetimes in a fold never compare equal across zones, so compare in UTC)
    return wall.replace(tzinfo=ZoneInfo(prop.params["TZID"]), fold=0).astimezone(UTC)


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
    assert cal.one("PRODID").value.startswith("-//")
    assert cal.one("VERSION").value == "2.0"
    assert cal.one("CALSCALE").value == "GREGORIAN"
    assert cal.one("METHOD").value == "PUBLISH"
    assert [c.name for c in cal.children] == ["VTIMEZONE", "VEVENT"]
    event = cal.child("VEVENT")
    assert event.one("UID").value == "karrieretage-2027@azubi-lotse"
    assert event.one("DTSTAMP").value == "20270105T120007Z"
    assert event.one("DTSTART").params == {"TZID": "Europe/Berlin"}
    assert event.one("DTSTART").value == "20270924T090000"
    assert event.one("DTEND").value == "20270924T150000"
    assert unescape(event.one("SUMMARY").value) == "Oberlausitzer Karrieretage"
    assert unescape(event.one("DESCRIPTION").value) == "Ausbildungsmesse mit 60 Betrieben"
    assert unescape(event.one("LOCATION").value) == "Messe Löbau, Görlitzer Str. 1, 02708 Löbau"
    assert event.one("SEQUENCE").value == "3"
    assert event.one("STATUS").value == "CONFIRMED"
    assert event.one("URL").value == "https://example.org/termine/karrieretage?jahr=2027"
    assert event.all("ORGANIZER") == []
    # every TZID used is defined
    tzids = {p.params["TZID"] for p in event.props if "TZID" in p.params}
    assert tzids == {cal.child("VTIMEZONE").one("TZID").value}


def test_cancelled_event() -> None:
    cal = parse(make(cancelled=True, sequence=4))
    assert cal.one("METHOD").value == "CANCEL"
    event = cal.child("VEVENT")
    assert event.one("STATUS").value == "CANCELLED"
    assert event.one("SEQUENCE").value == "4"
    assert event.one("UID").value == "karrieretage-2027@azubi-lotse"


def test_organizer_needs_an_address_so_a_bare_name_becomes_contact() -> None:
    event = parse(make(organizer_name="TAB_MINT: Netzwerk, Cottbus")).child("VEVENT")
    assert unescape(event.one("CONTACT").value) == "TAB_MINT: Netzwerk, Cottbus"
    assert event.all("ORGANIZER") == []
    event = parse(make(organizer_name='Die "Zukunftsmacher"', organizer_email="info@example.org")).child("VEVENT")
    organizer = event.one("ORGANIZER")
    assert organizer.value == "mailto:info@example.org"
    assert organizer.params == {"CN": "Die 'Zukunftsmacher'"}


def test_optional_texts_are_left_out_when_empty() -> None:
    event = parse(make(description="", location=None)).child("VEVENT")
    assert event.all("DESCRIPTION") == [] and event.all("LOCATION") == []


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
    assert unescape(parse(data).child("VEVENT").one("DESCRIPTION").value) == LONG_DESCRIPTION


@pytest.mark.parametrize("lead", range(5))
@pytest.mark.parametrize("char", ["ä", "€", "🎉"])  # 2, 3 and 4 octets, at every alignment
def test_fold_at_every_alignment(lead: int, char: str) -> None:
    line = "DESCRIPTION:" + "x" * lead + char * 80
    physical = fold(line)
    assert all(len(p.encode()) <= MAX_OCTETS for p in physical)
    assert all(p.startswith(" ") for p in physical[1:])
    assert all(len(p.encode()) > MAX_OCTETS - len(char.encode()) for p in physical[:-1])  # lines are full
    assert physical[0] + "".join(p[1:] for p in physical[1:]) == line


def test_short_lines_are_not_folded() -> None:
    assert fold("SUMMARY:" + "x" * 67) == ["SUMMARY:" + "x" * 67]
    assert len(fold("SUMMARY:" + "x" * 68)) == 2


# -- TEXT escaping --------------------------------------------------------------------------------

def test_text_escaping() -> None:
    assert escape_text("a;b,c\\d\ne") == "a\\;b\\,c\\\\d\\ne"
    assert escape_text("x\r\ny\rz") == "x\\ny\\nz"
    assert escape_text("Tab\tbleibt, Steuerzeichen\x07 nicht") == "Tab\tbleibt\\, Steuerzeichen nicht"
    assert escape_text("C:\\new") == "C:\\\\new"  # not mistaken for a newline when read back


def test_escaped_texts_read_back_exactly() -> None:
    tricky = "Treffpunkt: Tor 3; danach Halle B, Raum 2\\3\nBitte Ausweis mitbringen!\r\nDanke"
    event = parse(make(title=tricky, description=tricky, location=tricky)).child("VEVENT")
    expected = tricky.replace("\r\n", "\n")
    for name in ("SUMMARY", "DESCRIPTION", "LOCATION"):
        assert unescape(event.one(name).value) == expected


# -- times and the time zone ----------------------------------------------------------------------

@pytest.mark.parametrize("starts_local,ends_local,dtstart,dtend", [
    (datetime(2027, 6, 8, 8), datetime(2027, 6, 8, 12, 30), "20270608T080000", "20270608T123000"),  # CEST
    (datetime(2027, 1, 20, 8), datetime(2027, 1, 20, 14), "20270120T080000", "20270120T140000"),  # CET
    (datetime(2027, 3, 28, 10), datetime(2027, 3, 28, 16), "20270328T100000", "20270328T160000"),
    (datetime(2027, 10, 30, 22), datetime(2027, 10, 31, 4), "20271030T220000", "20271031T040000"),
])
def test_dtstart_is_local_berlin_time(starts_local: datetime, ends_local: datetime, dtstart: str, dtend: str) -> None:
    starts, ends = starts_local.replace(tzinfo=BERLIN), ends_local.replace(tzinfo=BERLIN)
    event = parse(make(starts_utc=starts.astimezone(UTC), ends_utc=ends.astimezone(UTC))).child("VEVENT")
    assert (event.one("DTSTART").value, event.one("DTEND").value) == (dtstart, dtend)
    assert instant(event.one("DTSTART")) == starts and instant(event.one("DTEND")) == ends


def test_second_occurrence_of_an_ambiguous_time_is_written_in_utc() -> None:
    # 2027-10-31 02:30 happens twice; a TZID local time would mean the first (summer) one.
    first, second = datetime(2027, 10, 31, 0, 30, tzinfo=UTC), datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    event = parse(make(starts_utc=first, ends_utc=second)).child("VEVENT")
    assert event.one("DTSTART").value == "20271031T023000" and "TZID" in event.one("DTSTART").params
    assert event.one("DTEND").value == "20271031T013000Z" and event.one("DTEND").params == {}
    assert instant(event.one("DTSTART")) == first and instant(event.one("DTEND")) == second


def test_vtimezone_has_both_components_with_the_eu_rule() -> None:
    tz = parse(make()).child("VTIMEZONE")
    assert tz.one("TZID").value == "Europe/Berlin"
    daylight, standard = tz.child("DAYLIGHT"), tz.child("STANDARD")
    assert (daylight.one("TZOFFSETFROM").value, daylight.one("TZOFFSETTO").value) == ("+0100", "+0200")
    assert (standard.one("TZOFFSETFROM").value, standard.one("TZOFFSETTO").value) == ("+0200", "+0100")
    assert daylight.one("RRULE").value == "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"
    assert standard.one("RRULE").value == "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"
    assert (daylight.one("TZNAME").value, standard.one("TZNAME").value) == ("CEST", "CET")


def _offset(text: str) -> timedelta:
    sign = -1 if text[0] == "-" else 1
    return sign * timedelta(hours=int(text[1:3]), minutes=int(text[3:5]))


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    while day.weekday() != 6:
        day -= timedelta(days=1)
    return day


@pytest.mark.parametrize("year", range(2026, 2031))
def test_vtimezone_rules_agree_with_the_tz_database(year: int) -> None:
    tz = parse(make()).child("VTIMEZONE")
    for comp in (tz.child("DAYLIGHT"), tz.child("STANDARD")):
        start = datetime.strptime(comp.one("DTSTART").value, "%Y%m%dT%H%M%S")
        rule = dict(part.split("=") for part in comp.one("RRULE").value.split(";"))
        assert rule["BYDAY"] == "-1SU" and start.date() == _last_sunday(start.year, int(rule["BYMONTH"]))
        onset_local = datetime.combine(_last_sunday(year, int(rule["BYMONTH"])), start.time())
        onset = (onset_local - _offset(comp.one("TZOFFSETFROM").value)).replace(tzinfo=UTC)
        before = (onset - timedelta(seconds=1)).astimezone(BERLIN).utcoffset()
        assert before == _offset(comp.one("TZOFFSETFROM").value)
        assert onset.astimezone(BERLIN).utcoffset() == _offset(comp.one("TZOFFSETTO").value)
        assert onset.astimezone(BERLIN).time() == (start + _offset(comp.one("TZOFFSETTO").value)
                                                   - _offset(comp.one("TZOFFSETFROM").value)).time()
    assert time(2) == datetime.strptime(tz.child("DAYLIGHT").one("DTSTART").value, "%Y%m%dT%H%M%S").time()


def test_other_eu_zones_work_and_others_are_refused() -> None:
    cal = parse(make(tz="Europe/London"))
    assert cal.child("VEVENT").one("DTSTART").value == "20270924T080000"
    assert cal.child("VTIMEZONE").child("STANDARD").one("TZOFFSETTO").value == "+0000"
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


# -- independent validator, when installed --------------------------------------------------------

def test_icalendar_package_reads_it_the_same_way() -> None:
    icalendar = pytest.importorskip("icalendar")
    starts, ends = datetime(2027, 3, 28, 8, tzinfo=UTC), datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    data = make(starts_utc=starts, ends_utc=ends, description=LONG_DESCRIPTION, url="https://example.org/x",
                organizer_name="TAB_MINT", organizer_email="info@example.org", sequence=2)
    cal = icalendar.Calendar.from_ical(data)
    (event,) = cal.walk("VEVENT")
    assert event.decoded("DTSTART") == starts and event.decoded("DTEND") == ends
    assert event.decoded("DTSTAMP") == NOW.replace(microsecond=0)
    assert str(event["DESCRIPTION"]) == LONG_DESCRIPTION
    assert str(event["ORGANIZER"]) == "mailto:info@example.org"
    (vtimezone,) = cal.walk("VTIMEZONE")
    own = vtimezone.to_tz(lookup_tzid=False)  # built from our VTIMEZONE, not the tz database
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    while instant < datetime(2030, 1, 1, tzinfo=UTC):
        assert instant.astimezone(own).utcoffset() == instant.astimezone(BERLIN).utcoffset(), instant
        instant += timedelta(minutes=30)
