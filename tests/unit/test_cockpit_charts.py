"""The dashboard's SVG charts: well-formed XML, escaped labels, accessible, masked counts never shown."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

from cockpit.charts import drop_off_text, funnel_svg, weekly_svg
from flows.domain.funnel import STEPS, Funnel

SVG = "{http://www.w3.org/2000/svg}"
LABELS = {step: f"{step.value.upper()} <b>&" for step in STEPS}  # no digits: every digit in a chart is a number


def _texts(root: ET.Element) -> list[str]:
    """Every piece of text in the SVG: text elements, tooltips, title and description."""
    return ["".join(e.itertext()) for e in root.iter() if e.tag in (f"{SVG}text", f"{SVG}title", f"{SVG}desc")]


def _numbers(root: ET.Element) -> set[str]:
    """Every number a person or a screen reader gets from the chart (week dates left out)."""
    found: set[str] = set()
    for text in _texts(root):
        found |= set(re.findall(r"\d+", re.sub(r"\d\d\.\d\d\.", "", text)))
    for element in root.iter():  # attributes that people or screen readers see
        for name in ("aria-label", "title"):
            found |= set(re.findall(r"\d+", element.get(name, "")))
    return found


def _accessible(root: ET.Element, title: str) -> None:
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("aria-label") == title
    assert root.get("width") == "100%" and root.get("viewBox", "").startswith("0 0 ")
    title_element = root.find(f"{SVG}title")
    assert title_element is not None and title_element.text == title
    desc = root.find(f"{SVG}desc")
    assert desc is not None and root.get("aria-describedby") == desc.get("id")


def _no_outside_resources_or_script(svg: str) -> None:
    assert "<script" not in svg and "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "href" not in svg and "@import" not in svg and not re.search(r"\son[a-z]+=", svg)  # no event handlers


def test_funnel_chart_is_xml_with_escaped_labels_and_accessible() -> None:
    counts = (1234, 1001, 640, 612, 120, 80, 77, 30, 12, 5)
    svg = funnel_svg(Funnel(counts, counts), LABELS, 'Trichter "Q1" <Görlitz> & Co')
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg
    root = ET.fromstring(svg)
    _accessible(root, 'Trichter "Q1" <Görlitz> & Co')
    _no_outside_resources_or_script(svg)
    texts = _texts(root)
    for step in STEPS:
        assert f"{step.value.upper()} <b>&" in texts
    assert [e.text for e in root.iter(f"{SVG}text") if e.get("class") == "count"] == [str(c) for c in counts]
    drops = [e.text for e in root.iter(f"{SVG}text") if e.get("class") == "drop-off"]
    assert drops[:3] == [drop_off_text((1234 - 1001) / 1234), "\u221236\u00a0%", "\u22124\u00a0%"]
    assert len(drops) == len(STEPS) - 1  # every step after the first: no count is masked
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text is not None and "HIRED <b>&: 5" in desc.text


def test_masked_counts_are_hatched_bars_and_never_the_number() -> None:
    counts = (40, 31, 22, 17, 3, 2, 1, 1, 0, 0)
    svg = funnel_svg(Funnel(counts, (40, 31, 4, 17, 3, 2, 1, 1, 0, 0)), LABELS, "Trichter")
    root = ET.fromstring(svg)
    shown = [e.text for e in root.iter(f"{SVG}text") if e.get("class") == "count"]
    assert shown == ["40", "31", "22", "17", "< 5", "< 5", "< 5", "< 5", "0", "0"]
    assert not _numbers(root) & {"1", "2", "3", "4"}  # not as a count, a share or in the description
    masked_bars = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "masked"]
    assert len(masked_bars) == 4 and all(e.get("fill", "").startswith("url(#") for e in masked_bars)
    widths = {e.get("width") for e in masked_bars}
    assert len(widths) == 1  # all at the 5 mark, whatever the true count
    assert float(widths.pop() or 0) == max((360 - 16) * 5 / 40, 6.0)
    drops = [e.text for e in root.iter(f"{SVG}text") if e.get("class") == "drop-off"]
    assert len(drops) == 3  # onboarded, quiz done, offers viewed; none next to or after a "< 5"
    patterns = [e.get("id") for e in root.iter(f"{SVG}pattern")]
    assert all(f"url(#{p})" in svg for p in patterns) and len(patterns) == 1


def test_a_tiny_cohort_reveals_nothing_through_the_scale() -> None:
    """Three users in all: every bar drawn at the 5 mark, no numbers but 0."""
    three = funnel_svg(Funnel((3, 3, 2, 1, 0, 0, 0, 0, 0, 0)), LABELS, "Klein")
    four = funnel_svg(Funnel((4, 4, 4, 4, 0, 0, 0, 0, 0, 0)), LABELS, "Klein")
    assert not _numbers(ET.fromstring(three)) - {"0", "5"}
    assert three.count('class="masked"') == 4 and four.count('class="masked"') == 4
    geometry = re.compile(r'<rect [^>]*class="masked"/>')
    assert geometry.findall(three) == geometry.findall(four)


def test_empty_funnel_draws_no_bars() -> None:
    root = ET.fromstring(funnel_svg(Funnel(), LABELS, "Leer"))
    assert [e.text for e in root.iter(f"{SVG}text") if e.get("class") == "count"] == ["0"] * len(STEPS)
    bars = [e for g in root.iter(f"{SVG}g") for e in g.iter(f"{SVG}rect")]
    assert len(bars) == len(STEPS) and all(e.get("fill") == "#e5e7eb" for e in bars)  # only the tracks


def _week(new: int, interested: int, hired: int) -> Funnel:
    counts = (new, new, new, new, interested, interested, interested, hired, hired, hired)
    return Funnel(counts, counts)


def test_weekly_chart_with_masked_weeks_and_escaped_labels() -> None:
    monday = date(2026, 12, 28)
    weeks = [(monday + timedelta(days=7 * i), _week(n, i_, h)) for i, (n, i_, h) in
             enumerate([(27, 6, 0), (3, 2, 1), (58, 12, 4), (0, 0, 0), (41, 9, 5)])]
    svg = weekly_svg(weeks, LABELS, "Pro Woche <neu> & interessiert")
    root = ET.fromstring(svg)
    _accessible(root, "Pro Woche <neu> & interessiert")
    _no_outside_resources_or_script(svg)
    texts = _texts(root)
    assert "NEW <b>&" in texts and "INTERESTED <b>&" in texts and "HIRED <b>&" in texts  # the legend
    assert "28.12." in texts and "04.01." in texts
    assert not _numbers(root) & {"1", "2", "3", "4"}
    ticks = [e.text for e in root.iter(f"{SVG}text") if e.get("class") == "tick"]
    assert ticks == ["0", "20", "40", "60"]
    tips = ["".join(t.itertext()) for rect in root.iter(f"{SVG}rect") for t in rect.iter(f"{SVG}title")]
    assert "04.01.: NEW <b>& < 5" in tips and "04.01.: HIRED <b>& < 5" in tips
    assert "11.01.: INTERESTED <b>& 12" in tips and "25.01.: HIRED <b>& 5" in tips
    masked = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "masked"]
    assert len(masked) == 4  # the second week's three columns and the third week's 4 hired
    assert len({e.get("height") for e in masked}) == 1
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text is not None
    assert "28.12.: NEW <b>& 27, INTERESTED <b>& 6, HIRED <b>& 0" in desc.text


def test_weekly_chart_of_few_users_and_of_no_weeks() -> None:
    root = ET.fromstring(weekly_svg([(date(2027, 1, 4), _week(4, 1, 0))], LABELS, "Wenig"))
    assert [e.text for e in root.iter(f"{SVG}text") if e.get("class") == "tick"] == ["0", "5"]
    assert _numbers(root) == {"0", "5"}
    empty = ET.fromstring(weekly_svg([], LABELS, "Nichts"))
    assert not [e for e in empty.iter(f"{SVG}rect") if e.get("class") == "masked"]


def test_two_charts_in_one_page_have_their_own_ids() -> None:
    first = funnel_svg(Funnel(), LABELS, "A")
    second = funnel_svg(Funnel(), LABELS, "B")
    def ids(svg: str) -> set[str]:
        return set(re.findall(r'id="([^"]+)"', svg))

    assert ids(first) and not ids(first) & ids(second)


def test_no_loss_reads_zero_percent_without_a_minus() -> None:
    assert drop_off_text(0.0) == "0\u00a0%" and drop_off_text(0.001) == "0\u00a0%"
    assert drop_off_text(0.5) == "\u221250\u00a0%" and drop_off_text(None) is None
