"""flows.Reply -> Telegram HTML text chunks and inline keyboards, within Telegram's limits."""
from __future__ import annotations

import re
from dataclasses import dataclass

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from flows.core.model import Reply
from prompts import Catalog

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
TOKEN_RE = re.compile(r"<(/?)([a-zA-Z0-9-]+)([^>]*)>|&[#a-zA-Z0-9]+;|\n|[^<&\n]+|[<&]")


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji may count twice)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class RenderedReply:
    chunks: list[str]
    keyboard: Markup | None
    # A message can carry one keyboard: a question with Telegram's "share my number" keyboard sends
    # its inline buttons (zurück, abbrechen, ...) in a short message of their own right after it.
    follow_up: tuple[str, InlineKeyboardMarkup] | None = None


def _tokens(html: str) -> list[str]:
    tokens: list[str] = []
    for match in TOKEN_RE.finditer(html):
        piece = match.group(0)
        if match.lastindex is None and len(piece) > 1 and not piece.startswith("&"):
            tokens.extend(re.findall(r"\S+|\s+", piece))  # text: split at spaces for soft breaks
        else:
            tokens.append(piece)
    return tokens


def split_html(html: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split valid Telegram HTML into chunks of at most `limit` UTF-16 units.

    Breaks after a line where possible, else between words, else inside a word; tags open at a
    break are closed at the end of the chunk and opened again in the next one.
    """
    if utf16_len(html) <= limit:
        return [html]
    chunks: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (name, full opening tag)
    current = ""

    def closing() -> str:
        return "".join(f"</{name}>" for name, _ in reversed(open_tags))

    def flush() -> None:
        nonlocal current
        body = current + closing()
        if body.strip():
            chunks.append(body.strip())
        current = "".join(tag for _, tag in open_tags)

    for token in _tokens(html):
        tag = re.fullmatch(r"<(/?)([a-zA-Z0-9-]+)([^>]*)>", token)
        pieces = [token]
        if not tag and not token.startswith("&") and utf16_len(token) > limit // 2:
            pieces = [token[i:i + limit // 4] for i in range(0, len(token), limit // 4)]
        for piece in pieces:
            reserve = utf16_len(closing()) + (utf16_len(f"</{tag.group(2)}>") if tag and not tag.group(1) else 0)
            if utf16_len(current) + utf16_len(piece) + reserve > limit:
                flush()
            current += piece
        if tag:
            name = tag.group(2).lower()
            if tag.group(1):
                for i in range(len(open_tags) - 1, -1, -1):
                    if open_tags[i][0] == name:
                        del open_tags[i]
                        break
            else:
                open_tags.append((name, token))
    if current.strip() and current != "".join(tag for _, tag in open_tags):
        chunks.append((current + closing()).strip())
    return chunks


Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def keyboard(reply: Reply, catalog: Catalog, locale: str, formal: bool) -> Markup | None:
    if reply.contact_button is not None:  # Telegram's own "share my number": a reply keyboard, one tap
        label = catalog.render(reply.contact_button, locale=locale, formal=formal)
        return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=label, request_contact=True)]],
                                   resize_keyboard=True, one_time_keyboard=True)
    if reply.remove_keyboard:
        return ReplyKeyboardRemove()
    return inline_keyboard(reply, catalog, locale, formal)


def inline_keyboard(reply: Reply, catalog: Catalog, locale: str, formal: bool) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    rows = []
    for row in reply.buttons:
        buttons = []
        for button in row:
            if len(button.data.encode()) > CALLBACK_DATA_LIMIT:
                raise ValueError(f"callback data of {button.key} is longer than 64 bytes")
            label = catalog.render(button.key, button.values, locale, formal)
            if button.url is not None:
                buttons.append(InlineKeyboardButton(text=label, url=button.url))
            else:
                buttons.append(InlineKeyboardButton(text=label, callback_data=button.data))
        rows.append(buttons)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def render_reply(reply: Reply, catalog: Catalog, locale: str, formal: bool) -> RenderedReply:
    html = catalog.render(reply.key, reply.values, locale, formal)
    with_caption = reply.document is not None or reply.chart is not None or reply.photo_file_id is not None
    limit = CAPTION_LIMIT if with_caption else MESSAGE_LIMIT
    follow_up = None
    inline = inline_keyboard(reply, catalog, locale, formal) if reply.contact_button is not None else None
    if inline is not None:
        follow_up = (catalog.render("label.more_choices", locale=locale, formal=formal), inline)
    return RenderedReply(chunks=split_html(html, limit), keyboard=keyboard(reply, catalog, locale, formal),
                         follow_up=follow_up)
