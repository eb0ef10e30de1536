"""Which message is the newest in each chat, as far as this process saw it.

A pressed question may turn into its answer (one edit instead of an edit plus a new message) only
while nothing came after it: rewriting a message above newer ones would change history the user
already scrolled past. Unknown chats (e.g. after a restart) are never "newest", so the bot falls
back to closing the keyboard and sending a new message.
"""
from __future__ import annotations

from collections import OrderedDict

MAX_CHATS = 20_000  # bounded: only recently active chats matter


class LatestMessages:
    def __init__(self, max_chats: int = MAX_CHATS) -> None:
        self._newest: OrderedDict[int, int] = OrderedDict()
        self._max_chats = max_chats

    def record(self, chat_id: int, message_id: int) -> None:
        """A message (the bot's or the user's) appeared in the chat."""
        if message_id >= self._newest.get(chat_id, 0):
            self._newest[chat_id] = message_id
        self._newest.move_to_end(chat_id)
        while len(self._newest) > self._max_chats:
            self._newest.popitem(last=False)

    def is_newest(self, chat_id: int, message_id: int) -> bool:
        return self._newest.get(chat_id) == message_id
