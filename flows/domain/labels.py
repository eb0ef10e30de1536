"""Short texts for buttons: Telegram shows about 40 characters of a button, so long titles are cut."""
from __future__ import annotations

LABEL_MAX = 40  # characters of a title on a button
ELLIPSIS = "…"


def short_label(text: str, limit: int = LABEL_MAX) -> str:
    """`text` if it fits, else cut at the last word boundary before `limit` and ended with "…".

    "Unternehmen machen Schule: Bau und Metall stellen sich vor" -> "Unternehmen machen Schule: Bau und…",
    never "… Bau und Metal". A single word longer than the limit is cut inside the word (nothing else fits).
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    cut = text[:room + 1]  # one more: a space right after the room is a boundary too
    boundary = cut.rfind(" ")
    head = cut[:boundary] if boundary > 0 else text[:room]
    return head.rstrip(" ,;:–-") + ELLIPSIS


def example_marked(name: str, example: bool) -> bool:
    """Whether a text must add "(Beispielbetrieb)": only when the name does not say so already."""
    return example and "beispiel" not in name.casefold()
