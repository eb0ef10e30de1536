"""Main menu, help, and the helpful answers to everything no flow expects."""
from __future__ import annotations

from flows.core.context import StepContext, button, reply
from flows.core.model import ConversationState, EventKind, Profile, Reply, Turn
from flows.core.payloads import COMPANIES, EVENTS, MENU, ONBOARDING, PRIVACY, PROFESSIONS, QUIZ, VACANCIES

NAME = "menu"
# Entries still being built answer "bald verfügbar" (none at the moment).
SOON: tuple[str, ...] = ()


def main_menu(profile: Profile) -> Reply:
    rows = [[button("btn.menu.quiz", QUIZ.pack("start")), button("btn.menu.professions", PROFESSIONS.pack("open"))],
            [button("btn.menu.vacancies", VACANCIES.pack("open")), button("btn.menu.events", EVENTS.pack("open"))],
            [button("btn.menu.companies", COMPANIES.pack("open")), button("btn.menu.settings", ONBOARDING.pack("settings", "open"))],
            [button("btn.menu.privacy", PRIVACY.pack("info", "open")), button("btn.menu.help", MENU.pack("help"))]]
    return reply("menu.main", rows, role=profile.role)


class MenuFlow:
    name = NAME
    payloads = MENU

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        idle = ConversationState()
        if entry == "help":
            return ctx.turn(reply("menu.help"), main_menu(ctx.profile), state=idle)
        if entry == "apology":
            return ctx.turn(reply("error.apology"), main_menu(ctx.profile), state=idle)
        if entry == "cancel":
            return ctx.turn(reply("menu.cancelled"), main_menu(ctx.profile), state=idle)
        return ctx.turn(main_menu(ctx.profile), state=idle)

    async def handle(self, ctx: StepContext) -> Turn | None:
        press = ctx.pressed(MENU)
        if press is None:
            return None
        target = press.action
        if target in SOON:
            return ctx.turn(reply("menu.soon", feature=target), main_menu(ctx.profile),
                            state=ConversationState())
        if target == "help":
            return await self.start(ctx, "help")
        if target == "open":
            return await self.start(ctx, "menu")
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        return [main_menu(ctx.profile)]

    def explain(self, ctx: StepContext) -> Reply:
        """Why the event was not understood, in a helpful way."""
        event = ctx.event
        if event.kind is EventKind.COMMAND:
            return reply("fallback.unknown_command", command=(event.text or "")[:32])
        if event.kind is EventKind.BUTTON:
            return reply("fallback.stale_button")
        if event.kind is EventKind.MEDIA:
            return reply("fallback.media", media=event.media_type or "other")
        if event.kind is EventKind.LOCATION:
            return reply("fallback.location")
        if event.kind is EventKind.CONTACT:
            return reply("fallback.contact")
        return reply("fallback.free_text")
