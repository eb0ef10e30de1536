"""Webhook signatures. Each company has its own secret, derived from WEBHOOK_SIGNING_KEY and its
slug, so no secret needs storing and one company's secret reveals nothing about another's:

    secret    = hex(HMAC-SHA256(key=WEBHOOK_SIGNING_KEY, message=company slug))
    signature = "sha256=" + hex(HMAC-SHA256(key=secret (its 64 ASCII hex characters),
                                            message=f"{timestamp}." + raw request body))

`timestamp` is the X-Lotse-Timestamp header (Unix seconds); signing it lets a receiver refuse
replays of an old request.
"""
from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Lotse-Timestamp"
SIGNATURE_HEADER = "X-Lotse-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def company_secret(signing_key: str, slug: str) -> str:
    return hmac.new(signing_key.encode("utf-8"), slug.encode("utf-8"), hashlib.sha256).hexdigest()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode("ascii") + body
    return "sha256=" + hmac.new(secret.encode("ascii"), message, hashlib.sha256).hexdigest()
