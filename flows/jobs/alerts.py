"""'Sag mir Bescheid': tell users with a saved search about new offers that match it.

A search with the bus-and-train filter ("höchstens 60 min", SearchFilters.max_minutes) matches only offers whose
place is planned within those minutes from the search's centre, as the list does; with no timetable loaded the
filter is left out, as the list leaves it out."""
from __future__ import annotations

import hashlib
from datetime import datetime

from flows.core.context import button, reply
from flows.core.payloads import VACANCIES
from flows.core.ports import PlaceDirectory, UnitOfWork
from flows.delivery.outbox import OutboxMessage
from flows.domain.geo import distance_km
from flows.domain.journeys import Point
from flows.domain.matching import HIDE, main_town, pupils_only_offers
from flows.domain.places import home_of


async def alert_saved_searches(uow: UnitOfWork, new_slugs: list[str], places: PlaceDirectory, now: datetime) -> int:
    """One message per saved search that matches at least one new offer; returns how many."""
    offers = await uow.vacancies.candidates_by_slugs(new_slugs)
    planned = await uow.commutes.plan() is not None
    reachable: dict[tuple[Point, int], frozenset[Point]] = {}  # (centre, minutes): one query per centre
    told = 0
    for profile, search_id, filters in await uow.vacancies.all_searches():
        home = home_of(places, profile)
        if home is None or not profile.active:
            continue
        if filters.around:  # a search around a cluster's main town (the user lives outside the regions)
            cluster = await uow.content.cluster(filters.around)
            home = (main_town(places, cluster) if cluster else None) or home
        hide = pupils_only_offers(profile.role, profile.age_band, profile.school_status) == HIDE
        within: frozenset[Point] | None = None
        if filters.max_minutes and planned:
            key = ((home.lat, home.lon), filters.max_minutes)
            if key not in reachable:
                reachable[key] = await uow.commutes.reachable(*key)
            within = reachable[key]
        matching = sorted(o.slug for o in offers
                          if filters.kind in (None, o.kind) and filters.profession in (None, o.profession)
                          and not (hide and o.pupils_only)
                          and distance_km(home.lat, home.lon, o.lat, o.lon) <= filters.radius_km
                          and (within is None or (o.lat, o.lon) in within))
        if not matching:
            continue
        digest = hashlib.sha256(",".join(matching).encode()).hexdigest()[:16]
        message = reply("vacancies.alert", [[button("btn.vacancies.show", VACANCIES.pack("q", search_id))],
                                            [button("btn.vacancies.unsubscribe", VACANCIES.pack("u", search_id))]],
                        count=len(matching), radius=filters.radius_km)
        if await uow.outbox.enqueue(OutboxMessage.to(profile, message, now, f"offer-alert:{search_id}:{digest}")):
            told += 1
    return told
