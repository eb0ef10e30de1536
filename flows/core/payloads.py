"""Button payloads: `<flow prefix>:<action>[:<argument>...]`, at most 64 bytes (Telegram's limit).

Every flow's buttons are listed at the end of this module with the arguments each carries: one
place to read what a button can say, and delivery and jobs build another flow's buttons (a
company's status report, a follow-up question) without importing the flow. A payload that does not
fit its flow's table (an old button, a forged one) unpacks to None: the press means nothing.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MAX_BYTES = 64  # Telegram rejects a larger callback_data
SEPARATOR = ":"


class PayloadError(ValueError):
    """A button was built with an unknown action, the wrong arguments or too many bytes."""


@dataclass(frozen=True)
class Press:
    """A pressed button of one flow: the action and its arguments ("" where an older button left one
    out)."""

    action: str
    args: tuple[str, ...]

    def arg(self, index: int = 0) -> str:
        return self.args[index] if index < len(self.args) else ""

    def number(self, index: int = 0) -> int | None:
        """The argument as a whole number ≥ 0; None when it is not one."""
        value = self.arg(index)
        return int(value) if value.isascii() and value.isdigit() else None


@dataclass(frozen=True)
class Payloads:
    """The payload codec of one flow: its prefix and, per action, the names of its arguments."""

    prefix: str
    actions: Mapping[str, tuple[str, ...]]

    def pack(self, action: str, *args: str | int) -> str:
        expected = self.actions.get(action)
        if expected is None:
            raise PayloadError(f"{self.prefix}: unknown action {action!r}")
        if len(args) != len(expected):
            raise PayloadError(f"{self.prefix}:{action} takes {expected}, got {len(args)} arguments")
        parts = [str(a) for a in args]
        if any(SEPARATOR in p for p in parts):
            raise PayloadError(f"{self.prefix}:{action}: an argument contains {SEPARATOR!r}")
        payload = SEPARATOR.join([self.prefix, action, *parts])
        if len(payload.encode()) > MAX_BYTES:
            raise PayloadError(f"{self.prefix}:{action}: payload longer than {MAX_BYTES} bytes")
        return payload

    def unpack(self, data: str | None) -> Press | None:
        """The press a payload of this flow stands for; None for another flow's, an unknown action or
        more arguments than the action takes."""
        if data is None or len(data.encode()) > MAX_BYTES:
            return None
        prefix, _, rest = data.partition(SEPARATOR)
        if prefix != self.prefix:
            return None
        action, *args = rest.split(SEPARATOR)
        expected = self.actions.get(action)
        if expected is None:
            return None
        while len(args) > len(expected) and args[-1] == "":
            args.pop()  # "ld:x:" from before the codec
        if len(args) > len(expected):
            return None
        return Press(action, tuple(args) + ("",) * (len(expected) - len(args)))


def prefix_of(data: str | None) -> str:
    return (data or "").partition(SEPARATOR)[0]


# ---- every flow's buttons -------------------------------------------------------------------------
MENU = Payloads("m", {"open": (), "help": ()})

# "ob:<question>:<answer>" where the answer is a choice, "back" or "skip"; settings: what to change.
ONBOARDING = Payloads("ob", {**{step: ("answer",) for step in (
    "role", "age", "place", "school", "class", "locale", "place_choose", "place_confirm", "settings")},
    "home": ("plz", "place"),  # "<Ort> als Wohnort" under a town typed outside a question: PLZ, place index
    "rest": ("answer",)})  # "skip the remaining questions" (after a command typed during onboarding)

QUIZ = Payloads("qz", {
    "start": (), "restart": (), "again": (), "resume": (), "later": (),
    "back": ("question",), "a": ("question", "option"),
})

PROFESSIONS = Payloads("p", {
    "open": (), "c": ("cluster",), "f": ("field",),
    "show": ("profession",), "teen": ("profession",), "parent": ("profession",),
})

VACANCIES = Payloads("v", {
    "open": (), "prof": ("profession",),
    "n": ("position",), "f": (), "r": ("radius_km",), "k": ("kind",), "p": (), "pp": ("profession",),
    "s": ("offer",), "o": ("offer",), "m": (),  # save an offer, open a saved one, the saved list
    "x": ("offer",),  # take an offer off the saved list
    "a": (), "q": ("search",), "u": ("search",),  # "tell me": save the search, show it, unsubscribe
    "w": ("radius_km",), "t": ("cluster",),  # search wider now; search around a cluster's main town
    "c": ("minutes",), "dc": (),  # filter screen: at most so many minutes by bus and train (0: off); drop it now
})

EVENTS = Payloads("e", {
    "open": (), "s": ("event",), "c": ("event",), "f": ("event", "stars"),
    "y": ("event",), "x": ("event",), "r": ("event",), "t": ("event", "offset"),  # RSVP and reminders
})

COMPANIES = Payloads("co", {
    "open": (), "k": (), "s": ("company",), "l": ("cluster", "offset"), "e": ("event", "offset"),
})

LEADS = Payloads("ld", {
    # "Interessiert mich" on an offer, a profession, an event, a company page
    "v": ("offer",), "p": ("profession",), "e": ("event",), "c": ("company",),
    # the young person's hand-over wizard
    "t": ("option",), "n": (), "a": ("age_band",), "pref": ("preference",), "time": ("time",),
    "skip": (), "ok": (), "x": (), "b": (), "k": (),  # skip, agree, cancel, one step back, keep what was entered
    "ru": ("answer",),  # the last request's details: take over (y) or change (n)
    # a parent: who I am, yes, no
    "pr": ("token", "relation"), "pa": ("token", "code"), "pd": ("token", "code"),
    "cs": ("lead", "status"), "cd": ("lead",),  # a company contact: status report, one lead
    "af": ("filter",), "csv": ("filter",), "ad": ("lead", "filter"),  # an agent's views
    "inv": ("company",),  # an agent invites a company's contact
    "mine": (), "w": ("lead",), "wy": ("lead",), "fy": ("lead",), "fn": ("lead",),  # own requests
})

PRIVACY = Payloads("pv", {"info": ("what",), "delete": ("answer",)})

# What people do with announcements: opt in or out per topic, stop one in one tap, tap one's button.
ANNOUNCEMENTS = Payloads("an", {
    "open": ("back",),  # the opt-in screen (back "s": to /einstellungen, else to the menu)
    "set": ("topic", "answer"),  # in /einstellungen and onboarding: yes / no per topic ("all", "no": none)
    "ask": (),  # under 16: the link for a parent to confirm the topics chosen
    "stop": ("topic",),  # "Keine solchen Nachrichten mehr" under an announcement
    "go": ("broadcast", "button"),  # a button of an announcement (counted, then taken there)
})

# Cluster agents compose and manage announcements (/broadcast). Wizard presses act on the announcement
# being composed (its id is in the wizard's state); the others carry the announcement's id.
BROADCASTS = Payloads("bc", {
    "list": (), "new": (), "topic": ("topic",),
    "role": ("roles",), "age": ("band",), "near": ("what",), "radius": ("km",), "fields": (), "field": ("field",),
    "school": ("status",), "rsvp": ("answer",), "active": ("days",), "pick": ("index",),
    "next": (), "back": (), "to": ("step",), "same": (), "nopic": (), "add": ("kind",), "clear": (),
    "test": (), "now": (), "plan": (), "go": (),
    "open": ("broadcast",), "edit": ("broadcast",), "approve": ("broadcast",), "pause": ("broadcast",),
    "resume": ("broadcast",), "cancel": ("broadcast",), "cancel_yes": ("broadcast",),
})

# Free questions: a FAQ entry the search found ("Meintest du …?").
QUESTIONS = Payloads("q", {"f": ("faq",)})

# A question for the cluster team ("Frag das Cluster-Team"): the asker sees exactly what is sent and says
# yes or no; the cluster's agents answer it (or make a FAQ entry of the answer in the cockpit).
TEAM = Payloads("tq", {
    "ask": ("question",), "send": ("question",), "no": ("question",),  # the asker
    "answer": ("question",), "faq": ("question",),  # an agent of the asker's cluster
})

ALL = (MENU, ONBOARDING, QUIZ, PROFESSIONS, VACANCIES, EVENTS, COMPANIES, LEADS, PRIVACY, ANNOUNCEMENTS, BROADCASTS,
       QUESTIONS, TEAM)
