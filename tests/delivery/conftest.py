"""Shared pieces of the e-mail and webhook tests: a company directory in memory and lead messages."""
from __future__ import annotations

from typing import Any

from flows.core.model import Reply
from flows.delivery.company_delivery import CompanyDelivery

SIGNING_KEY = "test-signing-key-0123456789abcdef0123456789"


class FakeDirectory:
    def __init__(self, *companies: tuple[int, CompanyDelivery]) -> None:
        self.companies = dict(companies)

    async def delivery(self, company_id: int) -> CompanyDelivery | None:
        return self.companies.get(company_id)


def new_lead(**changes: Any) -> Reply:
    """A "leads.company_new" message with every value the lead flow sends."""
    values: dict[str, Any] = {
        "lead_id": 42, "company_name": "Neiße Metallbau (Beispiel)", "cluster_name": "Die Zukunftsmacher",
        "offer_title": "Ausbildung Industriemechaniker:in 2027", "profession_name": "Industriemechaniker:in",
        "first_name": "Jördis", "age_band": "16_17", "place": "Löbau", "plz": "02708", "school_status": "pupil",
        "school_class": 9, "phone": "+491701234567", "email": "joerdis@example.org", "preferred_channel": "phone",
        "preferred_time": "afternoon", "message": "Ich schraube gern an Mopeds – und mag Mathe.",
        "consent_given_by": "self", "consent_version": "lead-handover-2026-12",
        "consent_at": "2027-03-01T08:00:00+00:00",
    }
    values.update(changes)
    return Reply(key="leads.company_new", values=values)
