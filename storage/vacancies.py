"""Offers for the ranking (a lat/lon box query of plain columns), cards, marks and saved searches."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, case, delete, false, func, literal, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from content import default_directory
from flows.core.model import Profile
from flows.core.ports import PlaceDirectory
from flows.domain.content import SearchFilters, Town, VacancyCandidate, VacancyCard, VacancyMark
from flows.domain.geo import bounding_box
from flows.domain.matching import (
    FRESH_FULL_DAYS,
    FRESH_ZERO_DAYS,
    HIDE,
    KM_PER_DEGREE,
    LAST,
    NEUTRAL_FIT,
    PUPILS_ONLY_PENALTY,
    SCHOOL_RANK,
    START_HORIZON_DAYS,
    STARTED_GRACE_DAYS,
    WEIGHTS,
    RankedVacancy,
    RankSpec,
)
from flows.domain.offer_import import SOURCE as IMPORTED
from storage.content_views import locate, vacancy_card
from storage.tables import CompanyRow, ProfessionRow, UserRow, VacancyRow
from storage.tables_leads import LeadRow
from storage.tables_vacancies import SavedSearchRow, VacancyFiltersRow, VacancyMarkRow

VACANCY_TARGET = "vacancy:"  # a request about an offer (flows/conversations/leads/handover.py)
SLUGS_PER_QUERY = 5000  # well below SQLite's limit of bound parameters (32,766)


def pack_card(postcodes: PlaceDirectory, data: dict[str, Any], company: dict[str, Any],
              profession_name: str) -> VacancyCard | None:
    """An offer's card from its pack entry and its company's: at the place the pack names (an offer
    may be at another site of the company), with the company's own town beside it."""
    place = data.get("place") or (company["place"] if data["plz"] == company["plz"] else None)
    here = locate(postcodes, data["plz"], place)
    school_ref = data.get("berufsschule")
    school = locate(postcodes, school_ref["plz"], school_ref["name"]) if school_ref else None
    if here is None:
        return None
    card = vacancy_card(data, company, profession_name, here, school)
    return card.model_copy(update={"pupils_only": bool(data.get("pupils_only")), "company_place": company["place"]})


def imported_card(postcodes: PlaceDirectory, data: dict[str, Any], company: dict[str, Any] | None,
                  profession_name: str, start: date | None) -> VacancyCard | None:
    """An offer imported from the Arbeitsagentur (flows/domain/offer_import.py): the employer as listed there,
    or the cluster company it is; a start the listing does not name is "nach Absprache"."""
    here = locate(postcodes, data["plz"], data.get("place"))
    if here is None:
        return None
    school_ref = data.get("berufsschule")
    school = locate(postcodes, school_ref["plz"], school_ref["name"]) if school_ref else None
    day = date.fromisoformat(data["start"]) if data.get("start") else start or date.fromisoformat(data["published"])
    return VacancyCard(
        slug=data["slug"], title=data["title"], kind=data["kind"], profession=data["profession"],
        profession_name=profession_name, company=company["slug"] if company else "",
        company_name=company["name"] if company else data["employer"], example=False,
        place=here.name, plz=here.plz, lat=here.lat, lon=here.lon, start=day,
        school=Town(name=school_ref["name"], plz=school_ref["plz"]) if school_ref else None,
        school_lat=school.lat if school else None, school_lon=school.lon if school else None,
        company_place=company["place"] if company else None, source_url=data["url"],
        start_known=bool(data.get("start")))


def pupils_only_flag() -> Any:
    """The pack entry's `pupils_only` (NULL for rows loaded before the field existed: false)."""
    return case((col(VacancyRow.data)["pupils_only"].as_boolean(), 1), else_=0)


class SqlVacancyRepository:
    def __init__(self, session: AsyncSession, postcodes: PlaceDirectory | None = None) -> None:
        self._session = session
        self._postcodes = postcodes or default_directory()  # cached: loaded once per process

    COLUMNS = (VacancyRow.slug, VacancyRow.profession, VacancyRow.kind, VacancyRow.lat, VacancyRow.lon,
               VacancyRow.start, VacancyRow.published, VacancyRow.school_level, pupils_only_flag())

    async def candidates(self, box: tuple[float, float, float, float], kind: str | None,
                         profession: str | None) -> list[VacancyCandidate]:
        lat_min, lat_max, lon_min, lon_max = box
        query = select(*self.COLUMNS).where(
            col(VacancyRow.archived).is_(False),
            VacancyRow.lat.between(lat_min, lat_max),
            VacancyRow.lon.between(lon_min, lon_max),
        )
        if kind is not None:
            query = query.where(VacancyRow.kind == kind)
        if profession is not None:
            query = query.where(VacancyRow.profession == profession)
        return await self._candidates(query)

    def _days(self, later: Any, earlier: Any) -> Any:
        """later - earlier in days, for DATE columns and literals, on either database."""
        if self._session.get_bind().dialect.name == "postgresql":
            return (later - earlier) * 1.0
        return func.julianday(later) - func.julianday(earlier)

    def _scored(self, spec: RankSpec) -> tuple[Any, Any, list[Any]]:
        """(score, km², conditions): flows.domain.matching.vacancy_score, term by term, in SQL."""
        v = VacancyRow
        today = literal(spec.today, Date)
        dy = (v.lat - spec.lat) * KM_PER_DEGREE
        dx = (v.lon - spec.lon) * spec.lon_scale
        km2 = dx * dx + dy * dy
        r2 = float(spec.radius_km * spec.radius_km)
        to_start = self._days(v.start, today)
        age = self._days(today, v.published)
        start = case((to_start <= 0, 1.0), (to_start >= START_HORIZON_DAYS, 0.0),
                     else_=1 - to_start / float(START_HORIZON_DAYS))
        fresh = case((age <= FRESH_FULL_DAYS, 1.0), (age >= FRESH_ZERO_DAYS, 0.0),
                     else_=1 - (age - FRESH_FULL_DAYS) / float(FRESH_ZERO_DAYS - FRESH_FULL_DAYS))
        fit = case(spec.interest, value=v.profession, else_=NEUTRAL_FIT) if spec.interest else literal(NEUTRAL_FIT)
        levels = {level: spec.school_score(level) for level in SCHOOL_RANK}
        school = case(levels, value=v.school_level, else_=spec.school_score(None))
        score = (WEIGHTS["fit"] * fit + WEIGHTS["distance"] * (1 - km2 / r2) + WEIGHTS["school"] * school
                 + WEIGHTS["start"] * start + WEIGHTS["fresh"] * fresh)
        if spec.pupils_only == LAST:  # only then: the JSON field is read for users it concerns
            score = score - PUPILS_ONLY_PENALTY * pupils_only_flag()
        lat_min, lat_max, lon_min, lon_max = bounding_box(spec.lat, spec.lon, spec.radius_km * 1.01)
        conditions = [v.lat.between(lat_min, lat_max), v.lon.between(lon_min, lon_max),  # the index on lat
                      col(v.archived).is_(False), km2 <= r2, to_start >= -STARTED_GRACE_DAYS]
        if spec.kind is not None:
            conditions.append(v.kind == spec.kind)
        if spec.profession is not None:
            conditions.append(v.profession == spec.profession)
        if spec.pupils_only == HIDE:
            conditions.append(pupils_only_flag() == 0)
        if spec.reachable is not None:  # the places within the commute filter's minutes (storage/commutes.py)
            conditions.append(tuple_(v.lat, v.lon).in_(sorted(spec.reachable)) if spec.reachable else false())
        return score, km2, conditions

    async def ranked(self, spec: RankSpec, offset: int, limit: int) -> tuple[int, list[RankedVacancy]]:
        score, km2, conditions = self._scored(spec)
        # One pass: the window count gives the total next to the page.
        rows = (await self._session.execute(
            select(VacancyRow.slug, VacancyRow.lat, VacancyRow.lon, score.label("score"), func.count().over())
            .where(*conditions).order_by(score.desc(), km2, VacancyRow.slug).offset(offset).limit(limit))).all()
        if rows:
            return int(rows[0][4]), [RankedVacancy(r[0], r[1], r[2], float(r[3])) for r in rows]
        total = (await self._session.execute(select(func.count()).select_from(VacancyRow).where(*conditions))).scalar_one()
        return int(total), []

    async def candidates_by_slugs(self, slugs: list[str]) -> list[VacancyCandidate]:
        found: list[VacancyCandidate] = []
        for at in range(0, len(slugs), SLUGS_PER_QUERY):  # an import's thousands of new offers
            found += await self._candidates(select(*self.COLUMNS).where(
                VacancyRow.slug.in_(slugs[at:at + SLUGS_PER_QUERY])))
        return found

    async def _candidates(self, query: Any) -> list[VacancyCandidate]:
        rows = (await self._session.execute(query)).all()
        # model_construct: the columns are already validated at load; this is the hot path
        return [VacancyCandidate.model_construct(slug=r[0], profession=r[1], kind=r[2], lat=r[3], lon=r[4],
                                                 start=r[5], published=r[6], school_level=r[7],
                                                 pupils_only=bool(r[8])) for r in rows]

    async def card(self, slug: str) -> VacancyCard | None:
        row = (await self._session.execute(
            select(VacancyRow.data, CompanyRow.data, ProfessionRow.name, VacancyRow.start)
            .outerjoin(CompanyRow, CompanyRow.slug == VacancyRow.company)  # an imported offer may have none
            .join(ProfessionRow, ProfessionRow.slug == VacancyRow.profession)
            .where(VacancyRow.slug == slug, col(VacancyRow.archived).is_(False))
        )).first()
        return self._card(*row) if row is not None else None

    async def for_company(self, company: str) -> list[VacancyCard]:
        rows = (await self._session.execute(
            select(VacancyRow.data, CompanyRow.data, ProfessionRow.name, VacancyRow.start)
            .join(CompanyRow, CompanyRow.slug == VacancyRow.company)
            .join(ProfessionRow, ProfessionRow.slug == VacancyRow.profession)
            .where(VacancyRow.company == company,  # ix_vacancies_company
                   col(VacancyRow.archived).is_(False))
            .order_by(VacancyRow.start, VacancyRow.slug))).all()
        return [card for card in (self._card(*row) for row in rows) if card is not None]

    def _card(self, data: dict[str, Any], company: dict[str, Any] | None, profession_name: str,
              start: date | None) -> VacancyCard | None:
        if data.get("source") == IMPORTED:
            return imported_card(self._postcodes, data, company, profession_name, start)
        if company is None:
            return None
        return pack_card(self._postcodes, data, company, profession_name)

    async def mark(self, user_id: int, slug: str, mark: str, at: datetime) -> bool:
        values = {"user_id": user_id, "vacancy": slug, "mark": mark, "created_at": at}
        dialect = postgresql if self._session.bind.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(VacancyMarkRow).values(**values).on_conflict_do_nothing()
        result = await self._session.execute(statement)
        return bool(result.rowcount)

    async def unmark(self, user_id: int, slug: str, mark: str) -> bool:
        result = await self._session.execute(delete(VacancyMarkRow).where(
            VacancyMarkRow.user_id == user_id, VacancyMarkRow.vacancy == slug, VacancyMarkRow.mark == mark))
        return bool(result.rowcount)

    async def last_filters(self, user_id: int) -> SearchFilters | None:
        found = (await self._session.execute(select(VacancyFiltersRow.filters).where(
            VacancyFiltersRow.user_id == user_id))).scalars().first()
        return SearchFilters.model_validate(found) if found is not None else None

    async def remember_filters(self, user_id: int, filters: SearchFilters, at: datetime) -> None:
        values = filters.model_dump(mode="json")
        changed = await self._session.execute(update(VacancyFiltersRow).where(
            VacancyFiltersRow.user_id == user_id).values(filters=values, updated_at=at))
        if not changed.rowcount:
            self._session.add(VacancyFiltersRow(user_id=user_id, filters=values, updated_at=at))
            await self._session.flush()

    async def purge_imported(self, archived_before: datetime) -> int:
        referred = select(VacancyMarkRow.vacancy).union(
            select(func.substr(LeadRow.target, len(VACANCY_TARGET) + 1)).where(
                col(LeadRow.target).startswith(VACANCY_TARGET)))
        result = await self._session.execute(delete(VacancyRow).where(
            VacancyRow.origin == IMPORTED, col(VacancyRow.archived).is_(True),
            col(VacancyRow.updated_at) < archived_before, col(VacancyRow.slug).not_in(referred)))
        return int(getattr(result, "rowcount", 0) or 0)

    async def marks(self, user_id: int) -> list[VacancyMark]:
        rows = await self._session.execute(
            select(VacancyMarkRow).where(VacancyMarkRow.user_id == user_id).order_by(VacancyMarkRow.id))
        return [VacancyMark(slug=r.vacancy, mark=r.mark, at=r.created_at) for r in rows.scalars().all()]

    async def save_search(self, user_id: int, filters: SearchFilters, at: datetime) -> bool:
        if filters in await self.searches(user_id):
            return False
        self._session.add(SavedSearchRow(user_id=user_id, filters=filters.model_dump(), created_at=at,
                                         notified_until=at))
        await self._session.flush()
        return True

    async def search(self, user_id: int, search_id: int) -> SearchFilters | None:
        found = (await self._session.execute(select(SavedSearchRow.filters).where(
            SavedSearchRow.id == search_id, SavedSearchRow.user_id == user_id))).scalars().first()
        return SearchFilters.model_validate(found) if found is not None else None

    async def delete_search(self, user_id: int, search_id: int) -> bool:
        result = await self._session.execute(
            delete(SavedSearchRow).where(SavedSearchRow.id == search_id, SavedSearchRow.user_id == user_id))
        return bool(result.rowcount)

    async def all_searches(self) -> list[tuple[Profile, int, SearchFilters]]:
        rows = await self._session.execute(
            select(UserRow, SavedSearchRow.id, SavedSearchRow.filters)
            .join(SavedSearchRow, SavedSearchRow.user_id == UserRow.id).order_by(SavedSearchRow.id))
        return [(Profile.model_validate(u, from_attributes=True), i, SearchFilters.model_validate(f))
                for u, i, f in rows.tuples().all()]

    async def searches(self, user_id: int) -> list[SearchFilters]:
        rows = await self._session.execute(
            select(SavedSearchRow.filters).where(SavedSearchRow.user_id == user_id).order_by(SavedSearchRow.id))
        return [SearchFilters.model_validate(f) for f in rows.scalars().all()]
