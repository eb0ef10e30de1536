"""QR codes of tracked links as PNG and SVG (segno), for download, the page and the print sheet.

Always a full QR code (never Micro QR, which many phone cameras do not read), error correction level M
or higher (segno raises it while the code does not grow), black on white with the standard quiet zone
of 4 modules, so a code stays readable on a poster that is a bit creased or dirty."""
from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass

import segno

ERROR_LEVEL = "m"
QUIET_ZONE = 4  # modules: the standard's minimum for QR codes
MAX_SCALE = 100  # pixels per module: 100 makes a PNG of 2.5k-18k pixels, enough for any poster
MAX_URL = 1024


def plain_text(text: str) -> str:
    """One line of text that XML can hold: control characters, lone surrogates and U+FFFE/U+FFFF dropped
    (tabs and line breaks become spaces), trimmed. Escaping is still the writer's job."""
    kept = (" " if ch in "\t\n\r\u2028\u2029" else ch for ch in text)
    return "".join(ch for ch in kept
                   if unicodedata.category(ch) not in ("Cc", "Cs") and ch not in "\ufffe\uffff").strip()


def _qr(url: str) -> segno.QRCode:
    if not url or len(url) > MAX_URL:
        raise ValueError("url")
    return segno.make_qr(url, error=ERROR_LEVEL, boost_error=True)


@dataclass(frozen=True)
class QrMatrix:
    """The code's modules (True = dark) without the quiet zone."""

    rows: tuple[tuple[bool, ...], ...]

    @property
    def size(self) -> int:
        return len(self.rows)


def qr_matrix(url: str) -> QrMatrix:
    return QrMatrix(tuple(tuple(bool(module) for module in row) for row in _qr(url).matrix))


def qr_png(url: str, scale: int = 10) -> bytes:
    """A black and white PNG, `scale` pixels per module, quiet zone included."""
    if not 1 <= scale <= MAX_SCALE:
        raise ValueError("scale")
    buffer = io.BytesIO()
    _qr(url).save(buffer, kind="png", scale=scale, border=QUIET_ZONE, dark="#000", light="#fff")
    return buffer.getvalue()


def qr_svg(url: str, title: str | None = None) -> str:
    """A standalone SVG (namespace, no XML declaration, so it can also be put into an HTML page as it is),
    sized by its viewBox only (the page or the printer decides how big), white background, with a
    <title> (the URL unless `title` is given) and role="img" for screen readers."""
    buffer = io.BytesIO()
    _qr(url).save(buffer, kind="svg", border=QUIET_ZONE, dark="#000", light="#fff", xmldecl=False, svgns=True,
                  title=plain_text(title if title is not None else url), omitsize=True, svgclass=None,
                  lineclass=None, encoding="utf-8")
    svg = buffer.getvalue().decode("utf-8")
    assert svg.startswith("<svg ")
    return '<svg role="img" ' + svg.removeprefix("<svg ")
