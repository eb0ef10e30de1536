"""Pack entries (as stored in the `data` JSON of content rows) -> the flows' content models."""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flows.core.ports import PlaceDirectory
from flows.domain.content import CompanyInfo, EventInfo, ProfessionInfo, QuizItem, QuizOption, Town, VacancyCard
from flows.domain.geo import Place


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


def company_info(row_id: int, data: dict[str, Any]) -> CompanyInfo:
    return CompanyInfo(id=row_id, slug=data["slug"], name=data["name"], cluster=data["cluster"], plz=data["plz"],
                       place=data["place"], professions=list(data["professions"]), example=data["example"],
                       description=data.get("description") or "", size=data.get("size"), website=data.get("website"),
                       email=data.get("email"), webhook_url=data.get("webhook_url"))


def quiz_item(data: dict[str, Any]) -> QuizItem:
    return QuizItem(slug=data["slug"], text=dict(data["text"]),
                    options=[QuizOption(label=dict(o["label"]), weights=dict(o.get("weights") or {}))
                             for o in data["options"]])


def locate(postcodes: PlaceDirectory, plz: str, name: str | None = None) -> Place | None:
    """The place of an offer or school: by name where the pack gives one, else the PLZ's first place."""
    return (postcodes.find(plz, name) if name else None) or next(iter(postcodes.lookup(plz)), None)


def vacancy_card(data: dict[str, Any], company: dict[str, Any], profession_name: str,
                 here: Place, school: Place | None) -> VacancyCard:
    berufsschule = data.get("berufsschule")
    return VacancyCard(
        slug=data["slug"], title=data["title"], kind=data["kind"], profession=data["profession"],
        profession_name=profession_name, company=company["slug"], company_name=company["name"],
        example=bool(company.get("example")), place=here.name, plz=here.plz, lat=here.lat, lon=here.lon,
        start=date.fromisoformat(data["start"]), places=int(data.get("places", 1)),
        description=data.get("description"),
        school=Town(name=berufsschule["name"], plz=berufsschule["plz"]) if berufsschule else None,
        school_lat=school.lat if school else None, school_lon=school.lon if school else None,
    )


def event_info(data: dict[str, Any], company_names: list[str], lat: float, lon: float, sequence: int,
               company_slugs: list[str] | None = None) -> EventInfo:
    return EventInfo(
        slug=data["slug"], cluster=data["cluster"], title=data["title"], format=data["format"],
        starts=datetime.fromisoformat(data["starts"]).astimezone(UTC),
        ends=datetime.fromisoformat(data["ends"]).astimezone(UTC), place=data["place"], plz=data["plz"],
        address=data.get("address"), audience=data["audience"], description=data["description"],
        companies=company_names, company_slugs=list(company_slugs or []), professions=list(data.get("professions", [])),
        cancelled=bool(data.get("cancelled")), lat=lat, lon=lon, sequence=sequence,
    )
