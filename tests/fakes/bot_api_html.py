"""Strict parser for Telegram's ``parse_mode=HTML`` used by the fake Bot API.

It mirrors the behaviour of Telegram's HTML parser (supported tags, attribute
syntax, error wording) and adds a *strict* mode that also rejects characters
Telegram would silently accept unescaped (a bare ``&`` or ``>``), so missing
``html.escape`` calls in the bot show up in tests before they hit real users.

Offsets and lengths of the produced entities are in UTF-16 code units, like
in the Bot API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "HtmlParseError",
    "parse_html",
    "utf16_len",
    "trim_text",
    "SUPPORTED_TAGS",
]

# Tag name -> entity type (None = decided by attributes / context).
_TAG_TYPES: dict[str, str | None] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",  # only with class="tg-spoiler"
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
SUPPORTED_TAGS: frozenset[str] = frozenset(_TAG_TYPES)

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8})|([a-zA-Z]+));")
_SPACES = " \t\r\n\f\v"
_NAME_TOKEN_CHARS = re.compile(r"[A-Za-z0-9.\-]*")


class HtmlParseError(ValueError):
    """Raised with the part after ``Bad Request: can't parse entities: ``."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (Telegram's length unit)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_start: int
    attributes: dict[str, str | None] = field(default_factory=dict)
    children: list[dict[str, Any]] = field(default_factory=list)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, i: int) -> tuple[str, int] | None:
    """Decode an HTML entity starting at ``text[i] == '&'``.

    Returns ``(character, index after the entity)`` or ``None`` if the
    sequence is not one of Telegram's supported entities.
    """
    match = _ENTITY_RE.match(text, i)
    if match is None:
        return None
    dec, hexa, name = match.groups()
    if name is not None:
        char = _NAMED_ENTITIES.get(name)
        if char is None:
            return None
        return char, match.end()
    code = int(dec, 10) if dec is not None else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def _skip_spaces(text: str, i: int) -> int:
    while i < len(text) and text[i] in _SPACES:
        i += 1
    return i


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into ``(plain_text, entities)``.

    ``strict`` additionally rejects a bare ``&`` that does not start a
    supported entity and an unescaped ``>`` (Telegram keeps both literally).
    Raises :class:`HtmlParseError` on malformed markup.
    """
    out: list[str] = []
    utf16_pos = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0

    def emit(chunk: str) -> None:
        nonlocal utf16_pos
        out.append(chunk)
        utf16_pos += utf16_len(chunk)

    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                emit(decoded[0])
                i = decoded[1]
                continue
            if strict:
                raise HtmlParseError(
                    f'Character "&" at byte offset {_byte_offset(text, i)} must be escaped '
                    'as "&amp;" (unsupported or malformed HTML entity; strict fake API)'
                )
            emit(c)
            i += 1
            continue
        if c == ">" and strict:
            raise HtmlParseError(
                f'Character ">" at byte offset {_byte_offset(text, i)} must be escaped '
                'as "&gt;" (strict fake API)'
            )
        if c != "<":
            emit(c)
            i += 1
            continue

        begin = i
        begin_bytes = _byte_offset(text, begin)
        i += 1
        if i < n and text[i] == "/":
            i = _parse_end_tag(text, i + 1, begin_bytes, stack, entities, utf16_pos)
        else:
            i, tag = _parse_start_tag(text, i, begin_bytes, utf16_pos)
            stack.append(tag)

    if stack:
        raise HtmlParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _parse_start_tag(text: str, i: int, begin_bytes: int, utf16_pos: int) -> tuple[int, _OpenTag]:
    n = len(text)
    name_start = i
    while i < n and text[i] not in _SPACES and text[i] != ">":
        i += 1
    if i >= n:
        raise HtmlParseError(f"Unclosed start tag at byte offset {begin_bytes}")
    name = text[name_start:i].lower()
    if name not in SUPPORTED_TAGS:
        raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {begin_bytes}')

    attributes: dict[str, str | None] = {}
    while True:
        i = _skip_spaces(text, i)
        if i >= n:
            raise HtmlParseError(f'Unclosed start tag "{name}" at byte offset {begin_bytes}')
        if text[i] == ">":
            i += 1
            break
        attr_start = i
        while i < n and text[i] not in _SPACES and text[i] not in "=>":
            i += 1
        attr_name = text[attr_start:i].lower()
        if not attr_name:
            raise HtmlParseError(
                f'Empty attribute name in the tag "{name}" at byte offset {begin_bytes}'
            )
        i = _skip_spaces(text, i)
        if i >= n or text[i] != "=":
            if name == "blockquote" and attr_name == "expandable":
                attributes[attr_name] = None
                continue
            raise HtmlParseError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{name}" at byte offset {begin_bytes}'
            )
        i = _skip_spaces(text, i + 1)
        if i >= n:
            raise HtmlParseError(f'Unclosed start tag "{name}" at byte offset {begin_bytes}')
        if text[i] in "'\"":
            quote = text[i]
            i += 1
            value_chars: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "&":
                    decoded = _decode_entity(text, i)
                    if decoded is not None:
                        value_chars.append(decoded[0])
                        i = decoded[1]
                        continue
                value_chars.append(text[i])
                i += 1
            if i >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {begin_bytes}")
            i += 1
            value = "".join(value_chars)
        else:
            # Unquoted "name token": letters, digits, periods, hyphens.
            match = _NAME_TOKEN_CHARS.match(text, i)
            assert match is not None
            value = match.group().lower()
            token_start = i
            i = match.end()
            if i >= n or (text[i] not in _SPACES and text[i] != ">"):
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, token_start)}"
                )
        attributes[attr_name] = value

    argument = ""
    if name == "a":
        argument = attributes.get("href") or ""
    elif name == "code":
        cls = attributes.get("class") or ""
        argument = cls[len("language-"):] if cls.startswith("language-") else ""
    elif name == "span":
        if attributes.get("class") != "tg-spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {begin_bytes}'
            )
    elif name == "tg-emoji":
        argument = attributes.get("emoji-id") or ""
        if not argument.isdigit():
            raise HtmlParseError(
                f'Tag "tg-emoji" must have a numeric attribute "emoji-id" at byte offset {begin_bytes}'
            )
    return i, _OpenTag(name, argument, utf16_pos, attributes)


def _parse_end_tag(
    text: str,
    i: int,
    begin_bytes: int,
    stack: list[_OpenTag],
    entities: list[dict[str, Any]],
    utf16_pos: int,
) -> int:
    n = len(text)
    if not stack:
        raise HtmlParseError(f"Unexpected end tag at byte offset {begin_bytes}")
    name_start = i
    while i < n and text[i] not in _SPACES and text[i] != ">":
        i += 1
    end_name = text[name_start:i].lower()
    i = _skip_spaces(text, i)
    if i >= n or text[i] != ">":
        raise HtmlParseError(f"Unclosed end tag at byte offset {begin_bytes}")
    tag = stack.pop()
    if end_name and end_name != tag.name:
        raise HtmlParseError(
            f'Unmatched end tag at byte offset {begin_bytes}, expected "</{tag.name}>", '
            f'found "</{end_name}>"'
        )
    entity = _make_entity(tag, utf16_pos, stack)
    if entity is not None:
        entities.append(entity)
    return i + 1


def _make_entity(tag: _OpenTag, utf16_end: int, stack: list[_OpenTag]) -> dict[str, Any] | None:
    length = utf16_end - tag.utf16_start
    if length <= 0:
        return None
    kind = _TAG_TYPES[tag.name]
    entity: dict[str, Any] = {"type": kind, "offset": tag.utf16_start, "length": length}
    if tag.name == "a":
        if not tag.argument:
            return None  # Telegram drops links without a URL
        entity["url"] = tag.argument
    elif tag.name == "code":
        parent = stack[-1] if stack else None
        if (
            parent is not None
            and parent.name == "pre"
            and tag.argument
            and parent.utf16_start == tag.utf16_start
        ):
            # <pre><code class="language-x">…</code></pre> -> one pre entity with language.
            parent.argument = tag.argument
            return None
    elif tag.name == "pre":
        if tag.argument:
            entity["language"] = tag.argument
    elif tag.name == "blockquote":
        if "expandable" in tag.attributes:
            entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.argument
    return entity


def trim_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip leading/trailing whitespace like Telegram and fix entity offsets."""
    stripped_left = text.lstrip(_SPACES)
    shift = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip(_SPACES)
    total = utf16_len(result)
    fixed: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return result, fixed
