"""/cockpit for cluster agents: a single-use link that signs them in to the web cockpit.

The link is bound to the agent who asked (their channel and numeric id) and valid for 10 minutes
(flows/domain/sign_in.py); the cockpit checks again, at sign-in and on every page, that the id is
still an agent's. Others get the same answer as for an unknown command."""
from __future__ import annotations

from flows.conversations.menu import main_menu
from flows.core.context import StepContext, reply
from flows.core.model import Reply, Turn
from flows.core.payloads import Payloads
from flows.domain.sign_in import SIGN_IN_VALID, new_sign_in, sign_in_url

NAME = "cockpit"


class CockpitFlow:
    name = NAME
    payloads = Payloads("ck", {})  # the link is a URL in the text, no buttons

    def __init__(self, cockpit_url: str | None = None) -> None:
        """cockpit_url: COCKPIT_URL, the address agents open (None: the cockpit is not set up)."""
        self.cockpit_url = cockpit_url

    async def start(self, ctx: StepContext, entry: str) -> Turn:
        if not ctx.admin:
            return ctx.turn(reply("fallback.unknown_command", command="cockpit"), main_menu(ctx.profile))
        if self.cockpit_url is None:
            return ctx.turn(reply("cockpit.not_configured"))
        if ctx.profile.cluster is None:
            return ctx.turn(reply("leads.agent_no_cluster"))
        now = ctx.clock.now()
        sign_in = new_sign_in(now)
        await ctx.uow.cockpit.add_sign_in(sign_in.token_hash, ctx.profile.channel, ctx.profile.chat_id, now,
                                          sign_in.expires_at)
        return ctx.turn(reply("cockpit.sign_in_link", url=sign_in_url(self.cockpit_url, sign_in.token),
                              minutes=int(SIGN_IN_VALID.total_seconds() // 60)))

    async def handle(self, ctx: StepContext) -> Turn | None:
        return None

    async def reprompt(self, ctx: StepContext) -> list[Reply]:
        return []
