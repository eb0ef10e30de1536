"""Telegram channel (aiogram): updates -> flows.Event, flows.Reply -> Bot API calls."""
