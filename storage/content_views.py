"""Pack entries (as stored in the `data` JSON of content rows) -> the flows' content models."""
from __future__ import annotations

from typing import Any

from flows.catalog import ProfessionInfo, QuizItem, QuizOption, Town


def profession_info(data: dict[str, Any]) -> ProfessionInfo:
    pay = data.get("pay") or {}
    return ProfessionInfo(
        slug=data["slug"], name=data["name"], clusters=list(data.get("clusters", [])), field=data["field"],
        duration_months=data["duration_months"], school_expectation=data["school_expectation"],
        legal_requirement=data.get("legal_requirement"), pay_basis=pay.get("basis", "tarif"),
        pay_monthly_eur=list(pay.get("monthly_eur") or []), pay_note=pay.get("note"),
        berufsschule=[Town(name=t["name"], plz=t["plz"]) for t in data.get("berufsschule", [])],
        teen=dict(data.get("teen") or {}), parent=dict(data.get("parent") or {}),
        riasec=dict(data.get("riasec") or {}),
    )


def quiz_item(data: dict[str, Any]) -> QuizItem:
    return QuizItem(slug=data["slug"], text=dict(data["text"]),
                    options=[QuizOption(label=dict(o["label"]), weights=dict(o.get("weights") or {}))
                             for o in data["options"]])
