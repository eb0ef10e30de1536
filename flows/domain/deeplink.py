"""Deep-link payloads of /start: `[<cluster>][_<source>]`, e.g. `zukunftsmacher_loebau-stand`."""
from __future__ import annotations

import re
from dataclasses import dataclass

PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what Telegram allows in a start parameter
PART_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")


@dataclass(frozen=True)
class DeepLink:
    cluster: str | None = None
    source: str | None = None


def parse_payload(payload: str | None) -> DeepLink:
    """Never raises: anything malformed is ignored part by part."""
    if not payload or not PAYLOAD_RE.match(payload):
        return DeepLink()
    cluster, _, source = payload.lower().partition("_")
    return DeepLink(
        cluster=cluster if PART_RE.match(cluster) else None,
        source=source if PART_RE.match(source) else None,
    )


def make_payload(cluster: str | None, source: str | None = None) -> str:
    payload = (cluster or "") + (f"_{source}" if source else "")
    if not PAYLOAD_RE.match(payload):
        raise ValueError("payload must be 1-64 characters of A-Z a-z 0-9 _ -")
    return payload
