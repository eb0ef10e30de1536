"""Pictures for flows.Chart: the RIASEC interest profile as a PNG (Pillow) or as text bars."""
from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

from flows.core.model import Chart
from prompts import Catalog

RIASEC = ("R", "I", "A", "S", "E", "C")
COLOURS = {"R": "#e4572e", "I": "#2e86ab", "A": "#a23b72", "S": "#3bb273", "E": "#f3a712", "C": "#5c6b73"}
ROW, TOP, MARGIN, BAR_SPAN = 78, 110, 40, 480
TEXT_BAR = 20


def _labels(chart: Chart, catalog: Catalog, locale: str) -> list[tuple[str, str, float]]:
    return [(code, catalog.render(f"label.riasec.{code}", locale=locale), chart.values.get(code, 0.0))
            for code in RIASEC]


def chart_png(chart: Chart, catalog: Catalog, locale: str) -> bytes:
    """Horizontal bars, one per interest dimension, 0-100 %."""
    rows = _labels(chart, catalog, locale)
    title_font = ImageFont.load_default(size=40)
    font = ImageFont.load_default(size=30)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    left = MARGIN + int(max(probe.textlength(label, font=font) for _, label, _ in rows)) + 25  # longest label
    span = BAR_SPAN
    image = Image.new("RGB", (left + span + 110, TOP + ROW * len(rows) + 40), "white")
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN, 30), catalog.render("label.chart_title", locale=locale), fill="#222222", font=title_font)
    for i, (code, label, value) in enumerate(rows):
        y = TOP + i * ROW
        draw.text((MARGIN, y + 12), label, fill="#333333", font=font)
        draw.rounded_rectangle((left, y + 8, left + span, y + ROW - 22), radius=10, fill="#eeeeee")
        if value > 0:
            draw.rounded_rectangle((left, y + 8, left + max(20, int(span * value)), y + ROW - 22),
                                   radius=10, fill=COLOURS[code])
        draw.text((left + span + 15, y + 12), f"{round(value * 100)} %", fill="#333333", font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def chart_text(chart: Chart, catalog: Catalog, locale: str) -> str:
    """The same picture for the terminal."""
    rows = _labels(chart, catalog, locale)
    width = max(len(label) for _, label, _ in rows)
    lines = []
    for _, label, value in rows:
        filled = round(TEXT_BAR * value)
        lines.append(f"{label:<{width}}  {'█' * filled}{'░' * (TEXT_BAR - filled)} {round(value * 100):>3} %")
    return "\n".join(lines)
