"""Wiring of the e-mail and webhook channels for `lotse run`: one dispatcher each, next to Telegram's."""
from __future__ import annotations

from dataclasses import dataclass, replace

from bot.app import App
from bot.delivery.email import EmailSender, SmtpConfig
from bot.delivery.webhook import WebhookSender
from flows.core.ports import Clock, Sender, UnitOfWorkFactory
from flows.delivery.dispatcher import DispatchPolicy, OutboxDispatcher
from flows.delivery.limiter import RateLimiter
from flows.delivery.quiet_hours import QuietHours
from storage.company_delivery import SqlCompanyDirectory

# Modest limits: a relay or a company's endpoint should never see a burst from us.
RATE_PER_SECOND = 5.0
RATE_PER_COMPANY_PER_SECOND = 1.0
# A mail server or an endpoint may be down for a while: retry over about three hours
# (30 s, 1, 2, 4, 8, 16, 32 min, then hourly), not the four minutes that suit Telegram.
MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_MAX_SECONDS = 3600.0


@dataclass
class CompanyChannels:
    email: OutboxDispatcher
    webhook: OutboxDispatcher
    webhook_sender: WebhookSender

    @property
    def dispatchers(self) -> list[OutboxDispatcher]:
        return [self.email, self.webhook]

    async def close(self) -> None:
        """Stop both dispatchers (unsent messages go back to pending), then the HTTP client."""
        for dispatcher in self.dispatchers:
            await dispatcher.close()
        await self.webhook_sender.close()


def company_quiet_hours(quiet: QuietHours) -> QuietHours:
    """Companies are no minors: only a message marked minor=True waits for the minors' window."""
    return replace(quiet, adults=None)


def company_dispatcher(uow_factory: UnitOfWorkFactory, sender: Sender, clock: Clock, quiet_hours: QuietHours,
                       lease_seconds: float = 60.0, limiter: RateLimiter | None = None) -> OutboxDispatcher:
    """The dispatcher of one company channel, with its own limiter (one per process and channel)."""
    policy = DispatchPolicy(lease_seconds=lease_seconds, max_attempts=MAX_ATTEMPTS,
                            backoff_base=BACKOFF_BASE_SECONDS, backoff_max=BACKOFF_MAX_SECONDS)
    limiter = limiter or RateLimiter(RATE_PER_SECOND, RATE_PER_COMPANY_PER_SECOND)
    return OutboxDispatcher(uow_factory, sender, limiter, clock, company_quiet_hours(quiet_hours), policy)


def company_channels(app: App) -> CompanyChannels:
    settings = app.settings
    directory = SqlCompanyDirectory(app.uow_factory)
    email = EmailSender(directory, app.catalog, SmtpConfig.from_settings(settings), app.clock, settings.timezone)
    key = settings.webhook_signing_key.get_secret_value() if settings.webhook_signing_key else None
    webhook = WebhookSender(directory, key, app.clock)
    dispatchers = [company_dispatcher(app.uow_factory, app.metrics.metered_sender(sender), app.clock,
                                      settings.quiet_hours, settings.outbox_lease_seconds)
                   for sender in (email, webhook)]
    return CompanyChannels(email=dispatchers[0], webhook=dispatchers[1], webhook_sender=webhook)
