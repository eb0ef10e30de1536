"""The leads flow: one entry for every audience of a hand-over. Its buttons are LEADS in
flows/core/payloads.py; the table below says which part answers which action."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from flows.conversations.leads.agent import AgentViews
from flows.conversations.leads.common import NAME
from flows.conversations.leads.company import CompanyReports
from flows.conversations.leads.handover import HandOver
from flows.conversations.leads.mine import MyRequests
from flows.conversations.leads.parent import ParentConfirmation
from flows.conversations.menu import main_menu
from flows.core.context import StepContext, reply
from flows.core.model import ConversationState, EventKind, Reply, Turn
from flows.core.payloads import LEADS

Action = Callable[[StepContext, str, str], Awaitable[Turn | None]]  # (ctx, arg, extra)


class LeadsFlow:
    name = NAME
    payloads = LEADS

    def __init__(self) -> None:
        self.handover = HandOver()
        self.parent = ParentConfirmation()
        self.company = CompanyReports()
        self.agent = AgentViews()
        self.mine = MyRequests()
        # Presses that mean the same in any state; every other press belongs to the open wizard step.
        self._actions: dict[str, Action] = {
            **{kind: self._begin(kind) for kind in "vpec"},                                    # "Interessiert mich"
            "pr": self.parent.declared,                                                        # parent: who I am
            "pa": lambda ctx, token, code: self.parent.decided(ctx, token, code, approved=True),
            "pd": lambda ctx, token, code: self.parent.decided(ctx, token, code, approved=False),
            "cs": self.company.status_pressed,                                                  # company: status
            "cd": lambda ctx, lead_id, _: self.company.lead(ctx, lead_id),                    # company: one lead
            "af": lambda ctx, which, _: self.agent.leads(ctx, which),                         # agent: filter
            "ad": self.agent.detail,
            "csv": lambda ctx, which, _: self.agent.csv(ctx, which),
            "inv": lambda ctx, slug, _: self.agent.invite_company(ctx, slug),
            "w": lambda ctx, lead_id, _: self.mine.confirm_withdrawal(ctx, lead_id),          # young person
            "wy": lambda ctx, lead_id, _: self.mine.withdraw_one(ctx, lead_id),
            "fy": lambda ctx, lead_id, _: self.mine.heard_back(ctx, lead_id, heard=True),
            "fn": lambda ctx, lead_id, _: self.mine.heard_back(ctx, lead_id, heard=False),
            "mine": lambda ctx, _, __: self.requests(ctx),
        }

    def _begin(self, kind: str) -> Action:
        async def begin(ctx: StepContext, slug: str, _: str) -> Turn | None:
            return await self.handover.begin(ctx, kind, slug)
        return begin

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        if entry == "invite":
            return await self.agent.invite(ctx)
        if entry == "agent":
            turn = await self.agent.leads(ctx)
            assert turn is not None
            return turn
        return await self.requests(ctx)

    async def requests(self, ctx: StepContext) -> Turn:
        """/anfragen: a company contact sees the company's leads, everyone else their own requests; a
        company that is not linked yet learns how to get linked."""
        overview = await self.company.overview(ctx)
        if overview is not None:
            return overview
        if ctx.profile.role == "company":
            return ctx.turn(reply("leads.company_not_linked"), main_menu(ctx.profile), state=ConversationState())
        return await self.mine.overview(ctx)

    async def handle(self, ctx: StepContext) -> Turn | None:
        if ctx.event.kind is not EventKind.BUTTON:
            return await self.handover.on_input(ctx)
        press = ctx.pressed(LEADS)
        if press is None:
            return None
        action, arg, extra = press.action, press.arg(0), press.arg(1)
        if action in self._actions:
            return await self._actions[action](ctx, arg, extra)
        return await self.handover.on_button(ctx, action, arg)

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        return await self.handover.reprompt(ctx)

    # ---- deep links (conversations/links.py) ---------------------------------------------------
    async def parent_review(self, ctx: StepContext, token: str) -> Turn:
        return await self.parent.review(ctx, token)

    async def report_link(self, ctx: StepContext, payload: str) -> Turn:
        return await self.company.report_link(ctx, payload)

    async def company_link(self, ctx: StepContext, token: str) -> Turn:
        return await self.company.joined(ctx, token)
