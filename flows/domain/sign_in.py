"""Sign-in links for the web cockpit: single-use, valid 10 minutes, bound to the agent who asked.

Only a hash of the token is stored, so a copy of the database cannot sign anyone in. The link opens
a page with a button; the token is used by that button's POST, not by the GET, because messengers
fetch links for previews and would otherwise use it up."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

SIGN_IN_VALID = timedelta(minutes=10)
TOKEN_BYTES = 32  # 256 bits: not guessable within 10 minutes
SIGN_IN_PATH = "/anmelden"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignIn:
    token: str  # goes into the link only
    token_hash: str  # what is stored
    expires_at: datetime


def new_sign_in(now: datetime) -> SignIn:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return SignIn(token=token, token_hash=token_hash(token), expires_at=now + SIGN_IN_VALID)


def sign_in_url(cockpit_url: str, token: str) -> str:
    return f"{cockpit_url.rstrip('/')}{SIGN_IN_PATH}?t={token}"
