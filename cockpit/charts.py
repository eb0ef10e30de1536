"""The dashboard's charts as server-rendered SVG strings: no JavaScript, no external resources.

Every word comes from the caller (step labels, title, formats); every text is XML-escaped. Counts go
through `flows.domain.funnel.shown`: a masked count (1..4) is drawn as a light, hatched bar at the
5 mark with the text "< 5" and never appears as a number anywhere in the SVG (texts, tooltips, desc).
The SVGs scale to their container (viewBox, width 100%) and are read out as one image with a text
description (role="img", aria-label, <title>, <desc>). Colours: the Okabe-Ito palette (told apart with
colour blindness too), at least 3:1 against white for bars, text in near-black or dark grey.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from xml.sax.saxutils import escape

from flows.domain.funnel import MASK_BELOW, STEPS, Funnel, FunnelStep, masked, shown

WIDTH = 360  # viewBox width: about a phone's width in CSS pixels, so 12-13 px text stays readable there
PAD = 8
MIN_BAR = 6.0  # the least length of a bar that is not zero: a hatched one must still show its hatching
MIN_COLUMN = 4.0  # the same for the weekly columns' height
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
INK = "#111827"  # text: 17:1 on white
MUTED = "#374151"  # secondary text: 10:1 on white
TRACK = "#e5e7eb"
GRID = "#d1d5db"
BLUE, VERMILLION, GREEN = "#0072b2", "#d55e00", "#009e73"  # Okabe-Ito; 5.1, 3.9 and 3.4:1 on white
LIGHT = {BLUE: "#d6eaf5", VERMILLION: "#f8dccb", GREEN: "#ccede3"}  # the background of a masked bar
WEEKLY_SERIES: tuple[tuple[FunnelStep, str], ...] = (
    (FunnelStep.NEW, BLUE), (FunnelStep.INTERESTED, VERMILLION), (FunnelStep.HIRED, GREEN))
DROP_OFF = "\u2212{percent}\u00a0%"  # "−35 %": a sign, a number and a unit, no word


def _text(value: str) -> str:
    return escape(value)


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;", "'": "&apos;"})


def _uid(kind: str, title: str) -> str:
    """An id prefix for the SVG's own ids, so that several charts can live inline in one page."""
    return f"{kind}-{hashlib.sha1(title.encode()).hexdigest()[:8]}"


def _label(labels: Mapping[FunnelStep, str], step: FunnelStep) -> str:
    return labels.get(step, step.value)


def _hatch(pattern_id: str, colour: str) -> str:
    return (f'<pattern id="{pattern_id}" width="6" height="6" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{LIGHT[colour]}"/>'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="{colour}" stroke-width="2"/></pattern>')


def _svg(uid: str, title: str, description: str, height: float, body: list[str], defs: list[str]) -> str:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:g}" width="100%" '
            f'preserveAspectRatio="xMinYMin meet" role="img" aria-label="{_attr(title)}" '
            f'aria-describedby="{uid}-desc" font-family="{_attr(FONT)}" class="chart">')
    parts = [head, f'<title id="{uid}-title">{_text(title)}</title>',
             f'<desc id="{uid}-desc">{_text(description)}</desc>']
    if defs:
        parts.append("<defs>" + "".join(defs) + "</defs>")
    parts += body
    parts.append("</svg>")
    return "\n".join(parts)


def drop_off_text(share: float | None, fmt: str = DROP_OFF) -> str | None:
    """A drop-off share (0..1) as text, e.g. "−35 %" ("0 %" when nobody was lost); None when it is not to
    be shown."""
    if share is None:
        return None
    percent = round(share * 100)
    return "0\u00a0%" if percent == 0 else fmt.format(percent=percent)


def funnel_svg(funnel: Funnel, labels: Mapping[FunnelStep, str], title: str, *,
               drop_off_format: str = DROP_OFF) -> str:
    """One horizontal bar per step, scaled to the first step: the step's label, its count (`shown`)
    and the drop-off from the previous step where it may be shown."""
    uid = _uid("funnel", title)
    hatch = f"{uid}-hatch"
    scale = max(funnel.total, MASK_BELOW, 1)
    inner = WIDTH - 2 * PAD
    row, bar = 40, 14
    body: list[str] = []
    described: list[str] = []
    for i, (step, count) in enumerate(funnel):
        top = PAD + i * row
        label, value = _label(labels, step), shown(count)
        drop = drop_off_text(funnel.drop_off(step), drop_off_format)
        described.append(f"{label}: {value}" + (f" ({drop})" if drop else ""))
        body.append(f'<g class="step step-{step.value}">')
        body.append(f'<text x="{PAD}" y="{top + 13}" font-size="13" fill="{INK}">{_text(label)}</text>')
        body.append(f'<text x="{WIDTH - PAD}" y="{top + 13}" font-size="13" font-weight="bold" fill="{INK}" '
                    f'text-anchor="end" class="count">{_text(value)}</text>')
        if drop is not None:
            body.append(f'<text x="{WIDTH - PAD - 56}" y="{top + 13}" font-size="12" fill="{MUTED}" '
                        f'text-anchor="end" class="drop-off">{_text(drop)}</text>')
        y = top + 19
        body.append(f'<rect x="{PAD}" y="{y}" width="{inner}" height="{bar}" rx="2" fill="{TRACK}"/>')
        if masked(count):
            width = max(inner * MASK_BELOW / scale, MIN_BAR)
            body.append(f'<rect x="{PAD}" y="{y}" width="{width:.1f}" height="{bar}" rx="2" fill="url(#{hatch})" '
                        f'stroke="{BLUE}" stroke-width="1" class="masked"/>')
        elif count > 0:
            width = max(inner * count / scale, MIN_BAR)
            body.append(f'<rect x="{PAD}" y="{y}" width="{width:.1f}" height="{bar}" rx="2" fill="{BLUE}"/>')
        body.append("</g>")
    height = PAD * 2 + len(STEPS) * row - (row - 19 - bar)
    return _svg(uid, title, "; ".join(described), height, body, [_hatch(hatch, BLUE)])


def _tick_step(top: int) -> int:
    """A round distance between the y axis' lines: 5, 10, 20, 25, 50, 100, ... (never below 5, so
    no line is labelled with a masked number), at most 5 lines above zero."""
    magnitude = 1
    while True:
        for factor in (5, 10, 20, 25, 50):
            candidate = factor * magnitude
            if math.ceil(top / candidate) <= 5:
                return candidate
        magnitude *= 10


def _day_month(monday: date) -> str:
    return f"{monday.day:02d}.{monday.month:02d}."


def weekly_svg(weeks: Sequence[tuple[date, Funnel]], labels: Mapping[FunnelStep, str], title: str, *,
               week_label: Callable[[date], str] = _day_month,
               series: Sequence[FunnelStep] = (FunnelStep.NEW, FunnelStep.INTERESTED, FunnelStep.HIRED)) -> str:
    """Grouped columns per week (oldest left): new users, "interested" and hired by default, with a
    legend; x axis: the week's Monday (`week_label`), y axis lines at round numbers."""
    uid = _uid("weekly", title)
    colours = dict(WEEKLY_SERIES)
    palette = [colours.get(step, (BLUE, VERMILLION, GREEN)[i % 3]) for i, step in enumerate(series)]
    defs = [_hatch(f"{uid}-hatch-{i}", colour) for i, colour in enumerate(palette)]
    # The scale: a masked count is drawn at the 5 mark, so 5 is the least top (it reveals nothing).
    top_count = max([week[step] for _, week in weeks for step in series] + [MASK_BELOW])
    step_size = _tick_step(top_count)
    axis_top = math.ceil(top_count / step_size) * step_size
    body: list[str] = []
    # Legend on top, wrapped to more lines when the labels are long (widths estimated).
    x, y = float(PAD), float(PAD)
    for i, step in enumerate(series):
        name = _label(labels, step)
        width = 16 + 7 * len(name)
        if x > PAD and x + width > WIDTH - PAD:
            x, y = float(PAD), y + 18
        body.append(f'<rect x="{x:.1f}" y="{y + 2:.1f}" width="12" height="12" fill="{palette[i]}"/>')
        body.append(f'<text x="{x + 16:.1f}" y="{y + 12:.1f}" font-size="12" fill="{INK}">{_text(name)}</text>')
        x += width + 14
    left, right, plot_top = 30.0, float(WIDTH - PAD), y + 32
    plot_bottom = plot_top + 146
    height = plot_bottom + 24
    # Axis lines and their values.
    for value in range(0, axis_top + 1, step_size):
        y = plot_bottom - (plot_bottom - plot_top) * value / axis_top
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>')
        body.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="11" fill="{MUTED}" text-anchor="end" '
                    f'class="tick">{value}</text>')
    described: list[str] = []
    count = max(len(weeks), 1)
    group = (right - left) / count
    bar = group * 0.8 / max(len(series), 1)
    every = max(1, math.ceil(count / 7))  # at most about 7 dates under the axis (a phone's width)
    for w, (monday, week) in enumerate(weeks):
        when = week_label(monday)
        described.append(when + ": " + ", ".join(f"{_label(labels, s)} {shown(week[s])}" for s in series))
        body.append('<g class="week">')
        for i, step in enumerate(series):
            value = week[step]
            x = left + w * group + group * 0.1 + i * bar
            tip = f"<title>{_text(when)}: {_text(_label(labels, step))} {_text(shown(value))}</title>"
            if masked(value):
                h = max((plot_bottom - plot_top) * MASK_BELOW / axis_top, MIN_COLUMN)
                body.append(f'<rect x="{x:.1f}" y="{plot_bottom - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                            f'fill="url(#{uid}-hatch-{i})" stroke="{palette[i]}" stroke-width="1" class="masked">'
                            f'{tip}</rect>')
            elif value > 0:
                h = max((plot_bottom - plot_top) * value / axis_top, MIN_COLUMN)
                body.append(f'<rect x="{x:.1f}" y="{plot_bottom - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                            f'fill="{palette[i]}">{tip}</rect>')
        if w % every == 0:
            body.append(f'<text x="{left + (w + 0.5) * group:.1f}" y="{plot_bottom + 16}" font-size="11" '
                        f'fill="{MUTED}" text-anchor="middle">{_text(when)}</text>')
        body.append("</g>")
    body.append(f'<line x1="{left}" y1="{plot_bottom}" x2="{right}" y2="{plot_bottom}" stroke="{MUTED}" '
                f'stroke-width="1"/>')
    return _svg(uid, title, "; ".join(described), height, body, defs)
