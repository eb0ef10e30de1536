"""`/start <payload>`: which conversation a deep link opens.

Telegram delivers every link into the bot as `/start <payload>`. Links for one purpose carry a
prefix and go to the flow that owns them: a parent's confirmation (`pc-`, of a hand-over or of
announcements: conversations/leads/parent.py), a company's status report (`ls-`), a company
contact's invitation (`ci-`). Everything else – no payload, or a poster's
`<cluster>_<source>` – starts onboarding, which reads the cluster and the source itself.
"""
from __future__ import annotations

from flows.conversations.leads import INVITE_PREFIX, PARENT_PREFIX, LeadsFlow
from flows.conversations.onboarding import OnboardingFlow
from flows.core.context import StepContext
from flows.core.model import Reply, Turn
from flows.core.payloads import Payloads
from flows.domain.lead_report import REPORT_PREFIX

NAME = "start"


class StartLinks:
    name = NAME
    payloads = Payloads("st", {})  # no buttons of its own: every link hands over to another flow

    def __init__(self, onboarding: OnboardingFlow, leads: LeadsFlow) -> None:
        self._onboarding = onboarding
        self._leads = leads

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        payload = ctx.event.payload or ""
        if payload.startswith(PARENT_PREFIX):
            return await self._leads.parent_review(ctx, payload.removeprefix(PARENT_PREFIX))
        if payload.startswith(REPORT_PREFIX):
            return await self._leads.report_link(ctx, payload.removeprefix(REPORT_PREFIX))
        if payload.startswith(INVITE_PREFIX):
            return await self._leads.company_link(ctx, payload.removeprefix(INVITE_PREFIX))
        return await self._onboarding.start(ctx, entry)

    async def handle(self, ctx: StepContext) -> Turn | None:
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        return []
