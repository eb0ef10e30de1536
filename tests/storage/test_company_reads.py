"""What the company page reads, on real SQLite: a company by slug, its offers, events naming it; never archived ones."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from content import DEMO_DIR, default_directory, load_pack
from storage.content_sync import sync_pack
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.fakes import SteppableClock

PACK = load_pack(DEMO_DIR, default_directory())
SLUG = "zittauer-gebirgsbau"


async def test_company_offers_and_events_are_read_by_slug(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    async with uow_factory() as uow:
        company = await uow.content.company(SLUG)
        offers = await uow.vacancies.for_company(SLUG)
        events = await uow.events.upcoming(datetime(2027, 1, 1, tzinfo=UTC))
        assert await uow.content.company("gibtsnicht") is None
    assert company is not None and company.description.startswith("Beispielbetrieb") and company.size
    assert company.professions == ["maurer-in", "hochbaufacharbeiter-in"]
    expected = sorted((v for v in PACK.vacancies if v.company == SLUG), key=lambda v: (v.start, v.slug))
    assert [o.slug for o in offers] == [v.slug for v in expected] and offers
    assert all(o.company_name == company.name and o.profession_name for o in offers)
    naming = [e for e in events if SLUG in e.company_slugs]
    assert naming and all(len(e.companies) == len(e.company_slugs) for e in events)
    assert {e.slug for e in naming} == {e.slug for e in PACK.events if SLUG in e.companies}


async def test_archived_company_and_offers_are_not_shown(
        uow_factory: SqlUnitOfWorkFactory, clock: SteppableClock) -> None:
    await sync_pack(uow_factory, PACK, clock)
    smaller = dataclasses.replace(PACK, companies=[c for c in PACK.companies if c.slug != SLUG],
                                  vacancies=[v for v in PACK.vacancies if v.company != SLUG])
    await sync_pack(uow_factory, smaller, clock)
    async with uow_factory() as uow:
        assert await uow.content.company(SLUG) is None
        assert SLUG not in {c.slug for c in await uow.content.companies()}
        assert await uow.vacancies.for_company(SLUG) == []
        events = await uow.events.upcoming(datetime(2027, 1, 1, tzinfo=UTC))
    assert all(SLUG not in e.company_slugs for e in events)  # the events' pack entries still name it
    assert all(not any(n.startswith("Zittauer Gebirgsbau") for n in e.companies) for e in events)
