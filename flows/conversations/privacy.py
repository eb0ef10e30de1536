"""/datenschutz, /meinedaten (export as JSON), /loeschen (erase after confirmation) and /fahrplan (where the travel
times by bus and train come from: the timetables and their licences, the school day, how they are computed)."""
from __future__ import annotations

import json

from flows.conversations.leads import parent_decisions
from flows.conversations.menu import main_menu
from flows.core.context import StepContext, button, reply
from flows.core.model import ConversationState, Document, Reply, Turn
from flows.core.payloads import LEADS, MENU, PRIVACY
from flows.delivery.lead_delivery import withdraw
from flows.domain.commute import ARRIVE_BY_S, BACK_FROM_S, FILTER_MINUTES
from flows.domain.commute_view import clock_time
from flows.domain.journeys import MAX_WALK_M, MIN_CHANGE_S, WALK_FACTOR, WALK_KMH
from flows.domain.lead import OPEN

NAME = "privacy"
OPENAI_HOST = "api.openai.com"
EXPORT_FORMAT = "azubi-lotse-export/1"


# What /meinedaten shows of a kept question: not the worker's lease, nor which agent answered (staff).
QUESTION_EXPORT = {"text", "asked_at", "team", "team_asked_at", "answer", "answered_at"}


class PrivacyFlow:
    name = NAME
    payloads = PRIVACY

    def __init__(self, model_host: str | None = None) -> None:
        """model_host: where free questions go to a language model (OPENAI_BASE_URL's host); None: nowhere."""
        self.model_host = model_host

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        if entry == "export":
            return ctx.turn(await self._export(ctx))  # the open question stays open
        if entry == "timetable":
            return ctx.turn(await self._timetable(ctx), state=ConversationState())
        if entry == "delete":
            buttons = [[button("btn.privacy.delete_yes", PRIVACY.pack("delete", "yes"))],
                       [button("btn.privacy.delete_no", PRIVACY.pack("delete", "no"))]]
            return ctx.turn(reply("privacy.confirm_delete", buttons),
                            state=ConversationState(flow=NAME, step="delete"))
        buttons = [[button("btn.privacy.export", PRIVACY.pack("info", "export"))],
                   [button("btn.privacy.delete", PRIVACY.pack("info", "delete"))],
                   [button("btn.menu.back", MENU.pack("open"))]]
        return ctx.turn(reply("privacy.info", buttons, model_host=self.model_host,
                              openai=self.model_host == OPENAI_HOST), state=ConversationState())

    async def handle(self, ctx: StepContext) -> Turn | None:
        press = ctx.pressed(PRIVACY)
        if press is None:
            return None
        action = f"{press.action}:{press.arg()}"
        if action == "info:open":
            return await self.start(ctx, "info")
        if action == "info:export":
            return await self.start(ctx, "export")
        if action == "info:delete":
            return await self.start(ctx, "delete")
        if ctx.state.flow != NAME or ctx.state.step != "delete":
            return None
        if action == "delete:yes":
            if ctx.profile.id is not None:
                await withdraw(ctx.uow, ctx.profile, await ctx.uow.leads.for_user(ctx.profile.id), ctx.clock.now())
            return ctx.turn(reply("privacy.deleted"), state=ConversationState(), delete_user=True)
        if action == "delete:no":
            return ctx.turn(reply("privacy.delete_cancelled"), main_menu(ctx.profile),
                            state=ConversationState())
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        return (await self.start(ctx, "delete")).replies if ctx.state.step == "delete" else []

    @staticmethod
    async def _timetable(ctx: StepContext) -> Reply:
        """/fahrplan: the feeds' names, publishers, licences and links as the plan credits them (values: the
        template escapes them), and the planner's rules from its own constants."""
        plan = await ctx.uow.commutes.plan()
        buttons = [[button("btn.menu.privacy", PRIVACY.pack("info", "open"))], [button("btn.menu.back", MENU.pack("open"))]]
        feeds = [{"name": f.name, "publisher": f.publisher, "licence": f.licence, "url": f.url}
                 for f in plan.feeds] if plan else []
        return reply("privacy.timetable", buttons, planned=plan is not None, feeds=feeds,
                     service_day=plan.service_day.strftime("%d.%m.%Y") if plan else None,
                     complete=plan.complete if plan else False, filter_minutes=FILTER_MINUTES,
                     walk_km=MAX_WALK_M / 1000, walk_kmh=WALK_KMH, detour=round((WALK_FACTOR - 1) * 100),
                     change_minutes=MIN_CHANGE_S // 60, arrive_by=clock_time(ARRIVE_BY_S),
                     back_from=clock_time(BACK_FROM_S))

    async def _export(self, ctx: StepContext) -> Reply:
        profile = ctx.profile
        consents = await ctx.uow.consents.list_for_user(profile.id) if profile.id else []
        quiz = await ctx.uow.quiz.list_for_user(profile.id) if profile.id else []
        marks = await ctx.uow.vacancies.marks(profile.id) if profile.id else []
        searches = await ctx.uow.vacancies.searches(profile.id) if profile.id else []
        rsvps = await ctx.uow.events.rsvps(profile.id) if profile.id else []
        leads = await ctx.uow.leads.for_user(profile.id) if profile.id else []
        ratings = await ctx.uow.events.feedback(profile.id) if profile.id else {}
        decisions = await parent_decisions(ctx.uow, profile.id) if profile.id else []
        last_filters = await ctx.uow.vacancies.last_filters(profile.id) if profile.id else None
        questions = await ctx.uow.questions.for_user(profile.id) if profile.id else []
        document = {
            "format": EXPORT_FORMAT,
            "exported_at": ctx.clock.now().isoformat(),
            "profile": profile.model_dump(mode="json", exclude={"id"}),
            "conversation": ctx.state.model_dump(mode="json", exclude={"version"}),
            "consents": [c.model_dump(mode="json", exclude={"id"}) for c in consents],
            "quiz": [a.model_dump(mode="json", exclude={"id"}) for a in quiz],
            "saved_offers": [m.model_dump(mode="json") for m in marks],
            "saved_searches": [f.model_dump(mode="json") for f in searches],
            "last_search_filters": last_filters.model_dump(mode="json") if last_filters else None,
            "events": [r.model_dump(mode="json") for r in rsvps],
            "leads": [lead.model_dump(mode="json", exclude={"user_id"}) for lead in leads],
            # the parent link's token stays out: it is a key, not information
            "parent_decisions": decisions,  # who confirmed (or declined), as what
            "event_ratings": ratings,
            "questions": [q.model_dump(mode="json", include=QUESTION_EXPORT) for q in questions],
        }
        content = json.dumps(document, ensure_ascii=False, indent=2).encode()
        withdraw_button = [[button("btn.privacy.requests", LEADS.pack("mine"))]] if any(
            lead.status in OPEN for lead in leads) else []
        return reply("privacy.export", withdraw_button).model_copy(update={
            "document": Document(filename="meine-daten.json", content=content, mime_type="application/json")
        })
