"""Every word the bot says: messages/<locale>/*.yaml, key -> Jinja2 template.

Message templates are rendered with HTML autoescape (Telegram's HTML parse mode); button labels and
command descriptions are plain text and rendered without escaping. StrictUndefined: a missing value
is an error, never an empty gap in a sentence.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from jinja2 import Environment, StrictUndefined, Template

MESSAGES_DIR = Path(__file__).parent / "messages"
LLM_DIR = Path(__file__).parent / "llm"  # what a language model is told: <name>.<locale>.j2, plain text
DEFAULT_LOCALE = "de"
PLAIN_PREFIXES = ("btn.", "command.", "label.", "email.")  # rendered as plain text, not HTML
FORMAL_SUFFIX = "_sie"  # variant of a key for parents and companies (formal "Sie")
DEFAULT_BOT_USERNAME = "azubi_lotse_bot"  # until getMe tells the real one
DEFAULT_ZONE = "Europe/Berlin"  # until the configuration (TIMEZONE) says otherwise
LOCAL_FORMAT = "%d.%m.%Y, %H:%M"


class MissingPrompt(KeyError):
    pass


def _flatten(prefix: str, node: Any, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):  # YAML reads 16_17 as the number 1617: quote such keys
                raise ValueError(f"prompt key {key!r} under {prefix!r} must be quoted text")
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out)
    elif isinstance(node, str):
        out[prefix] = node
    else:
        raise ValueError(f"prompt {prefix!r} must be a string or a mapping")


def template_environment(autoescape: bool) -> Environment:
    env = Environment(autoescape=autoescape, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=False)
    env.filters["de_number"] = lambda n: f"{n:,}".replace(",", ".")
    # 3.5 -> "3,5", 3.0 -> "3": German decimal comma, no needless ".0"
    env.filters["de_decimal"] = lambda x: f"{x:g}".replace(".", ",")
    # Grammatical number: {{ count|plural("Angebot", "Angebote") }} -> "1 Angebot" / "3 Angebote";
    # {{ count|agree("passt", "passen") }} -> the word alone (a verb, an article) that agrees with it.
    env.filters["plural"] = lambda n, one, many: f"{n} {one if n == 1 else many}"
    env.filters["agree"] = lambda n, one, many: one if n == 1 else many
    env.filters["local"] = lambda moment, fmt=LOCAL_FORMAT: local_time(moment, ZoneInfo(DEFAULT_ZONE), fmt)
    return env


def local_time(moment: datetime | str | None, zone: ZoneInfo, fmt: str = LOCAL_FORMAT) -> str:
    """A moment (aware datetime or ISO 8601 text, as stored in the outbox) as wall time in `zone`."""
    if moment is None or moment == "":
        return ""
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return at.astimezone(zone).strftime(fmt)


class Catalog:
    """All templates of all locales, compiled once."""

    def __init__(self, directory: Path = MESSAGES_DIR) -> None:
        self.texts: dict[str, dict[str, str]] = {}
        for locale_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
            texts: dict[str, str] = {}
            for file in sorted(locale_dir.glob("*.yaml")):
                _flatten(file.stem, yaml.safe_load(file.read_text(encoding="utf-8")) or {}, texts)
            self.texts[locale_dir.name] = texts
        self.globals: dict[str, Any] = {"bot": DEFAULT_BOT_USERNAME}  # set from getMe at start-up
        self.zone = ZoneInfo(DEFAULT_ZONE)  # where the readers live: times are shown in it
        html_env, plain_env = template_environment(True), template_environment(False)
        for env in (html_env, plain_env):
            env.filters["local"] = self.local  # {{ at|local }} or {{ at|local("%d.%m.") }}
        self._templates: dict[tuple[str, str], Template] = {}
        for locale, texts in self.texts.items():
            for key, source in texts.items():
                env = plain_env if self.is_plain(key) else html_env
                self._templates[(locale, key)] = env.from_string(source)

    def local(self, moment: datetime | str | None, fmt: str = LOCAL_FORMAT) -> str:
        """A moment as wall time where the readers live (TIMEZONE)."""
        return local_time(moment, self.zone, fmt)

    @staticmethod
    def is_plain(key: str) -> bool:
        return key.startswith(PLAIN_PREFIXES)

    @property
    def locales(self) -> list[str]:
        return list(self.texts)

    def has(self, key: str, locale: str = DEFAULT_LOCALE) -> bool:
        return (locale, key) in self._templates

    def _template(self, key: str, locale: str, formal: bool) -> Template:
        for loc in (locale, DEFAULT_LOCALE):
            if formal and (loc, key + FORMAL_SUFFIX) in self._templates:
                return self._templates[(loc, key + FORMAL_SUFFIX)]
            if (loc, key) in self._templates:
                return self._templates[(loc, key)]
        raise MissingPrompt(key)

    def render(self, key: str, values: dict[str, Any] | None = None, locale: str = DEFAULT_LOCALE,
               formal: bool = False) -> str:
        """HTML for message keys (values escaped), plain text for btn./command./label. keys.

        Templates can name other texts with t("label.role.teen") (e.g. to show a stored answer).
        """
        def t(name: str, **more: Any) -> str:
            return self.render(name, more, locale, formal)

        return self._template(key, locale, formal).render(**self.globals, **(values or {}), t=t).strip()


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    return Catalog()


@lru_cache(maxsize=32)
def _llm_template(name: str, locale: str) -> Template:
    for loc in (locale, DEFAULT_LOCALE):
        path = LLM_DIR / f"{name}.{loc}.j2"
        if path.is_file():
            return template_environment(False).from_string(path.read_text(encoding="utf-8"))
    raise MissingPrompt(f"llm/{name}")


def llm_prompt(name: str, locale: str = DEFAULT_LOCALE, **values: Any) -> str:
    """A language-model prompt, prompts/llm/<name>.<locale>.j2 (else the German one), rendered without
    HTML escaping; a missing value is an error."""
    return _llm_template(name, locale).render(**values).strip()
