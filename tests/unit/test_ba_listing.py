"""The tolerant reader of the BA job search's answers (flows/domain/ba_listing.py): both field shapes,
and every kind of bad data becoming a defect or a clean value, never an exception or a tag."""
from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from flows.domain.ba_listing import (
    ANGEBOTSART,
    PAGE_LIMIT,
    PAGE_SIZE,
    BaListing,
    BaPage,
    BaQuery,
    BaShapeError,
    BaUnavailable,
    Defect,
    parse_page,
)

Json = dict[str, Any]

V4_ITEM: Json = {
    "refnr": "10000-1184867112-S", "titel": "Ausbildung Dachdecker/in 2027", "beruf": "Dachdecker/in",
    "arbeitgeber": "Dachbau Krause GmbH", "eintrittsdatum": "2027-08-01",
    "aktuelleVeroeffentlichungsdatum": "2026-11-20", "modifikationsTimestamp": "2026-11-20T10:11:12.123",
    "arbeitsort": {"plz": "06108", "ort": "Halle (Saale)", "region": "Sachsen-Anhalt", "land": "Deutschland",
                   "koordinaten": {"lat": 51.48, "lon": 11.97}},
    "externeUrl": "https://karriere.example.de/dachdecker",
}
V6_ITEM: Json = {
    "referenznummer": "10001-1184867113-S", "stellenangebotsTitel": "Praktikum Elektroniker/in",
    "firma": "Elektro Noack KG", "hauptberuf": "Elektroniker/in - Energie- und Gebäudetechnik",
    "alleBerufe": ["Elektroniker/in - Energie- und Gebäudetechnik", "Elektroniker/in"],
    "berufsfeld": "Elektro", "eintrittsdatum": "2027-09-01T00:00:00", "datumErsteVeroeffentlichung": "2026-12-01",
    "aenderungsdatum": "2026-12-02T08:00:00.000",
    "stellenlokationen": [{"adresse": {"plz": "03046", "ort": "Cottbus", "region": "Brandenburg",
                                       "land": "Deutschland"}, "koordinaten": {"breite": 51.76, "laenge": 14.33}}],
    "externeURL": "https://jobs.example.de/42",
}


def v4(*items: object, total: object = "1") -> Json:
    return {"stellenangebote": list(items), "maxErgebnisse": total, "page": "1", "size": "25", "facetten": {}}


def v6(*items: object, total: object = 1) -> Json:
    return {"ergebnisliste": list(items), "maxErgebnisse": total, "facetten": {}}


def item(base: Json, **changes: object) -> Json:
    """A copy of `base` with fields changed (None removes the field)."""
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def only(page: BaPage) -> BaListing:
    assert len(page.listings) == 1, page
    return page.listings[0]


# ---- the two shapes --------------------------------------------------------------------------------
def test_a_v4_page_is_read_completely() -> None:
    page = parse_page(v4(V4_ITEM, total="123"))
    assert page.shape == "v4" and page.total == 123 and page.defects == [] and page.duplicates == []
    listing = only(page)
    assert listing == BaListing(
        ref="10000-1184867112-S", title="Ausbildung Dachdecker/in 2027", employer="Dachbau Krause GmbH",
        plz="06108", place="Halle (Saale)", start=date(2027, 8, 1), published=date(2026, 11, 20),
        professions=("Dachdecker/in",), external_url="https://karriere.example.de/dachdecker", lat=51.48, lon=11.97)
    assert listing.url == "https://www.arbeitsagentur.de/jobsuche/jobdetail/10000-1184867112-S"


def test_a_v6_page_is_read_completely() -> None:
    page = parse_page(v6(V6_ITEM, total=7))
    assert page.shape == "v6" and page.total == 7 and page.defects == []
    listing = only(page)
    assert listing.ref == "10001-1184867113-S"
    assert listing.title == "Praktikum Elektroniker/in"
    assert listing.employer == "Elektro Noack KG"
    assert (listing.plz, listing.place) == ("03046", "Cottbus")
    assert (listing.lat, listing.lon) == (51.76, 14.33)
    assert listing.start == date(2027, 9, 1)  # from a datetime string
    assert listing.published == date(2026, 12, 1)
    assert listing.professions == ("Elektroniker/in - Energie- und Gebäudetechnik", "Elektroniker/in")
    assert listing.external_url == "https://jobs.example.de/42"
    assert listing.url.endswith("/jobdetail/10001-1184867113-S")


def test_items_of_either_shape_are_read_whatever_the_list_is_called() -> None:
    for payload in (v4(V4_ITEM, V6_ITEM, total="2"), v6(V4_ITEM, V6_ITEM, total=2)):
        page = parse_page(payload)
        assert [listing.ref for listing in page.listings] == ["10000-1184867112-S", "10001-1184867113-S"]
        assert [listing.plz for listing in page.listings] == ["06108", "03046"]
        assert page.defects == []


def test_the_v6_list_wins_when_both_keys_are_there() -> None:
    page = parse_page({"ergebnisliste": [V6_ITEM], "stellenangebote": [V4_ITEM], "maxErgebnisse": 1})
    assert page.shape == "v6" and [listing.ref for listing in page.listings] == ["10001-1184867113-S"]


# ---- the total -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [
    ("123", 123), (123, 123), (" 42 ", 42), ("0", 0), ("viele", None), (-1, None), (True, None), (1.5, None),
    (None, None), ("", None), ("9" * 40, None)])
def test_the_total_is_a_number_or_a_numeric_string(value: object, expected: int | None) -> None:
    payload = v4(V4_ITEM, total=value)
    if value is None:
        del payload["maxErgebnisse"]
    assert parse_page(payload).total == expected


def test_no_offers_the_list_may_be_left_out() -> None:
    """The v4 interface leaves "stellenangebote" out when nothing matches: an empty page, not a changed interface."""
    page = parse_page({"maxErgebnisse": "0", "page": "1", "size": "25", "facetten": {}})
    assert (page.shape, page.listings, page.defects, page.total) == ("v4", [], [], 0)
    assert parse_page({"maxErgebnisse": 0, "ergebnisliste": None}).shape == "v6"


# ---- a changed interface ---------------------------------------------------------------------------
@pytest.mark.parametrize("payload", [
    {"jobs": [V6_ITEM], "treffer": 1},
    {"jobs": [V6_ITEM], "maxErgebnisse": 1},  # the total kept, the list renamed: never "no offers"
    {"stellenangebote": {"refnr": "x"}, "maxErgebnisse": "1"},
    {"ergebnisliste": "none", "maxErgebnisse": 3},
    {},
])
def test_a_renamed_list_is_a_shape_error_naming_the_keys_found(payload: Json) -> None:
    with pytest.raises(BaShapeError) as raised:
        parse_page(payload)
    message = str(raised.value)
    for key in payload:
        assert repr(key) in message
    assert "Dachdecker" not in message and "Elektro" not in message and "refnr" not in message  # no values


@pytest.mark.parametrize("payload", [None, [V4_ITEM], "stellenangebote", 42])
def test_a_payload_that_is_not_an_object_is_a_shape_error(payload: object) -> None:
    with pytest.raises(BaShapeError):
        parse_page(payload)


def test_the_shape_error_is_a_value_error_and_keeps_odd_keys_short() -> None:
    with pytest.raises(ValueError) as raised:
        parse_page({"x" * 5000: 1, "<script>": 2})
    assert len(str(raised.value)) < 400


# ---- postal codes ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("plz", "expected"), [
    ("06108", "06108"), (6108, "06108"), ("6108", "06108"), (3046, "03046"), (6108.0, "06108"), (99999, "99999"),
    (" 03046 ", "03046"), ("0610", None), ("061080", None), (123, None), (123456, None), ("D-06108", None),
    ("06108 Halle", None), ("00610", None), (True, None), ("", None), ([6108], None), (float("nan"), None)])
def test_the_postal_code_is_five_digits_or_none(plz: object, expected: str | None) -> None:
    v4_item = item(V4_ITEM, arbeitsort={"plz": plz, "ort": "Halle (Saale)"})
    v6_item = item(V6_ITEM, stellenlokationen=[{"adresse": {"plz": plz, "ort": "Cottbus"}}])
    assert only(parse_page(v4(v4_item))).plz == expected
    assert only(parse_page(v6(v6_item))).plz == expected


def test_a_listing_without_a_place_of_work_is_kept_without_one() -> None:
    for listing in (item(V4_ITEM, arbeitsort=None), item(V6_ITEM, stellenlokationen=None),
                    item(V6_ITEM, stellenlokationen=[]), item(V4_ITEM, arbeitsort="Halle"),
                    item(V6_ITEM, stellenlokationen=[42, {"adresse": {"plz": "03046"}}])):
        parsed = only(parse_page(v6(listing)))
        assert (parsed.plz, parsed.place, parsed.lat, parsed.lon) == (None, None, None, None)


def test_coordinates_out_of_range_or_half_given_are_dropped() -> None:
    for coordinates in ({"lat": 91, "lon": 11.9}, {"lat": 51.4}, {"breite": "x", "laenge": 14.0},
                        {"lat": float("inf"), "lon": 1.0}, {"lat": True, "lon": 1.0}):
        listing = item(V4_ITEM, arbeitsort={"plz": "06108", "ort": "Halle", "koordinaten": coordinates})
        parsed = only(parse_page(v4(listing)))
        assert (parsed.lat, parsed.lon) == (None, None) and parsed.plz == "06108"


# ---- plain text only -------------------------------------------------------------------------------
@pytest.mark.parametrize(("title", "expected"), [
    ("<b>Ausbildung</b> Dachdecker/in", "Ausbildung Dachdecker/in"),
    ("Azubi<script>alert('x')</script> Maurer/in", "Azubi Maurer/in"),
    ("<SCRIPT type='text/javascript'>document.write(1)</SCRIPT>Tischler/in", "Tischler/in"),
    ("<style>b{color:red}</style>Koch/Köchin", "Koch/Köchin"),
    ("Mechatroniker &amp; Elektroniker (m/w/d)", "Mechatroniker & Elektroniker (m/w/d)"),
    ("Gärtner&nbsp;/&nbsp;Floristin &#8211; 2027", "Gärtner / Floristin – 2027"),
    ("&lt;b&gt;Fett&lt;/b&gt; gedruckt", "Fett gedruckt"),  # entity-encoded tags are not tags afterwards
    ("&lt;script&gt;alert(1)&lt;/script&gt;Bäcker/in", "Bäcker/in"),
    ("Zeile eins<br/>Zeile\tzwei\n\n  drei", "Zeile eins Zeile zwei drei"),
    ("Elektro\u202eniker\u200b/in\x00", "Elektroniker/in"),  # bidi override, zero width, NUL
    ("Ausbildung <img src=x onerror=alert(1)> Fliesenleger/in", "Ausbildung Fliesenleger/in"),
    ("Verkäufer/in <a href='https://evil.example'>hier</a>", "Verkäufer/in hier"),
    ("Kfz-Mechatroniker/in <b", "Kfz-Mechatroniker/in"),
    ("Fachkraft für Lagerlogistik < 3 Jahre > 2 Tage", "Fachkraft für Lagerlogistik < 3 Jahre > 2 Tage"),
])
def test_html_never_survives_in_titles(title: str, expected: str) -> None:
    listing = only(parse_page(v4(item(V4_ITEM, titel=title))))
    assert listing.title == expected
    assert "<b>" not in listing.title and "script" not in listing.title.casefold()


def test_html_is_stripped_from_every_text_field() -> None:
    raw = item(V6_ITEM, firma="<i>Elektro</i> Noack &amp; Söhne<script>steal()</script>",
               hauptberuf="<b>Elektroniker/in</b>", alleBerufe=["Elektroniker/in", "<u>Mechatroniker/in</u>", 42],
               stellenlokationen=[{"adresse": {"plz": "03046", "ort": "<em>Cottbus</em>"}}])
    listing = only(parse_page(v6(raw)))
    assert listing.employer == "Elektro Noack & Söhne"
    assert listing.professions == ("Elektroniker/in", "Mechatroniker/in")  # deduplicated, non-text dropped
    assert listing.place == "Cottbus"


def test_long_texts_are_cut_at_a_word_boundary() -> None:
    title = "Ausbildung " + "Fachkraft für Kreislauf- und Abfallwirtschaft " * 10
    employer = "Zweckverband " + "Abwasserentsorgung Lausitz " * 10
    listing = only(parse_page(v4(item(V4_ITEM, titel=title, arbeitgeber=employer))))
    assert len(listing.title) <= 200 and listing.title.endswith("…")
    assert title.startswith(listing.title.removesuffix("…")) and title[len(listing.title) - 1] == " "
    assert len(listing.employer) <= 160 and listing.employer.endswith("…")


def test_one_giant_word_is_cut_hard() -> None:
    listing = only(parse_page(v4(item(V4_ITEM, titel="A" * 100_000))))
    assert len(listing.title) == 200


# ---- missing or broken fields ----------------------------------------------------------------------
def test_a_bad_listing_is_a_defect_and_the_others_stay() -> None:
    items: list[object] = [
        "not an object", None, [V4_ITEM],
        item(V4_ITEM, refnr=None),
        item(V4_ITEM, refnr="   "),
        item(V4_ITEM, refnr="../../admin"),
        item(V4_ITEM, refnr="<script>alert(1)</script>"),
        item(V4_ITEM, refnr="1" * 41),
        item(V4_ITEM, refnr="-10000"),
        item(V4_ITEM, refnr="A-1", titel=None),
        item(V4_ITEM, refnr="A-2", titel="   "),
        item(V4_ITEM, refnr="A-3", titel="<script>nur Skript</script>"),
        item(V4_ITEM, refnr="A-4", titel=["Liste"]),
        item(V4_ITEM, refnr="A-5", arbeitgeber=None),
        item(V6_ITEM, referenznummer="A-6", firma="&nbsp;"),
        V4_ITEM,
    ]
    page = parse_page(v4(*items, total="17"))
    assert [listing.ref for listing in page.listings] == ["10000-1184867112-S"]
    assert page.defects == [
        (None, Defect.NOT_AN_OBJECT), (None, Defect.NOT_AN_OBJECT), (None, Defect.NOT_AN_OBJECT),
        (None, Defect.MISSING_REF), (None, Defect.MISSING_REF),
        (None, Defect.BAD_REF), (None, Defect.BAD_REF), (None, Defect.BAD_REF), (None, Defect.BAD_REF),
        ("A-1", Defect.MISSING_TITLE), ("A-2", Defect.MISSING_TITLE), ("A-3", Defect.MISSING_TITLE),
        ("A-4", Defect.MISSING_TITLE), ("A-5", Defect.MISSING_EMPLOYER), ("A-6", Defect.MISSING_EMPLOYER),
    ]
    assert page.total == 17


def test_a_numeric_ref_is_read_as_text() -> None:
    assert only(parse_page(v4(item(V4_ITEM, refnr=1184867112)))).ref == "1184867112"


def test_optional_fields_missing_or_odd_give_none() -> None:
    bare = {"refnr": "R-1", "titel": "Ausbildung Maurer/in", "arbeitgeber": "Bau GmbH"}
    listing = only(parse_page(v4(bare)))
    assert listing == BaListing(ref="R-1", title="Ausbildung Maurer/in", employer="Bau GmbH", plz=None, place=None,
                                start=None, published=None, professions=(), external_url=None)
    odd = dict(bare, eintrittsdatum="ab sofort", aktuelleVeroeffentlichungsdatum=20261120, beruf=None,
               externeUrl=42, arbeitsort={"plz": None, "ort": ""})
    listing = only(parse_page(v4(odd)))
    assert (listing.start, listing.published, listing.professions, listing.external_url, listing.place) == (
        None, None, (), None, None)


@pytest.mark.parametrize(("value", "expected"), [
    ("2027-08-01", date(2027, 8, 1)), ("2027-08-01T00:00:00", date(2027, 8, 1)),
    ("2027-08-01T10:11:12.123Z", date(2027, 8, 1)), ("2027-08-01T10:11:12+02:00", date(2027, 8, 1)),
    ("01.08.2027", date(2027, 8, 1)), ("2027-02-30", None), ("sofort", None), ("", None), (None, None),
    (20270801, None)])
def test_dates_are_read_from_dates_and_datetimes(value: object, expected: date | None) -> None:
    raw = item(V4_ITEM, eintrittsdatum=value)
    assert only(parse_page(v4(raw))).start == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("https://karriere.example.de/a?b=c", "https://karriere.example.de/a?b=c"),
    ("  https://jobs.example.de/1  ", "https://jobs.example.de/1"),
    ("HTTPS://jobs.example.de/1", "HTTPS://jobs.example.de/1"),
    ("http://karriere.example.de/a", None), ("javascript:alert(1)", None), ("ftp://example.de/x", None),
    ("//example.de/x", None), ("https://", None), ("https://user:pw@example.de/", None),
    ('https://example.de/"><script>', None), ("https://exa mple.de/", None), ("www.example.de", None),
    ("https://example.de/" + "a" * 3000, None), (["https://example.de"], None)])
def test_only_https_urls_are_kept_as_external_links(url: object, expected: str | None) -> None:
    assert only(parse_page(v4(item(V4_ITEM, externeUrl=url)))).external_url == expected
    assert only(parse_page(v6(item(V6_ITEM, externeURL=url)))).external_url == expected


def test_duplicates_on_one_page_are_kept_once_first_wins() -> None:
    second = item(V4_ITEM, titel="Zweite Fassung")
    as_v6 = item(V6_ITEM, referenznummer=V4_ITEM["refnr"], stellenangebotsTitel="Dritte Fassung")
    page = parse_page(v4(V4_ITEM, second, V6_ITEM, as_v6, total="4"))
    assert [listing.ref for listing in page.listings] == ["10000-1184867112-S", "10001-1184867113-S"]
    assert page.listings[0].title == "Ausbildung Dachdecker/in 2027"
    assert page.duplicates == ["10000-1184867112-S", "10000-1184867112-S"]
    assert page.defects == []


def test_parse_page_never_raises_on_odd_items() -> None:
    odd: list[object] = [
        {}, {"refnr": {"nested": 1}}, {"refnr": "X-1", "titel": {"a": 1}, "arbeitgeber": "A"},
        {"refnr": "X-2", "titel": "T", "arbeitgeber": "A", "arbeitsort": [[]], "alleBerufe": "kein array",
         "stellenlokationen": {"adresse": "kaputt"}},
        {"refnr": "X-3", "titel": "T", "arbeitgeber": "A", "arbeitsort": {"koordinaten": [1, 2]}},
        {"referenznummer": "X-4", "stellenangebotsTitel": "T", "firma": "F",
         "stellenlokationen": [{"adresse": None, "koordinaten": None}]},
        1.5, True, "", ["x"],
    ]
    page = parse_page(v6(*odd, total=10))
    assert [listing.ref for listing in page.listings] == ["X-2", "X-3", "X-4"]
    assert len(page.defects) == 7


# ---- the query, the models and the error -----------------------------------------------------------
def test_the_query_parameters_of_a_page() -> None:
    query = BaQuery(kind="ausbildung", was="Dachdecker/in", wo="Halle (Saale)", umkreis=25)
    assert query.params(3) == {"angebotsart": "4", "was": "Dachdecker/in", "wo": "Halle (Saale)", "umkreis": "25",
                               "page": "3", "size": "100", "pav": "false"}
    internship = BaQuery(kind="praktikum", was="Koch/Köchin", wo="Cottbus", umkreis=10, berufsfeld="Gastronomie")
    assert internship.params(1, 25) == {"angebotsart": "34", "was": "Koch/Köchin", "wo": "Cottbus", "umkreis": "10",
                                        "page": "1", "size": "25", "pav": "false", "berufsfeld": "Gastronomie"}
    assert ANGEBOTSART == {"ausbildung": 4, "praktikum": 34} and PAGE_SIZE * PAGE_LIMIT == 10_000
    with pytest.raises(ValueError):
        query.params(0)
    with pytest.raises(ValueError):
        query.params(1, 101)
    with pytest.raises(ValidationError):
        query.model_copy(update={"umkreis": 5}).__setattr__("umkreis", 6)  # frozen


@pytest.mark.parametrize("changes", [{"umkreis": 0}, {"umkreis": 201}, {"was": ""}, {"wo": ""}, {"kind": "job"}])
def test_a_query_out_of_range_is_refused(changes: dict[str, object]) -> None:
    values: dict[str, object] = {"kind": "ausbildung", "was": "Dachdecker/in", "wo": "Cottbus", "umkreis": 25}
    with pytest.raises(ValidationError):
        BaQuery.model_validate({**values, **changes})


def test_a_listing_checks_its_own_invariants() -> None:
    good: dict[str, object] = {"ref": "R-1", "title": "T", "employer": "E", "plz": None, "place": None,
                               "start": None, "published": None, "professions": (), "external_url": None}
    BaListing.model_validate(good)
    for bad in ({"ref": "../x"}, {"title": ""}, {"employer": "E" * 161}, {"plz": "6108"}):
        with pytest.raises(ValidationError):
            BaListing.model_validate({**good, **bad})


def test_ba_unavailable_keeps_reason_status_and_detail() -> None:
    error = BaUnavailable("rejected", 400, "past the page cap")
    assert (error.reason, error.status, error.detail) == ("rejected", 400, "past the page cap")
    assert "rejected" in str(error) and "400" in str(error)
    plain = BaUnavailable("timeout")
    assert (plain.reason, plain.status, plain.detail) == ("timeout", None, "")
