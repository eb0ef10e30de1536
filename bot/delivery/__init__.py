"""Lead delivery to companies outside Telegram: e-mail (SMTP) and signed webhooks, as outbox Senders."""
