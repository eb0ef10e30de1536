"""Splitting long HTML into Telegram-sized messages that each stay valid HTML."""
from __future__ import annotations

import re

import pytest

from bot.telegram.render import split_html, utf16_len
from tests.fakes.bot_api_html import parse_html


def _plain(html: str) -> str:
    return re.sub(r"\s+", "", parse_html(html)[0])


@pytest.mark.parametrize("html", [
    "kurz",
    "<b>" + "Ausbildung in der Lausitz " * 400 + "</b>",
    "Zeile mit &amp; und &lt;tag&gt;\n" * 300,
    "😀" * 3000,  # emoji count twice in UTF-16
    "<i>" + "x" * 9000 + "</i> Ende",
    "<b>fett <i>kursiv " + "wort " * 1000 + "</i></b>",
])
def test_every_chunk_fits_and_is_valid_and_nothing_is_lost(html: str) -> None:
    chunks = split_html(html)
    for chunk in chunks:
        assert utf16_len(chunk) <= 4096
        parse_html(chunk)  # raises if Telegram would refuse it
    assert "".join(_plain(c) for c in chunks) == _plain(html)


def test_short_text_is_one_chunk() -> None:
    assert split_html("<b>Hallo</b>") == ["<b>Hallo</b>"]
