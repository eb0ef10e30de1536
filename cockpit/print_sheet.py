"""A printable A4 sign for a tracked link: the cluster's name, the QR code large (15 cm, readable from a
few metres), the link's label and the t.me link written out for typing it in. One SVG, in millimetres,
no fonts or images from outside; every text escaped.

The page that serves it (or puts it into HTML with `@page { size: A4; margin: 0 }`) adds nothing else:
the words on the sheet are the agent's (label) and the caller's (`hint`, from the cockpit's templates)."""
from __future__ import annotations

from html import escape

from cockpit.qr import QUIET_ZONE, plain_text, qr_matrix

WIDTH, HEIGHT, MARGIN = 210, 297, 15  # A4 in mm
TEXT_WIDTH = WIDTH - 2 * MARGIN
QR_SIZE, QR_TOP = 150, 32
SANS = "DejaVu Sans, Arial, Helvetica, sans-serif"
MONO = "DejaVu Sans Mono, Consolas, Menlo, monospace"
SANS_WIDTH, MONO_WIDTH = 0.56, 0.61  # average glyph width per font size (generous: umlauts, capitals)
LABEL_SIZES = (10.0, 8.0, 6.5)  # mm: the largest that fits the label in LABEL_LINES
LABEL_LINES = 4
LINK_SIZE = 5.0


def _a(value: str | float) -> str:
    """An attribute value, quoted and escaped."""
    text = f"{value:g}" if isinstance(value, float) else value
    return '"' + escape(text, quote=True) + '"'


def wrap(text: str, per_line: int) -> list[str]:
    """Words into lines of at most `per_line` characters; a longer word is broken where it has to be."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        while len(word) > per_line:  # long German compounds: break them rather than run off the page
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:per_line])
            word = word[per_line:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= per_line:
            line += " " + word
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def _per_line(size: float, glyph_width: float) -> int:
    return int(TEXT_WIDTH / (size * glyph_width))


def _label_lines(label: str) -> tuple[float, list[str]]:
    """The largest size at which the label fits LABEL_LINES; else the smallest, where a label of 120
    characters needs 5 lines at most."""
    for size in LABEL_SIZES[:-1]:
        lines = wrap(label, _per_line(size, SANS_WIDTH))
        if len(lines) <= LABEL_LINES:
            return size, lines
    return LABEL_SIZES[-1], wrap(label, _per_line(LABEL_SIZES[-1], SANS_WIDTH))


def _link_lines(shown: str) -> list[str]:
    per_line = _per_line(LINK_SIZE, MONO_WIDTH)
    if len(shown) <= per_line:
        return [shown]
    head, mark, tail = shown.partition("?")
    if mark and len(head) <= per_line and len(mark + tail) <= per_line:
        return [head, mark + tail]
    return [shown[i:i + per_line] for i in range(0, len(shown), per_line)]


def _text(lines: list[str], y: float, size: float, family: str, line_height: float, kind: str,
          weight: str = "normal") -> str:
    spans = "".join(f"<tspan x={_a(WIDTH / 2)} y={_a(round(y + i * line_height, 2))}>{escape(line)}</tspan>"
                    for i, line in enumerate(lines))
    return (f"<text data-{kind}=\"\" font-family={_a(family)} font-size={_a(size)} font-weight={_a(weight)} "
            f"text-anchor=\"middle\" fill=\"#000\">{spans}</text>")


def qr_path(url: str) -> tuple[int, str]:
    """The code's side in modules (quiet zone included) and a path of its dark modules: one filled
    rectangle `M x y h n v1 h-n z` per run of dark modules in a row, in module units."""
    matrix = qr_matrix(url)
    parts: list[str] = []
    for r, row in enumerate(matrix.rows):
        c = 0
        while c < matrix.size:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < matrix.size and row[c]:
                c += 1
            parts.append(f"M{start + QUIET_ZONE} {r + QUIET_ZONE}h{c - start}v1h-{c - start}z")
    return matrix.size + 2 * QUIET_ZONE, "".join(parts)


def print_svg(label: str, url: str, cluster_name: str, hint: str | None = None) -> str:
    """The A4 sheet as a standalone SVG (no XML declaration: it can go into an HTML page as it is).
    `hint` is an optional line under the code, e.g. what to do with it."""
    label_text, cluster_text = plain_text(label), plain_text(cluster_name)
    side, path = qr_path(url)
    shown = url.removeprefix("https://")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}mm" height="{HEIGHT}mm" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">',
        f"<title>{escape(label_text)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
        _text(wrap(cluster_text, _per_line(7.0, SANS_WIDTH))[:2], 20.0, 7.0, SANS, 8.5, "cluster", "bold"),
        f'<svg data-qr="" x="{(WIDTH - QR_SIZE) / 2:g}" y="{QR_TOP}" width="{QR_SIZE}" height="{QR_SIZE}" '
        f'viewBox="0 0 {side} {side}" shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side}" fill="#fff"/><path fill="#000" d="{path}"/></svg>',
    ]
    y = QR_TOP + QR_SIZE + 6.0
    if hint:
        parts.append(_text([plain_text(hint)], y + 4.0, 5.5, SANS, 7.0, "hint"))
        y += 9.0
    size, lines = _label_lines(label_text)
    parts.append(_text(lines, y + size, size, SANS, round(size * 1.2, 2), "label", "bold"))
    link_lines = _link_lines(shown)
    link_top = HEIGHT - MARGIN - (len(link_lines) - 1) * 6.5
    parts.append(_text(link_lines, link_top, LINK_SIZE, MONO, 6.5, "link"))
    parts.append("</svg>")
    return "".join(parts)
