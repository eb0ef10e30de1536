"""Issue 10: offers only for pupils are hidden or ranked last in SQL exactly as in Python; the card
names the offer's own place; the Merkliste forgets an offer; the last filters are kept per user."""
from __future__ import annotations

from datetime import date

import pytest

from content import DEMO_DIR, default_directory, load_pack
from flows.core.model import Profile
from flows.domain.content import SearchFilters
from flows.domain.matching import HIDE, LAST, SHOW, rank_spec, rank_vacancies
from storage.content_sync import sync_pack
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import PROFESSIONS, SteppableClock

PACK = load_pack(DEMO_DIR, default_directory())
PROFILES = {p.slug: p.riasec for p in PROFESSIONS}
PUPILS_ONLY = {v.slug for v in PACK.vacancies if v.pupils_only}


@pytest.mark.parametrize("pupils", [SHOW, LAST, HIDE])
async def test_sql_and_python_treat_pupils_only_offers_the_same(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock, pupils: str) -> None:
    await sync_pack(uow_factory, PACK, clock)
    spec = rank_spec(51.4828, 11.9697, 100, date(2027, 1, 15), None, None, None, PROFILES, 2, pupils)  # Halle
    async with uow_factory() as uow:
        everything = await uow.vacancies.candidates((-90, 90, -180, 180), None, None)
        total, page = await uow.vacancies.ranked(spec, 0, 1000)
    assert {c.slug for c in everything if c.pupils_only} == PUPILS_ONLY
    expected = rank_vacancies(everything, spec)
    assert total == len(expected) and [r.slug for r in page] == [r.slug for r in expected]
    assert all(abs(a.score - b.score) < 1e-9 for a, b in zip(page, expected))
    shown = [r.slug for r in page]
    if pupils == HIDE:
        assert not PUPILS_ONLY & set(shown)
    else:
        assert "saalefunke-mecha-praktikum" in shown
    if pupils == LAST:
        flags = [s in PUPILS_ONLY for s in shown]
        assert flags == sorted(flags)


async def test_a_card_names_the_offers_own_place(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with uow_factory() as uow:
        card = await uow.vacancies.card("trassenbau-tiefbau-2027")
        pupil = await uow.vacancies.card("saalefunke-mecha-praktikum")
    assert card is not None and (card.place, card.company_place) == ("Spremberg", "Cottbus")
    assert pupil is not None and pupil.pupils_only


async def test_unmark_and_last_filters(uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with uow_factory() as uow:
        user = await uow.users.save(Profile(channel="telegram", chat_id=7, role="teen", created_at=clock.now()))
        assert user.id is not None
        await uow.vacancies.mark(user.id, "saalefunke-ea-2027", "saved", clock.now())
        assert await uow.vacancies.last_filters(user.id) is None
        await uow.vacancies.remember_filters(user.id, SearchFilters(radius_km=50), clock.now())
        await uow.vacancies.remember_filters(user.id, SearchFilters(radius_km=100, kind="praktikum"), clock.now())
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.vacancies.last_filters(user.id) == SearchFilters(radius_km=100, kind="praktikum")
        assert await uow.vacancies.unmark(user.id, "saalefunke-ea-2027", "saved") is True
        assert await uow.vacancies.unmark(user.id, "saalefunke-ea-2027", "saved") is False
        assert await uow.vacancies.marks(user.id) == []
        await uow.users.delete(user.id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.vacancies.last_filters(user.id) is None
