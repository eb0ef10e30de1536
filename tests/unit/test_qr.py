"""QR codes of tracked links: the PNG really holds the URL (read back by the small decoder below, which
shares nothing with segno but the standard), the SVG is well-formed and accessible, the print sheet holds
the same code and escapes what an agent typed."""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import segno
from PIL import Image

from cockpit.print_sheet import print_svg
from cockpit.qr import QUIET_ZONE, qr_matrix, qr_png, qr_svg
from flows.domain.tracked_link import start_url

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SHORT = start_url("azubi_lotse_bot", "zukunftsmacher", "plakat-gymnasium-loebau")
LONGEST = start_url("a" * 32, "c" * 23, "s" * 40)  # a 32-character username and a 64-character payload

# ---- a minimal QR decoder (ISO/IEC 18004) for clean images of versions 1-10 ------------------------------
# (version, level): (error correction codewords per block, ((blocks, data codewords per block), ...))
EC_BLOCKS: dict[tuple[int, str], tuple[int, tuple[tuple[int, int], ...]]] = {
    (1, "L"): (7, ((1, 19),)), (1, "M"): (10, ((1, 16),)), (1, "Q"): (13, ((1, 13),)), (1, "H"): (17, ((1, 9),)),
    (2, "L"): (10, ((1, 34),)), (2, "M"): (16, ((1, 28),)), (2, "Q"): (22, ((1, 22),)), (2, "H"): (28, ((1, 16),)),
    (3, "L"): (15, ((1, 55),)), (3, "M"): (26, ((1, 44),)), (3, "Q"): (18, ((2, 17),)), (3, "H"): (22, ((2, 13),)),
    (4, "L"): (20, ((1, 80),)), (4, "M"): (18, ((2, 32),)), (4, "Q"): (26, ((2, 24),)), (4, "H"): (16, ((4, 9),)),
    (5, "L"): (26, ((1, 108),)), (5, "M"): (24, ((2, 43),)), (5, "Q"): (18, ((2, 15), (2, 16))),
    (5, "H"): (22, ((2, 11), (2, 12))),
    (6, "L"): (18, ((2, 68),)), (6, "M"): (16, ((4, 27),)), (6, "Q"): (24, ((4, 19),)), (6, "H"): (28, ((4, 15),)),
    (7, "L"): (20, ((2, 78),)), (7, "M"): (18, ((4, 31),)), (7, "Q"): (18, ((2, 14), (4, 15))),
    (7, "H"): (26, ((4, 13), (1, 14))),
    (8, "L"): (24, ((2, 97),)), (8, "M"): (22, ((2, 38), (2, 39))), (8, "Q"): (22, ((4, 18), (2, 19))),
    (8, "H"): (26, ((4, 14), (2, 15))),
    (9, "L"): (30, ((2, 116),)), (9, "M"): (22, ((3, 36), (2, 37))), (9, "Q"): (20, ((4, 16), (4, 17))),
    (9, "H"): (24, ((4, 12), (4, 13))),
    (10, "L"): (18, ((2, 68), (2, 69))), (10, "M"): (26, ((4, 43), (1, 44))), (10, "Q"): (24, ((6, 19), (2, 20))),
    (10, "H"): (28, ((6, 15), (2, 16))),
}
ALIGNMENT: dict[int, tuple[int, ...]] = {1: (), 2: (6, 18), 3: (6, 22), 4: (6, 26), 5: (6, 30), 6: (6, 34),
                                         7: (6, 22, 38), 8: (6, 24, 42), 9: (6, 26, 46), 10: (6, 28, 50)}
LEVELS = {1: "L", 0: "M", 3: "Q", 2: "H"}  # the format information's two bits
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
MASKS = (lambda r, c: (r + c) % 2 == 0, lambda r, c: r % 2 == 0, lambda r, c: c % 3 == 0,
         lambda r, c: (r + c) % 3 == 0, lambda r, c: (r // 2 + c // 3) % 2 == 0,
         lambda r, c: (r * c) % 2 + (r * c) % 3 == 0, lambda r, c: ((r * c) % 2 + (r * c) % 3) % 2 == 0,
         lambda r, c: ((r + c) % 2 + (r * c) % 3) % 2 == 0)

Grid = list[list[bool]]


def read_png(png: bytes) -> tuple[Grid, int, int]:
    """The modules (True = dark), the quiet zone in modules and the pixels per module."""
    image = Image.open(io.BytesIO(png)).convert("L")
    width, height = image.size
    pixels = image.tobytes()

    def dark(x: int, y: int) -> bool:
        return pixels[y * width + x] < 128

    top = next(y for y in range(height) if any(dark(x, y) for x in range(width)))
    left = next(x for x in range(width) if dark(x, top))  # the top left corner of the top left finder
    scale = (next(x for x in range(left, width) if not dark(x, top)) - left) // 7  # the finder: 7 modules wide
    assert scale >= 1 and left == top and left % scale == 0 and width == height
    size = (width - 2 * left) // scale
    assert size * scale + 2 * left == width
    grid = [[dark(left + c * scale + scale // 2, top + r * scale + scale // 2) for c in range(size)]
            for r in range(size)]
    return grid, left // scale, scale


def _function_modules(version: int, size: int) -> set[tuple[int, int]]:
    cells: set[tuple[int, int]] = set()

    def block(row: int, col: int, height: int, width: int) -> None:
        cells.update((r, c) for r in range(row, row + height) for c in range(col, col + width))

    block(0, 0, 9, 9)  # finder, separator, format information
    block(0, size - 8, 9, 8)
    block(size - 8, 0, 8, 9)  # ... and the dark module
    block(6, 0, 1, size)  # timing patterns
    block(0, 6, size, 1)
    centres = ALIGNMENT[version]
    for r in centres:
        for c in centres:
            if (r, c) not in {(centres[0], centres[0]), (centres[0], centres[-1]), (centres[-1], centres[0])}:
                block(r - 2, c - 2, 5, 5)
    if version >= 7:  # version information
        block(0, size - 11, 6, 3)
        block(size - 11, 0, 3, 6)
    return cells


def _format_code(level_bits: int, mask: int) -> int:
    data = level_bits << 3 | mask
    remainder = data
    for _ in range(10):
        remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537)
    return (data << 10 | remainder) ^ 0x5412


def decode(grid: Grid) -> str:
    size = len(grid)
    version = (size - 17) // 4
    assert size == 17 + 4 * version and 1 <= version <= 10
    spots = [(i, 8) for i in range(6)] + [(7, 8), (8, 8), (8, 7)] + [(8, 14 - i) for i in range(9, 15)]
    read = sum(1 << i for i, (r, c) in enumerate(spots) if grid[r][c])
    (level_bits, mask), = [(lv, m) for lv in LEVELS for m in range(8) if _format_code(lv, m) == read]
    functions = _function_modules(version, size)
    bits: list[int] = []
    right = size - 1
    while right >= 1:
        if right == 6:
            right = 5
        upward = (right + 1) & 2 == 0
        for vert in range(size):
            r = size - 1 - vert if upward else vert
            for c in (right, right - 1):
                if (r, c) not in functions:
                    bits.append(int(grid[r][c] != MASKS[mask](r, c)))
        right -= 2
    codewords = [int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits) - 7, 8)]
    ec_per_block, groups = EC_BLOCKS[(version, LEVELS[level_bits])]
    lengths = [data for count, data in groups for _ in range(count)]
    assert len(codewords) == sum(lengths) + ec_per_block * len(lengths)
    blocks: list[list[int]] = [[] for _ in lengths]
    stream = iter(codewords)
    for i in range(max(lengths)):
        for block, length in zip(blocks, lengths, strict=True):
            if i < length:
                block.append(next(stream))
    data_bits = "".join(f"{byte:08b}" for block in blocks for byte in block)
    position = 0

    def take(count: int) -> int:
        nonlocal position
        value = int(data_bits[position:position + count], 2)
        position += count
        return value

    out = bytearray()
    while position + 4 <= len(data_bits):
        mode = take(4)
        if mode == 0:  # terminator
            break
        if mode == 0b0111:  # ECI designator (one byte for the common ones)
            take(8)
        elif mode == 0b0100:
            out += bytes(take(8) for _ in range(take(8 if version < 10 else 16)))
        elif mode == 0b0010:
            count = take(9 if version < 10 else 11)
            for _ in range(count // 2):
                pair = take(11)
                out += (ALPHANUMERIC[pair // 45] + ALPHANUMERIC[pair % 45]).encode()
            if count % 2:
                out += ALPHANUMERIC[take(6)].encode()
        elif mode == 0b0001:
            count = take(10 if version < 10 else 12)
            for start in range(0, count, 3):
                digits = min(3, count - start)
                out += str(take({3: 10, 2: 7, 1: 4}[digits])).zfill(digits).encode()
        else:
            raise AssertionError(f"mode {mode:04b}")
    return out.decode("utf-8")


# ---- the tests -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "scale"), [(SHORT, 10), (SHORT, 1), (LONGEST, 3), ("https://t.me/x_bot5", 7)])
def test_png_holds_the_url_with_the_quiet_zone(url: str, scale: int) -> None:
    png = qr_png(url, scale=scale)
    assert png.startswith(PNG_SIGNATURE)
    grid, quiet_zone, pixels_per_module = read_png(png)
    assert (quiet_zone, pixels_per_module) == (QUIET_ZONE, scale)
    assert decode(grid) == url
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == ((len(grid) + 2 * QUIET_ZONE) * scale,) * 2


def test_png_has_a_plausible_size_and_pixels_match_segnos_matrix_at_level_m_or_higher() -> None:
    png = qr_png(SHORT)
    assert 200 < len(png) < 20_000
    grid, _, _ = read_png(png)
    code = segno.make_qr(SHORT, error="m")
    assert grid == [[bool(m) for m in row] for row in code.matrix] == [list(row) for row in qr_matrix(SHORT).rows]
    assert code.error in ("M", "Q", "H") and not code.is_micro
    assert decode(grid) == SHORT


def test_the_longest_link_still_fits_a_readable_code() -> None:
    assert len(LONGEST) == len("https://t.me/") + 32 + len("?start=") + 64
    assert qr_matrix(LONGEST).size <= 17 + 4 * 10


@pytest.mark.parametrize("scale", [0, -1, 101])
def test_png_refuses_a_silly_scale(scale: int) -> None:
    with pytest.raises(ValueError, match="scale"):
        qr_png(SHORT, scale=scale)


def test_an_empty_url_is_refused() -> None:
    with pytest.raises(ValueError, match="url"):
        qr_png("")
    with pytest.raises(ValueError, match="url"):
        qr_svg("")


def test_svg_is_standalone_xml_with_a_title_and_the_same_modules() -> None:
    svg = qr_svg(SHORT)
    assert not svg.startswith("<?xml")  # can go into an HTML page as it is
    root = ET.fromstring(svg)  # and be served alone: namespace declared
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    size = qr_matrix(SHORT).size + 2 * QUIET_ZONE
    assert root.get("viewBox") == f"0 0 {size} {size}" and root.get("width") is None
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == SHORT
    assert root[0] is title  # first child: what screen readers announce


def test_svg_title_is_escaped_and_stripped_of_control_characters() -> None:
    root = ET.fromstring(qr_svg(SHORT, title='</title><script>alert(1)</script> & "x"\x00\x1b'))
    assert root.find(f".//{SVG}script") is None
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == '</title><script>alert(1)</script> & "x"'


def _modules_of_path(d: str, size: int) -> Grid:
    """The dark modules a print sheet's path draws: one `M x y h n v 1 h -n z` per run of dark modules."""
    grid = [[False] * size for _ in range(size)]
    for x, y, n in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", d):
        for c in range(int(x), int(x) + int(n)):
            grid[int(y) - QUIET_ZONE][c - QUIET_ZONE] = True
    assert len(d) == sum(len(m.group(0)) for m in re.finditer(r"M(\d+) (\d+)h(\d+)v1h-\3z", d))
    return grid


def test_print_sheet_is_an_a4_page_with_the_code_the_label_and_the_link() -> None:
    sheet = print_svg("Plakat Gymnasium Löbau", SHORT, "Zukunftsmacher")
    root = ET.fromstring(sheet)
    assert root.get("viewBox") == "0 0 210 297" and (root.get("width"), root.get("height")) == ("210mm", "297mm")
    code = root.find(f"{SVG}svg[@data-qr]")
    assert code is not None
    path = code.find(f"{SVG}path")
    assert path is not None
    matrix = qr_matrix(SHORT)
    assert _modules_of_path(path.get("d") or "", matrix.size) == [list(row) for row in matrix.rows]
    assert float(code.get("width") or 0) >= 140  # mm: large enough to scan from a few metres
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "Zukunftsmacher" in texts and "Plakat Gymnasium Löbau" in texts
    assert SHORT.removeprefix("https://") in texts  # the link written out, for typing it in


def _lines(root: ET.Element, kind: str) -> tuple[float, list[str]]:
    """The font size and the lines of the sheet's text of this kind (cluster, label, link, hint)."""
    text = root.find(f"{SVG}text[@data-{kind}]")
    assert text is not None
    return float(text.get("font-size") or 0), ["".join(t.itertext()) for t in text.iter(f"{SVG}tspan")]


def test_print_sheet_escapes_a_hostile_label_and_cluster_name() -> None:
    hostile = '<script>alert("x")</script> & <a href="javascript:1">\x00'
    sheet = print_svg(hostile, SHORT, "</text><image href='x'/>", hint="<b>Scan</b>")
    root = ET.fromstring(sheet)
    assert "<script" not in sheet and "<a " not in sheet and "<image" not in sheet and "<b>" not in sheet
    assert root.find(f".//{SVG}script") is None and root.find(f".//{SVG}image") is None
    assert "".join(_lines(root, "label")[1]).replace(" ", "") == hostile[:-1].replace(" ", "")
    assert _lines(root, "cluster")[1] == ["</text><image href='x'/>"]
    assert _lines(root, "hint")[1] == ["<b>Scan</b>"]
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == hostile[:-1]


def test_print_sheet_wraps_a_long_label_and_breaks_a_long_word() -> None:
    label = ("Berufsorientierungsmesse " * 4 + "Ausbildungsplatzbörsenveranstaltungszentrum Görlitz")[:120]
    root = ET.fromstring(print_svg(label, LONGEST, "Zukunftsmacher"))
    size, lines = _lines(root, "label")
    assert 1 < len(lines) <= 5 and all(len(line) * size * 0.56 <= 180 for line in lines)
    assert "".join(lines).replace(" ", "") == label.replace(" ", "")
    size, link_lines = _lines(root, "link")
    assert len(link_lines) == 2 and "".join(link_lines) == LONGEST.removeprefix("https://")
    assert all(len(line) * size * 0.61 <= 180 for line in link_lines)
    _, short = _lines(ET.fromstring(print_svg("Plakat Gymnasium Löbau", SHORT, "Zukunftsmacher")), "label")
    assert short == ["Plakat Gymnasium Löbau"]


@pytest.mark.parametrize("mask", range(8))
def test_the_decoder_reads_every_mask_and_error_level(mask: int) -> None:
    """The decoder above is only worth something if it reads what segno may choose."""
    for level in "lmqh":
        buffer = io.BytesIO()
        segno.make_qr(LONGEST, error=level, mask=mask, boost_error=False).save(buffer, kind="png", scale=2)
        assert decode(read_png(buffer.getvalue())[0]) == LONGEST
